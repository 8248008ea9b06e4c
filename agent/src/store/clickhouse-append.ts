/**
 * Rows the ClickHouse store inserts, built from stored reports (pure apart from the id cache). Ids are hashes
 * every hub computes alike (no shared counter, no hub memory needed): a flow end's identity (merge.ts
 * `flowIdentity`) and a named end both become a UInt64, never 0 (0 is "no via").
 */
import { createHash } from 'node:crypto';
import { CATEGORY_CODE } from '../classify/category.js';
import { DEFAULT_CLUSTER, FAILURE_COUNTER_NAMES } from '../contracts/report.js';
import { RAW_NAMES } from './clickhouse-schema.js';
import { TsvWriter } from './clickhouse-tsv.js';
import type { Endpoint, StoredReport } from './flow-store.js';
import { clusterQualified, flowIdentity } from './merge.js';

/** A 64-bit id of a key, as the decimal text ClickHouse reads into a UInt64 (JSON numbers lose bits). */
export function hashId(key: string): string {
  const v = createHash('md5').update(key).digest().readBigUInt64LE(0);
  return (v === 0n ? 1n : v).toString();
}

/** The fields that name an end: two ends with the same fields are one `endpoints` row. */
export function endpointKey(e: Endpoint): string {
  const key = [e.ip, e.pod, e.namespace, e.workload, e.kind, e.node, e.zone, e.service];
  // An end of the cluster `default` keeps the id it had before clusters were kept (schema version 4).
  return JSON.stringify(e.cluster === undefined || e.cluster === DEFAULT_CLUSTER ? key : [...key, e.cluster]);
}

const CACHE_LIMIT = 500_000;

/** The ids of one end object: its flow identity's and its `endpoints` row's, each computed when first asked. */
interface EndIds {
  identity: string | undefined;
  endpoint: string | undefined;
  /** Its endpoint row was inserted by this process (so `written` need not be asked again). */
  written: boolean;
}

/** Hash ids with a bounded cache (reports repeat the same ends every window). */
export class Ids {
  private readonly keys = new Map<string, string>();
  /** Ids by end object: enrichment hands out one object per end, so most rows skip the keys' text. One lookup per
   * end object for both of its ids. */
  private readonly byObject = new WeakMap<Endpoint, EndIds>();
  /** Endpoint ids this process already inserted: an optimisation only (the table collapses repeats). */
  private readonly written = new Set<string>();

  private hash(key: string): string {
    let id = this.keys.get(key);
    if (id === undefined) {
      if (this.keys.size >= CACHE_LIMIT) {
        this.keys.clear();
      }
      id = hashId(key);
      this.keys.set(key, id);
    }
    return id;
  }

  private of(e: Endpoint): EndIds {
    let ids = this.byObject.get(e);
    if (ids === undefined) {
      ids = { identity: undefined, endpoint: undefined, written: false };
      this.byObject.set(e, ids);
    }
    return ids;
  }

  identity(e: Endpoint): string {
    const ids = this.of(e);
    return (ids.identity ??= this.hash(flowIdentity(e)));
  }

  /** A Service address (`via`) in the flow's cluster, as `flowIdentity` keys a bare address. */
  address(ip: string, cluster: string | undefined): string {
    return this.hash(clusterQualified(cluster, ip));
  }

  endpoint(e: Endpoint, fresh: Map<string, Endpoint>): string {
    const ids = this.of(e);
    const id = (ids.endpoint ??= this.hash(`ep\u0000${endpointKey(e)}`));
    if (!ids.written) {
      if (this.written.has(id)) {
        ids.written = true;
      } else {
        fresh.set(id, e);
      }
    }
    return id;
  }

  /** Marks endpoint ids as stored (after their insert succeeded). */
  stored(ids: Iterable<string>): void {
    if (this.written.size >= CACHE_LIMIT) {
      this.written.clear();
    }
    for (const id of ids) {
      this.written.add(id);
    }
  }
}

export type RawRow = unknown[];

/** A port as the UInt16 column holds it; anything else is refused (ClickHouse would wrap it silently). */
function port(reportId: string, p: number): number {
  if (!Number.isInteger(p) || p < 0 || p > 65535) {
    throw new Error(`report ${reportId}: port ${p} is not a TCP port`);
  }
  return p;
}

/** A counter as TabSeparated text; anything but a finite number is refused (TSV would store NaN or fail late). */
function count(reportId: string, name: string, v: number): string {
  if (!Number.isFinite(v)) {
    throw new Error(`report ${reportId}: ${name} ${v} is not a finite number`);
  }
  return String(v);
}

/** A counter written as TabSeparated text (`count`'s rule, straight into bytes). */
function countTo(w: TsvWriter, reportId: string, name: string, v: number): void {
  if (!Number.isFinite(v)) {
    throw new Error(`report ${reportId}: ${name} ${v} is not a finite number`);
  }
  w.number(v);
}

/** Backslash escapes of ClickHouse's text form of a String. */
const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
};

/** A string as a quoted TabSeparated value (a Map key). */
function quoted(s: string): string {
  return `'${s.replace(/[\\'\t\n\r\0]/g, (c) => ESCAPES[c]!)}'`;
}

