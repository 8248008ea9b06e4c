/** SQL pieces of the DuckDB store's queries (filters, grouping, ordering) and the mapping of result rows. */
import { DuckDBListValue, DuckDBStructValue, type DuckDBValue } from '@duckdb/node-api';
import { CATEGORY_CODE, categoryFromCode, type Category } from '../classify/category.js';
import { DEFAULT_CLUSTER } from '../contracts/report.js';
import type {
  ClusterSeen,
  EndpointFilter,
  FailureTotals,
  GroupBy,
  MapEdge,
  MapNode,
  RangeQuery,
  Series,
  SeriesQuery,
  TopQuery,
  TopRow,
} from './flow-store.js';
import { sqlString } from './duckdb-schema.js';
import {
  DUCKDB_DIALECT,
  FAILURE_END_COLUMNS,
  FAILURE_MERGE,
  FAILURE_SCORE_FIELDS,
  MERGED_FAILURE_NAMES,
  collectReasonsSql,
  failureResultColumn,
  snake,
  sumReasonsSql,
  type MergeDialect,
} from './merge.js';

export type Row = Record<string, DuckDBValue>;

export function num(v: DuckDBValue | undefined): number {
  if (v === null || v === undefined) {
    return 0;
  }
  if (typeof v === 'number') {
    return v;
  }
  if (typeof v === 'bigint') {
    return Number(v);
  }
  return Number(v);
}
export function numOrNull(v: DuckDBValue | undefined): number | null {
  return v === null || v === undefined ? null : num(v);
}
export function str(v: DuckDBValue | undefined): string | null {
  return v === null || v === undefined ? null : String(v);
}

/**
 * Filters on the ends' names (as stored with each row), applied to rows before the merge. `lit` makes a string
 * literal of the engine (the ClickHouse store passes its own: ClickHouse reads a backslash as an escape).
 */
export function endFilters(q: RangeQuery, lit: (s: string) => string = sqlString): string[] {
  const filters: string[] = [];
  if (q.cluster !== undefined) {
    // Both ends of a flow are in one cluster (merge.ts `flowIdentity`): the client end's says which.
    filters.push(`client_ep IN (SELECT id FROM endpoints WHERE cluster = ${lit(q.cluster)})`);
  }
  if (q.namespace !== undefined || q.workload !== undefined) {
    const cond: string[] = [];
    if (q.namespace !== undefined) {
      cond.push(`namespace = ${lit(q.namespace)}`);
    }
    if (q.workload !== undefined) {
      cond.push(`workload = ${lit(q.workload)}`);
    }
    const ids = `(SELECT id FROM endpoints WHERE ${cond.join(' AND ')})`;
    filters.push(`(client_ep IN ${ids} OR server_ep IN ${ids})`);
  }
  if (q.endpoint) {
    const e = endpointIds(q.endpoint, lit);
    if (q.peer) {
      const p = endpointIds(q.peer, lit);
      filters.push(`((client_ep IN ${e} AND server_ep IN ${p}) OR (client_ep IN ${p} AND server_ep IN ${e}))`);
    } else {
      filters.push(`(client_ep IN ${e} OR server_ep IN ${e})`);
    }
  }
  return filters;
}

function endpointIds(f: EndpointFilter, lit: (s: string) => string): string {
  const cond = f.kind === 'ip' ? `ip = ${lit(f.ip)}` : `namespace = ${lit(f.namespace)} AND ${f.kind} = ${lit(f.name)}`;
  return `(SELECT id FROM endpoints WHERE ${cond})`;
}

/**
 * The clusters with rows in `source` (roll-up-shaped rows with `bucket`, seconds), with their latest bucket:
 * `GET /api/v1/clusters`. `endpoints` is the engine's relation of named ends. Both engines run it as written.
 */
export function clustersSql(source: string, endpoints = 'endpoints'): string {
  return `SELECT e.cluster AS name, max(src.bucket) AS last_s FROM (${source}) src
    JOIN ${endpoints} e ON e.id = src.client_ep GROUP BY e.cluster ORDER BY name`;
}

export function clusterSeen(r: Row): ClusterSeen {
  return { name: str(r.name) ?? DEFAULT_CLUSTER, lastSeenMs: num(r.last_s) * 1000 };
}

/** The category filter, on merged flows (never on one end's rows). */
export function categoryWhere(q: RangeQuery): string {
  return q.categories && q.categories.length > 0
    ? ` WHERE category IN (${q.categories.map((c) => CATEGORY_CODE[c]).join(', ')})`
    : '';
}

