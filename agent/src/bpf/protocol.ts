/**
 * The line protocol of agent/bpf/loader.c (flowlens-loader), parsed without I/O so it can be unit tested.
 * One `collect` answer is: zero or more `flow` lines, one `stats` line, then `end`. Lines may carry more fields than
 * this version reads (the loader only ever adds fields at the end of a line).
 */
import type { Direction, FlowCounters } from '../contracts/report.js';
import { TickLines } from './merge.js';

export interface LoaderReady {
  /** The program that registers connections and its link: sock_ops on the cgroup, or fl_state (see connPath). */
  progId: number;
  linkId: number;
  maxSockets: number;
  maxFlows: number;
  /** The kernel has tcp_sock.total_rto (≥ 6.7); otherwise RTOs are counted from RTO callbacks. */
  totalRto: boolean;
  /** Sockets established before the loader started, adopted (counted from now on). */
  socketsAdopted: number;
  /** Network namespaces the adoption visited. */
  netnsVisited: number;
  /** `storage`: the tick iterates the socket storage map; `tcp`: iter/tcp in every namespace (map iterators refused). */
  tickMode: 'storage' | 'tcp';
  /** Where Service translations come from at start (see NatSource). */
  natSource: NatSource;
  /**
   * The loader holds kernel bpf_stats (`--bpf-stats`): run times and counts are measured. false: they read null
   * (not measured), as from an older loader that predates the field, which always held them: true then.
   */
  bpfStats: boolean;
  /**
   * Which program registers connections: `sockops` (sock_ops on the scope's cgroup; kernels without
   * tcp_sock.total_rto, and loaders that predate the field) or `state` (fl_state on inet_sock_set_state, no
   * sock_ops program loaded: kernels with total_rto).
   */
  connPath: 'sockops' | 'state';
}

/**
 * Source of Service (DNAT/SNAT) translations: `fentry` = the conntrack program, `netlink` = conntrack netlink events
 * read by the loader (kernels refusing fentry), `none` = nf_conntrack not loaded yet, or both refused.
 */
export type NatSource = 'fentry' | 'netlink' | 'none';

function natSource(field: string | undefined, line: string): NatSource {
  if (field === undefined) {
    return 'none'; // an older loader: the fields end before
  }
  return field === 'fentry' || field === 'netlink' || field === 'none' ? field : badField('translation source', line);
}

/** The address a translated connection's client used (a Service ClusterIP or NodePort). */
export interface Via {
  ip: string;
  port: number;
}

/** One flow's counters over one tick, as drained from the kernel's flow map. */
export interface KernelFlow extends FlowCounters {
  localIp: string;
  remoteIp: string;
  serverPort: number;
  direction: Direction;
  rttSumUs: number;
  rttCount: number;
  rttMinUs: number;
  rttMaxUs: number;
  /** Set when the node translated the connection: remoteIp/serverPort are then the real peer. */
  via: Via | null;
}

/** State of the conntrack (Service translation) program. */
export type ConntrackState = 'waiting' | 'attached' | 'failed';

