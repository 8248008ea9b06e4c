/**
 * The FlowStore on ClickHouse, through the official `@clickhouse/client` (HTTP). Stateless: any number of hubs
 * share one database. Layout and migrations: clickhouse-schema.ts; rows: clickhouse-append.ts; query SQL:
 * clickhouse-queries.ts. Roll-ups are materialized views, so `maintain` has nothing to do (TTL expires rows).
 *
 * Idempotent ingest without hub memory: each report is one INSERT carrying insert_deduplication_token =
 * reportId, which the engine remembers for the table's deduplication window (a re-sent report, through this
 * hub or another, inserts nothing, and the roll-up views see nothing either); `hasReport` also asks the
 * `reports` table, so a report re-sent after the window is still refused before it is enriched.
 */
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { Readable } from 'node:stream';
import { endpointRows, forwardRows, Ids, rawTsvBytes, reportRow, type RawRow } from './clickhouse-append.js';
import { BatchedLookup } from './clickhouse-batch.js';
import type { ClickHouseConfig } from './clickhouse-config.js';
import { TsvWriter } from './clickhouse-tsv.js';
import {
  EP,
  forwardsCountSql,
  forwardsSql,
  mapSql,
  namespacesSql,
  seriesSql,
  source,
  topSql,
  workloadsSql,
} from './clickhouse-queries.js';
import { observedFlows } from './duckdb-observed.js';
import {
  FORWARD_NAMES,
  MIGRATIONS,
  RAW_NAMES,
  ROLLUP_STEPS,
  SCHEMA_VERSION,
  migrationsTable,
  type SchemaOptions,
} from './clickhouse-schema.js';
import {
  clusterSeen,
  clustersSql,
  num,
  serviceMapFromRows,
  seriesFromRows,
  str,
  topRow,
  type Row,
} from './duckdb-sql.js';
import type {
  ClusterSeen,
  Answered,
  Endpoint,
  FlowStore,
  MapEdge,
  MapNode,
  MapQuery,
  ObservedFlow,
  PreparedReport,
  RangeQuery,
  Series,
  SeriesQuery,
  StoreStats,
  StoredReport,
  TopQuery,
  TopRow,
} from './flow-store.js';
import { CLICKHOUSE_DIALECT } from './merge.js';
import { ceilTo, floorTo, planRange, type Plan, type Tier } from './plan.js';

export { SCHEMA_VERSION };

/** A drop_reasons Map as JSON (an object of reason → count) as [reason, n] pairs. */
function mapReasons(v: unknown): Array<[string | null, number]> {
  return v !== null && typeof v === 'object' ? Object.entries(v).map(([k, n]) => [k, Number(n)]) : [];
}

export interface ClickHouseStoreOptions {
  config: ClickHouseConfig;
  rawRetentionS?: number;
  fineRetentionS?: number;
  hourRetentionS?: number;
  /** Reports (inserts) the engine remembers for deduplication (default 100,000). */
  dedupWindow?: number;
  /**
   * Report inserts in flight at once (default 128). Each waits for the server's next asynchronous-insert flush,
   * which takes all the inserts that arrived meanwhile into one part: the more in flight, the fewer flushes.
   */
  insertConcurrency?: number;
}

/**
 * Settings every statement runs with: standard SQL NULLs from outer joins (the merge rule's LEFT JOIN), and a
 * column name winning over a SELECT alias of the same name (the shared SQL writes `sum(up) AS up`).
 */
export const QUERY_SETTINGS = { join_use_nulls: 1, prefer_column_name_to_alias: 1 } as const;

/**
 * The settings of one report's inserts. Asynchronous inserts: the server gathers many hubs' small reports into
 * one part per table (a report per insert would make ~670 parts a second at 5,000 nodes: "too many parts"), and
 * `wait_for_async_insert = 1` answers only once the report is in a part, so an acknowledged report is stored.
 * Deduplication keyed on the report id, for asynchronous inserts too (`async_insert_deduplicate`) and in the
 * roll-up views' tables (ClickHouse 26.1 and later; docs/hub.md "ClickHouse"): a re-sent report adds nothing.
 */
export function reportInsertSettings(reportId: string, onCluster: boolean) {
  return {
    insert_deduplication_token: reportId,
    insert_deduplicate: 1,
    deduplicate_blocks_in_dependent_materialized_views: 1,
    async_insert: 1,
    wait_for_async_insert: 1,
    async_insert_deduplicate: 1,
    // On a cluster: acknowledged only once the shard stored it (not queued on this node).
    ...(onCluster ? { distributed_foreground_insert: 1 } : {}),
  } as const;
}

