/**
 * The merge rule in plain code (the SQL in duckdb-store.ts applies the same rule to sums of roll-up rows; the
 * store's tests check one against the other). For one flow (client ip, server ip, server port) over a range:
 *
 *   client→server bytes = max(Σ client.bytesSent, Σ server.bytesReceived)
 *   server→client bytes = max(Σ server.bytesSent, Σ client.bytesReceived)
 *   bytes               = client→server + server→client
 *   segments            = the same rule over segmentsSent / segmentsReceived (data segments sent by both ends)
 *   retransmits, rtos   = Σ client's + Σ server's (each end counts the segments it sent)
 *   rttUs               = mean of the per-window average RTTs of both ends' rows that had a sample
 *
 * With one end monitored the other end's sums are 0, so that end's counters stand. Taking the larger view per
 * direction (rather than adding one end's sent to the other's sent) also stays right when the two ends'
 * windows do not line up with the query range, or one end's report for a window is missing.
 */
import type { FlowRow } from './flow-store.js';

export interface MergedFlow {
  key: string;
  bytes: number;
  retransmits: number;
  rtos: number;
  rttUs: number | null;
  segments: number;
}

export const flowKey = (r: Pick<FlowRow, 'clientIp' | 'serverIp' | 'serverPort'>): string =>
  `${r.clientIp}|${r.serverIp}|${r.serverPort}`;

export function mergeFlows(rows: FlowRow[]): Map<string, MergedFlow> {
  const acc = new Map<
    string,
    {
      cs: number;
      cr: number;
      ss: number;
      sr: number;
      gcs: number;
      gcr: number;
      gss: number;
      gsr: number;
      rt: number;
      rto: number;
      rttSum: number;
      rttN: number;
    }
  >();
  for (const r of rows) {
    const k = flowKey(r);
    let a = acc.get(k);
    if (!a) {
      acc.set(
        k,
        (a = { cs: 0, cr: 0, ss: 0, sr: 0, gcs: 0, gcr: 0, gss: 0, gsr: 0, rt: 0, rto: 0, rttSum: 0, rttN: 0 })
      );
    }
    if (r.side === 'client') {
      a.cs += r.bytesSent;
      a.cr += r.bytesReceived;
      a.gcs += r.segmentsSent;
      a.gcr += r.segmentsReceived;
    } else {
      a.ss += r.bytesSent;
      a.sr += r.bytesReceived;
      a.gss += r.segmentsSent;
      a.gsr += r.segmentsReceived;
    }
    a.rt += r.retransmits;
    a.rto += r.rtos;
    if (r.rttAvgUs !== null) {
      a.rttSum += r.rttAvgUs;
      a.rttN++;
    }
  }
  const out = new Map<string, MergedFlow>();
  for (const [key, a] of acc) {
    out.set(key, {
      key,
      bytes: Math.max(a.cs, a.sr) + Math.max(a.ss, a.cr),
      retransmits: a.rt,
      rtos: a.rto,
      rttUs: a.rttN > 0 ? a.rttSum / a.rttN : null,
      segments: Math.max(a.gcs, a.gsr) + Math.max(a.gss, a.gcr),
    });
  }
  return out;
}