export interface KernelStats {
  /**
   * Cumulative kernel bpf_stats of the per-connection programs; null: not measured (the loader runs without
   * `--bpf-stats`, and the kernel's accounting stays off), never 0 for a cost not measured.
   */
  runTimeNs: number | null;
  runCount: number | null;
  socketsTracked: number;
  socketsSampledOut: number;
  flowsDropped: number;
  flowsDrained: number;
  /** Cumulative: sockets adopted at start. */
  socketsAdopted: number;
  /** Cumulative: sockets whose peer the node translated (keyed by the real peer, with `via`). */
  natTranslated: number;
  /** waiting: nf_conntrack not loaded yet (retried each tick); failed: the kernel refused the program. */
  conntrack: ConntrackState;
  /** Wall time of this tick's iterator pass over the tracked sockets. */
  tickIterNs: number;
  /** Cumulative kernel bpf_stats of the tick iterator (one run per socket visited); null: not measured. */
  iterRunTimeNs: number | null;
  iterRunCount: number | null;
  /** Cumulative: close-time updates kept in the overflow table because the flow table was full. */
  flowsCarried: number;
  /** Cumulative: close-time updates lost because the overflow table was full too. */
  flowsLost: number;
  /** Cumulative: translated connections the conntrack program recorded. */
  natRecorded: number;
  /** Where translations come from now. */
  natSource: NatSource;
  /** Cumulative: translated connections recorded from conntrack netlink events. */
  natNetlink: number;
  /** Cumulative: times the kernel dropped conntrack events (the loader's socket buffer was full). */
  natNetlinkOverruns: number;
  /**
   * Cumulative: connections that closed before their first tick with no translation yet (netlink source), left to
   * the loader, which translated them at collect when their event had arrived.
   */
  natParked: number;
  /**
   * `flow` lines of this answer: one per flow, since the loader sums a tick's entries per flow key before printing
   * (loader.c, flow_sum.h). 0 from an older loader.
   */
  flowLines: number;
  /** Cumulative: drained entries the loader printed alone because its sum table was full (still summed here). */
  flowsUnsummed: number;
  /**
   * The parts of this answer's wall time in the loader (tickIterNs is the passes): the epoch flip with its RCU grace
   * period, reading the retired set and printing its lines, and the whole answer up to its stats line. null from an
   * older loader.
   */
  tickSyncNs: number | null;
  tickDrainNs: number | null;
  collectNs: number | null;
}

/** Stats of a loader that has done nothing yet (a base for tests and fakes). */
export function emptyKernelStats(): KernelStats {
  return {
    runTimeNs: 0,
    runCount: 0,
    socketsTracked: 0,
    socketsSampledOut: 0,
    flowsDropped: 0,
    flowsDrained: 0,
    socketsAdopted: 0,
    natTranslated: 0,
    conntrack: 'waiting',
    tickIterNs: 0,
    iterRunTimeNs: 0,
    iterRunCount: 0,
    flowsCarried: 0,
    flowsLost: 0,
    natRecorded: 0,
    natSource: 'none',
    natNetlink: 0,
    natNetlinkOverruns: 0,
    natParked: 0,
    flowLines: 0,
    flowsUnsummed: 0,
    tickSyncNs: null,
    tickDrainNs: null,
    collectNs: null,
  };
}

export interface CollectResult {
  flows: KernelFlow[];
  stats: KernelStats;
  /** Why packets and connections failed this tick (absent from an older loader). */
  failures?: KernelFailure[];
  /** State of the drop and reset hooks (absent from an older loader). */
  failureStats?: FailureStats;
  /** Connections the node translated this tick (`fwd` lines; absent from an older loader). */
  forwards?: KernelForward[];
  /** Cumulative: translated connections not counted because a forward table was full (`fwdlost`). */
  forwardsLost?: number;
}

/**
 * Connections this node translated during one tick, per (client, via, backend, SNAT address): the raw material of
 * report `forwards` (the agent keeps those forwarded to another node). `snatIp` is null when the source was kept.
 */
export interface KernelForward {
  clientIp: string;
  via: Via;
  backendIp: string;
  backendPort: number;
  snatIp: string | null;
  connections: number;
}

export function parseForward(line: string): KernelForward {
  const f = line.trim().split(' ');
  if (f[0] !== 'fwd' || f.length < 8) {
    throw new ProtocolError(`flowlens-loader: bad fwd line '${line}'`);
  }
  const port = (i: number, what: string): number => {
    const n = int(f[i], what, line);
    return n <= 65535 ? n : badField(what, line);
  };
  return {
    clientIp: f[1]!,
    via: { ip: f[2]!, port: port(3, 'via port') },
    backendIp: f[4]!,
    backendPort: port(5, 'backend port'),
    snatIp: f[6] === '-' ? null : f[6]!,
    connections: int(f[7], 'connections', line),
  };
}

export class ProtocolError extends Error {}

