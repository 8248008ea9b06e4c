/**
 * The kernel's own TCP counters of one network namespace: /proc/net/snmp (Tcp: RetransSegs, OutSegs …) and
 * /proc/net/netstat (TcpExt: TCPTimeouts …), read inside the namespace. These are the ground truth the agent's
 * numbers are checked against.
 */
import { readFile } from 'node:fs/promises';
import { execIn } from './netns.js';

export type CounterTable = Record<string, Record<string, number>>;

/** Parses the header/value line pairs of /proc/net/snmp or /proc/net/netstat ("Tcp: a b" / "Tcp: 1 2"). */
export function parseProcNetCounters(text: string): CounterTable {
  const table: CounterTable = {};
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.split(/\s+/);
    const values = lines[i + 1]!.split(/\s+/);
    const group = names[0]!.replace(/:$/, '');
    if (values[0] !== names[0] || names.length !== values.length) {
      throw new Error(`unexpected /proc/net counters at '${lines[i]}'`);
    }
    const row: Record<string, number> = {};
    for (let j = 1; j < names.length; j++) {
      row[names[j]!] = Number(values[j]);
    }
    table[group] = row;
  }
  return table;
}

export interface TcpCounters {
  retransSegs: number;
  timeouts: number;
  outSegs: number;
  inSegs: number;
  activeOpens: number;
  passiveOpens: number;
  /** TcpExt TCPFastOpenActive / TCPFastOpenPassive: connections whose SYN carried data that was accepted. */
  fastOpenActive: number;
  fastOpenPassive: number;
}

export function tcpCountersOf(snmp: CounterTable, netstat: CounterTable): TcpCounters {
  const tcp = snmp.Tcp ?? {};
  const ext = netstat.TcpExt ?? {};
  return {
    retransSegs: tcp.RetransSegs ?? 0,
    timeouts: ext.TCPTimeouts ?? 0,
    outSegs: tcp.OutSegs ?? 0,
    inSegs: tcp.InSegs ?? 0,
    activeOpens: tcp.ActiveOpens ?? 0,
    passiveOpens: tcp.PassiveOpens ?? 0,
    fastOpenActive: ext.TCPFastOpenActive ?? 0,
    fastOpenPassive: ext.TCPFastOpenPassive ?? 0,
  };
}

/** Reads the counters of a namespace (or of the caller's namespace when ns is null). */
export async function readTcpCounters(ns: string | null): Promise<TcpCounters> {
  const read = (path: string) => (ns ? execIn(ns, ['cat', path]) : readFile(path, 'utf8'));
  const [snmp, netstat] = await Promise.all([read('/proc/net/snmp'), read('/proc/net/netstat')]);
  return tcpCountersOf(parseProcNetCounters(snmp), parseProcNetCounters(netstat));
}

export function diffCounters(after: TcpCounters, before: TcpCounters): TcpCounters {
  const out = { ...after };
  for (const k of Object.keys(out) as Array<keyof TcpCounters>) {
    out[k] = after[k] - before[k];
  }
  return out;
}
