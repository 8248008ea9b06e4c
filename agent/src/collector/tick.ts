/** Turns one drained kernel flow map into a CollectorTick (pure). */
import type { CollectorTick, FlowDelta } from '../contracts/flow.js';
import type { CollectorStats, TickPhaseSeconds } from '../contracts/stats.js';
import type { CollectResult, KernelFlow, KernelStats } from '../bpf/protocol.js';
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

/**
 * One tick's wall time (`tickSeconds`, the node's clock around the collect request) in parts that add up to it:
 * `passes` the loader's iterator passes (the epoch flip first), `sync` what is left of the RCU grace period after them
 * (it is waited for beside the passes), `drain` reading the retired flow set and printing its lines, `loader` the
 * rest of the loader's answer (Service translation checks, the stats it reads), `node` the rest: the request and the answer through the pipes, waiting for a CPU, and the
 * node's own parsing. undefined from a loader that does not time its parts.
 */
export function tickPhases(stats: KernelStats, tickSeconds: number): TickPhaseSeconds | undefined {
  if (stats.tickSyncNs === null || stats.tickDrainNs === null || stats.collectNs === null) {
    return undefined;
  }
  const passes = stats.tickIterNs / 1e9;
  const sync = stats.tickSyncNs / 1e9;
  const drain = stats.tickDrainNs / 1e9;
  const loaderTotal = stats.collectNs / 1e9;
  return {
    passes,
    sync,
    drain,
    loader: Math.max(0, loaderTotal - passes - sync - drain),
    node: Math.max(0, tickSeconds - loaderTotal),
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
  const phases = tickPhases(result.stats, tickSeconds);
  if (phases) {
    stats.tickPhaseSeconds = phases;
  }
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
