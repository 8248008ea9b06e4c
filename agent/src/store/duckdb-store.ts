/**
 * The embedded FlowStore: one DuckDB database file in the data directory. This file appends, rolls up and
 * queries; the layout and migrations are in duckdb-schema.ts, query SQL pieces in duckdb-sql.ts, and the
 * merge rule (shared with any other engine) in merge.ts.
 *
 * Tables
 *   flows_raw          one row per reported flow end per report (30 s), kept `rawRetentionS`
 *   flows_300/900/3600 roll-ups: one row per flow (client identity, server identity, server port) per bucket, both ends'
 *                      counters side by side (c_* = the client's view, s_* = the server's), so the merge rule
 *                      can be applied to any sum of buckets
 *   endpoints, ips     dictionaries: rows hold small integer ids
 *   reports            report ids (idempotent ingest) and each report's `other` totals
 *   dirty, meta        roll-up bookkeeping
 *
 * Raw rows are rolled into 5-minute buckets every maintenance pass (by insertion batch, so late reports are
 * never missed); closed 5-minute buckets are compacted to one row per flow, and 15-minute and 1-hour buckets
 * are built from them once their window closed. Queries add the raw rows not rolled up yet, so a report is
 * visible as soon as its POST was acknowledged.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DuckDBDataChunk,
  DuckDBInstance,
  listValue,
  structValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBValue,
} from '@duckdb/node-api';
import { CATEGORY_CODE } from '../classify/category.js';
import { DEFAULT_CLUSTER, FAILURE_COUNTER_NAMES } from '../contracts/report.js';
import {
  MEASURES,
  RAW_AS_ROLLUP,
  RAW_TYPES,
  ROLLUP_NAMES,
  SCHEMA_VERSION,
  createTables,
  rollupSelect,
  setMeta,
  sqlString,
  tx,
} from './duckdb-schema.js';
import {
  FAILURE_SELECT,
  categoryWhere,
  clusterSeen,
  clustersSql,
  endColumns,
  failureSums,
  collectedReasonsSql,
  keptReasonsSql,
  sameOrNull,
  endFilters,
  failureSeriesSql,
  groupKeysSql,
  metricOrder,
  num,
  serviceMapFromRows,
  seriesFromRows,
  seriesKeySql,
  seriesValueSql,
  str,
  topRow,
  type Row,
} from './duckdb-sql.js';
import {
  AsIsReport,
  asIsReports,
  type Answered,
  type ClusterSeen,
  type Endpoint,
  type FlowStore,
  type GroupBy,
  type MapEdge,
  type MapNode,
  type MapQuery,
  type ObservedFlow,
  type PreparedReport,
  type RangeQuery,
  type Series,
  type SeriesQuery,
  type StoreStats,
  type StoredReport,
  type TopQuery,
  type TopRow,
} from './flow-store.js';
import { observedFlows } from './duckdb-observed.js';
import {
  clusterQualified,
  exactSum,
  flowIdentity,
  forwardSharesSql,
  forwardedStepsSql,
  mergedFlowsSql,
  FLOWS_ONLY,
  DUCKDB_DIALECT,
  type SourceShape,
} from './merge.js';
import { ceilTo, floorTo, planRange, type Plan, type Tier } from './plan.js';

export { SCHEMA_VERSION };

export interface DuckDbStoreOptions {
  dataDir: string;
  /** Raw 30 s rows are kept this long (seconds). Reports older than this are refused at ingest. */
  rawRetentionS?: number;
  /** 5- and 15-minute roll-ups are kept this long. */
  fineRetentionS?: number;
  /** 1-hour roll-ups are kept this long. */
  hourRetentionS?: number;
  /** A bucket is closed (compacted, rolled further) this long after its end: room for late reports. */
  graceS?: number;
  /** DuckDB worker threads (default: DuckDB's, one per core). */
  threads?: number;
  memoryLimit?: string;
}

const CHUNK = 2048;
/** flows_raw's columns (RAW_TYPES), as many as the append's loop writes by name. */
const RAW_COLUMN_COUNT = 30;
if (RAW_TYPES.length !== RAW_COLUMN_COUNT) {
  throw new Error(`flows_raw has ${RAW_TYPES.length} columns; the append writes ${RAW_COLUMN_COUNT}`);
}
/**
 * The order in which the append writes a row's failure counters (read one by one: a loop reading
 * `row[name]` for each name was a keyed load per counter, a measurable part of the append). A counter added to
 * FAILURE_COUNTER_NAMES fails this check until the append writes it too.
 */
const FAILURE_COLUMN_ORDER = [
  'connectAttempts',
  'connectFailures',
  'connectRefused',
  'synRetransmits',
  'resetsSent',
  'resetsReceived',
] as const satisfies typeof FAILURE_COUNTER_NAMES;
void FAILURE_COLUMN_ORDER;
type Tuple<T, N extends number, R extends T[] = []> = R['length'] extends N ? R : Tuple<T, N, [...R, T]>;
/** drop_reasons of a row without drops (nearly every row): NULL, cheaper to append than an empty list. */
const NO_DROPS = null;

