/**
 * Sums the loader's lines of one tick that name the same flow (pure). The loader prints one `flow` line per map
 * entry, and a connection that closed this tick has an entry of its own, so a tick of a connect/request/close
 * workload is thousands of lines for a handful of flows (10,768 `flow` and 5,388 `fail` lines in one tick for 6
 * flows under bench:agent's crr). Summing them as they are read keeps one object per flow instead of one per line:
 * everything after the parser (failures, the report window, the exporter) then works on flows, not connections.
 * Sums are exact: counters add, RTT sums and sample counts add, min and max are the extremes of the entries that
 * had samples.
 */
import { COUNTER_NAMES } from '../contracts/report.js';
import { flowKeyString } from '../report/window.js';
import type { KernelFailure, KernelFlow } from './protocol.js';

/** Adds `f` into `into` (same flow key). */
export function addKernelFlow(into: KernelFlow, f: KernelFlow): void {
  for (const name of COUNTER_NAMES) {
    into[name] += f[name];
  }
  if (f.rttCount > 0) {
    into.rttMinUs = into.rttCount > 0 ? Math.min(into.rttMinUs, f.rttMinUs) : f.rttMinUs;
    into.rttMaxUs = into.rttCount > 0 ? Math.max(into.rttMaxUs, f.rttMaxUs) : f.rttMaxUs;
    into.rttSumUs += f.rttSumUs;
    into.rttCount += f.rttCount;
  }
}

const FAILURE_FIELDS = [
  'connectAttempts',
  'connectFailures',
  'connectRefused',
  'synRetransmits',
  'resetsSent',
  'resetsReceived',
  'drops',
] as const satisfies ReadonlyArray<keyof KernelFailure>;

/** Adds `f` into `into` (same flow key and drop reason). */
export function addKernelFailure(into: KernelFailure, f: KernelFailure): void {
  for (const name of FAILURE_FIELDS) {
    into[name] += f[name];
  }
}

/** Lines of one tick summed per flow (and per drop reason for `fail` lines), in the order first seen. */
export class TickLines {
  private readonly flows = new Map<string, KernelFlow>();
  private readonly failures = new Map<string, KernelFailure>();

  addFlow(f: KernelFlow): void {
    const key = flowKeyString(f);
    const seen = this.flows.get(key);
    if (seen) {
      addKernelFlow(seen, f);
    } else {
      this.flows.set(key, f);
    }
  }

  addFailure(f: KernelFailure): void {
    const key = `${flowKeyString(f)}|${f.reason ?? '-'}`;
    const seen = this.failures.get(key);
    if (seen) {
      addKernelFailure(seen, f);
    } else {
      this.failures.set(key, f);
    }
  }

  flowList(): KernelFlow[] {
    return [...this.flows.values()];
  }

  failureList(): KernelFailure[] {
    return [...this.failures.values()];
  }
}
