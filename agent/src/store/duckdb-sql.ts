/** SQL pieces of the DuckDB store's queries (filters, grouping, ordering) and the mapping of result rows. */
import type { DuckDBValue } from '@duckdb/node-api';
import { CATEGORY_CODE, type Category } from '../classify/category.js';
import type { EndpointFilter, GroupBy, MapNode, RangeQuery, TopQuery } from './flow-store.js';
import { sqlString } from './duckdb-schema.js';

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
  }
}

/** Group key of one end at a level; ends without a name at that level (external addresses) keep their IP. */
export function groupKey(alias: 'c' | 's', level: GroupBy): string {
  switch (level) {
    case 'pod':
      return `coalesce(${alias}.namespace || '/' || ${alias}.pod, ${alias}.ip)`;
    case 'workload':
      return `coalesce(${alias}.namespace || '/' || ${alias}.workload, ${alias}.ip)`;
    case 'namespace':
      return `coalesce(${alias}.namespace, ${alias}.ip)`;
    default:
      return `${alias}.ip`;
  }
}

/** The end's descriptive columns at a level: finer names are null once grouped above them. */
export function endColumns(alias: 'c' | 's', level: GroupBy): string {
  const named = `${alias}.${level === 'namespace' ? 'namespace' : level === 'pod' ? 'pod' : 'workload'} IS NOT NULL`;
  const keep = (col: string, levels: GroupBy[]): string =>
    levels.includes(level) ? `${alias}.${col}` : `CASE WHEN ${named} THEN NULL ELSE ${alias}.${col} END`;
  return [
    `CASE WHEN ${named} THEN NULL ELSE ${alias}.ip END AS ${alias}_ip`,
    `${keep('pod', ['pod'])} AS ${alias}_pod`,
    `${alias}.namespace AS ${alias}_namespace`,
    `${keep('workload', ['pod', 'workload'])} AS ${alias}_workload`,
    `${keep('kind', ['pod', 'workload'])} AS ${alias}_kind`,
    `${keep('node', ['pod'])} AS ${alias}_node`,
    `${keep('zone', ['pod'])} AS ${alias}_zone`,
  ].join(', ');
}

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

export function mapNode(r: Row, p: 'c' | 's', level: GroupBy, category: Category): Omit<MapNode, 'bytes'> {
  const e = end(r, p);
  const service = p === 's' ? str(r.s_service) : null;
  const named = level === 'pod' ? e.pod : e.workload;
  if (named !== null && e.namespace !== null) {
    return {
      id: `${e.namespace}/${named}`,
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
    id: ip,
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