/** A report in this store's insert form (`ClickHouseStore.prepare`). */
export class EncodedReport implements PreparedReport {
  constructor(
    readonly reportId: string,
    readonly flows: number,
    /** Raw rows, TabSeparated (rawTsv). */
    readonly raw: Buffer,
    readonly forwards: RawRow[],
    /** The `reports` row (reportRow). */
    readonly row: unknown[],
    /** Ends this process had not stored when the report was encoded, by id. */
    readonly fresh: Map<string, Endpoint>
  ) {}
}

/** `elapsed_ns` of an X-ClickHouse-Summary header (JSON; absent or unreadable: 0). */
export function summaryElapsedNs(header: string | string[] | undefined): number {
  if (typeof header !== 'string') {
    return 0;
  }
  try {
    const v = Number((JSON.parse(header) as { elapsed_ns?: unknown }).elapsed_ns);
    return Number.isFinite(v) ? v : 0;
  } catch {
    return 0;
  }
}

export class ClickHouseStore implements FlowStore {
  private client?: ClickHouseClient;
  private readonly ids = new Ids();
  /** Scratch space of the raw rows' encoding (one report at a time: `prepare` is synchronous). */
  private readonly tsv = new TsvWriter();
  private readonly opts: Required<Omit<ClickHouseStoreOptions, 'config'>> & { config: ClickHouseConfig };
  private lastNowS = 0;

  constructor(options: ClickHouseStoreOptions) {
    this.opts = {
      rawRetentionS: 6 * 3600,
      fineRetentionS: 7 * 86400,
      hourRetentionS: 90 * 86400,
      dedupWindow: 100_000,
      insertConcurrency: 128,
      ...options,
    };
    if (this.opts.rawRetentionS < 3600) {
      throw new Error('raw retention must be at least one hour');
    }
  }

  get rawRetentionS(): number {
    return this.opts.rawRetentionS;
  }

  private get schema(): SchemaOptions {
    const { config, rawRetentionS, fineRetentionS, hourRetentionS, dedupWindow } = this.opts;
    return {
      database: config.database,
      cluster: config.cluster,
      rawRetentionS,
      fineRetentionS,
      hourRetentionS,
      dedupWindow,
    };
  }

  private connect(database?: string): ClickHouseClient {
    const c = this.opts.config;
    return createClient({
      url: c.url,
      username: c.username,
      password: c.password,
      database,
      // Progress headers keep a long query's connection busy through load balancers' idle timeouts.
      clickhouse_settings: {
        ...QUERY_SETTINGS,
        send_progress_in_http_headers: 1,
        http_headers_progress_interval_ms: '10000',
      },
      max_open_connections: this.opts.insertConcurrency + 4,
      // Failures reach the caller (ingest answers 503, the query API 500) and the hub's own JSON log.
      log: { level: ClickHouseLogLevel.OFF },
      request_timeout: 120_000,
    });
  }

