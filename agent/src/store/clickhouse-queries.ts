/**
 * The ClickHouse store's query SQL (pure). The merge rule is merge.ts `mergedFlowsSql` in its ClickHouse
 * dialect; the tier plan is plan.ts; end filters, group keys and row mapping are duckdb-sql.ts's, which are
 * plain SQL both engines run. What is here is the outer shape of each query in ClickHouse's function names
 * (argMax, any, intDiv) with every output column named.
 */
import { categoryFromRankSql } from './clickhouse-schema.js';
import { RAW_AS_ROLLUP } from './duckdb-schema.js';
import {
  FAILURE_SELECT,
  categoryWhere,
  endColumns,
  endFilters,
  failureSeriesSql,
  failureSums,
  groupKeysSql,
  metricOrder,
  sameOrNull,
  seriesKeySql,
  seriesValueSql,
} from './duckdb-sql.js';
import type { GroupBy, MapQuery, RangeQuery, SeriesQuery, TopQuery } from './flow-store.js';
import {
  CLICKHOUSE_DIALECT,
  FAILURE_END_COLUMNS,
  exactSum,
  forwardSharesSql,
  forwardedStepsSql,
  mergedFlowsSql,
  FLOWS_ONLY,
} from './merge.js';
import type { Plan } from './plan.js';

/** A ClickHouse string literal: backslashes and quotes escaped (ClickHouse reads `\` as an escape). */
export function chString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Endpoints, one row per id (the table is a ReplacingMergeTree: repeats until a merge collapses them). */
export const EP = '(SELECT * FROM endpoints FINAL)';

/**
 * Joins a flow's end to its names without FINAL: an id is the hash of every name it carries (clickhouse-append.ts
 * `endpointKey`), so an id's repeats are equal rows and any one of them is the answer. `ANY LEFT JOIN` takes one
 * per flow row — reading `endpoints FINAL` for each of a query's three ends was most of a query's time. Every
 * end a stored row names is in the table (its insert comes first), so LEFT keeps the rows INNER kept.
 */
const joinEnd = (alias: string, on: string): string => `ANY LEFT JOIN endpoints ${alias} ON ${alias}.id = ${on}`;

/**
 * Joins a flow's end to its group at a level as a number (`k`, duckdb-sql.ts `groupKeysSql`: the rank of the end's
 * group key, equal exactly when the keys are, sorting as they do) and its Service. Grouping hundreds of thousands
 * of merged flows by two numbers instead of two strings built per flow; the key strings are built once per end.
 */
const groupKeys = (alias: string, level: GroupBy, on: string): string =>
  `ANY LEFT JOIN (${groupKeysSql(level)}) ${alias} ON ${alias}.id = ${on}`;

/** The roll-up columns of schema 2: each end's failure counters the merge reads, drops, drops by reason. */
const FAILURES = `${FAILURE_END_COLUMNS.join(', ')}, drops, drop_reasons`;

const MEASURES = `client_ip, server_ip, server_port, category, client_ep, server_ep, c_sent, c_recv, s_sent, s_recv,
  retransmits, rtos, rtt_sum, rtt_n, rtt_max, c_seg_sent, c_seg_recv, s_seg_sent, s_seg_recv, via_ip, via_port, via_ep,
  ${FAILURES}`;

/** The end filters of the query, on ClickHouse (the endpoints subqueries read the local dictionary). */
function filters(q: RangeQuery): string {
  return endFilters(q, chString)
    .map((f) => ` AND ${f}`)
    .join('');
}

/** Both-end rows in roll-up shape for the planned buckets (or raw rows, for steps finer than the roll-ups). */
export function source(plan: Plan, q: RangeQuery, rawOnly = false): string {
  const extra = filters(q);
  if (rawOnly) {
    return `SELECT toUInt32(ts) AS bucket, ${RAW_AS_ROLLUP} FROM flows_raw
      WHERE ts >= toDateTime(${plan.fromS}) AND ts < toDateTime(${plan.toS})${extra}`;
  }
  const parts = plan.segments.map(
    (s) => `SELECT toUInt32(bucket) AS bucket, client_ip, server_ip, server_port,
      ${categoryFromRankSql('category_rank')} AS category, client_ep, server_ep, c_sent, c_recv, s_sent, s_recv,
      retransmits, rtos, rtt_sum, rtt_n, rtt_max, c_seg_sent, c_seg_recv, s_seg_sent, s_seg_recv, via_ip, via_port,
      via_ep, ${FAILURES} FROM flows_${s.stepS} WHERE bucket >= toDateTime(${s.fromS}) AND bucket < toDateTime(${s.toS})${extra}`
  );
  return parts.length > 0
    ? parts.join('\nUNION ALL\n')
    : `SELECT toUInt32(0) AS bucket, ${MEASURES} FROM flows_300 WHERE 0`;
}

