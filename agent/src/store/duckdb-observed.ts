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
import { num, str, type Row } from './duckdb-sql.js';
import type { Answered, Endpoint, ObservedFlow, RangeQuery } from './flow-store.js';
import { DUCKDB_DIALECT, mergedFlowsSql, type MergeDialect } from './merge.js';
import type { Plan } from './plan.js';

export interface ObservedFlowsContext {
  plan: Plan;
  /** SQL of the range's rows in roll-up shape (with `bucket`), filtered by the query's ends. */
  source: (rolledBatch: number) => string;
  /** Runs the built SQL in one snapshot, given the roll-up watermark. */
  readFlows: (build: (rolledBatch: number) => string) => Promise<Row[]>;
  /** The engine's merge dialect and endpoints relation (DuckDB's when absent). */
  dialect?: MergeDialect;
  endpoints?: string;
}

const END_COLUMNS = ['ip', 'pod', 'namespace', 'workload', 'kind', 'node', 'zone', 'service'] as const;

function endpoint(r: Row, p: 'c' | 's'): Endpoint {
  return {
    ip: String(r[`${p}_ip`]),
    pod: str(r[`${p}_pod`]),
    namespace: str(r[`${p}_namespace`]),
    workload: str(r[`${p}_workload`]),
    kind: str(r[`${p}_kind`]),
    node: str(r[`${p}_node`]),
    zone: str(r[`${p}_zone`]),
    service: str(r[`${p}_service`]),
  };
}

/** `endpoints`: the relation of named ends (ClickHouse reads its ReplacingMergeTree with FINAL). */
export function observedFlowsSql(
  source: string,
  dialect: MergeDialect = DUCKDB_DIALECT,
  endpoints = 'endpoints'
): string {
  const cols = (p: 'c' | 's') => END_COLUMNS.map((c) => `${p}.${c} AS ${p}_${c}`).join(', ');
  return `WITH src AS (${source}),
    seen AS (SELECT client_ip, server_ip, server_port, min(bucket) AS first_s, max(bucket) AS last_s
      FROM src GROUP BY client_ip, server_ip, server_port),
    m AS (${mergedFlowsSql('SELECT * FROM src', undefined, dialect)})
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
  const rows = await ctx.readFlows((rb) => observedFlowsSql(ctx.source(rb), ctx.dialect, ctx.endpoints));
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