export function metricOrder(metric: TopQuery['metric']): string {
  switch (metric) {
    case 'bytes':
      return 'bytes DESC, retransmits DESC';
    case 'retransmits':
      return 'retransmits DESC, bytes DESC';
    case 'rtos':
      return 'rtos DESC, retransmits DESC, bytes DESC';
    case 'rtt':
      return 'rtt DESC NULLS LAST, bytes DESC';
    case 'failures':
      return 'failures DESC, bytes DESC';
  }
}

/** The merged flows' failure columns as they are (`f_*`, drops, drop_reasons, failures), for a select list. */
export const FAILURE_SELECT = [...MERGED_FAILURE_NAMES.map(failureResultColumn), 'drops', 'drop_reasons', 'failures'];

/**
 * The same columns summed over a group of merged flows (grouped rows, service-map edges), in a dialect; without
 * drop_reasons when `reasons` is false (the caller reads them apart, `collectedReasonsSql`).
 */
export function failureSums(dialect: MergeDialect = DUCKDB_DIALECT, reasons = true): string {
  return [
    ...MERGED_FAILURE_NAMES.map(failureResultColumn).map((c) => `sum(${c}) AS ${c}`),
    'sum(drops) AS drops',
    ...(reasons ? [`${dialect.groupReasons('drop_reasons', 'drops')} AS drop_reasons`] : []),
    'sum(failures) AS failures',
  ].join(', ');
}

/**
 * Failures per time-series step (both stores' `timeseries`): each merged failure field from the view (end) with
 * the larger total over the range, as bytes are, and drops as they happened. `perSums` go in the per-step CTE
 * (`per`, grouped by step and flow, from roll-up-shaped rows), `picks` in the per-flow choice CTE over `per`,
 * and `perStep` (reading `per.` and the picks) is the step's failures.
 */
export function failureSeriesSql(): { perSums: string; picks: string; perStep: string } {
  const scoreViews = FAILURE_SCORE_FIELDS.filter((k) => k !== 'drops').map((k) => FAILURE_MERGE[k]);
  const col = ([e, c]: readonly ['c' | 's', string]): string => `${e}_${snake(c)}`;
  const perCol = (v: readonly ['c' | 's', string]): string => `per.${col(v)}`;
  const picks = scoreViews.map((views, i) =>
    views.length === 1 ? 'true' : `sum(${col(views[0]!)}) >= sum(${col(views[1]!)}) AS pick_${i}`
  );
  const perStep = [
    ...scoreViews.map((views, i) =>
      views.length === 1
        ? perCol(views[0]!)
        : `CASE WHEN pick_${i} THEN ${perCol(views[0]!)} ELSE ${perCol(views[1]!)} END`
    ),
    'per.drops',
  ].join(' + ');
  return {
    perSums: `${FAILURE_END_COLUMNS.map((c) => `sum(${c}) AS ${c}`).join(', ')}, sum(drops) AS drops`,
    picks: picks.filter((p) => p !== 'true').join(', ') || 'true AS no_pick',
    perStep,
  };
}

/**
 * A time series' name (both stores' `timeseries`, over the joined ends `c` and `s` and the flow's category code);
 * `categoryText` is the engine's cast of the code to text (the caller turns it back into the category's name).
 */
export function seriesKeySql(groupBy: SeriesQuery['groupBy'], categoryText: string): string {
  switch (groupBy) {
    case 'total':
      return `'total'`;
    case 'category':
      return categoryText;
    case 'namespace':
      return `coalesce(s.namespace, c.namespace, 'external')`;
    default:
      return `coalesce(s.namespace || '/' || s.workload, c.namespace || '/' || c.workload, 'external')`;
  }
}

/** A time series' value per step (both stores). */
export function seriesValueSql(metric: SeriesQuery['metric']): string {
  return metric === 'rtt' ? 'sum(rtt_sum) / nullif(sum(rtt_n), 0)' : `sum(${metric})`;
}

/** Result rows (t in seconds, name, v), ordered by name then t, as series (both stores). */
export function seriesFromRows(rows: Row[], groupBy: SeriesQuery['groupBy']): Series[] {
  const series = new Map<string, Series>();
  for (const r of rows) {
    const name = groupBy === 'category' ? categoryFromCode(Number(String(r.name))) : String(r.name);
    let s = series.get(name);
    if (!s) {
      series.set(name, (s = { name, points: [] }));
    }
    s.points.push([num(r.t) * 1000, num(r.v)]);
  }
  return [...series.values()];
}

/** A DuckDB drop_reasons value (a list of {reason, n}) as [reason, n] pairs. */
function duckdbReasons(list: DuckDBValue | undefined): Array<[string | null, number]> {
  if (!(list instanceof DuckDBListValue)) {
    return [];
  }
  return list.items.map((item) =>
    item instanceof DuckDBStructValue ? [str(item.entries.reason), num(item.entries.n)] : [null, 0]
  );
}

