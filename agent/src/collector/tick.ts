/** Turns one drained kernel flow map into a CollectorTick (pure). */
import type { CollectorTick, FlowDelta } from '../contracts/flow.js';
import type { CollectorStats } from '../contracts/stats.js';
import type { CollectResult, KernelFlow } from '../bpf/protocol.js';
import { mergeFailures } from './failures.js';

export interface MapCapacity {
  maxSockets: number;
  maxFlows: number;
}

export function toFlowDelta(k: KernelFlow): FlowDelta {
  return {
    localIp: k.localIp,
    remoteIp: k.remoteIp,
    serverPort: k.serverPort,
    direction: k.direction,
    via: k.via,
    bytesSent: k.bytesSent,
    bytesReceived: k.bytesReceived,
    segmentsSent: k.segmentsSent,
    segmentsReceived: k.segmentsReceived,
    retransmits: k.retransmits,
    rtos: k.rtos,
    connectionsOpened: k.connectionsOpened,
    connectionsClosed: k.connectionsClosed,
    rttUs: k.rttCount > 0 ? { min: k.rttMinUs, avg: Math.round(k.rttSumUs / k.rttCount), max: k.rttMaxUs } : null,
    rttSamples: k.rttCount,
  };
}

export function toTick(
  result: CollectResult,
  start: Date,
  end: Date,
  tickSeconds: number,
  capacity: MapCapacity
): CollectorTick {
  const flows = mergeFailures(result.flows.map(toFlowDelta), result.failures ?? []);
  const stats: CollectorStats = {
    lastTickSeconds: tickSeconds,
    maps: {
      sockets: { used: result.stats.socketsTracked, max: capacity.maxSockets },
      flows: { used: result.stats.flowsDrained, max: capacity.maxFlows },
    },
    socketsSampledOut: result.stats.socketsSampledOut,
    flowsDropped: result.stats.flowsDropped,
    activeFlows: flows.length,
    socketsAdopted: result.stats.socketsAdopted,
    socketsTranslated: result.stats.natTranslated,
    conntrack: result.stats.conntrack,
    natSource: result.stats.natSource,
    tickIterSeconds: result.stats.tickIterNs / 1e9,
    flowsCarried: result.stats.flowsCarried,
    flowsLost: result.stats.flowsLost,
  };
  // bpf_stats: present only when measured (null from a loader without --bpf-stats), drop and reset programs added
  const { runTimeNs, runCount } = result.stats;
  const drops = { runTimeNs: 0, runCount: 0, ...result.failureStats };
  if (runTimeNs !== null && runCount !== null && drops.runTimeNs !== null && drops.runCount !== null) {
    stats.bpfRunTimeNs = runTimeNs + drops.runTimeNs;
    stats.bpfRunCount = runCount + drops.runCount;
  }
  if (result.failureStats) {
    stats.dropsAttached = result.failureStats.dropsAttached;
    stats.resetsAttached = result.failureStats.resetsAttached;
    stats.failuresLost = result.failureStats.failuresLost;
    stats.dropMisses = result.failureStats.dropMisses;
    stats.flowMisses = result.failureStats.flowMisses;
  }
  return { start, end, flows, stats, forwards: result.forwards ?? [] };
}
