/**
 * The storage layer behind the hub. The embedded implementation is DuckDB (duckdb-store.ts); ClickHouse
 * (clickhouse-store.ts) takes over when one machine is outgrown (see docs/hub.md).
 */
import type { Category } from '../classify/category.js';
import type { FailureCounters, FlowCounters } from '../contracts/report.js';
import type { MergedFailures } from './merge.js';

/** One end of a flow, as named at ingest time. Names are null where unknown. */
export interface Endpoint {
  ip: string;
  pod: string | null;
  namespace: string | null;
  workload: string | null;
  kind: string | null;
  node: string | null;
  zone: string | null;
  /** The Service whose ClusterIP this address is (a 1.0 report's server end reached through a ClusterIP). */
  service: string | null;
  /**
   * The cluster the address belongs to (report contract 1.1 `cluster`; absent: `default`). Part of the flow
   * identity (merge.ts `flowIdentity`): the same address in two clusters is two ends, never merged.
   */
  cluster?: string;
}

/**
 * The Service address a connection was sent to when a node translated it (report contract 1.1 `via`): the
 * address and port, and the Service it names (`endpoint.service`, null when the metadata does not know it).
 */
export interface ViaEnd {
  ip: string;
  port: number;
  endpoint: Endpoint;
}

export type Side = 'client' | 'server';

/**
 * One monitored end's counters for one flow over one report window. Oriented client → server. The failure
 * counters (report contract 1.2) are optional: absent means 0.
 */
export interface FlowRow extends FlowCounters, FailureCounters {
  clientIp: string;
  serverIp: string;
  serverPort: number;
  /** Which end reported this row. */
  side: Side;
  category: Category;
  client: Endpoint;
  server: Endpoint;
  /** Window-average smoothed RTT in µs, or null when the window had no sample. */
  rttAvgUs: number | null;
  rttMaxUs: number | null;
  /** Set when a node translated the connection: the flow was addressed to this Service address (optional: 1.0). */
  via?: ViaEnd | null;
}

/**
 * Connections a node forwarded (report contract 1.2 `forwards`), named at ingest: a client elsewhere reached the
 * backend (`server`:`serverPort`) on another node through `via`; the backend saw `snat` as its client (the client
 * itself when the node kept the source). `category` is the client's and the backend's (their zones).
 */
export interface ForwardRow {
  client: Endpoint;
  server: Endpoint;
  serverPort: number;
  snat: Endpoint;
  via: ViaEnd;
  category: Category;
  connections: number;
}

export interface OtherTotals {
  flows: number;
  bytesSent: number;
  bytesReceived: number;
  retransmits: number;
  rtos: number;
}

/** A validated, enriched report ready to be stored. */
export interface StoredReport {
  reportId: string;
  node: string;
  /** Window start and end, epoch milliseconds. */
  startMs: number;
  endMs: number;
  rows: FlowRow[];
  other: OtherTotals;
  /** Connections the reporting node forwarded (contract 1.2; absent or empty for most reports). */
  forwards?: ForwardRow[];
}

/** `failures` (API 1.3): connect failures + resets + drops (merge.ts `failureScore`), failing flows first. */
export type Metric = 'bytes' | 'retransmits' | 'rtos' | 'rtt' | 'failures';
export type GroupBy = 'flow' | 'pod' | 'workload' | 'namespace';

export interface RangeQuery {
  /** Epoch milliseconds, half-open [from, to). */
  fromMs: number;
  toMs: number;
  /** Keep flows of this cluster only (absent: every cluster). */
  cluster?: string;
  categories?: Category[];
  /** Keep flows with either end in this namespace (and workload, when given). */
  namespace?: string;
  workload?: string;
  /** Drilldown: keep flows with one end matching `endpoint` (and, with `peer`, the other end matching `peer`). */
  endpoint?: EndpointFilter;
  peer?: EndpointFilter;
}

/** One side of a drilldown, matched against the names a flow's end had at the time of the flow. */
export type EndpointFilter = { kind: 'pod' | 'workload'; namespace: string; name: string } | { kind: 'ip'; ip: string };

export interface TopQuery extends RangeQuery {
  metric: Metric;
  limit: number;
  groupBy: GroupBy;
}

/** One end of a query row: an Endpoint without the service, and without an ip once rows are grouped. */
export type EndSummary = Omit<Endpoint, 'ip' | 'service' | 'cluster'> & { ip: string | null };

/**
 * Why a row's or edge's connections and packets failed (API 1.3), merged per flow by merge.ts FAILURE_MERGE and
 * summed over the flows of a group: connect attempts, failures, refusals and SYN retransmissions (the client's),
 * resets in each direction (client→server, server→client) and their total, packets dropped (both ends, all
 * reasons) and by kernel drop reason, and `failures`, the ranking value of `metric=failures`.
 */
export type FailureTotals = MergedFailures & { resets: number; failures: number };

export interface TopRow extends FailureTotals {
  /** The cluster of the row's flows (both ends of a flow are always in one cluster). */
  cluster: string;
  category: Category;
  local: EndSummary;
  remote: EndSummary & { service: string | null };
  serverPort: number | null;
  value: number;
  bytes: number;
  retransmits: number;
  rtos: number;
  rttUs: number | null;
  /** The largest RTT sample of the flow's rows (µs), null without a sample. */
  rttMaxUs: number | null;
  /**
   * Data segments sent by both ends (retransmissions included), merged like bytes (docs/hub.md "The merge
   * rule"): the denominator of the retransmission ratio. Null when the range includes roll-up rows written
   * before the store kept segment counts (schema version 1).
   */
  segments: number | null;
}