/**
 * A result row's failure fields (API 1.3). `reasons` reads the engine's drop_reasons value (DuckDB: a list of
 * structs; the ClickHouse store passes its reader of a Map).
 */
export function failureTotals(
  r: Row,
  reasons: (v: Row[string] | undefined) => Array<[string | null, number]> = duckdbReasons
): FailureTotals {
  const merged = Object.fromEntries(MERGED_FAILURE_NAMES.map((n) => [n, num(r[failureResultColumn(n)])])) as Record<
    (typeof MERGED_FAILURE_NAMES)[number],
    number
  >;
  const dropsByReason: Record<string, number> = {};
  for (const [reason, n] of reasons(r.drop_reasons)) {
    if (reason !== null && n > 0) {
      dropsByReason[reason] = n;
    }
  }
  return {
    ...merged,
    resets: merged.resetsFromClient + merged.resetsFromServer,
    drops: num(r.drops),
    dropsByReason: Object.fromEntries(Object.entries(dropsByReason).sort(([a], [b]) => (a < b ? -1 : 1))),
    failures: num(r.failures),
  };
}

/**
 * Group key of one end at a level, in its cluster (two clusters' pods sharing a name or an IP are two groups);
 * ends without a name at that level (external addresses) keep their IP.
 */
export function groupKey(alias: string, level: GroupBy): string {
  const inCluster = (key: string): string => `${alias}.cluster || '|' || ${key}`;
  switch (level) {
    case 'pod':
      return inCluster(`coalesce(${alias}.namespace || '/' || ${alias}.pod, ${alias}.ip)`);
    case 'workload':
      return inCluster(`coalesce(${alias}.namespace || '/' || ${alias}.workload, ${alias}.ip)`);
    case 'namespace':
      return inCluster(`coalesce(${alias}.namespace, ${alias}.ip)`);
    default:
      return inCluster(`${alias}.ip`);
  }
}

/**
 * Every named end's group at a level as a small integer (DuckDB's grouped queries): `id`, `k` (the rank of the end's
 * `groupKey` string, so two ends share `k` exactly when they share the key, and `k` sorts as the key does) and its
 * `service`. Grouping hundreds of thousands of merged flows by two integers instead of two strings built per flow
 * is most of what a grouped query costs otherwise; the strings are built once per named end here.
 */
export function groupKeysSql(level: GroupBy): string {
  return `SELECT id, dense_rank() OVER (ORDER BY ${groupKey('e', level)}) AS k, service FROM endpoints e`;
}

/** The end's descriptive columns at a level: finer names are null once grouped above them. */
export function endColumns(alias: 'c' | 's', level: GroupBy, only?: readonly string[]): string {
  const named = `${alias}.${level === 'namespace' ? 'namespace' : level === 'pod' ? 'pod' : 'workload'} IS NOT NULL`;
  const keep = (col: string, levels: GroupBy[]): string =>
    levels.includes(level) ? `${alias}.${col}` : `CASE WHEN ${named} THEN NULL ELSE ${alias}.${col} END`;
  const cols: Array<[string, string]> = [
    ['cluster', `${alias}.cluster`],
    ['ip', `CASE WHEN ${named} THEN NULL ELSE ${alias}.ip END`],
    ['pod', keep('pod', ['pod'])],
    ['namespace', `${alias}.namespace`],
    ['workload', keep('workload', ['pod', 'workload'])],
    ['kind', keep('kind', ['pod', 'workload'])],
    ['node', keep('node', ['pod'])],
    ['zone', keep('zone', ['pod'])],
  ];
  return cols
    .filter(([c]) => only === undefined || only.includes(c))
    .map(([c, expr]) => `${expr} AS ${alias}_${c}`)
    .join(', ');
}

/**
 * The drop reasons of grouped rows (grouped top contributors, service-map edges), in two steps so the merged flows
 * are read once (by the group-by; a second reader would make DuckDB materialise them, 0.1-0.25 s a query at 1,000
 * nodes): `collectedReasonsSql` in the group-by lists the reasons of the flows with drops (few), and
 * `keptReasonsSql` sums them per reason for the groups kept (at most the query's limit).
 */
export const collectedReasonsSql = (): string => `${collectReasonsSql('drop_reasons', 'drops')} AS drop_list`;
export const keptReasonsSql = (g: string): string => `${sumReasonsSql(`${g}.drop_list`)} AS drop_reasons`;

/** A column's value when every non-NULL value of the group is the same, else NULL (`count(DISTINCT) = 1`, cheaper). */
export const sameOrNull = (col: string): string => `CASE WHEN min(${col}) = max(${col}) THEN max(${col}) END`;