/**
 * A decimal field (digits only). Read digit by digit rather than with a regular expression and Number(): a busy tick
 * is tens of thousands of lines of 19 fields. A value past 2^53 accumulates to at least 2^53: refused below.
 */
function int(field: string | undefined, what: string, line: string): number {
  if (field === undefined || field.length === 0) {
    throw new ProtocolError(`flowlens-loader: bad ${what} in '${line}'`);
  }
  let n = 0;
  for (let i = 0; i < field.length; i++) {
    const d = field.charCodeAt(i) - 48;
    if (d < 0 || d > 9) {
      throw new ProtocolError(`flowlens-loader: bad ${what} in '${line}'`);
    }
    n = n * 10 + d;
  }
  if (!Number.isSafeInteger(n)) {
    throw new ProtocolError(`flowlens-loader: ${what} out of range in '${line}'`);
  }
  return n;
}

/** A bpf_stats field: `-` when the loader does not measure run times (no `--bpf-stats`). */
function measured(field: string | undefined, what: string, line: string): number | null {
  return field === '-' ? null : int(field, what, line);
}

function badField(what: string, line: string): never {
  throw new ProtocolError(`flowlens-loader: bad ${what} in '${line}'`);
}

export function parseReady(line: string): LoaderReady {
  const f = line.trim().split(' ');
  if (f[0] !== 'ready' || f.length < 9) {
    throw new ProtocolError(`flowlens-loader: expected 'ready', got '${line}'`);
  }
  return {
    progId: int(f[1], 'program id', line),
    linkId: int(f[2], 'link id', line),
    maxSockets: int(f[3], 'max sockets', line),
    maxFlows: int(f[4], 'max flows', line),
    totalRto: f[5] === '1',
    socketsAdopted: int(f[6], 'sockets adopted', line),
    netnsVisited: int(f[7], 'namespaces visited', line),
    tickMode: f[8] === 'storage' ? 'storage' : f[8] === 'tcp' ? 'tcp' : badField('tick mode', line),
    natSource: natSource(f[9], line),
    bpfStats: f[10] === undefined ? true : f[10] === '1' ? true : f[10] === '0' ? false : badField('bpf stats', line),
    connPath:
      f[11] === undefined || f[11] === 'sockops'
        ? 'sockops'
        : f[11] === 'state'
          ? 'state'
          : badField('conn path', line),
  };
}

export function parseFlow(line: string): KernelFlow {
  const f = line.trim().split(' ');
  if (f[0] !== 'flow' || f.length < 19) {
    throw new ProtocolError(`flowlens-loader: bad flow line '${line}'`);
  }
  const direction = f[4];
  if (direction !== 'client' && direction !== 'server') {
    throw new ProtocolError(`flowlens-loader: bad direction in '${line}'`);
  }
  const n = (i: number, what: string) => int(f[i], what, line);
  return {
    localIp: f[1]!,
    remoteIp: f[2]!,
    serverPort: n(3, 'server port'),
    direction,
    bytesSent: n(5, 'bytesSent'),
    bytesReceived: n(6, 'bytesReceived'),
    segmentsSent: n(7, 'segmentsSent'),
    segmentsReceived: n(8, 'segmentsReceived'),
    retransmits: n(9, 'retransmits'),
    rtos: n(10, 'rtos'),
    connectionsOpened: n(11, 'opened'),
    connectionsClosed: n(12, 'closed'),
    rttSumUs: n(13, 'rtt sum'),
    rttCount: n(14, 'rtt count'),
    rttMinUs: n(15, 'rtt min'),
    rttMaxUs: n(16, 'rtt max'),
    via: f[17] === '-' ? null : { ip: f[17]!, port: n(18, 'via port') },
  };
}