  /** Creates the database and applies the migrations this hub knows and the store lacks. */
  async open(): Promise<void> {
    const boot = this.connect();
    try {
      for (const sql of migrationsTable(this.schema)) {
        await boot.command({ query: sql });
      }
    } catch (err) {
      const { url, database } = this.opts.config;
      throw new Error(`ClickHouse store ${url}/${database}: ${(err as Error).message}`);
    } finally {
      await boot.close();
    }
    const client = this.connect(this.opts.config.database);
    try {
      const applied = new Set(
        (await this.rowsOn(client, 'SELECT version FROM flowlens_migrations FINAL')).map((r) => num(r.version))
      );
      const newest = Math.max(0, ...applied);
      if (newest > SCHEMA_VERSION) {
        throw new Error(
          `ClickHouse database ${this.opts.config.database} was written by a newer hub (store schema ${newest}; this hub reads up to ${SCHEMA_VERSION})`
        );
      }
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) {
          continue;
        }
        for (const sql of m.statements(this.schema)) {
          await client.command({ query: sql });
        }
        await client.insert({
          table: 'flowlens_migrations',
          values: [{ version: m.version, description: m.description }],
          format: 'JSONEachRow',
        });
      }
    } catch (err) {
      await client.close();
      throw err;
    }
    this.client = client;
  }

  private get c(): ClickHouseClient {
    if (!this.client) {
      throw new Error('store is not open');
    }
    return this.client;
  }

  /** The engine's own time of the queries this store read rows with, nanoseconds (`engineQueryNs`). */
  private engineNs = 0;

  private async rowsOn(client: ClickHouseClient, query: string): Promise<Row[]> {
    const rs = await client.query({ query, format: 'JSONEachRow' });
    this.engineNs += summaryElapsedNs(rs.response_headers['x-clickhouse-summary']);
    return (await rs.json<Record<string, unknown>>()) as Row[];
  }

  /**
   * The engine's own time of the queries this store has run for answers so far (the `elapsed_ns` of each one's
   * X-ClickHouse-Summary header), summed: the hub benchmark sets it beside each query's wall time.
   */
  engineQueryNs(): number {
    return this.engineNs;
  }

  private rows(query: string): Promise<Row[]> {
    return this.rowsOn(this.c, query);
  }

  /** Report ids asked within one event-loop turn share one query (clickhouse-batch.ts). */
  private readonly reportLookup = new BatchedLookup(async (ids) => {
    const rs = await this.c.query({
      query: 'SELECT DISTINCT report_id FROM reports WHERE report_id IN {ids:Array(String)}',
      query_params: { ids },
      format: 'JSONCompactEachRow',
    });
    return new Set((await rs.json<[string]>()).map(([id]) => id));
  });

  hasReport(reportId: string): Promise<boolean> {
    return this.reportLookup.has(reportId);
  }

  /**
   * A report as this store inserts it, encoded once: raw rows as TabSeparated bytes, forwards and the report's own
   * row as arrays, and the ends it names that this process had not stored when it was encoded.
   */
  prepare(r: StoredReport): EncodedReport {
    const fresh = new Map<string, Endpoint>();
    // Bytes at once (no text in between), outside the JavaScript heap while the report waits for its insert.
    const raw = rawTsvBytes(r, this.ids, fresh, this.tsv);
    return new EncodedReport(r.reportId, r.rows.length, raw, forwardRows(r, this.ids, fresh), reportRow(r), fresh);
  }

  /** Stores the reports; see `appendPrepared`. A value the store refuses rejects (never throws). */
  async append(reports: StoredReport[]): Promise<void> {
    await this.appendPrepared(reports.map((r) => this.prepare(r)));
  }

  /**
   * Stores reports `prepare` encoded; resolves once every insert was acknowledged. The endpoints they name first
   * (so no stored row names an end the dictionary lacks), then each report's rows under its own deduplication
   * token, then the report ids. A failure part-way leaves nothing a retry would count twice.
   */
  async appendPrepared(prepared: PreparedReport[]): Promise<void> {
    if (prepared.length === 0) {
      return;
    }
    const reports = this.encoded(prepared);
    await this.insertEndpoints(reports);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < reports.length) {
        const r = reports[next++]!;
        const settings = reportInsertSettings(r.reportId, this.opts.config.cluster !== null);
        // Forwards first, raw rows next, the report's id last: a retry after a failure in between re-sends
        // what each table's deduplication then refuses or takes, and is never answered "duplicate" early.
        if (r.forwards.length > 0) {
          await this.c.insert({
            table: 'forwards',
            columns: FORWARD_NAMES as [string, ...string[]],
            values: r.forwards,
            format: 'JSONCompactEachRow',
            clickhouse_settings: settings,
          });
        }
        if (r.raw.length === 0) {
          continue;
        }
        // TabSeparated text, built by rawTsvBytes: the client sends a raw format's stream as it is.
        await this.c.insert({
          table: 'flows_raw',
          columns: RAW_NAMES as [string, ...string[]],
          values: Readable.from([r.raw], { objectMode: false }),
          format: 'TabSeparated',
          clickhouse_settings: settings,
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.insertConcurrency, reports.length) }, worker));
    await this.c.insert({ table: 'reports', values: reports.map((r) => r.row), format: 'JSONCompactEachRow' });
  }

  private encoded(prepared: PreparedReport[]): EncodedReport[] {
    return prepared.map((p) => {
      if (!(p instanceof EncodedReport)) {
        throw new Error(`report ${p.reportId} was not prepared by this store`);
      }
      return p;
    });
  }

  /** The ends the reports name that this process had not stored, in one insert before any row naming them. */
  private async insertEndpoints(reports: EncodedReport[]): Promise<void> {
    const fresh = new Map<string, Endpoint>();
    for (const r of reports) {
      for (const [id, e] of r.fresh) {
        fresh.set(id, e);
      }
    }
    if (fresh.size > 0) {
      await this.c.insert({ table: 'endpoints', values: endpointRows(fresh), format: 'JSONCompactEachRow' });
      this.ids.stored(fresh.keys());
    }
  }

  /**
   * Stores reports `prepare` encoded in one INSERT per table: every report's raw rows in one block (so the roll-up
   * views aggregate them together), their forwards in one, their ids in one. The rows are those `appendPrepared`
   * stores; what differs is that no report carries its own deduplication token and nothing waits for an
   * asynchronous-insert flush. For filling a store in bulk (the hub benchmark's `--clickhouse-prefill`), never for
   * ingest: a re-sent report would be stored twice.
   */
  async appendBulk(prepared: PreparedReport[]): Promise<void> {
    if (prepared.length === 0) {
      return;
    }
    const reports = this.encoded(prepared);
    await this.insertEndpoints(reports);
    const forwards = reports.flatMap((r) => r.forwards);
    if (forwards.length > 0) {
      await this.c.insert({
        table: 'forwards',
        columns: FORWARD_NAMES as [string, ...string[]],
        values: forwards,
        format: 'JSONCompactEachRow',
      });
    }
    const raw = reports.map((r) => r.raw).filter((b) => b.length > 0);
    if (raw.length > 0) {
      await this.c.insert({
        table: 'flows_raw',
        columns: RAW_NAMES as [string, ...string[]],
        values: Readable.from(raw, { objectMode: false }),
        format: 'TabSeparated',
      });
    }
    await this.c.insert({ table: 'reports', values: reports.map((r) => r.row), format: 'JSONCompactEachRow' });
  }

  /** Roll-ups are materialized views and retention is TTL: nothing to do but note the time. */
  async maintain(nowMs: number): Promise<void> {
    this.lastNowS = Math.max(this.lastNowS, Math.floor(nowMs / 1000));
  }

  private nowS(): number {
    return Math.max(this.lastNowS, Math.floor(Date.now() / 1000));
  }

  /** Every tier is complete at insert time (materialized views): none has a `builtUntilS`. */
  private tiers(nowS: number): Tier[] {
    return ROLLUP_STEPS.map((stepS) => ({
      stepS,
      oldestS: nowS - (stepS === 3600 ? this.opts.hourRetentionS : this.opts.fineRetentionS),
    }));
  }

  /** The range's forwards (merge.ts rule 4) as SQL, or undefined when it has none (most clusters, most ranges). */
  private async forwards(plan: Plan): Promise<string | undefined> {
    const [r] = await this.rows(forwardsCountSql(plan));
    return num(r?.n) > 0 ? forwardsSql(plan) : undefined;
  }

  private plan(q: RangeQuery): Plan {
    return planRange(Math.floor(q.fromMs / 1000), Math.ceil(q.toMs / 1000), this.tiers(this.nowS()));
  }

  async topContributors(q: TopQuery): Promise<Answered<TopRow[]>> {
    const plan = this.plan(q);
    const rows = await this.rows(topSql(plan, q, await this.forwards(plan)));
    const result = rows.map((r) => topRow(r, q.metric, mapReasons));
    return { fromMs: plan.fromS * 1000, toMs: plan.toS * 1000, result };
  }

  async serviceMap(q: MapQuery): Promise<Answered<{ nodes: MapNode[]; edges: MapEdge[] }>> {
    const plan = this.plan(q);
    const rows = await this.rows(mapSql(plan, q, await this.forwards(plan)));
    const result = serviceMapFromRows(rows, q.groupBy, mapReasons);
    return { fromMs: plan.fromS * 1000, toMs: plan.toS * 1000, result };
  }

  /**
   * The DuckDB store's evidence query (duckdb-observed.ts) in the ClickHouse dialect. First/last seen come from raw
   * rows (30 s windows) for the part of the range inside the raw retention, where raw rows are complete — as a
   * DuckDB store answers before its roll-up pass — and from the tiers the planner picks before that.
   */
  async observedFlows(q: RangeQuery): Promise<Answered<ObservedFlow[]>> {
    const plan = this.plan(q);
    const rows = this.timedSource(plan, q);
    return observedFlows(
      {
        plan,
        source: () => rows,
        forwards: await this.forwards(plan),
        readFlows: (build) => this.rows(build(0)),
        dialect: CLICKHOUSE_DIALECT,
        endpoints: EP,
      },
      q
    );
  }

  async timeseries(q: SeriesQuery): Promise<Answered<Series[]>> {
    const { stepS, plan, rawOnly } = seriesPlan(q, this.tiers(this.nowS()), this.nowS(), this.opts.rawRetentionS);
    const rows = await this.rows(seriesSql(plan, q, stepS, rawOnly, await this.forwards(plan)));
    return { fromMs: plan.fromS * 1000, toMs: plan.toS * 1000, result: seriesFromRows(rows, q.groupBy) };
  }

  async namespaces(cluster?: string): Promise<string[]> {
    return (await this.rows(namespacesSql(cluster))).map((r) => String(r.namespace));
  }

  /**
   * The range's rows with the finest times this store has: raw rows (30 s windows) for the part of the range inside
   * the raw retention, where raw rows are complete, and the tiers the planner picks before that.
   */
  private timedSource(plan: Plan, q: RangeQuery): string {
    const nowS = this.nowS();
    const cutS = Math.min(plan.toS, Math.max(plan.fromS, ceilTo(nowS - this.opts.rawRetentionS, 3600)));
    return [
      ...(cutS > plan.fromS ? [source(planRange(plan.fromS, cutS, this.tiers(nowS)), q)] : []),
      ...(cutS < plan.toS ? [source({ fromS: cutS, toS: plan.toS, segments: [] }, q, true)] : []),
    ].join('\nUNION ALL\n');
  }

  /** Clusters seen in the range; last seen at the start of the latest report window (`timedSource`). */
  async clusters(q: RangeQuery): Promise<Answered<ClusterSeen[]>> {
    const plan = this.plan(q);
    const rows = await this.rows(clustersSql(this.timedSource(plan, q), EP));
    return { fromMs: plan.fromS * 1000, toMs: plan.toS * 1000, result: rows.map(clusterSeen) };
  }

  async workloads(
    namespace?: string,
    cluster?: string
  ): Promise<Array<{ namespace: string; workload: string; kind: string | null }>> {
    return (await this.rows(workloadsSql(namespace, cluster))).map((r) => ({
      namespace: String(r.namespace),
      workload: String(r.workload),
      kind: str(r.kind),
    }));
  }

  async stats(): Promise<StoreStats> {
    const rollups = ROLLUP_STEPS.map((s) => `(SELECT count() FROM flows_${s})`).join(' + ');
    const [r] = await this.rows(
      `SELECT (SELECT count() FROM flows_raw) AS raw, ${rollups} AS rollup,
        (SELECT uniqExact(report_id) FROM reports) AS reports,
        (SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = currentDatabase()) AS bytes`
    );
    return { rawRows: num(r?.raw), rollupRows: num(r?.rollup), reports: num(r?.reports), bytesOnDisk: num(r?.bytes) };
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
  }
}

/**
 * The step and buckets a time series reads (the DuckDB store's rule): finer than 5 minutes within the raw
 * retention reads raw rows; otherwise the step is a multiple of the finest tier holding the range's start.
 */
export function seriesPlan(
  q: SeriesQuery,
  tiers: Tier[],
  nowS: number,
  rawRetentionS: number
): { stepS: number; plan: Plan; rawOnly: boolean } {
  const fromS = Math.floor(q.fromMs / 1000);
  const toS = Math.ceil(q.toMs / 1000);
  let stepS = Math.max(30, Math.ceil(q.stepMs / 1000 / 30) * 30);
  if (stepS < 300 && fromS >= nowS - rawRetentionS) {
    return { stepS, plan: { fromS: floorTo(fromS, stepS), toS: ceilTo(toS, stepS), segments: [] }, rawOnly: true };
  }
  const base = tiers.find((t) => t.oldestS <= floorTo(fromS, t.stepS)) ?? tiers[tiers.length - 1]!;
  stepS = ceilTo(Math.max(300, stepS), base.stepS);
  const usable = tiers.filter((t) => stepS % t.stepS === 0);
  return { stepS, plan: planRange(floorTo(fromS, stepS), ceilTo(toS, stepS), usable), rawOnly: false };
}
