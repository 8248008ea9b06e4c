/**
 * What the collector hands to its consumers (report builder, OpenMetrics exporter) every tick.
 * A flow is per node: (local ip, remote ip, server port, direction); the client's ephemeral port is dropped.
 */
import type { KernelForward } from '../bpf/protocol.js';
import type { Direction, FailureCounters, FlowCounters, RttSummary } from './report.js';

export interface FlowKey {
  localIp: string;
  remoteIp: string;
  /** The server's port: the local port when direction is 'server', the remote port when 'client'. */
  serverPort: number;
  direction: Direction;
  /** The address the client socket used when the node translated the connection (a Service); remoteIp and
   * serverPort are then the real peer. Null or absent: untranslated. Part of the flow's identity. */
  via?: { ip: string; port: number } | null;
}

/** Counter deltas of one flow over one collection tick; failure counters (contract 1.2) only where non-zero. */
export interface FlowDelta extends FlowKey, FlowCounters, FailureCounters {
  rttUs: RttSummary;
  /** How many RTT samples rttUs summarises (to weight averages when ticks are merged). Optional: added by the collector. */
  rttSamples?: number;
}

export interface CollectorTick {
  /** Collector self-statistics at the end of this tick. */
  stats?: import('./stats.js').CollectorStats;
  start: Date;
  end: Date;
  flows: FlowDelta[];
  /** Connections the node translated this tick (agent/src/report/forwards.ts keeps the forwarded ones). */
  forwards?: KernelForward[];
}

export type TickListener = (tick: CollectorTick) => void;