export function parseStats(line: string): KernelStats {
  const f = line.trim().split(' ');
  if (f[0] !== 'stats' || f.length < 16) {
    throw new ProtocolError(`flowlens-loader: bad stats line '${line}'`);
  }
  return {
    runTimeNs: measured(f[1], 'run time', line),
    runCount: measured(f[2], 'run count', line),
    socketsTracked: int(f[3], 'sockets tracked', line),
    socketsSampledOut: int(f[4], 'sockets sampled out', line),
    flowsDropped: int(f[5], 'flows dropped', line),
    flowsDrained: int(f[6], 'flows drained', line),
    socketsAdopted: int(f[7], 'sockets adopted', line),
    natTranslated: int(f[8], 'nat translated', line),
    conntrack:
      (['waiting', 'attached', 'failed'] as const)[int(f[9], 'conntrack state', line)] ??
      badField('conntrack state', line),
    tickIterNs: int(f[10], 'tick iterator ns', line),
    iterRunTimeNs: measured(f[11], 'iterator run time', line),
    iterRunCount: measured(f[12], 'iterator run count', line),
    flowsCarried: int(f[13], 'flows carried', line),
    flowsLost: int(f[14], 'flows lost', line),
    natRecorded: int(f[15], 'nat recorded', line),
    natSource: natSource(f[16], line),
    natNetlink: f[17] === undefined ? 0 : int(f[17], 'nat netlink', line),
    natNetlinkOverruns: f[18] === undefined ? 0 : int(f[18], 'nat netlink overruns', line),
    natParked: f[19] === undefined ? 0 : int(f[19], 'nat parked', line),
    // f[20] tickNetns, f[21] netnsWalks (not read here)
    flowLines: f[22] === undefined ? 0 : int(f[22], 'flow lines', line),
    flowsUnsummed: f[23] === undefined ? 0 : int(f[23], 'flows unsummed', line),
    tickSyncNs: f[24] === undefined ? null : int(f[24], 'tick sync ns', line),
    tickDrainNs: f[25] === undefined ? null : int(f[25], 'tick drain ns', line),
    collectNs: f[26] === undefined ? null : int(f[26], 'collect ns', line),
  };
}

/** Accumulates the lines of one `collect` answer; returns the result once `end` arrives. */
export class CollectParser {
  /** flow and fail lines summed per flow as they arrive (merge.ts says why). */
  private lines = new TickLines();
  private stats: KernelStats | null = null;
  private forwards: KernelForward[] = [];
  private forwardsLost: number | undefined;
  private failureStats: FailureStats | null = null;

  /** Feed one line; returns the finished result on `end`, otherwise null. */
  push(line: string): CollectResult | null {
    if (line.startsWith('flow ')) {
      this.lines.addFlow(parseFlow(line));
      return null;
    }
    if (line.startsWith('fwd ')) {
      this.forwards.push(parseForward(line));
      return null;
    }
    if (line.startsWith('fwdlost ')) {
      this.forwardsLost = int(line.split(' ')[1], 'forwards lost', line);
      return null;
    }
    if (line.startsWith('stats ')) {
      this.stats = parseStats(line);
      return null;
    }
    if (line.startsWith('fail ')) {
      this.lines.addFailure(parseFail(line));
      return null;
    }
    if (line.startsWith('failstats ')) {
      this.failureStats = parseFailStats(line);
      return null;
    }
    if (line === 'end') {
      if (this.stats === null) {
        throw new ProtocolError("flowlens-loader: 'end' without 'stats'");
      }
      const result: CollectResult = {
        flows: this.lines.flowList(),
        stats: this.stats,
        forwards: this.forwards,
        failures: this.lines.failureList(),
      };
      if (this.forwardsLost !== undefined) {
        result.forwardsLost = this.forwardsLost;
      }
      if (this.failureStats) {
        result.failureStats = this.failureStats;
      }
      this.lines = new TickLines();
      this.stats = null;
      this.forwards = [];
      this.forwardsLost = undefined;
      this.failureStats = null;
      return result;
    }
    if (line.startsWith('error ')) {
      throw new ProtocolError(`flowlens-loader: ${line.slice(6)}`);
    }
    throw new ProtocolError(`flowlens-loader: unexpected line '${line}'`);
  }
}

