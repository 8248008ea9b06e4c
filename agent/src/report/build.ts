/**
 * Builds report v1 from one window of flows (pure): the top N flows, loss first (retransmits + 2·rtos + failures), then
 * bytes (sent + received); every other flow is summed into `other` so totals stay exact.
 */
import { randomUUID } from 'node:crypto';
import {
  COUNTER_NAMES,
  emptyCounters,
  type FlowRecord,
  type Forward,
  type LocalWorkload,
  type OtherCounters,
  type ReportV1,
} from '../contracts/report.js';
import { addFailures, failureScore, failuresOf } from './failures.js';
import { flowKeyString, type WindowFlow } from './window.js';
import { compareText } from '../compare.js';

export const DEFAULT_TOP_N = 500;

/** Loss: retransmissions + 2·RTOs, plus failures (connect failures, resets, dropped packets). */
export function lossScore(f: WindowFlow): number {
  return f.retransmits + 2 * f.rtos + failureScore(f);
}

/** Loss first, then bytes, then a stable order by key so equal flows always come out the same way. */
export function compareFlows(a: WindowFlow, b: WindowFlow): number {
  return (
    lossScore(b) - lossScore(a) ||
    b.bytesSent + b.bytesReceived - (a.bytesSent + a.bytesReceived) ||
    compareText(flowKeyString(a), flowKeyString(b))
  );
}

export function toRecord(f: WindowFlow, local: LocalWorkload): FlowRecord {
  const server = f.direction === 'server';
  const record: FlowRecord = {
    localIp: f.localIp,
    localPort: server ? f.serverPort : 0,
    remoteIp: f.remoteIp,
    remotePort: server ? 0 : f.serverPort,
    direction: f.direction,
    local,
    via: f.via ?? null,
    ...emptyCounters(),
    rttUs: f.rttSamples > 0 ? { min: f.rttMinUs, avg: Math.round(f.rttSumUs / f.rttSamples), max: f.rttMaxUs } : null,
  };
  for (const name of COUNTER_NAMES) {
    record[name] = f[name];
  }
  Object.assign(record, failuresOf(f));
  return record;
}

export interface BuildReportInput {
  node: string;
  zone: string | null;
  /** The node's cluster (report contract 1.1); the hub names a report without one after its own cluster. */
  cluster?: string;
  start: Date;
  end: Date;
  flows: WindowFlow[];
  topN?: number;
  /** Who owns a local IP on this node (null when unknown). */
  localOf?: (ip: string) => LocalWorkload;
  reportId?: string;
  /** Connections forwarded through this node (report `forwards`, contract 1.2); omitted when empty. */
  forwards?: Forward[];
}

export function buildReport(input: BuildReportInput): ReportV1 {
  const topN = input.topN ?? DEFAULT_TOP_N;
  const localOf = input.localOf ?? (() => null);
  const sorted = [...input.flows].sort(compareFlows);
  const top = sorted.slice(0, topN);
  const rest = sorted.slice(topN);
  const other: OtherCounters = { ...emptyCounters(), flows: rest.length };
  for (const f of rest) {
    for (const name of COUNTER_NAMES) {
      other[name] += f[name];
    }
    addFailures(other, f);
  }
  return {
    version: 1,
    reportId: input.reportId ?? randomUUID(),
    node: input.node,
    ...(input.cluster !== undefined ? { cluster: input.cluster } : {}),
    zone: input.zone,
    start: input.start.toISOString(),
    end: input.end.toISOString(),
    flows: top.map((f) => toRecord(f, localOf(f.localIp))),
    other,
    ...(input.forwards && input.forwards.length > 0 ? { forwards: input.forwards } : {}),
  };
}
