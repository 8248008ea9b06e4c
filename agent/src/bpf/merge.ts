/**
 * Sums the loader's lines of one tick that name the same flow (pure). The loader sums a tick's drained entries per
 * flow key before printing (agent/bpf/flow_sum.h), so a tick is normally one `flow` line per flow; but when its sum
 * table (--sum-flows) is full it prints the rest one entry per line, as every entry was printed before it summed
 * (10,768 `flow` and 5,388 `fail` lines in one tick for 6 flows under bench:agent's crr), and a flow can have two
 * `fail` lines (the kernel's failure table and parked connections' attempts). Summing here keeps one object per
 * flow whatever the loader printed: everything after the parser (failures, the report window, the exporter) works
 * on flows, not connections. Sums are exact: counters add, RTT sums and sample counts add, min and max are the
 * extremes of the entries that had samples (the loader's fl_flow_val_add follows the same rule).
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
