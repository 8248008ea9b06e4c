/**
 * Test support for the stores' merge-rule oracle tests (not used by the hub): random report contract 1.2 failure
 * counters, and the check that a query row's failure fields equal the plain-code merge rule's (merge.ts).
 */
import assert from 'node:assert/strict';
import type { FailureTotals, FlowRow } from './flow-store.js';
import { MERGED_FAILURE_NAMES, failureScore, type MergedFlow } from './merge.js';

const REASONS = ['NETFILTER_DROP', 'NO_SOCKET', 'TCP_INVALID_SEQUENCE', 'SOCKET_FILTER'];

/**
 * Report contract 1.2 failure counters of one end, drawn independently per end (so the two views of a reset
 * differ and the merge must pick the larger), sometimes absent as an older agent leaves them.
 */
export function randomFailures(rand: () => number, side: 'client' | 'server'): Partial<FlowRow> {
  if (rand() < 0.3) {
    return {};
  }
  const n = (max: number): number => Math.floor(rand() * max);
  const drops = Object.fromEntries(REASONS.filter(() => rand() < 0.3).map((r) => [r, 1 + n(20)]));
  const attempts = n(4);
  const failures = Math.min(attempts, n(3));
  return {
    ...(side === 'client'
      ? { connectAttempts: attempts, connectFailures: failures, connectRefused: n(failures + 1), synRetransmits: n(5) }
      : {}),
    resetsSent: n(3),
    resetsReceived: n(3),
    ...(Object.keys(drops).length > 0 ? { drops } : {}),
  };
}

/** A query row's failure fields equal the merge rule's (merge.ts FAILURE_MERGE). */
export function assertFailures(got: FailureTotals, e: MergedFlow, label: string): void {
  for (const n of [...MERGED_FAILURE_NAMES, 'drops'] as const) {
    assert.equal(got[n], e[n], `${label}: ${n}`);
  }
  assert.deepEqual(got.dropsByReason, e.dropsByReason, `${label}: drops by reason`);
  assert.equal(got.resets, e.resetsFromClient + e.resetsFromServer, `${label}: resets`);
  assert.equal(got.failures, failureScore(e), `${label}: failures`);
}
