/**
 * Report v1 fixtures (tests/fixtures/reports/*.json: three nodes in two zones, see three-nodes.json) moved
 * to a recent time window, since the hub refuses reports older than its raw retention.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ReportV1 } from '../../agent/src/contracts/report.js';
import { fixture } from './hub-process.js';

export const FIXTURE_NODES = ['node-a1', 'node-a2', 'node-b1'] as const;

/** One fixture report with its window moved to start at `startMs` (default: two minutes ago). */
export function fixtureReport(
  node: (typeof FIXTURE_NODES)[number],
  opts: { startMs?: number; newId?: boolean } = {}
): ReportV1 {
  const r = JSON.parse(readFileSync(fixture(`reports/${node}.json`), 'utf8')) as ReportV1;
  const start = opts.startMs ?? Date.now() - 120_000;
  const span = Date.parse(r.end) - Date.parse(r.start);
  return {
    ...r,
    reportId: opts.newId ? randomUUID() : r.reportId,
    start: new Date(start).toISOString(),
    end: new Date(start + span).toISOString(),
  };
}

/** All three fixture reports in the same window. */
export function fixtureReports(opts: { startMs?: number; newId?: boolean } = {}): ReportV1[] {
  return FIXTURE_NODES.map((n) => fixtureReport(n, opts));
}