export interface MapQuery extends RangeQuery {
  groupBy: 'workload' | 'pod';
  /** Most edges kept, by bytes. */
  limit: number;
}

export interface MapNode {
  /** Includes the cluster (`<cluster>/…`): two clusters' pods never share a node. */
  id: string;
  cluster: string;
  title: string;
  subtitle: string | null;
  namespace: string | null;
  kind: string | null;
  workload: string | null;
  pod: string | null;
  ip: string | null;
  category: Category | null;
  bytes: number;
}

export interface MapEdge extends FailureTotals {
  id: string;
  cluster: string;
  source: string;
  target: string;
  category: Category;
  bytes: number;
  retransmits: number;
  rtos: number;
  rttUs: number | null;
  rttMaxUs: number | null;
  /** The Service the edge's flows went through ("via orders"), when they all went through the same one. */
  via: string | null;
  /**
   * Data segments sent by both ends (retransmissions included), merged like bytes (docs/hub.md "The merge
   * rule"): the denominator of the retransmission ratio. Null when the range includes roll-up rows written
   * before the store kept segment counts (schema version 1).
   */
  segments: number | null;
}

export interface SeriesQuery extends RangeQuery {
  metric: Metric;
  stepMs: number;
  /** What one series is: everything (total), or one category / namespace / workload. */
  groupBy: 'total' | 'category' | 'namespace' | 'workload';
  limit: number;
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

/** The range actually answered: stores align ranges to their resolution. */
export interface Answered<T> {
  fromMs: number;
  toMs: number;
  result: T;
}

/** A cluster that has flows in a range, and the start of its latest report window or roll-up bucket there. */
export interface ClusterSeen {
  name: string;
  lastSeenMs: number;
}

export interface StoreStats {
  rawRows: number;
  rollupRows: number;
  reports: number;
  bytesOnDisk: number;
}

/**
 * One merged flow of a range (docs/hub.md "The merge rule") with when it was seen: the evidence behind
 * network-policy drafts and checks. First and last seen are the starts of the earliest and latest report
 * window or roll-up bucket holding a row of the flow (the store's resolution for that time).
 */
export interface ObservedFlow {
  client: Endpoint;
  server: Endpoint;
  serverPort: number;
  category: Category;
  /** The Service the flow went through, or the server address's own Service; null if none. */
  service: string | null;
  bytes: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

/**
 * A report in a store's own insert form (`FlowStore.prepare`), made as soon as it is enriched: what the ingest keeps
 * while the report waits for its group commit.
 */
export interface PreparedReport {
  readonly reportId: string;
  /** Flow rows of the report. */
  readonly flows: number;
}

/** The insert form of a store that takes reports as they are (DuckDB): the report itself, marked as prepared. */
export class AsIsReport implements PreparedReport {
  constructor(readonly report: StoredReport) {}

  get reportId(): string {
    return this.report.reportId;
  }

  get flows(): number {
    return this.report.rows.length;
  }
}

/** The reports behind `AsIsReport`s; a report another store prepared is refused (its form is not a report). */
export function asIsReports(prepared: PreparedReport[]): StoredReport[] {
  return prepared.map((p) => {
    if (!(p instanceof AsIsReport)) {
      throw new Error(`report ${p.reportId} was not prepared by this store`);
    }
    return p.report;
  });
}

export interface FlowStore {
  open(): Promise<void>;
  /**
   * True when a report with this id was stored (within the report-id retention). Synchronous for a store that
   * keeps the ids in memory (DuckDB), a query for a store shared by several hubs (ClickHouse).
   */
  hasReport(reportId: string): boolean | Promise<boolean>;
  /** Stores the reports atomically; resolves once they are durable. */
  append(reports: StoredReport[]): Promise<void>;
  /**
   * A report in this store's insert form, made once, as soon as it is enriched; `appendPrepared` stores it as
   * `append` would the report. A store whose insert form is bytes (ClickHouse) encodes it here, so the ingest keeps a
   * few hundred bytes per row waiting for a group commit instead of row objects (garbage collection), and a bad value
   * fails its own report at once; a store that takes reports as they are (DuckDB) returns an `AsIsReport`. Throws
   * when the store cannot take the report.
   */
  prepare(report: StoredReport): PreparedReport;
  /** Stores reports this store prepared, atomically as `append`; resolves once they are durable. */
  appendPrepared(reports: PreparedReport[]): Promise<void>;
  topContributors(q: TopQuery): Promise<Answered<TopRow[]>>;
  serviceMap(q: MapQuery): Promise<Answered<{ nodes: MapNode[]; edges: MapEdge[] }>>;
  timeseries(q: SeriesQuery): Promise<Answered<Series[]>>;
  /** Namespaces of named ends (of one cluster, when given). */
  namespaces(cluster?: string): Promise<string[]>;
  /** The clusters with flows in [q.fromMs, q.toMs), by name. */
  clusters(q: RangeQuery): Promise<Answered<ClusterSeen[]>>;
  workloads(
    namespace?: string,
    cluster?: string
  ): Promise<Array<{ namespace: string; workload: string; kind: string | null }>>;
  /**
   * Every merged flow of the range with either end in `q.namespace` (and `q.workload`), with first and last
   * seen: the policy drafts' and checks' evidence. Optional: a store without it answers the policy API with 501.
   */
  observedFlows?(q: RangeQuery): Promise<Answered<ObservedFlow[]>>;
  /** Roll-ups, compaction and retention, as of `nowMs`. */
  maintain(nowMs: number): Promise<void>;
  stats(): Promise<StoreStats>;
  close(): Promise<void>;
}
