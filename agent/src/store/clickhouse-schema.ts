/**
 * The ClickHouse store's layout and its versioned migrations (pure: statements as text, so the cluster-aware
 * DDL is tested without a cluster). clickhouse-store.ts runs them through `@clickhouse/client`.
 *
 * Tables (docs/hub.md "ClickHouse"):
 *   flows_raw           one row per reported flow end per report; partitioned by day, TTL raw retention;
 *                       ORDER BY (5-minute bucket, client identity, server identity, port): a range query reads
 *                       few granules and groups flows in key order. Engine-enforced report deduplication:
 *                       every report is one INSERT with insert_deduplication_token = reportId.
 *   flows_300/900/3600  roll-ups as AggregatingMergeTree, filled by materialized views from flows_raw at insert
 *                       time (no maintenance pass); both ends' counters side by side, as in the DuckDB store.
 *   endpoints           the names an end had (ReplacingMergeTree by a hash id every hub computes alike).
 *   reports             report ids (hasReport) and each report's `other` totals.
 *   flowlens_migrations the versions applied.
 * With a cluster name every table is `<name>_local` (Replicated*MergeTree, ON CLUSTER) behind a Distributed
 * table `<name>`; the materialized views live beside the local tables, so each shard rolls up its own rows.
 */
import { CATEGORY_CODE, CATEGORY_PRECEDENCE } from '../classify/category.js';
import { DEFAULT_CLUSTER, FAILURE_COUNTER_NAMES } from '../contracts/report.js';
import { ROLLUP_STEPS } from './duckdb-schema.js';
import { FAILURE_END_VIEWS, snake } from './merge.js';

export { ROLLUP_STEPS };

export interface SchemaOptions {
  database: string;
  cluster: string | null;
  rawRetentionS: number;
  fineRetentionS: number;
  hourRetentionS: number;
  /** Inserts (reports) whose ids the engine remembers for deduplication. */
  dedupWindow: number;
}

export interface Migration {
  version: number;
  description: string;
  statements: (o: SchemaOptions) => string[];
}

/** Category code → its rank in the merge precedence (the roll-ups keep the best rank: min). */
export function categoryRankSql(column: string): string {
  return `CASE ${column} ${CATEGORY_PRECEDENCE.map((c, i) => `WHEN ${CATEGORY_CODE[c]} THEN ${i}`).join(' ')} ELSE ${CATEGORY_PRECEDENCE.length - 1} END`;
}

/** Rank → category code (the inverse of categoryRankSql). */
export function categoryFromRankSql(column: string): string {
  const last = CATEGORY_CODE[CATEGORY_PRECEDENCE[CATEGORY_PRECEDENCE.length - 1]!];
  return `CASE ${column} ${CATEGORY_PRECEDENCE.map((c, i) => `WHEN ${i} THEN ${CATEGORY_CODE[c]}`).join(' ')} ELSE ${last} END`;
}

/** Version 1's raw columns (kept as they were: migration 1 creates them, later migrations add to them). */
const RAW_COLUMNS_V1 = `ts DateTime, client_ip UInt64, server_ip UInt64, server_port UInt16, side UInt8, category UInt8,
  client_ep UInt64, server_ep UInt64, bytes_sent Float64, bytes_received Float64, segments_sent Float64,
  segments_received Float64, retransmits Float64, rtos Float64, conns_opened Float64, conns_closed Float64,
  rtt_avg Nullable(Float64), rtt_max Nullable(Float64), via_ip UInt64, via_port UInt16, via_ep UInt64`;

/**
 * Version 2 (report contract 1.2): the row's own failure counters under the DuckDB store's raw names
 * (`connect_attempts`, …), its dropped packets and the drops by kernel reason (a Map; merge.ts
 * CLICKHOUSE_DIALECT sums it with sumMap / mapAdd). Rows stored before version 2 read 0 and an empty map.
 */
const RAW_FAILURE_COLUMNS = [
  ...FAILURE_COUNTER_NAMES.map((n) => `${snake(n)} Float64 DEFAULT 0`),
  'drops Float64 DEFAULT 0',
  'drop_reasons Map(LowCardinality(String), Float64)',
];

const names = (columns: string[]): string[] => columns.map((c) => c.trim().split(/\s+/)[0]!);
const RAW_V1_NAMES = names(RAW_COLUMNS_V1.split(','));

/** Raw row field names in insert order (clickhouse-append.ts builds rows with exactly these). */
export const RAW_NAMES = [...RAW_V1_NAMES, ...names(RAW_FAILURE_COLUMNS)];

