/**
 * Failing connections and their ground truth for the kernel tests: agent/test/lib/failgen.py run in a test host's
 * namespace, and the packet counter of an iptables INPUT rule (what the rule really dropped or rejected).
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Star } from './netns.js';

export const FAILGEN = join(dirname(fileURLToPath(import.meta.url)), 'failgen.py');
export const IPTABLES = '/usr/sbin/iptables';

/** What `failgen.py connect` did. */
export interface ConnectResult {
  attempts: number;
  refused: number;
  timeouts: number;
  established: number;
  other: number;
}

/** Runs failgen.py in a namespace; resolves with its last JSON line, calls onLine for every line. */
export function failgen<T>(
  star: Star,
  ns: string,
  args: string[],
  onLine?: (msg: Record<string, unknown>) => void
): Promise<T> {
  const child = star.spawnIn(ns, ['python3', FAILGEN, ...args]);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let last: T | null = null;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as Record<string, unknown>;
    last = msg as T;
    onLine?.(msg);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && last) {
        resolve(last);
      } else {
        reject(new Error(`failgen ${args.join(' ')} exited ${code}: ${stderr}`));
      }
    });
  });
}

/** Packets the INPUT rule for `port` matched in `ns`, from iptables' own counter. */
export async function rulePackets(star: Star, ns: string, port: number): Promise<number> {
  const out = await star.exec(ns, [IPTABLES, '-L', 'INPUT', '-v', '-x', '-n']);
  const line = out.split('\n').find((l) => l.includes(`dpt:${port}`));
  assert.ok(line, `no INPUT rule for port ${port}:\n${out}`);
  return Number(line.trim().split(/\s+/)[0]);
}

/**
 * Failure updates the kernel may have left uncounted over a test (the loader's failstats line, as deltas): runs of
 * the drop and reset programs its recursion protection skipped (bpf_prog_info.recursion_misses: the program
 * already ran on that CPU, e.g. a softirq drop interrupting a process-context kfree_skb of any socket), and
 * updates lost (the failure table full, or the kernel refusing the update).
 */
export interface MissBudget {
  misses: number;
  lost: number;
}

/** The budget between two failstats readings of one loader (or two scrapes of one agent). */
export function missBudget(
  before: { dropMisses: number; failuresLost: number },
  after: { dropMisses: number; failuresLost: number }
): MissBudget {
  return { misses: after.dropMisses - before.dropMisses, lost: after.failuresLost - before.failuresLost };
}

/**
 * The agent's count of a failure against its ground truth: exact when nothing was missed or lost during the test;
 * otherwise truth - (misses + lost) <= agent <= truth (the misses are the whole kernel's, not only this flow's: an
 * upper bound of what this count may lack). Returns a diagnostic line saying which case applied.
 */
export function assertCounted(agent: number, truth: number, budget: MissBudget, what: string): string {
  const slack = budget.misses + budget.lost;
  if (slack === 0) {
    assert.equal(agent, truth, `${what}: no run missed, no update lost, so exact`);
    return `${what}: ${agent} = truth ${truth} (no misses, no lost updates)`;
  }
  assert.ok(
    agent <= truth && agent >= truth - slack,
    `${what}: ${agent} outside [${truth - slack}, ${truth}] (truth ${truth}, misses ${budget.misses}, lost ${budget.lost})`
  );
  return `${what}: ${agent} of truth ${truth}, within the kernel's misses ${budget.misses} + lost ${budget.lost}`;
}

/** Drops of one flow, by reason: only `reason`, counted as assertCounted says (exact: `{ [reason]: truth }`). */
export function assertDrops(
  drops: Record<string, number> | undefined,
  reason: string,
  truth: number,
  budget: MissBudget,
  what: string
): string {
  const { [reason]: counted = 0, ...others } = drops ?? {};
  assert.deepEqual(others, {}, `${what}: no other drop reason`);
  if (budget.misses + budget.lost === 0) {
    assert.deepEqual(drops, { [reason]: truth }, `${what}: no run missed, no update lost, so exact`);
  }
  return assertCounted(counted, truth, budget, `${what} ${reason}`);
}
