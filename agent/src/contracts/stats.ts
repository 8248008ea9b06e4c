/** Self-statistics the collector and the reporters expose; the OpenMetrics exporter turns them into flowlens_agent_* series. */
export interface CollectorStats {
  /** Wall time of the last collection tick, in seconds. */
  lastTickSeconds: number;
  /** Entries used and capacity per BPF map (map fill ratio = used / max). */
  maps: Record<string, { used: number; max: number }>;
  /** Sockets not tracked because the socket map was full (cumulative). */
  socketsSampledOut: number;
  /** Counter updates lost because the flow map was full (cumulative). Optional: added by the collector. */
  flowsDropped?: number;
  /**
   * Kernel bpf_stats for our programs (cumulative since load); undefined when not measured (the agent runs without
   * `--bpf-stats`, the default: the kernel's accounting is node-wide and costs every BPF program on the node).
   */
  bpfRunTimeNs?: number;
  bpfRunCount?: number;
  /** Flows with activity in the last tick. */
  activeFlows: number;
  /** Sockets established before the agent started, adopted at start (cumulative). Optional: added by the collector. */
  socketsAdopted?: number;
  /** Sockets whose peer the node translated (Service DNAT/SNAT), keyed by the real peer (cumulative). */
  socketsTranslated?: number;
  /** The conntrack (Service translation) program: waiting for nf_conntrack, attached, or refused by the kernel. */
  conntrack?: 'waiting' | 'attached' | 'failed';
  /** Where Service translations come from: the conntrack program, conntrack netlink events, or nowhere. */
  natSource?: 'fentry' | 'netlink' | 'none';
  /** Wall time of the last tick's iterator pass over the tracked sockets, in seconds. */
  tickIterSeconds?: number;
  /**
   * The last tick's wall time (lastTickSeconds) in its parts, in seconds, which add up to it; undefined from a loader
   * that does not time them. collector/tick.ts tickPhases says what each part is.
   */
  tickPhaseSeconds?: TickPhaseSeconds;
  /** Close-time updates kept in the overflow table because the flow table was full / lost (cumulative). */
  flowsCarried?: number;
  flowsLost?: number;
  /** The drop hook (kfree_skb) / the reset hooks are attached; undefined from a loader without them. */
  dropsAttached?: boolean;
  resetsAttached?: boolean;
  /** Failure (drop, reset, connect) updates lost because a tick's failure table was full (cumulative). */
  failuresLost?: number;
  /** Runs the kernel skipped because the program already ran on that CPU (recursion_misses, cumulative): of the
   * drop and reset programs (each a drop or reset not counted) and of the flow programs. */
  dropMisses?: number;
  flowMisses?: number;
}

export interface TickPhaseSeconds {
  passes: number;
  sync: number;
  drain: number;
  loader: number;
  node: number;
}

export interface ReporterStats {
  queued: number;
  /** Cumulative. */
  sent: number;
  /** Cumulative: reports given up on (queue overflow). */
  dropped: number;
  /** Cumulative failed delivery attempts. */
  failures: number;
}

/** Where finished reports go: stdout, the hub, or both. */
export interface ReportSink {
  send(report: import('./report.js').ReportV1): void;
  stats?(): ReporterStats;
  close(): Promise<void>;
}