/**
 * The forwards (merge.ts rule 4) reported in the planned range, in the shape `forwardedRowsSql` reads; the store
 * passes it only when the range has any (otherwise queries skip the rule's extra pass, as the DuckDB store does).
 */
export function forwardsSql(plan: Plan): string {
  return `SELECT client_ip, client_ep, server_ip, server_ep, server_port, snat_ip, via_ip, via_port, via_ep, category,
      connections, client_key, via_key
    FROM forwards WHERE ts >= toDateTime(${plan.fromS}) AND ts < toDateTime(${plan.toS})`;
}

export function forwardsCountSql(plan: Plan): string {
  return `SELECT count() AS n FROM (${forwardsSql(plan)})`;
}

function merged(src: string, q: RangeQuery, fwd?: string): string {
  return `SELECT * FROM (${mergedFlowsSql(src, fwd, CLICKHOUSE_DIALECT)})${categoryWhere(q)}`;
}

const END = (a: 'c' | 's'): string =>
  ['cluster', 'ip', 'pod', 'namespace', 'workload', 'kind', 'node', 'zone']
    .map((c) => `${a}.${c} AS ${a}_${c}`)
    .join(', ');

export function topSql(plan: Plan, q: TopQuery, fwd?: string): string {
  const order = metricOrder(q.metric);
  const having = q.metric === 'rtt' ? 'WHERE rtt_n > 0' : '';
  const f = merged(source(plan, q), q, fwd);
  if (q.groupBy === 'flow') {
    return `WITH tops AS (SELECT *, rtt_sum / nullif(rtt_n, 0) AS rtt FROM (${f}) ${having}
        ORDER BY ${order}, client_ip, server_ip, server_port LIMIT ${q.limit})
      SELECT t.category AS category, t.server_port AS server_port, t.bytes AS bytes,
        t.retransmits AS retransmits, t.rtos AS rtos, t.rtt AS rtt, t.rtt_max AS rtt_max, t.segments AS segments,
        ${FAILURE_SELECT.map((c) => `t.${c} AS ${c}`).join(', ')}, ${END('c')}, ${END('s')}, coalesce(v.service, s.service) AS s_service
      FROM tops t ${joinEnd('c', 't.client_ep')} ${joinEnd('s', 't.server_ep')} ${joinEnd('v', 't.via_ep')}
      ORDER BY ${order.replace(/\brtt\b/, 't.rtt')}, t.client_ip, t.server_ip, t.server_port`;
  }
  const level = q.groupBy;
  // Grouped by numbers (each end's group key as a rank, `groupKeys`); the ends' names are read for the kept
  // groups alone, from one end of each (any row's names, as `any` over the rows gave before).
  const kept = ['category', 'server_port', 'bytes', 'retransmits', 'rtos', 'segments', 'rtt', 'rtt_n', 'rtt_max'];
  return `WITH j AS (SELECT f.*, c.k AS ck, s.k AS sk, coalesce(v.service, s.service) AS s_service
      FROM (${f}) f ${groupKeys('c', level, 'f.client_ep')} ${groupKeys('s', level, 'f.server_ep')} ${joinEnd('v', 'f.via_ep')}),
    g AS (SELECT category, ck, sk, NULL AS server_port, sum(bytes) AS bytes, sum(retransmits) AS retransmits,
        sum(rtos) AS rtos, ${exactSum('segments')} AS segments, sum(rtt_sum) / nullif(sum(rtt_n), 0) AS rtt,
        sum(rtt_n) AS rtt_n, max(rtt_max) AS rtt_max, ${failureSums(CLICKHOUSE_DIALECT)},
        any(client_ep) AS client_ep, any(server_ep) AS server_ep, ${sameOrNull('s_service')} AS s_service
      FROM j GROUP BY category, ck, sk),
    t AS (SELECT * FROM g ${having} ORDER BY ${order}, ck, sk LIMIT ${q.limit})
    SELECT ${[...kept, ...FAILURE_SELECT, 's_service'].map((c) => `t.${c} AS ${c}`).join(', ')},
      ${endColumns('c', level)}, ${endColumns('s', level)}
    FROM t ${joinEnd('c', 't.client_ep')} ${joinEnd('s', 't.server_ep')}
    ORDER BY ${order}, t.ck, t.sk`;
}

