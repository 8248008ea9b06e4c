/** Failure counters (report contract 1.2) added up across flows and ticks (pure). Absent means 0. */
import { FAILURE_COUNTER_NAMES, type FailureCounters } from '../contracts/report.js';

/** Adds `more` into `into`: the connection counters and the drops by reason, leaving absent what stays 0. */
export function addFailures(into: FailureCounters, more: FailureCounters): void {
  for (const name of FAILURE_COUNTER_NAMES) {
    const v = more[name];
    if (v) {
      into[name] = (into[name] ?? 0) + v;
    }
  }
  if (more.drops) {
    for (const [reason, n] of Object.entries(more.drops)) {
      if (n) {
        into.drops ??= {};
        into.drops[reason] = (into.drops[reason] ?? 0) + n;
      }
    }
  }
}

/** Total drops of a flow over every reason. */
export function dropTotal(c: FailureCounters): number {
  let n = 0;
  for (const v of Object.values(c.drops ?? {})) {
    n += v;
  }
  return n;
}

/** How badly a flow failed: connect failures, resets either way and dropped packets (ranks flows in a report). */
export function failureScore(c: FailureCounters): number {
  return (c.connectFailures ?? 0) + (c.resetsSent ?? 0) + (c.resetsReceived ?? 0) + dropTotal(c);
}

/** Only the failure counters of a record (a copy, so later additions never alias it). */
export function failuresOf(c: FailureCounters): FailureCounters {
  const out: FailureCounters = {};
  addFailures(out, c);
  return out;
}
