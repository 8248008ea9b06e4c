/**
 * The merge rule's two SQL forms (merge.ts: the CTE form DuckDB runs, the one-pass form ClickHouse runs) give the
 * same answer, run side by side on one engine (DuckDB, in memory) over random roll-up-shaped rows that hold
 * Service address groups, flows addressed to a Service address, segments unknown in some rows, failures and
 * drops. The store suites check each form against `mergeFlows` on its own engine; this one checks the
 * ClickHouse form on every run, chdb or not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { DROP_REASONS_TYPE } from './duckdb-schema.js';
import {
  DUCKDB_DIALECT,
  FAILURE_END_COLUMNS,
  FLOWS_ONLY,
  mergedFlowsSql,
  type MergeDialect,
  type MergeOutputs,
} from './merge.js';

const ONE_PASS: MergeDialect = { ...DUCKDB_DIALECT, inlinesCtes: true };
const REASONS = ['NETFILTER_DROP', 'TCP_CSUM', 'NO_SOCKET'];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Random rows: clients 1-4; backends 10-15 reached through Service address 30:80 (via on the row) or directly;
 * flows addressed to 30:80 itself (via_ip 0). With `onePerFlow`, one row per flow.
 */
function randomRows(seed: number, n: number, onePerFlow: boolean): string[] {
  const r = rng(seed);
  const int = (max: number): number => Math.floor(r() * max);
  const seen = new Set<string>();
  const rows: string[] = [];
  while (rows.length < n) {
    const client = 1 + int(4);
    const addressed = r() < 0.25;
    const server = addressed ? 30 : 10 + int(6);
    const port = addressed ? 80 : [80, 443][int(2)]!;
    const key = `${client}/${server}/${port}`;
    if (onePerFlow && seen.has(key)) {
      continue;
    }
    seen.add(key);
    const via = !addressed && port === 80 && r() < 0.7;
    const seg = (): string => (r() < 0.1 ? 'NULL' : String(int(50)));
    const failures = FAILURE_END_COLUMNS.map(() => (r() < 0.2 ? 1 + int(3) : 0));
    const reasons =
      r() < 0.2 ? [REASONS[int(3)]!, REASONS[int(3)]!].map((reason) => [reason, 1 + int(4)] as const) : [];
    const drops = reasons.reduce((s, [, k]) => s + k, 0);
    const list = `[${reasons.map(([reason, k]) => `{'reason': '${reason}', 'n': ${k}}`).join(', ')}]`;
    rows.push(
      `(${client}, ${server}, ${port}, ${[0, 1, 4][int(3)]}, ${100 + client}, ${100 + server}, ${int(1000)}, ${int(1000)},
        ${int(1000)}, ${int(1000)}, ${seg()}, ${seg()}, ${seg()}, ${seg()}, ${int(3)}, ${int(2)}, ${int(500)}, ${int(3)},
        ${r() < 0.3 ? 'NULL' : int(900)}, ${via ? 30 : 0}, ${via ? 80 : 0}, ${via ? 130 : 0}, ${failures.join(', ')},
        ${drops}, ${drops > 0 ? `${list}::${DROP_REASONS_TYPE}` : 'NULL'})`
    );
  }
  return rows;
}

async function answer(c: DuckDBConnection, sql: string): Promise<string> {
  const rows = (await c.runAndReadAll(`SELECT * FROM (${sql}) ORDER BY client_ip, server_ip, server_port`))
    .getRowObjectsJson()
    .map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => {
          if (k === 'drop_reasons') {
            const list = (v ?? []) as Array<{ reason: string; n: unknown }>;
            return [k, list.map((x) => `${x.reason}=${Number(x.n)}`).sort()];
          }
          return [k, v === null ? null : typeof v === 'string' && !/^-?[\d.e+]+$/.test(v) ? v : Number(v)];
        })
      )
    );
  return JSON.stringify(rows);
}

test('the CTE form and the one-pass form of the merge rule give the same flows (DuckDB runs both)', async () => {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const columns = [
    'client_ip INTEGER, server_ip INTEGER, server_port INTEGER, category UTINYINT, client_ep INTEGER, server_ep INTEGER',
    'c_sent BIGINT, c_recv BIGINT, s_sent BIGINT, s_recv BIGINT',
    'c_seg_sent BIGINT, c_seg_recv BIGINT, s_seg_sent BIGINT, s_seg_recv BIGINT',
    'retransmits BIGINT, rtos BIGINT, rtt_sum DOUBLE, rtt_n BIGINT, rtt_max DOUBLE',
    'via_ip INTEGER, via_port INTEGER, via_ep INTEGER',
    ...FAILURE_END_COLUMNS.map((col) => `${col} BIGINT`),
    `drops BIGINT, drop_reasons ${DROP_REASONS_TYPE}`,
  ].join(', ');
  const outputs: MergeOutputs[] = [{}, FLOWS_ONLY, { failures: true, segments: false, transport: false }];
  let flows = 0;
  for (let seed = 1; seed <= 12; seed++) {
    const one = seed % 3 === 0;
    await c.run(`CREATE OR REPLACE TABLE src (${columns})`);
    await c.run(`INSERT INTO src VALUES ${randomRows(seed, one ? 40 : 120, one).join(',\n')}`);
    for (const out of outputs) {
      const shape = { oneRowPerFlow: one };
      const cte = await answer(c, mergedFlowsSql('SELECT * FROM src', undefined, DUCKDB_DIALECT, out, shape));
      const onePass = await answer(c, mergedFlowsSql('SELECT * FROM src', undefined, ONE_PASS, out, shape));
      assert.equal(onePass, cte, `seed ${seed}, outputs ${JSON.stringify(out)}, one row per flow: ${one}`);
      flows += (JSON.parse(cte) as unknown[]).length;
    }
    // The answer has something to compare: flows absorbed into a Service address group's target, and drops.
    const [absorbed] = (
      await c.runAndReadAll(
        `SELECT count(*) AS n FROM src a WHERE a.via_ip = 0 AND EXISTS (SELECT 1 FROM src g WHERE g.via_ip = a.server_ip
          AND g.via_port = a.server_port AND g.client_ip = a.client_ip)`
      )
    ).getRowObjects();
    assert.ok(Number(absorbed!.n) > 0, `seed ${seed}: some flow is absorbed by a Service address group`);
  }
  assert.ok(flows > 500, `compared ${flows} flows`);
  c.closeSync();
  db.closeSync();
});