/**
 * One `fail` line: why packets and connections of one flow failed over one tick. `reason` null: the connection
 * counters; otherwise the kernel's drop reason name (enum skb_drop_reason without its prefix) and only `drops` is set.
 */
export interface KernelFailure {
  localIp: string;
  remoteIp: string;
  serverPort: number;
  direction: Direction;
  via: Via | null;
  reason: string | null;
  connectAttempts: number;
  connectFailures: number;
  connectRefused: number;
  synRetransmits: number;
  resetsSent: number;
  resetsReceived: number;
  drops: number;
}

/** The `failstats` line: which hooks of drops.bpf.o are attached, and what they cost. */
export interface FailureStats {
  /** The kfree_skb tracepoint is attached: drops are counted by reason. */
  dropsAttached: boolean;
  /** The tcp_send_reset / tcp_receive_reset tracepoints are attached. */
  resetsAttached: boolean;
  /** Cumulative: failure updates lost because a tick's failure table was full. */
  failuresLost: number;
  /** Cumulative kernel bpf_stats of the drop and reset programs; null: not measured (no `--bpf-stats`). */
  runTimeNs: number | null;
  runCount: number | null;
  /** Drop reasons the running kernel's BTF names. */
  reasons: number;
  /**
   * Cumulative runs the kernel skipped (bpf_prog_info.recursion_misses) of the drop and reset programs: the
   * program already ran on that CPU (a softirq drop interrupting a process-context kfree_skb). Each is a drop or
   * reset missing from the failure tables. 0 from an older loader or a kernel without the counter.
   */
  dropMisses: number;
  /** The same for the flow programs (sock state tracepoint, conntrack fentry). */
  flowMisses: number;
}

const DROP_REASON = /^[A-Z0-9_]{1,64}$/;

export function parseFail(line: string): KernelFailure {
  const f = line.trim().split(' ');
  if (f[0] !== 'fail' || f.length < 15) {
    throw new ProtocolError(`flowlens-loader: bad fail line '${line}'`);
  }
  const direction = f[4];
  if (direction !== 'client' && direction !== 'server') {
    throw new ProtocolError(`flowlens-loader: bad direction in '${line}'`);
  }
  const reason = f[7]!;
  if (reason !== '-' && !DROP_REASON.test(reason)) {
    badField('drop reason', line);
  }
  const n = (i: number, what: string) => int(f[i], what, line);
  return {
    localIp: f[1]!,
    remoteIp: f[2]!,
    serverPort: n(3, 'server port'),
    direction,
    via: f[5] === '-' ? null : { ip: f[5]!, port: n(6, 'via port') },
    reason: reason === '-' ? null : reason,
    connectAttempts: n(8, 'connect attempts'),
    connectFailures: n(9, 'connect failures'),
    connectRefused: n(10, 'connect refused'),
    synRetransmits: n(11, 'SYN retransmits'),
    resetsSent: n(12, 'resets sent'),
    resetsReceived: n(13, 'resets received'),
    drops: n(14, 'drops'),
  };
}

export function parseFailStats(line: string): FailureStats {
  const f = line.trim().split(' ');
  if (f[0] !== 'failstats' || f.length < 7) {
    throw new ProtocolError(`flowlens-loader: bad failstats line '${line}'`);
  }
  const flag = (i: number, what: string) => (f[i] === '1' ? true : f[i] === '0' ? false : badField(what, line));
  return {
    dropsAttached: flag(1, 'drops attached'),
    resetsAttached: flag(2, 'resets attached'),
    failuresLost: int(f[3], 'failures lost', line),
    runTimeNs: measured(f[4], 'drop run time', line),
    runCount: measured(f[5], 'drop run count', line),
    reasons: int(f[6], 'drop reasons', line),
    // f[7] is listenPorts; the misses came after it (an older loader's line ends before them)
    dropMisses: f.length > 8 ? int(f[8], 'drop misses', line) : 0,
    flowMisses: f.length > 9 ? int(f[9], 'flow misses', line) : 0,
  };
}
