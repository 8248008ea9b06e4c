/**
 * `observedFlows` for the DuckDB store: every merged flow of a range (the one merge rule, merge.ts) with the
 * first and last time a row of it was seen — the evidence of network-policy drafts and checks. Kept apart from
 * duckdb-store.ts, which hands in its range plan, row source and snapshot reader. The ClickHouse store runs the same
 * SQL in its dialect (merge.ts CLICKHOUSE_DIALECT) with its own endpoints relation.
 *
 * First/last seen are the earliest and latest bucket start of the flow's own rows (30 s report windows for raw
 * rows, the roll-up step for older ones). A flow addressed to a Service address before translation is merged
 * into a backend flow (merge rule 3); its rows' times are not added to that flow's. Flows come ordered by their
 * ends' addresses and port (then pods), the same on every engine (identity ids differ between stores).
 */
import { categoryFromCode } from '../classify/category.js';
import { DEFAULT_CLUSTER } from '../contracts/report.js';
import { end, num, str, type Row } from './duckdb-sql.js';
import type { Answered, Endpoint, ObservedFlow, RangeQuery } from './flow-store.js';
import { DUCKDB_DIALECT, FLOWS_ONLY, mergedFlowsSql, type MergeDialect } from './merge.js';
import type { Plan } from './plan.js';

export interface ObservedFlowsContext {
  plan: Plan;
  /** SQL of the range's rows in roll-up shape (with `bucket`), filtered by the query's ends. */
  source: (rolledBatch: number) => string;
  /** SQL of the range's forwarded connections (merge rule 4), when the store has any. */
  forwards?: string;
  /** Runs the built SQL in one snapshot, given the roll-up watermark. */
  readFlows: (build: (rolledBatch: number) => string) => Promise<Row[]>;
  /** The engine's merge dialect and endpoints relation (DuckDB's when absent). */
  dialect?: MergeDialect;
  endpoints?: string;
}

const END_COLUMNS = ['ip', 'pod', 'namespace', 'workload', 'kind', 'node', 'zone', 'service', 'cluster'] as const;

function endpoint(r: Row, p: 'c' | 's'): Endpoint {
  return {
    ...end(r, p),
    ip: String(r[`${p}_ip`]),
    service: str(r[`${p}_service`]),
    cluster: str(r[`${p}_cluster`]) ?? DEFAULT_CLUSTER,
  };
}

/**
 * A flow merge rule 4 makes from a backend's SNAT view (a forwarded client's share) was seen when that view was.
 */
function forwardedSeen(forwards: string | undefined): string {
  return forwards === undefined
    ? ''
    : ` UNION ALL SELECT f.client_ip, f.server_ip, f.server_port, s.first_s, s.last_s FROM (${forwards}) f
      JOIN seen0 s ON s.client_ip = f.snat_ip AND s.server_ip = f.server_ip AND s.server_port = f.server_port`;
}

/** `endpoints`: the relation of named ends (ClickHouse reads its ReplacingMergeTree with FINAL). */
export function observedFlowsSql(
  source: string,
  forwards?: string,
  dialect: MergeDialect = DUCKDB_DIALECT,
  endpoints = 'endpoints'
): string {
  const cols = (p: 'c' | 's') => END_COLUMNS.map((c) => `${p}.${c} AS ${p}_${c}`).join(', ');
  return `WITH src AS (${source}),
    seen0 AS (SELECT client_ip, server_ip, server_port, min(bucket) AS first_s, max(bucket) AS last_s
      FROM src GROUP BY client_ip, server_ip, server_port),
    seen AS (SELECT client_ip, server_ip, server_port, min(first_s) AS first_s, max(last_s) AS last_s
      FROM (SELECT * FROM seen0${forwardedSeen(forwards)}) GROUP BY client_ip, server_ip, server_port),
    m AS (${mergedFlowsSql('SELECT * FROM src', forwards, dialect, FLOWS_ONLY)})
    SELECT m.category AS category, m.server_port AS server_port, m.bytes AS bytes, seen.first_s AS first_s,
      seen.last_s AS last_s, ${cols('c')}, ${cols('s')},
      v.service AS via_service
    FROM m JOIN seen ON seen.client_ip = m.client_ip AND seen.server_ip = m.server_ip
        AND seen.server_port = m.server_port
      JOIN ${endpoints} c ON c.id = m.client_ep JOIN ${endpoints} s ON s.id = m.server_ep
      LEFT JOIN ${endpoints} v ON v.id = m.via_ep
    ORDER BY c.ip, s.ip, m.server_port, c.pod, s.pod`;
}

export async function observedFlows(ctx: ObservedFlowsContext, _q: RangeQuery): Promise<Answered<ObservedFlow[]>> {
  const rows = await ctx.readFlows((rb) => observedFlowsSql(ctx.source(rb), ctx.forwards, ctx.dialect, ctx.endpoints));
  const result = rows.map((r): ObservedFlow => {
    const server = endpoint(r, 's');
    return {
      client: endpoint(r, 'c'),
      server,
      serverPort: num(r.server_port),
      category: categoryFromCode(num(r.category)),
      service: str(r.via_service) ?? server.service,
      bytes: num(r.bytes),
      firstSeenMs: num(r.first_s) * 1000,
      lastSeenMs: num(r.last_s) * 1000,
    };
  });
  return { fromMs: ctx.plan.fromS * 1000, toMs: ctx.plan.toS * 1000, result };
}