const sum = (c: string): string => `${c} SimpleAggregateFunction(sum, Float64)`;
const ROLLUP_COLUMNS_V1 = `bucket DateTime, client_ip UInt64, server_ip UInt64, server_port UInt16,
  category_rank SimpleAggregateFunction(min, UInt8), client_ep SimpleAggregateFunction(max, UInt64),
  server_ep SimpleAggregateFunction(max, UInt64), ${['c_sent', 'c_recv', 's_sent', 's_recv', 'retransmits', 'rtos', 'rtt_sum', 'rtt_n'].map(sum).join(', ')},
  rtt_max SimpleAggregateFunction(max, Nullable(Float64)),
  ${['c_seg_sent', 'c_seg_recv', 's_seg_sent', 's_seg_recv'].map(sum).join(', ')},
  via_ip SimpleAggregateFunction(max, UInt64), via_port SimpleAggregateFunction(max, UInt16),
  via_ep SimpleAggregateFunction(max, UInt64)`;

/** Version 2: each end's failure counters the merge reads (merge.ts FAILURE_END_VIEWS), drops, drops by reason. */
const ROLLUP_FAILURE_COLUMNS = [
  ...FAILURE_END_VIEWS.map((v) => sum(v.column)),
  sum('drops'),
  'drop_reasons SimpleAggregateFunction(sumMap, Map(String, Float64))',
];

/**
 * The materialized view's roll-up of raw rows into `step`-second buckets (one row per flow per bucket). Raw
 * columns are read under `r_` names: an output alias equal to an aggregated column's name (`max(client_ep) AS
 * client_ep`) is an error in a view's query, whose settings are the inserting client's.
 */
export function rollupSelect(step: number, from: string, version = SCHEMA_VERSION): string {
  const c = (side: 0 | 1, col: string): string => `sum(if(r_side = ${side}, r_${col}, 0))`;
  const inner = (version >= 2 ? RAW_NAMES : RAW_V1_NAMES).map((n) => `${n} AS r_${n}`).join(', ');
  const failures =
    version >= 2
      ? `, ${FAILURE_END_VIEWS.map((v) => `${c(v.end === 'c' ? 0 : 1, v.raw)} AS ${v.column}`).join(', ')},
    sum(r_drops) AS drops, sumMap(r_drop_reasons) AS drop_reasons`
      : '';
  return `SELECT toDateTime(intDiv(toUInt32(r_ts), ${step}) * ${step}) AS bucket, r_client_ip AS client_ip,
    r_server_ip AS server_ip, r_server_port AS server_port,
    min(toUInt8(${categoryRankSql('r_category')})) AS category_rank, max(r_client_ep) AS client_ep,
    max(r_server_ep) AS server_ep, ${c(0, 'bytes_sent')} AS c_sent, ${c(0, 'bytes_received')} AS c_recv,
    ${c(1, 'bytes_sent')} AS s_sent, ${c(1, 'bytes_received')} AS s_recv, sum(r_retransmits) AS retransmits,
    sum(r_rtos) AS rtos, sum(coalesce(r_rtt_avg, 0)) AS rtt_sum, sum(if(r_rtt_avg IS NULL, 0, 1)) AS rtt_n,
    max(r_rtt_max) AS rtt_max, ${c(0, 'segments_sent')} AS c_seg_sent, ${c(0, 'segments_received')} AS c_seg_recv,
    ${c(1, 'segments_sent')} AS s_seg_sent, ${c(1, 'segments_received')} AS s_seg_recv,
    max(r_via_ip) AS via_ip, max(r_via_port) AS via_port, max(r_via_ep) AS via_ep${failures}
  FROM (SELECT ${inner} FROM ${from}) GROUP BY bucket, r_client_ip, r_server_ip, r_server_port`;
}

/**
 * Connections a node forwarded (merge.ts rule 4), one row per report entry, kept as long as the hour roll-ups (as
 * the DuckDB store's `forwards`). Ids as in raw rows; client_key (the client's identity) and via_key (the via
 * address) are the rule's tie-break keys, stored as text since this store keeps no id dictionary.
 */
const FORWARD_COLUMNS = `ts DateTime, client_ip UInt64, client_ep UInt64, server_ip UInt64, server_ep UInt64,
  server_port UInt16, snat_ip UInt64, via_ip UInt64, via_port UInt16, via_ep UInt64, category UInt8,
  connections Float64, client_key String, via_key String`;

/** Forward row field names in insert order. */
export const FORWARD_NAMES = names(FORWARD_COLUMNS.split(','));