export function mapSql(plan: Plan, q: MapQuery, fwd?: string): string {
  const level: GroupBy = q.groupBy;
  // As grouped top contributors: numbers grouped, the ends' names read for the kept edges.
  const names = ['cluster', 'ip', 'pod', 'namespace', 'workload', 'kind'];
  const kept = ['category', 'bytes', 'retransmits', 'rtos', 'rtt', 'rtt_max', 'segments', 'via', ...FAILURE_SELECT];
  return `WITH j AS (SELECT f.*, c.k AS ck, s.k AS sk, coalesce(v.service, s.service) AS s_service, v.service AS via
      FROM (${merged(source(plan, q), q, fwd)}) f ${groupKeys('c', level, 'f.client_ep')}
        ${groupKeys('s', level, 'f.server_ep')} ${joinEnd('v', 'f.via_ep')}),
    g AS (SELECT ck, sk, argMax(category, bytes) AS category, sum(bytes) AS bytes, sum(retransmits) AS retransmits,
      sum(rtos) AS rtos, sum(rtt_sum) / nullif(sum(rtt_n), 0) AS rtt, max(rtt_max) AS rtt_max,
      ${exactSum('segments')} AS segments, ${sameOrNull('via')} AS via, ${failureSums(CLICKHOUSE_DIALECT)},
      any(client_ep) AS client_ep, any(server_ep) AS server_ep, any(s_service) AS s_service
    FROM j GROUP BY ck, sk ORDER BY sum(bytes) DESC, ck, sk LIMIT ${q.limit})
    SELECT ${kept.map((c) => `g.${c} AS ${c}`).join(', ')}, ${endColumns('c', level, names)},
      ${endColumns('s', level, names.slice(1))}, g.s_service AS s_service
    FROM g ${joinEnd('c', 'g.client_ep')} ${joinEnd('s', 'g.server_ep')}
    ORDER BY g.bytes DESC, g.ck, g.sk`;
}

export function seriesSql(plan: Plan, q: SeriesQuery, stepS: number, rawOnly: boolean, fwd?: string): string {
  const seriesKey = seriesKeySql(q.groupBy, 'toString(category)');
  const value = seriesValueSql(q.metric);
  const failureSeries = failureSeriesSql();
  // Forwarded connections (merge.ts rule 4): each step of a flow seen from a SNAT address goes to its clients.
  const per =
    fwd === undefined
      ? 'SELECT * FROM per0'
      : forwardedStepsSql('per0', forwardSharesSql('SELECT * FROM src', fwd, CLICKHOUSE_DIALECT));
  // The DuckDB store's series (duckdb-store.ts `timeseries`): flows and categories from the merge over the
  // whole range, each direction per step from the end whose range total is larger.
  return `WITH src AS (${source(plan, q, rawOnly)}),
    fl AS (SELECT * FROM (${mergedFlowsSql('SELECT * FROM src', fwd, CLICKHOUSE_DIALECT, FLOWS_ONLY)})${categoryWhere(q)}),
    per0 AS (
      SELECT intDiv(bucket, ${stepS}) * ${stepS} AS t, client_ip, server_ip, server_port, sum(c_sent) AS cs,
        sum(c_recv) AS cr, sum(s_sent) AS ss, sum(s_recv) AS sr, sum(retransmits) AS retransmits,
        sum(rtos) AS rtos, sum(rtt_sum) AS rtt_sum, sum(rtt_n) AS rtt_n, ${failureSeries.perSums}
      FROM src GROUP BY t, client_ip, server_ip, server_port),
    per AS (${per}),
    choice AS (SELECT client_ip, server_ip, server_port, sum(cs) >= sum(sr) AS up_c, sum(ss) >= sum(cr) AS down_s,
        ${failureSeries.picks}
      FROM per GROUP BY client_ip, server_ip, server_port),
    f AS (SELECT per.t AS t, per.retransmits AS retransmits, per.rtos AS rtos, per.rtt_sum AS rtt_sum,
        per.rtt_n AS rtt_n, fl.category AS category, fl.client_ep AS client_ep, fl.server_ep AS server_ep,
        (if(up_c, cs, sr)) + (if(down_s, ss, cr)) AS bytes, ${failureSeries.perStep} AS failures
      FROM per JOIN choice USING (client_ip, server_ip, server_port) JOIN fl USING (client_ip, server_ip, server_port)),
    p AS (SELECT t, ${seriesKey} AS name, ${value} AS v
      FROM f JOIN ${EP} c ON c.id = f.client_ep JOIN ${EP} s ON s.id = f.server_ep GROUP BY t, name),
    tops AS (SELECT name FROM p GROUP BY name ORDER BY sum(v) DESC NULLS LAST, name LIMIT ${q.limit})
    SELECT p.t AS t, p.name AS name, p.v AS v FROM p WHERE p.name IN (SELECT name FROM tops) AND p.v IS NOT NULL
    ORDER BY name, t`;
}

const inCluster = (cluster?: string): string => (cluster === undefined ? '' : ` AND cluster = ${chString(cluster)}`);

export function namespacesSql(cluster?: string): string {
  return `SELECT DISTINCT namespace FROM endpoints WHERE namespace IS NOT NULL${inCluster(cluster)} ORDER BY namespace`;
}

export function workloadsSql(namespace?: string, cluster?: string): string {
  const where = (namespace === undefined ? '' : ` AND namespace = ${chString(namespace)}`) + inCluster(cluster);
  return `SELECT namespace, workload, any(kind) AS kind FROM endpoints
    WHERE namespace IS NOT NULL AND workload IS NOT NULL${where} GROUP BY namespace, workload ORDER BY namespace, workload`;
}