export function end(r: Row, p: 'c' | 's') {
  return {
    ip: str(r[`${p}_ip`]),
    pod: str(r[`${p}_pod`]),
    namespace: str(r[`${p}_namespace`]),
    workload: str(r[`${p}_workload`]),
    kind: str(r[`${p}_kind`]),
    node: str(r[`${p}_node`]),
    zone: str(r[`${p}_zone`]),
  };
}

/** The cluster of a query row (its client end's, `c_cluster`; both ends of a flow are in one cluster). */
export function rowCluster(r: Row): string {
  return str(r.c_cluster) ?? DEFAULT_CLUSTER;
}

/**
 * A service-map node id: `NAMESPACE/NAME` (or the address) in the cluster `default`, as before clusters were kept,
 * and `CLUSTER/NAMESPACE/NAME` (or `CLUSTER/ADDRESS`) in any other, so two clusters never share a node. The parts
 * tell them apart: a default-cluster id has at most one `/`, which an address has none of.
 */
export function mapNodeId(cluster: string, key: string): string {
  return cluster === DEFAULT_CLUSTER ? key : `${cluster}/${key}`;
}

export function mapNode(r: Row, p: 'c' | 's', level: GroupBy, category: Category): Omit<MapNode, 'bytes'> {
  const e = end(r, p);
  const cluster = rowCluster(r);
  const service = p === 's' ? str(r.s_service) : null;
  const named = level === 'pod' ? e.pod : e.workload;
  if (named !== null && e.namespace !== null) {
    return {
      id: mapNodeId(cluster, `${e.namespace}/${named}`),
      cluster,
      title: named,
      subtitle: e.namespace,
      namespace: e.namespace,
      kind: level === 'pod' ? 'Pod' : e.kind,
      workload: e.workload,
      pod: level === 'pod' ? e.pod : null,
      ip: null,
      category: null,
    };
  }
  const ip = e.ip ?? 'unknown';
  const external = category === 'AMAZON_S3' || category === 'AMAZON_DYNAMODB' || category === 'UNCLASSIFIED';
  return {
    id: mapNodeId(cluster, ip),
    cluster,
    title: service ?? ip,
    subtitle: service ? ip : external ? category : (e.node ?? null),
    namespace: e.namespace,
    kind: service ? 'Service' : e.kind === 'Node' ? 'Node' : 'External',
    workload: null,
    pod: null,
    ip,
    category: external ? category : null,
  };
}

type Reasons = (v: Row[string] | undefined) => Array<[string | null, number]>;

/** A top-contributors result row from either engine's query row (columns as both stores' top SQL yields them). */
export function topRow(r: Row, metric: TopQuery['metric'], reasons: Reasons = duckdbReasons): TopRow {
  const bytes = num(r.bytes);
  const retransmits = num(r.retransmits);
  const rtos = num(r.rtos);
  const rttUs = numOrNull(r.rtt);
  const failures = failureTotals(r, reasons);
  const value = { bytes, retransmits, rtos, failures: failures.failures, rtt: rttUs ?? 0 }[metric];
  return {
    cluster: rowCluster(r),
    category: categoryFromCode(num(r.category)),
    local: end(r, 'c'),
    remote: { ...end(r, 's'), service: str(r.s_service) },
    serverPort: numOrNull(r.server_port),
    value,
    bytes,
    retransmits,
    rtos,
    rttUs,
    rttMaxUs: numOrNull(r.rtt_max),
    segments: numOrNull(r.segments),
    ...failures,
  };
}

/** A service map from either engine's edge rows: one edge per row, nodes summing the bytes of their edges. */
export function serviceMapFromRows(
  rows: Row[],
  level: GroupBy,
  reasons: Reasons = duckdbReasons
): { nodes: MapNode[]; edges: MapEdge[] } {
  const nodes = new Map<string, MapNode>();
  const edges: MapEdge[] = [];
  for (const r of rows) {
    const category = categoryFromCode(num(r.category));
    const bytes = num(r.bytes);
    const source = mapNode(r, 'c', level, category);
    const target = mapNode(r, 's', level, category);
    for (const n of [source, target]) {
      const had = nodes.get(n.id);
      if (had) {
        had.bytes += bytes;
      } else {
        nodes.set(n.id, { ...n, bytes });
      }
    }
    edges.push({
      id: `${source.id}->${target.id}`,
      cluster: rowCluster(r),
      source: source.id,
      target: target.id,
      category,
      bytes,
      retransmits: num(r.retransmits),
      rtos: num(r.rtos),
      rttUs: numOrNull(r.rtt),
      rttMaxUs: numOrNull(r.rtt_max),
      via: str(r.via),
      segments: numOrNull(r.segments),
      ...failureTotals(r, reasons),
    });
  }
  return { nodes: [...nodes.values()], edges };
}
