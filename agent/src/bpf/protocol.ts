/**
 * The line protocol of agent/bpf/loader.c (flowlens-loader), parsed without I/O so it can be unit tested.
 * One `collect` answer is: zero or more `flow` lines, one `stats` line, then `end`.
 */
import type { Direction, FlowCounters } from '../contracts/report.js';

export interface LoaderReady {
  progId: number;
  linkId: number;
  maxSockets: number;
  maxFlows: number;
  /** The kernel has tcp_sock.total_rto (≥ 6.7); otherwise RTOs are counted from RTO callbacks. */
  totalRto: boolean;
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
}

export interface KernelStats {
  /** Cumulative kernel bpf_stats of the sock_ops program. */
  runTimeNs: number;
  runCount: number;
  socketsTracked: number;
  socketsSampledOut: number;
  flowsDropped: number;
  flowsDrained: number;
}

export interface CollectResult {
  flows: KernelFlow[];
  stats: KernelStats;
}

export class ProtocolError extends Error {}

function int(field: string | undefined, what: string, line: string): number {
  if (field === undefined || !/^\d+$/.test(field)) {
    throw new ProtocolError(`flowlens-loader: bad ${what} in '${line}'`);
  }
  const n = Number(field);
  if (!Number.isSafeInteger(n)) {
    throw new ProtocolError(`flowlens-loader: ${what} out of range in '${line}'`);
  }
  return n;
}

export function parseReady(line: string): LoaderReady {
  const f = line.trim().split(' ');
  if (f[0] !== 'ready' || f.length !== 6) {
    throw new ProtocolError(`flowlens-loader: expected 'ready', got '${line}'`);
  }
  return {
    progId: int(f[1], 'program id', line),
    linkId: int(f[2], 'link id', line),
    maxSockets: int(f[3], 'max sockets', line),
    maxFlows: int(f[4], 'max flows', line),
    totalRto: f[5] === '1',
  };
}

export function parseFlow(line: string): KernelFlow {
  const f = line.trim().split(' ');
  if (f[0] !== 'flow' || f.length !== 17) {
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
  };
}

export function parseStats(line: string): KernelStats {
  const f = line.trim().split(' ');
  if (f[0] !== 'stats' || f.length !== 7) {
    throw new ProtocolError(`flowlens-loader: bad stats line '${line}'`);
  }
  return {
    runTimeNs: int(f[1], 'run time', line),
    runCount: int(f[2], 'run count', line),
    socketsTracked: int(f[3], 'sockets tracked', line),
    socketsSampledOut: int(f[4], 'sockets sampled out', line),
    flowsDropped: int(f[5], 'flows dropped', line),
    flowsDrained: int(f[6], 'flows drained', line),
  };
}

/** Accumulates the lines of one `collect` answer; returns the result once `end` arrives. */
export class CollectParser {
  private flows: KernelFlow[] = [];
  private stats: KernelStats | null = null;

  /** Feed one line; returns the finished result on `end`, otherwise null. */
  push(line: string): CollectResult | null {
    if (line.startsWith('flow ')) {
      this.flows.push(parseFlow(line));
      return null;
    }
    if (line.startsWith('stats ')) {
      this.stats = parseStats(line);
      return null;
    }
    if (line === 'end') {
      if (this.stats === null) {
        throw new ProtocolError("flowlens-loader: 'end' without 'stats'");
      }
      const result = { flows: this.flows, stats: this.stats };
      this.flows = [];
      this.stats = null;
      return result;
    }
    if (line.startsWith('error ')) {
      throw new ProtocolError(`flowlens-loader: ${line.slice(6)}`);
    }
    throw new ProtocolError(`flowlens-loader: unexpected line '${line}'`);
  }
}