/** What one logical table is made of: its local name (data), and the name queries and inserts use. */
export function tableNames(o: Pick<SchemaOptions, 'cluster'>, name: string): { local: string; global: string } {
  return o.cluster ? { local: `${name}_local`, global: name } : { local: name, global: name };
}

const onCluster = (o: SchemaOptions): string => (o.cluster ? ` ON CLUSTER ${o.cluster}` : '');

/** `engine` is the MergeTree family member without its Replicated prefix, e.g. `AggregatingMergeTree`. */
function engine(o: SchemaOptions, family: string, table: string, args = ''): string {
  if (!o.cluster) {
    return `${family}(${args})`;
  }
  const path = `'/clickhouse/tables/{shard}/${o.database}/${table}', '{replica}'`;
  return `Replicated${family}(${path}${args ? `, ${args}` : ''})`;
}

/**
 * CREATE TABLE for one logical table: plain, or (with a cluster) Replicated local + Distributed sharded by
 * `shardKey` (a flow's rows share a shard, so a shard's roll-ups hold whole flows).
 */
function table(
  o: SchemaOptions,
  name: string,
  columns: string,
  family: string,
  rest: string,
  shardKey: string,
  args = ''
): string[] {
  const { local, global } = tableNames(o, name);
  const db = o.database;
  const out = [
    `CREATE TABLE IF NOT EXISTS ${db}.${local}${onCluster(o)} (${columns}) ENGINE = ${engine(o, family, local, args)} ${rest}`,
  ];
  if (o.cluster) {
    out.push(
      `CREATE TABLE IF NOT EXISTS ${db}.${global}${onCluster(o)} AS ${db}.${local} ENGINE = Distributed(${o.cluster}, ${db}, ${local}, ${shardKey})`
    );
  }
  return out;
}

/**
 * The deduplication window of the tables a report's insert writes (raw rows, and the roll-ups its views write:
 * a view's insert is deduplicated by a token derived from the report's, with
 * deduplicate_blocks_in_dependent_materialized_views, so a re-sent report adds nothing to any roll-up).
 */
function dedupSettings(o: SchemaOptions): string {
  return o.cluster
    ? `SETTINGS replicated_deduplication_window = ${o.dedupWindow}, replicated_deduplication_window_seconds = ${o.rawRetentionS}`
    : `SETTINGS non_replicated_deduplication_window = ${o.dedupWindow}`;
}

const FLOW_SHARD = 'cityHash64(client_ip, server_ip, server_port)';