/** A row's drops by reason as a TabSeparated Map (only reasons with a count: the map stays short) and their sum. */
function dropColumns(reportId: string, drops: Record<string, number> | undefined): string {
  if (drops === undefined) {
    return '0\t{}';
  }
  let total = 0;
  let map = '';
  for (const reason in drops) {
    const n = drops[reason]!;
    if (n > 0) {
      total += n;
      map += `${map === '' ? '' : ','}${quoted(reason)}:${count(reportId, 'drops', n)}`;
    }
  }
  return `${count(reportId, 'drops', total)}\t{${map}}`;
}

/**
 * One report's raw rows as TabSeparated bytes, RAW_NAMES order, one line per row; new endpoints are added to
 * `fresh`. Bytes straight from the rows (no row arrays, no JSON, no intermediate strings: clickhouse-tsv.ts): the
 * cheapest text format for the hub to write and for the engine to read (docs/hub.md "ClickHouse"). A missing RTT
 * is `\N`, a Map `{'REASON':n,…}`.
 */
export function rawTsvBytes(
  r: StoredReport,
  ids: Ids,
  fresh: Map<string, Endpoint>,
  w = new TsvWriter(16 * 1024)
): Buffer {
  const id = r.reportId;
  const ts = Math.floor(r.startMs / 1000);
  w.reset();
  for (const f of r.rows) {
    w.number(ts);
    w.tab();
    w.text(ids.identity(f.client));
    w.tab();
    w.text(ids.identity(f.server));
    w.tab();
    w.number(port(id, f.serverPort));
    w.tab();
    w.number(f.side === 'client' ? 0 : 1);
    w.tab();
    w.number(CATEGORY_CODE[f.category]);
    w.tab();
    w.text(ids.endpoint(f.client, fresh));
    w.tab();
    w.text(ids.endpoint(f.server, fresh));
    w.tab();
    countTo(w, id, 'bytesSent', f.bytesSent);
    w.tab();
    countTo(w, id, 'bytesReceived', f.bytesReceived);
    w.tab();
    countTo(w, id, 'segmentsSent', f.segmentsSent);
    w.tab();
    countTo(w, id, 'segmentsReceived', f.segmentsReceived);
    w.tab();
    countTo(w, id, 'retransmits', f.retransmits);
    w.tab();
    countTo(w, id, 'rtos', f.rtos);
    w.tab();
    countTo(w, id, 'connectionsOpened', f.connectionsOpened);
    w.tab();
    countTo(w, id, 'connectionsClosed', f.connectionsClosed);
    w.tab();
    if (f.rttAvgUs === null) {
      w.text('\\N');
    } else {
      countTo(w, id, 'rttAvgUs', f.rttAvgUs);
    }
    w.tab();
    if (f.rttMaxUs === null) {
      w.text('\\N');
    } else {
      countTo(w, id, 'rttMaxUs', f.rttMaxUs);
    }
    w.tab();
    if (f.via) {
      w.text(ids.address(f.via.ip, f.client.cluster));
      w.tab();
      w.number(port(id, f.via.port));
      w.tab();
      w.text(ids.endpoint(f.via.endpoint, fresh));
    } else {
      w.text('0\t0\t0');
    }
    for (const n of FAILURE_COUNTER_NAMES) {
      const v = f[n];
      w.tab();
      if (v === undefined) {
        w.number(0);
      } else {
        countTo(w, id, n, v);
      }
    }
    w.tab();
    w.text(dropColumns(id, f.drops));
    w.newline();
  }
  return w.take();
}

/** `rawTsvBytes` as text. */
export function rawTsv(r: StoredReport, ids: Ids, fresh: Map<string, Endpoint>): string {
  return rawTsvBytes(r, ids, fresh).toString('utf8');
}

if (RAW_NAMES.length !== 21 + FAILURE_COUNTER_NAMES.length + 2) {
  throw new Error(`clickhouse-append: raw row shape (${RAW_NAMES.length} columns) out of step with the schema`);
}

/** One report's forwards (merge.ts rule 4) in FORWARD_NAMES order; new endpoints are added to `fresh`. */
export function forwardRows(r: StoredReport, ids: Ids, fresh: Map<string, Endpoint>): RawRow[] {
  const ts = Math.floor(r.startMs / 1000);
  return (r.forwards ?? []).map((f) => [
    ts,
    ids.identity(f.client),
    ids.endpoint(f.client, fresh),
    ids.identity(f.server),
    ids.endpoint(f.server, fresh),
    port(r.reportId, f.serverPort),
    ids.identity(f.snat),
    ids.address(f.via.ip, f.client.cluster),
    port(r.reportId, f.via.port),
    ids.endpoint(f.via.endpoint, fresh),
    CATEGORY_CODE[f.category],
    f.connections,
    flowIdentity(f.client),
    f.via.ip,
  ]);
}

export function endpointRows(fresh: Map<string, Endpoint>): unknown[][] {
  return [...fresh].map(([id, e]) => [
    id,
    e.ip,
    e.pod,
    e.namespace,
    e.workload,
    e.kind,
    e.node,
    e.zone,
    e.service,
    e.cluster ?? DEFAULT_CLUSTER,
  ]);
}

export function reportRow(r: StoredReport): unknown[] {
  return [
    r.reportId,
    r.node,
    r.startMs,
    r.endMs,
    r.rows.length,
    r.other.flows,
    r.other.bytesSent,
    r.other.bytesReceived,
    r.other.retransmits,
    r.other.rtos,
  ];
}