/** Serialises writes on one connection; DuckDB transactions are per connection. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export class DuckDbStore implements FlowStore {
  private instance?: DuckDBInstance;
  private writer?: DuckDBConnection;
  private readers: DuckDBConnection[] = [];
  /** Reader connections not in use, and queries waiting for one (each query owns its connection's transaction). */
  private idle: DuckDBConnection[] = [];
  private waiting: Array<(c: DuckDBConnection) => void> = [];
  private readonly write = new Mutex();
  private readonly ipIds = new Map<string, number>();
  private readonly endpointIds = new Map<string, number>();
  /** Each named end's ids, by object: the enricher hands the same end to every row of it, so a row's two ends
   * cost one lookup each. Entries made by an append that rolls back are forgotten with its new ids. */
  private readonly idsByObject = new WeakMap<Endpoint, EndIds>();
  private readonly reportIds = new Set<string>();
  private batch = 0;
  private rolledBatch = 0;
  private builtUntil: Record<number, number> = { 900: 0, 3600: 0 };
  private readonly opts: Required<Omit<DuckDbStoreOptions, 'threads' | 'memoryLimit'>> &
    Pick<DuckDbStoreOptions, 'threads' | 'memoryLimit'>;
  private lastNowS = 0;
  /** Some report carried forwards (merge.ts rule 4): until then queries skip the rule's extra pass. */
  private forwardsStored = false;

  constructor(options: DuckDbStoreOptions) {
    this.opts = {
      rawRetentionS: 6 * 3600,
      fineRetentionS: 7 * 86400,
      hourRetentionS: 90 * 86400,
      graceS: 120,
      ...options,
    };
    if (this.opts.rawRetentionS < 3600 + this.opts.graceS) {
      throw new Error('raw retention must be at least one hour plus the grace period');
    }
  }

  get rawRetentionS(): number {
    return this.opts.rawRetentionS;
  }

  async open(): Promise<void> {
    await mkdir(this.opts.dataDir, { recursive: true });
    const config: Record<string, string> = {};
    if (this.opts.threads) {
      config.threads = String(this.opts.threads);
    }
    if (this.opts.memoryLimit) {
      config.memory_limit = this.opts.memoryLimit;
    }
    this.instance = await DuckDBInstance.create(join(this.opts.dataDir, 'flows.duckdb'), config);
    this.writer = await this.instance.connect();
    const w = this.writer;
    await w.run(`CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value DOUBLE)`);
    const [v] = await this.rows(w, `SELECT value FROM meta WHERE key = 'schema_version'`);
    const version = v === undefined ? 1 : num(v.value);
    if (version > SCHEMA_VERSION) {
      w.closeSync();
      this.writer = undefined;
      this.instance.closeSync();
      this.instance = undefined;
      throw new Error(
        `${join(this.opts.dataDir, 'flows.duckdb')} was written by a newer hub (store schema ${version}; this hub reads up to ${SCHEMA_VERSION})`
      );
    }
    await createTables(w, version);
    // Roll-up buckets of a store written before this was tracked (a version-2 store's re-keyed rows among them)
    // may hold several rows per flow: only buckets from now on are taken as one row per flow (`sourceShape`).
    const [oneRow] = await this.rows(w, `SELECT value FROM meta WHERE key = 'one_row_from'`);
    if (oneRow === undefined) {
      const [had] = await this.rows(
        w,
        `SELECT (SELECT count(*) FROM flows_raw) + (SELECT count(*) FROM flows_300) + (SELECT count(*) FROM flows_900)
          + (SELECT count(*) FROM flows_3600) AS n`
      );
      await setMeta(w, 'one_row_from', num(had?.n) > 0 ? Math.floor(Date.now() / 1000) : 0);
    }
    const [fw] = await this.rows(w, 'SELECT count(*) AS n FROM forwards');
    this.forwardsStored = num(fw?.n) > 0;

    for (const r of await this.rows(w, 'SELECT id, ip FROM ips')) {
      this.ipIds.set(String(r.ip), num(r.id));
    }
    for (const r of await this.rows(
      w,
      'SELECT id, ip, pod, namespace, workload, kind, node, zone, service, cluster FROM endpoints'
    )) {
      this.endpointIds.set(
        endpointKey({
          ip: String(r.ip),
          pod: str(r.pod),
          namespace: str(r.namespace),
          workload: str(r.workload),
          kind: str(r.kind),
          node: str(r.node),
          zone: str(r.zone),
          service: str(r.service),
          cluster: str(r.cluster) ?? DEFAULT_CLUSTER,
        }),
        num(r.id)
      );
    }
    for (const r of await this.rows(w, 'SELECT report_id FROM reports')) {
      this.reportIds.add(String(r.report_id));
    }
    const meta = new Map((await this.rows(w, 'SELECT key, value FROM meta')).map((r) => [String(r.key), num(r.value)]));
    this.rolledBatch = meta.get('rolled_batch') ?? 0;
    this.builtUntil = { 900: meta.get('built_900') ?? 0, 3600: meta.get('built_3600') ?? 0 };
    const maxBatch = await this.rows(w, 'SELECT max(batch) AS b FROM flows_raw');
    this.batch = Math.max(num(maxBatch[0]?.b), this.rolledBatch);
    for (let i = 0; i < 3; i++) {
      this.readers.push(await this.instance.connect());
    }
    this.idle = [...this.readers];
  }

  private async rows(conn: DuckDBConnection, sql: string): Promise<Row[]> {
    const reader = await conn.runAndReadAll(sql);
    return reader.getRowObjects();
  }

  private async acquire(): Promise<DuckDBConnection> {
    const c = this.idle.pop();
    if (c) {
      return c;
    }
    if (this.readers.length === 0) {
      throw new Error('store is not open');
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(c: DuckDBConnection): void {
    const next = this.waiting.shift();
    if (next) {
      next(c);
    } else {
      this.idle.push(c);
    }
  }

  /** Reads on a reader connection of its own. */
  private async read(sql: string): Promise<Row[]> {
    const c = await this.acquire();
    try {
      return await this.rows(c, sql);
    } finally {
      this.release(c);
    }
  }

  /**
   * A flow query: one snapshot for the roll-up watermark and the query built with it as a constant (a
   * constant lets DuckDB skip rolled-up raw rows by their zone maps instead of scanning them all).
   */
  private async readFlows(build: (rolledBatch: number, shape: SourceShape) => string, plan?: Plan): Promise<Row[]> {
    const c = await this.acquire();
    try {
      await c.run('BEGIN TRANSACTION');
      try {
        const [m] = await this.rows(c, `SELECT coalesce(max(value), 0) AS v FROM meta WHERE key = 'rolled_batch'`);
        const rb = num(m?.v);
        const shape = plan === undefined ? {} : await this.sourceShape(c, plan, rb);
        return await this.rows(c, build(rb, shape));
      } finally {
        await c.run('COMMIT').catch(() => undefined);
      }
    } finally {
      this.release(c);
    }
  }

  /**
   * Whether `source(plan)` yields one row per flow, in the query's snapshot: its rows all come from one roll-up
   * bucket that holds one row per flow — an hour or 15-minute bucket (always rebuilt whole), or a compacted
   * 5-minute bucket (not dirty) — and no raw row of the range is waiting to be rolled up. Then the merge reads the
   * rows as they are instead of grouping them (merge.ts `SourceShape`): a closed 5-minute, 15-minute or hour range.
   */
  private async sourceShape(c: DuckDBConnection, plan: Plan, rolledBatch: number): Promise<SourceShape> {
    if (plan.segments.length === 0) {
      return {};
    }
    // Each segment's lowest and highest bucket with rows (plain min / max: no distinct buckets to hash on long ranges).
    const spans = plan.segments
      .map(
        (s) =>
          `SELECT ${s.stepS} AS step, min(bucket) AS lo, max(bucket) AS hi FROM flows_${s.stepS}
          WHERE bucket >= ${s.fromS} AND bucket < ${s.toS}`
      )
      .join(' UNION ALL ');
    const [r] = await this.rows(
      c,
      `WITH b AS (SELECT * FROM (${spans}) WHERE lo IS NOT NULL)
      SELECT (SELECT count(*) FROM b) AS segments, (SELECT count(*) FROM b WHERE lo < hi) AS spread,
        (SELECT min(lo) FROM b) AS bucket,
        (SELECT count(*) FROM b WHERE step = 300 AND lo IN (SELECT bucket FROM dirty WHERE step = 300)) AS dirty,
        (SELECT count(*) FROM (SELECT 1 FROM flows_raw WHERE batch > ${rolledBatch} AND ts >= ${plan.fromS}
          AND ts < ${plan.toS} LIMIT 1)) AS raw,
        (SELECT coalesce(max(value), 0) FROM meta WHERE key = 'one_row_from') AS one_row_from`
    );
    const one =
      num(r?.segments) === 1 &&
      num(r?.spread) === 0 &&
      num(r?.dirty) === 0 &&
      num(r?.raw) === 0 &&
      num(r?.bucket) >= num(r?.one_row_from);
    return { oneRowPerFlow: one };
  }

  hasReport(reportId: string): boolean {
    return this.reportIds.has(reportId);
  }

  /** DuckDB takes reports as they are: the prepared form is the report itself. */
  prepare(report: StoredReport): PreparedReport {
    return new AsIsReport(report);
  }

  async appendPrepared(prepared: PreparedReport[]): Promise<void> {
    await this.append(asIsReports(prepared));
  }

  async append(reports: StoredReport[]): Promise<void> {
    if (reports.length === 0) {
      return;
    }
    await this.write.run(async () => {
      const w = this.writer!;
      const batch = this.batch + 1;
      const newIps: Array<[number, string]> = [];
      const newEndpoints: Array<[number, Endpoint]> = [];
      /** Objects given an id in this append: forgotten again if it rolls back, since new ids are then re-used. */
      const named: Endpoint[] = [];
      const ipId = (ip: string): number => {
        let id = this.ipIds.get(ip);
        if (id === undefined) {
          id = this.ipIds.size + 1;
          this.ipIds.set(ip, id);
          newIps.push([id, ip]);
        }
        return id;
      };
      const epId = (e: Endpoint): number => ends(e).ep;
      const ends = (e: Endpoint): EndIds => {
        let ids = this.idsByObject.get(e);
        if (ids !== undefined) {
          return ids;
        }
        const key = endpointKey(e);
        let ep = this.endpointIds.get(key);
        if (ep === undefined) {
          ep = this.endpointIds.size + 1;
          this.endpointIds.set(key, ep);
          newEndpoints.push([ep, e]);
        }
        // Flows are keyed by identity (the address with its name at the time): docs/hub.md "The merge rule".
        ids = { ep, identity: ipId(flowIdentity(e)) };
        this.idsByObject.set(e, ids);
        named.push(e);
        return ids;
      };
      await w.run('BEGIN TRANSACTION');
      try {
        const raw = await w.createAppender('flows_raw');
        const cols: DuckDBValue[][] = RAW_TYPES.map(() => []);
        let n = 0;
        /** One full-size chunk filled again for every full flush: the appender copies what it is given, and a new
         * chunk costs a native call per column to map its vectors (a tenth of the append's time). */
        let full: DuckDBDataChunk | undefined;
        const flush = (): void => {
          if (n === 0) {
            return;
          }
          const chunk =
            n === CHUNK ? (full ??= DuckDBDataChunk.create(RAW_TYPES, CHUNK)) : DuckDBDataChunk.create(RAW_TYPES, n);
          for (let c = 0; c < cols.length; c++) {
            const col = cols[c]!;
            col.length = n;
            chunk.setColumnValues(c, col);
          }
          raw.appendDataChunk(chunk);
          n = 0;
        };
        // Each column array once: the loop below writes about 30 values per row (docs/hub.md "bench:hub").
        const [
          cBatch,
          cTs,
          cClientIp,
          cServerIp,
          cServerPort,
          cSide,
          cCategory,
          cClientEp,
          cServerEp,
          cBytesSent,
          cBytesReceived,
          cSegmentsSent,
          cSegmentsReceived,
          cRetransmits,
          cRtos,
          cOpened,
          cClosed,
          cRttAvg,
          cRttMax,
          cViaIp,
          cViaPort,
          cViaEp,
          cConnectAttempts,
          cConnectFailures,
          cConnectRefused,
          cSynRetransmits,
          cResetsSent,
          cResetsReceived,
          cDrops,
          cDropReasons,
        ] = cols as Tuple<DuckDBValue[], typeof RAW_COLUMN_COUNT>;
        for (const r of reports) {
          const ts = Math.floor(r.startMs / 1000);
          for (const f of r.rows) {
            const client = ends(f.client);
            const server = ends(f.server);
            cBatch[n] = batch;
            cTs[n] = ts;
            cClientIp[n] = client.identity;
            cServerIp[n] = server.identity;
            cServerPort[n] = f.serverPort;
            cSide[n] = f.side === 'client' ? 0 : 1;
            cCategory[n] = CATEGORY_CODE[f.category];
            cClientEp[n] = client.ep;
            cServerEp[n] = server.ep;
            cBytesSent[n] = f.bytesSent;
            cBytesReceived[n] = f.bytesReceived;
            cSegmentsSent[n] = f.segmentsSent;
            cSegmentsReceived[n] = f.segmentsReceived;
            cRetransmits[n] = f.retransmits;
            cRtos[n] = f.rtos;
            cOpened[n] = f.connectionsOpened;
            cClosed[n] = f.connectionsClosed;
            cRttAvg[n] = f.rttAvgUs;
            cRttMax[n] = f.rttMaxUs;
            const via = f.via;
            if (via) {
              // The Service address in the flow's cluster (the client's), as flowIdentity keys its bare address.
              cViaIp[n] = ipId(clusterQualified(f.client.cluster, via.ip));
              cViaPort[n] = via.port;
              cViaEp[n] = ends(via.endpoint).ep;
            } else {
              cViaIp[n] = 0;
              cViaPort[n] = 0;
              cViaEp[n] = 0;
            }
            // FAILURE_COUNTER_NAMES in order (FAILURE_COLUMN_ORDER holds this to that list at compile time).
            cConnectAttempts[n] = f.connectAttempts ?? 0;
            cConnectFailures[n] = f.connectFailures ?? 0;
            cConnectRefused[n] = f.connectRefused ?? 0;
            cSynRetransmits[n] = f.synRetransmits ?? 0;
            cResetsSent[n] = f.resetsSent ?? 0;
            cResetsReceived[n] = f.resetsReceived ?? 0;
            if (f.drops === undefined) {
              cDrops[n] = 0;
              cDropReasons[n] = NO_DROPS;
            } else {
              const drops = Object.entries(f.drops).filter(([, k]) => k > 0);
              cDrops[n] = drops.reduce((sum, [, k]) => sum + k, 0);
              cDropReasons[n] =
                drops.length === 0 ? NO_DROPS : listValue(drops.map(([reason, k]) => structValue({ reason, n: k })));
            }
            if (++n === CHUNK) {
              flush();
            }
          }
        }
        flush();
        raw.flushSync();
        raw.closeSync();
        await appendRows(w, 'reports', reports, (a, r) => {
          a.appendVarchar(r.reportId);
          a.appendVarchar(r.node);
          a.appendDouble(r.startMs);
          a.appendDouble(r.endMs);
          a.appendUInteger(batch);
          a.appendUInteger(r.rows.length);
          a.appendDouble(r.other.flows);
          a.appendDouble(r.other.bytesSent);
          a.appendDouble(r.other.bytesReceived);
          a.appendDouble(r.other.retransmits);
          a.appendDouble(r.other.rtos);
        });
        await appendRows(
          w,
          'forwards',
          reports.flatMap((r) => (r.forwards ?? []).map((f) => ({ ts: Math.floor(r.startMs / 1000), f }))),
          (a, { ts, f }) => {
            a.appendUInteger(ts);
            a.appendUInteger(ipId(flowIdentity(f.client)));
            a.appendUInteger(epId(f.client));
            a.appendUInteger(ipId(flowIdentity(f.server)));
            a.appendUInteger(epId(f.server));
            a.appendUSmallInt(f.serverPort);
            a.appendUInteger(ipId(flowIdentity(f.snat)));
            a.appendUInteger(ipId(clusterQualified(f.client.cluster, f.via.ip)));
            a.appendUSmallInt(f.via.port);
            a.appendUInteger(epId(f.via.endpoint));
            a.appendUTinyInt(CATEGORY_CODE[f.category]);
            a.appendDouble(f.connections);
          }
        );
        await appendRows(w, 'ips', newIps, (a, [id, ip]) => {
          a.appendUInteger(id);
          a.appendVarchar(ip);
        });
        await appendRows(w, 'endpoints', newEndpoints, (a, [id, e]) => {
          a.appendUInteger(id);
          a.appendVarchar(e.ip);
          for (const v of [e.pod, e.namespace, e.workload, e.kind, e.node, e.zone, e.service]) {
            if (v === null) {
              a.appendNull();
            } else {
              a.appendVarchar(v);
            }
          }
          a.appendVarchar(e.cluster ?? DEFAULT_CLUSTER);
        });
        await w.run('COMMIT');
      } catch (err) {
        await w.run('ROLLBACK').catch(() => undefined);
        for (const [, ip] of newIps) {
          this.ipIds.delete(ip);
        }
        for (const [, e] of newEndpoints) {
          this.endpointIds.delete(endpointKey(e));
        }
        for (const e of named) {
          this.idsByObject.delete(e);
        }
        throw err;
      }
      this.batch = batch;
      this.forwardsStored ||= reports.some((r) => (r.forwards ?? []).length > 0);
      for (const r of reports) {
        this.reportIds.add(r.reportId);
      }
    });
  }

  /** Roll-ups, compaction, coarse buckets and retention as of `nowMs`. */
  async maintain(nowMs: number): Promise<void> {
    const nowS = Math.floor(nowMs / 1000);
    this.lastNowS = Math.max(this.lastNowS, nowS);
    await this.write.run(async () => {
      const w = this.writer!;
      const cur = this.batch;
      const grace = this.opts.graceS;
      const rolled = cur > this.rolledBatch;
      await tx(w, async () => {
        if (rolled) {
          const where = `batch > ${this.rolledBatch} AND batch <= ${cur}`;
          await w.run(`INSERT INTO dirty SELECT DISTINCT 300, ts // 300 * 300 FROM flows_raw WHERE ${where}`);
          await w.run(`INSERT INTO flows_300 (${ROLLUP_NAMES})
            ${rollupSelect('ts // 300 * 300', `(SELECT ts, batch, ${RAW_AS_ROLLUP} FROM flows_raw)`, where)}`);
          await setMeta(w, 'rolled_batch', cur);
        }
      });
      if (rolled) {
        this.rolledBatch = cur;
      }
      // Closed 5-minute buckets: compact to one row per flow, and mark their coarse parents for (re)building.
      const closed5 = await this.rows(
        w,
        `SELECT DISTINCT bucket FROM dirty WHERE step = 300 AND bucket + 300 + ${grace} <= ${nowS} ORDER BY bucket`
      );
      for (const r of closed5) {
        const b = num(r.bucket);
        await tx(w, async () => {
          await rebuild(w, 300, 300, b);
          await w.run(`DELETE FROM dirty WHERE step = 300 AND bucket = ${b}`);
          await w.run(`INSERT INTO dirty VALUES (900, ${floorTo(b, 900)}), (3600, ${floorTo(b, 3600)})`);
        });
      }
      for (const step of [900, 3600]) {
        const closed = await this.rows(
          w,
          `SELECT DISTINCT bucket FROM dirty WHERE step = ${step} AND bucket + ${step} + ${grace} <= ${nowS} ORDER BY bucket`
        );
        for (const r of closed) {
          const b = num(r.bucket);
          await tx(w, async () => {
            await rebuild(w, step, 300, b);
            await w.run(`DELETE FROM dirty WHERE step = ${step} AND bucket = ${b}`);
          });
        }
        const until = floorTo(nowS - grace, step);
        if (until > this.builtUntil[step]!) {
          this.builtUntil[step] = until;
          await setMeta(w, `built_${step}`, until);
        }
      }
      // Retention: raw rows only once rolled up.
      const rawCut = nowS - this.opts.rawRetentionS;
      await w.run(`DELETE FROM flows_raw WHERE ts < ${rawCut} AND batch <= ${this.rolledBatch}`);
      const gone = await this.rows(w, `SELECT report_id FROM reports WHERE end_ms < ${rawCut * 1000}`);
      if (gone.length > 0) {
        await w.run(`DELETE FROM reports WHERE end_ms < ${rawCut * 1000}`);
        for (const r of gone) {
          this.reportIds.delete(String(r.report_id));
        }
      }
      await w.run(`DELETE FROM flows_300 WHERE bucket < ${nowS - this.opts.fineRetentionS}`);
      await w.run(`DELETE FROM flows_900 WHERE bucket < ${nowS - this.opts.fineRetentionS}`);
      await w.run(`DELETE FROM flows_3600 WHERE bucket < ${nowS - this.opts.hourRetentionS}`);
      await w.run(`DELETE FROM forwards WHERE ts < ${nowS - this.opts.hourRetentionS}`);
    });
  }

  private tiers(nowS: number): Tier[] {
    return [
      { stepS: 300, oldestS: nowS - this.opts.fineRetentionS },
      { stepS: 900, oldestS: nowS - this.opts.fineRetentionS, builtUntilS: this.builtUntil[900] },
      { stepS: 3600, oldestS: nowS - this.opts.hourRetentionS, builtUntilS: this.builtUntil[3600] },
    ];
  }

  /** SQL for every flow's both-end rows in the planned range, in roll-up shape, with the query's end filters. */
  private source(plan: Plan, q: RangeQuery, rolledBatch: number, rawOnly = false): string {
    const extra = endFilters(q)
      .map((f) => ` AND ${f}`)
      .join('');
    const parts = plan.segments.map(
      (s) => `SELECT bucket, ${MEASURES} FROM flows_${s.stepS} WHERE bucket >= ${s.fromS} AND bucket < ${s.toS}${extra}`
    );
    // Raw rows not rolled up yet (all raw rows when reading finer than the roll-ups).
    const notRolled = rawOnly ? '' : `batch > ${rolledBatch} AND `;
    parts.push(
      `SELECT ts AS bucket, ${RAW_AS_ROLLUP} FROM flows_raw WHERE ${notRolled}ts >= ${plan.fromS} AND ts < ${plan.toS}${extra}`
    );
    return parts.join('\nUNION ALL\n');
  }

  /** SQL for the forwards (merge.ts rule 4) reported in the planned range, in the shape `forwardedRowsSql` reads. */
  private forwardsSource(plan: Plan): string | undefined {
    if (!this.forwardsStored) {
      return undefined;
    }
    return `SELECT f.client_ip, f.client_ep, f.server_ip, f.server_ep, f.server_port, f.snat_ip, f.via_ip, f.via_port,
        f.via_ep, f.category, f.connections, ci.ip AS client_key, vi.ip AS via_key
      FROM forwards f JOIN ips ci ON ci.id = f.client_ip JOIN ips vi ON vi.id = f.via_ip
      WHERE f.ts >= ${plan.fromS} AND f.ts < ${plan.toS}`;
  }

  private plan(q: RangeQuery): Plan {
    const nowS = Math.max(this.lastNowS, Math.floor(Date.now() / 1000));
    return planRange(Math.floor(q.fromMs / 1000), Math.ceil(q.toMs / 1000), this.tiers(nowS));
  }

  /**
   * Merged flows (the merge rule of merge.ts: one row per flow), then the category filter: a flow's category
   * is decided after its ends are merged, so it shows in exactly one category.
   */
  private merged(plan: Plan, q: RangeQuery, rolledBatch: number, shape: SourceShape = {}): string {
    const merged = mergedFlowsSql(
      this.source(plan, q, rolledBatch),
      this.forwardsSource(plan),
      DUCKDB_DIALECT,
      {},
      shape
    );
    return `SELECT * FROM (${merged})${categoryWhere(q)}`;
  }

  /** Merged flows with first/last seen (network-policy evidence): duckdb-observed.ts. */
  observedFlows(q: RangeQuery): Promise<Answered<ObservedFlow[]>> {
    const plan = this.plan(q);
    return observedFlows(
      {
        plan,
        source: (rb) => this.source(plan, q, rb),
        forwards: this.forwardsSource(plan),
        readFlows: (b) => this.readFlows(b),
      },
      q
    );
  }

  async topContributors(q: TopQuery): Promise<Answered<TopRow[]>> {
    const plan = this.plan(q);
    const order = metricOrder(q.metric);
    const having = q.metric === 'rtt' ? 'WHERE rtt_n > 0' : '';
    const build = (rb: number, shape: SourceShape): string => {
      if (q.groupBy === 'flow') {
        return `WITH f AS (${this.merged(plan, q, rb, shape)}),
        top AS (SELECT *, rtt_sum / nullif(rtt_n, 0) AS rtt FROM f ${having}
          ORDER BY ${order}, client_ip, server_ip, server_port LIMIT ${q.limit})
        SELECT top.category, top.server_port, top.bytes, top.retransmits, top.rtos, top.rtt, top.rtt_max, top.segments,
          ${FAILURE_SELECT.map((c) => `top.${c}`).join(', ')},
          c.cluster AS c_cluster, c.ip AS c_ip, c.pod AS c_pod, c.namespace AS c_namespace, c.workload AS c_workload,
          c.kind AS c_kind, c.node AS c_node, c.zone AS c_zone,
          s.ip AS s_ip, s.pod AS s_pod, s.namespace AS s_namespace, s.workload AS s_workload, s.kind AS s_kind,
          s.node AS s_node, s.zone AS s_zone, coalesce(v.service, s.service) AS s_service
        FROM top JOIN endpoints c ON c.id = top.client_ep JOIN endpoints s ON s.id = top.server_ep
          LEFT JOIN endpoints v ON v.id = top.via_ep
        ORDER BY ${order}, top.client_ip, top.server_ip, top.server_port`;
      } else {
        // Grouped on the merged flows with numbers only; the ends' names (one end of the group's) and the drop
        // reasons (of the few flows that dropped anything) are read for the kept groups alone.
        return `WITH f AS (${this.merged(plan, q, rb, shape)}),
        gk AS (${groupKeysSql(q.groupBy)}),
        j AS (SELECT f.*, c.k AS ck, s.k AS sk, coalesce(v.service, s.service) AS s_service
              FROM f JOIN gk c ON c.id = f.client_ep JOIN gk s ON s.id = f.server_ep
                LEFT JOIN endpoints v ON v.id = f.via_ep),
        g AS (SELECT category, ck, sk, NULL AS server_port, sum(bytes) AS bytes, sum(retransmits) AS retransmits, sum(rtos) AS rtos,
                ${exactSum('segments')} AS segments, ${failureSums(DUCKDB_DIALECT, false)},
                sum(rtt_sum) / nullif(sum(rtt_n), 0) AS rtt, sum(rtt_n) AS rtt_n, max(rtt_max) AS rtt_max,
                any_value(client_ep) AS client_ep, any_value(server_ep) AS server_ep, ${sameOrNull('s_service')} AS s_service,
                ${collectedReasonsSql()}
              FROM j GROUP BY category, ck, sk),
        top AS (SELECT * FROM g ${having} ORDER BY ${order}, ck, sk LIMIT ${q.limit})
        SELECT top.* EXCLUDE (drop_list), ${endColumns('c', q.groupBy)}, ${endColumns('s', q.groupBy)}, ${keptReasonsSql('top')}
        FROM top JOIN endpoints c ON c.id = top.client_ep JOIN endpoints s ON s.id = top.server_ep
        ORDER BY ${order}, top.ck, top.sk`;
      }
    };
    const rows = await this.readFlows(build, plan);
    const result = rows.map((r) => topRow(r, q.metric));
    return { fromMs: plan.fromS * 1000, toMs: plan.toS * 1000, result };
  }

  async serviceMap(q: MapQuery): Promise<Answered<{ nodes: MapNode[]; edges: MapEdge[] }>> {
    const plan = this.plan(q);
    const level: GroupBy = q.groupBy;
    // As grouped top contributors: numbers grouped, the ends' names and the drop reasons read for the kept edges.
    const names = ['cluster', 'ip', 'pod', 'namespace', 'workload', 'kind'];
    const build = (rb: number, shape: SourceShape): string => `WITH f AS (${this.merged(plan, q, rb, shape)}),
      gk AS (${groupKeysSql(level)}),
      j AS (SELECT f.*, c.k AS ck, s.k AS sk, coalesce(v.service, s.service) AS s_service, v.service AS via
            FROM f JOIN gk c ON c.id = f.client_ep JOIN gk s ON s.id = f.server_ep
              LEFT JOIN endpoints v ON v.id = f.via_ep),
      g AS (SELECT ck, sk, arg_max(category, bytes) AS category, sum(bytes) AS bytes, sum(retransmits) AS retransmits,
        sum(rtos) AS rtos, sum(rtt_sum) / nullif(sum(rtt_n), 0) AS rtt, max(rtt_max) AS rtt_max,
        ${exactSum('segments')} AS segments, ${sameOrNull('via')} AS via, ${failureSums(DUCKDB_DIALECT, false)},
        any_value(client_ep) AS client_ep, any_value(server_ep) AS server_ep, any_value(s_service) AS s_service,
        ${collectedReasonsSql()}
      FROM j GROUP BY ck, sk ORDER BY bytes DESC, ck, sk LIMIT ${q.limit})
      SELECT g.* EXCLUDE (drop_list), ${endColumns('c', level, names)}, ${endColumns('s', level, names)}, ${keptReasonsSql('g')}
      FROM g JOIN endpoints c ON c.id = g.client_ep JOIN endpoints s ON s.id = g.server_ep
      ORDER BY g.bytes DESC, g.ck, g.sk`;
    const rows = await this.readFlows(build, plan);
    const result = serviceMapFromRows(rows, level);
    return { fromMs: plan.fromS * 1000, toMs: plan.toS * 1000, result };
  }

  /**
   * The step and the buckets a time series reads. Finer than 5 minutes within the raw retention: raw rows.
   * Otherwise the step is a multiple of the step of the finest tier that still holds the range's start (so
   * every bucket read falls inside one point), and the range is covered by the coarsest built buckets, finer
   * tiers filling what a coarse tier has not built yet (the newest hour), down to raw rows not rolled up.
   */
  private seriesPlan(q: SeriesQuery): { stepS: number; plan: Plan; rawOnly: boolean } {
    const fromS = Math.floor(q.fromMs / 1000);
    const toS = Math.ceil(q.toMs / 1000);
    let stepS = Math.max(30, Math.ceil(q.stepMs / 1000 / 30) * 30);
    const nowS = Math.max(this.lastNowS, Math.floor(Date.now() / 1000));
    if (stepS < 300 && fromS >= nowS - this.opts.rawRetentionS) {
      return { stepS, plan: { fromS: floorTo(fromS, stepS), toS: ceilTo(toS, stepS), segments: [] }, rawOnly: true };
    }
    const tiers = this.tiers(nowS);
    const base = tiers.find((t) => t.oldestS <= floorTo(fromS, t.stepS)) ?? tiers[tiers.length - 1]!;
    stepS = ceilTo(Math.max(300, stepS), base.stepS);
    const usable = tiers.filter((t) => stepS % t.stepS === 0);
    return { stepS, plan: planRange(floorTo(fromS, stepS), ceilTo(toS, stepS), usable), rawOnly: false };
  }

  async timeseries(q: SeriesQuery): Promise<Answered<Series[]>> {
    const { stepS, plan, rawOnly } = this.seriesPlan(q);
    const seriesKey = seriesKeySql(q.groupBy, 'CAST(category AS VARCHAR)');
    const value = seriesValueSql(q.metric);
    const failureSeries = failureSeriesSql();
    // Flows, their names and their category come from the merge over the whole range (merge.ts), so a flow
    // is in one series and one category; a Service address view absorbed by its backends is not plotted.
    // Per step, each direction of a flow is counted from the end whose total over the whole range is larger
    // (the merge rule's choice), so the steps add up to the range's merged total even when the two ends'
    // report windows fall into different steps.
    // Forwarded connections (merge.ts rule 4): each step of a flow seen from a SNAT address goes to its clients.
    const fwd = this.forwardsSource(plan);
    const per =
      fwd === undefined ? 'SELECT * FROM per0' : forwardedStepsSql('per0', forwardSharesSql('SELECT * FROM src', fwd));
    const build = (rb: number): string => `WITH src AS (${this.source(plan, q, rb, rawOnly)}),
      fl AS (SELECT * FROM (${mergedFlowsSql('SELECT * FROM src', fwd, DUCKDB_DIALECT, FLOWS_ONLY)})${categoryWhere(q)}),
      per0 AS (
        SELECT bucket // ${stepS} * ${stepS} AS t, client_ip, server_ip, server_port, sum(c_sent) AS cs,
          sum(c_recv) AS cr, sum(s_sent) AS ss, sum(s_recv) AS sr, sum(retransmits) AS retransmits,
          sum(rtos) AS rtos, sum(rtt_sum) AS rtt_sum, sum(rtt_n) AS rtt_n,
          ${failureSeries.perSums}
        FROM src GROUP BY 1, client_ip, server_ip, server_port),
      per AS (${per}),
      choice AS (SELECT client_ip, server_ip, server_port, sum(cs) >= sum(sr) AS up_c, sum(ss) >= sum(cr) AS down_s,
          ${failureSeries.picks}
        FROM per GROUP BY client_ip, server_ip, server_port),
      f AS (SELECT per.t, per.retransmits, per.rtos, per.rtt_sum, per.rtt_n, fl.category, fl.client_ep, fl.server_ep,
          (CASE WHEN up_c THEN cs ELSE sr END) + (CASE WHEN down_s THEN ss ELSE cr END) AS bytes,
          ${failureSeries.perStep} AS failures
        FROM per JOIN choice USING (client_ip, server_ip, server_port) JOIN fl USING (client_ip, server_ip, server_port)),
      p AS (SELECT t, ${seriesKey} AS name, ${value} AS v
        FROM f JOIN endpoints c ON c.id = f.client_ep JOIN endpoints s ON s.id = f.server_ep GROUP BY t, name),
      top AS (SELECT name FROM p GROUP BY name ORDER BY sum(v) DESC NULLS LAST, name LIMIT ${q.limit})
      SELECT p.t, p.name, p.v FROM p JOIN top USING (name) WHERE p.v IS NOT NULL ORDER BY p.name, p.t`;
    const rows = await this.readFlows(build);
    return { fromMs: plan.fromS * 1000, toMs: plan.toS * 1000, result: seriesFromRows(rows, q.groupBy) };
  }

  async namespaces(cluster?: string): Promise<string[]> {
    const where = cluster === undefined ? '' : ` AND cluster = ${sqlString(cluster)}`;
    const rows = await this.read(
      `SELECT DISTINCT namespace FROM endpoints WHERE namespace IS NOT NULL${where} ORDER BY namespace`
    );
    return rows.map((r) => String(r.namespace));
  }

  async clusters(q: RangeQuery): Promise<Answered<ClusterSeen[]>> {
    const plan = this.plan(q);
    const rows = await this.readFlows((rb) => clustersSql(this.source(plan, q, rb)));
    return { fromMs: plan.fromS * 1000, toMs: plan.toS * 1000, result: rows.map(clusterSeen) };
  }

  async workloads(
    namespace?: string,
    cluster?: string
  ): Promise<Array<{ namespace: string; workload: string; kind: string | null }>> {
    let where = namespace === undefined ? '' : ` AND namespace = ${sqlString(namespace)}`;
    where += cluster === undefined ? '' : ` AND cluster = ${sqlString(cluster)}`;
    const rows = await this.read(
      `SELECT namespace, workload, any_value(kind) AS kind FROM endpoints
       WHERE namespace IS NOT NULL AND workload IS NOT NULL${where} GROUP BY namespace, workload ORDER BY namespace, workload`
    );
    return rows.map((r) => ({ namespace: String(r.namespace), workload: String(r.workload), kind: str(r.kind) }));
  }

  async stats(): Promise<StoreStats> {
    const [r] = await this.read(
      `SELECT (SELECT count(*) FROM flows_raw) AS raw, (SELECT count(*) FROM flows_300) + (SELECT count(*) FROM flows_900)
         + (SELECT count(*) FROM flows_3600) AS rollup, (SELECT count(*) FROM reports) AS reports`
    );
    let bytesOnDisk = 0;
    for (const f of await readdir(this.opts.dataDir)) {
      if (f.startsWith('flows.duckdb')) {
        bytesOnDisk += (await stat(join(this.opts.dataDir, f))).size;
      }
    }
    return { rawRows: num(r?.raw), rollupRows: num(r?.rollup), reports: num(r?.reports), bytesOnDisk };
  }

  /** Writes everything to the database file (a clean restart replays no WAL). */
  async checkpoint(): Promise<void> {
    await this.write.run(async () => {
      await this.writer!.run('CHECKPOINT');
    });
  }

  async close(): Promise<void> {
    await this.write.run(async () => {
      for (const r of this.readers) {
        r.closeSync();
      }
      this.readers = [];
      this.idle = [];
      if (this.writer) {
        await this.writer.run('CHECKPOINT').catch(() => undefined);
        this.writer.closeSync();
      }
      this.writer = undefined;
      this.instance?.closeSync();
      this.instance = undefined;
    });
  }
}

/** A named end's ids: its `endpoints` row and its flow identity's `ips` row (merge.ts `flowIdentity`). */
interface EndIds {
  ep: number;
  identity: number;
}

function endpointKey(e: Endpoint): string {
  return [e.ip, e.pod, e.namespace, e.workload, e.kind, e.node, e.zone, e.service, e.cluster ?? DEFAULT_CLUSTER]
    .map((v) => v ?? '\u0000')
    .join('\u0001');
}

async function appendRows<T>(
  w: DuckDBConnection,
  table: string,
  items: T[],
  fn: (a: DuckDBAppender, item: T) => void
): Promise<void> {
  if (items.length === 0) {
    return;
  }
  const a = await w.createAppender(table);
  for (const item of items) {
    fn(a, item);
    a.endRow();
  }
  a.flushSync();
  a.closeSync();
}

/** Recomputes bucket `b` of tier `step` from the `from` tier (itself when compacting). */
async function rebuild(w: DuckDBConnection, step: number, from: number, b: number): Promise<void> {
  await w.run(`CREATE OR REPLACE TEMP TABLE rebuilt AS
    ${rollupSelect(String(b), `flows_${from}`, `bucket >= ${b} AND bucket < ${b + step}`)}`);
  await w.run(`DELETE FROM flows_${step} WHERE bucket = ${b}`);
  await w.run(`INSERT INTO flows_${step} (${ROLLUP_NAMES}) SELECT * FROM rebuilt`);
  await w.run('DROP TABLE rebuilt');
}