/** The tables a report's inserts write: raw rows, the roll-ups its views fill, its forwards. */
const REPORT_TABLES = ['flows_raw', ...ROLLUP_STEPS.map((s) => `flows_${s}`), 'forwards'];

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'raw flows, roll-ups by materialized views, endpoints, reports',
    statements: (o) => {
      const db = o.database;
      const raw = tableNames(o, 'flows_raw');
      const out = [
        ...table(
          o,
          'flows_raw',
          RAW_COLUMNS_V1,
          'MergeTree',
          `PARTITION BY toDate(ts) ORDER BY (toStartOfFiveMinutes(ts), client_ip, server_ip, server_port)
          TTL ts + INTERVAL ${o.rawRetentionS} SECOND
          ${dedupSettings(o)}`,
          FLOW_SHARD
        ),
        ...table(
          o,
          'endpoints',
          `id UInt64, ip String, pod Nullable(String), namespace LowCardinality(Nullable(String)),
          workload LowCardinality(Nullable(String)), kind LowCardinality(Nullable(String)),
          node LowCardinality(Nullable(String)), zone LowCardinality(Nullable(String)), service Nullable(String)`,
          'ReplacingMergeTree',
          'ORDER BY id',
          'id'
        ),
        ...table(
          o,
          'reports',
          `report_id String, node LowCardinality(String), start_ms Float64, end_ms Float64, flows UInt32,
          other_flows Float64, other_bytes_sent Float64, other_bytes_received Float64, other_retransmits Float64,
          other_rtos Float64`,
          'ReplacingMergeTree',
          `PARTITION BY toDate(toDateTime(intDiv(toUInt64(end_ms), 1000))) ORDER BY report_id
          TTL toDateTime(intDiv(toUInt64(end_ms), 1000)) + INTERVAL ${o.rawRetentionS} SECOND`,
          'cityHash64(report_id)'
        ),
      ];
      for (const step of ROLLUP_STEPS) {
        const t = tableNames(o, `flows_${step}`);
        const keep = step === 3600 ? o.hourRetentionS : o.fineRetentionS;
        out.push(
          ...table(
            o,
            `flows_${step}`,
            ROLLUP_COLUMNS_V1,
            'AggregatingMergeTree',
            `PARTITION BY ${step === 3600 ? 'toYYYYMM(bucket)' : 'toDate(bucket)'}
            ORDER BY (bucket, client_ip, server_ip, server_port) TTL bucket + INTERVAL ${keep} SECOND
            ${dedupSettings(o)}`,
            FLOW_SHARD
          ),
          `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.flows_${step}_mv${onCluster(o)} TO ${db}.${t.local}
          AS ${rollupSelect(step, `${db}.${raw.local}`, 1)}`
        );
      }
      return out;
    },
  },
  {
    version: 2,
    description: 'failure counters and drops by reason (report contract 1.2) in raw rows, roll-ups and views',
    statements: (o) => {
      const db = o.database;
      const raw = tableNames(o, 'flows_raw');
      const add = (name: string, columns: string[]): string[] => addColumns(o, name, columns);
      return [
        ...add('flows_raw', RAW_FAILURE_COLUMNS),
        ...ROLLUP_STEPS.flatMap((step) => [
          ...add(`flows_${step}`, ROLLUP_FAILURE_COLUMNS),
          // The view's query in place (no window without a view, as a DROP and CREATE would leave).
          `ALTER TABLE ${db}.flows_${step}_mv${onCluster(o)} MODIFY QUERY ${rollupSelect(step, `${db}.${raw.local}`, 2)}`,
        ]),
      ];
    },
  },
  {
    version: 3,
    description: 'forwarded connections (report contract 1.2 forwards; merge rule 4)',
    statements: (o) =>
      table(
        o,
        'forwards',
        FORWARD_COLUMNS,
        'MergeTree',
        `PARTITION BY toDate(ts) ORDER BY (toStartOfHour(ts), snat_ip, server_ip, server_port)
        TTL ts + INTERVAL ${o.hourRetentionS} SECOND
        ${dedupSettings(o)}`,
        // The shard of the flows they re-attribute: those flows' client is the SNAT address.
        'cityHash64(snat_ip, server_ip, server_port)'
      ),
  },
  {
    version: 4,
    description: 'the cluster of each named end (report contract 1.1 cluster); ends stored before: default',
    // Flow identities outside the cluster `default` are `<cluster>~…` (merge.ts flowIdentity): rows stored before
    // are `default`'s as they are, so nothing is re-keyed (docs/hub.md "Clusters").
    statements: (o) => addColumns(o, 'endpoints', [`cluster LowCardinality(String) DEFAULT '${DEFAULT_CLUSTER}'`]),
  },
  {
    version: 5,
    description: 'asynchronous report inserts: deduplication windows for them on Replicated tables',
    // A plain MergeTree deduplicates asynchronous inserts within non_replicated_deduplication_window (set since
    // version 1); a Replicated one keeps their ids apart, in a window of its own (default 10,000 inserts).
    statements: (o) =>
      o.cluster
        ? REPORT_TABLES.map(
            (name) =>
              `ALTER TABLE ${o.database}.${tableNames(o, name).local}${onCluster(o)} MODIFY SETTING ${asyncDedupSettings(o)}`
          )
        : [],
  },
];

/** A Replicated table's deduplication window for asynchronous inserts (as wide as the one for inserts). */
function asyncDedupSettings(o: SchemaOptions): string {
  return `replicated_deduplication_window_for_async_inserts = ${o.dedupWindow}, replicated_deduplication_window_seconds_for_async_inserts = ${o.rawRetentionS}`;
}

/** ALTER TABLE … ADD COLUMN IF NOT EXISTS for a logical table (its local and, on a cluster, Distributed table). */
function addColumns(o: SchemaOptions, name: string, columns: string[]): string[] {
  const t = tableNames(o, name);
  const tables = o.cluster ? [t.local, t.global] : [t.local];
  return tables.map(
    (x) =>
      `ALTER TABLE ${o.database}.${x}${onCluster(o)} ${columns.map((c) => `ADD COLUMN IF NOT EXISTS ${c}`).join(', ')}`
  );
}

export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The bookkeeping table itself (before any migration runs). */
export function migrationsTable(o: SchemaOptions): string[] {
  return [
    `CREATE DATABASE IF NOT EXISTS ${o.database}${onCluster(o)}`,
    ...table(
      o,
      'flowlens_migrations',
      `version UInt32, description String, applied_at DateTime DEFAULT now()`,
      'ReplacingMergeTree',
      'ORDER BY version',
      'version'
    ),
  ];
}
