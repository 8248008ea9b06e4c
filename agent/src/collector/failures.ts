/**
 * Folds one tick's `fail` lines (why packets and connections failed, per flow and drop reason) into the tick's
 * flows (pure): the same flow key gets its failure counters; a flow that only failed (a connect that never
 * established, a drop without a socket) becomes a flow of its own with zero traffic counters.
 */
import type { FlowDelta } from '../contracts/flow.js';
import { emptyCounters, FAILURE_COUNTER_NAMES, type FailureCounters } from '../contracts/report.js';
import type { KernelFailure } from '../bpf/protocol.js';
import { addFailures } from '../report/failures.js';
import { flowKeyString } from '../report/window.js';

/** The failure counters of one `fail` line. */
export function failureCountersOf(k: KernelFailure): FailureCounters {
  if (k.reason !== null) {
    return k.drops ? { drops: { [k.reason]: k.drops } } : {};
  }
  const c: FailureCounters = {};
  for (const name of FAILURE_COUNTER_NAMES) {
    if (k[name]) {
      c[name] = k[name];
    }
  }
  return c;
}

export function mergeFailures(flows: FlowDelta[], failures: readonly KernelFailure[]): FlowDelta[] {
  if (failures.length === 0) {
    return flows;
  }
  const byKey = new Map<string, FlowDelta>();
  for (const f of flows) {
    byKey.set(flowKeyString(f), f);
  }
  for (const k of failures) {
    const key = flowKeyString(k);
    let flow = byKey.get(key);
    if (!flow) {
      flow = {
        localIp: k.localIp,
        remoteIp: k.remoteIp,
        serverPort: k.serverPort,
        direction: k.direction,
        via: k.via,
        ...emptyCounters(),
        rttUs: null,
        rttSamples: 0,
      };
      byKey.set(key, flow);
      flows.push(flow);
    }
    addFailures(flow, failureCountersOf(k));
  }
  return flows;
}

/**
 * The log line that says what the drop and reset hooks count on this kernel, or null while the loader has not said
 * (an older loader). Logged by the node command when it changes.
 */
export function describeFailureHooks(stats: { dropsAttached?: boolean; resetsAttached?: boolean }): string | null {
  if (stats.dropsAttached === undefined || stats.resetsAttached === undefined) {
    return null;
  }
  const drops = stats.dropsAttached
    ? 'drops counted by the kernel’s reason (kfree_skb)'
    : 'drops NOT counted: the kernel refused the kfree_skb hook (flowlens_agent_drops_attached 0)';
  const resets = stats.resetsAttached
    ? 'resets counted (tcp_send_reset/tcp_receive_reset)'
    : 'resets sent NOT counted, resets received counted at close from the socket error (the kernel refused the reset hooks)';
  return `flowlens-agent node: ${drops}; ${resets}`;
}
