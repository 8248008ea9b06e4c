/**
 * The ClickHouse store's DDL (agent/src/store/clickhouse-schema.ts) read by the real engine, chdb (ClickHouse 26.x as
 * a library), beyond the text comparisons of clickhouse-schema.test.ts: every statement of every migration, with and
 * without a ClickHouse cluster, is parsed by the engine, and the engine's own rendering keeps the clauses that make
 * the cluster mode (ON CLUSTER, the Replicated engines with their Keeper path and macros, the Distributed tables).
 * Plain-mode statements also run in the store tests (clickhouse-store.test.ts). What is not checked, and why
 * (clickhouse-local cannot run distributed DDL or an active replica): docs/hub.md "Cluster-mode DDL".
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  MIGRATIONS,
  migrationsTable,
  ROLLUP_STEPS,
  type SchemaOptions,
} from '../../agent/src/store/clickhouse-schema.js';
import { chdbSession, type ChdbSession } from './chdb.js';

const CLUSTER = 'main';
const base: SchemaOptions = {
  database: 'flows',
  cluster: null,
  rawRetentionS: 6 * 3600,
  fineRetentionS: 7 * 86400,
  hourRetentionS: 90 * 86400,
  dedupWindow: 1000,
};
const clustered: SchemaOptions = { ...base, cluster: CLUSTER };
const ddl = (o: SchemaOptions): string[] => [...migrationsTable(o), ...MIGRATIONS.flatMap((m) => m.statements(o))];
const LOGICAL_TABLES = [
  'flowlens_migrations',
  'flows_raw',
  'endpoints',
  'reports',
  ...ROLLUP_STEPS.map((s) => `flows_${s}`),
  'forwards',
];

let dir: string;
let ch: ChdbSession;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowlens-chdb-ddl-'));
  ch = chdbSession(dir);
});
after(async () => {
  await ch?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The engine's one-line rendering of `sql` (its AST formatted back); a syntax error rejects. */
async function formatted(sql: string): Promise<string> {
  const r = await ch.queryBindAsync('SELECT formatQuerySingleLine({q:String})', { q: sql }, { format: 'TSVRaw' });
  return r.text().trimEnd();
}

for (const o of [base, clustered]) {
  test(`the engine parses every statement of every migration (${o.cluster ? 'with a cluster' : 'no cluster'})`, async () => {
    const stmts = ddl(o);
    const out: string[] = [];
    for (const sql of stmts) {
      const f = await formatted(sql);
      assert.equal(await formatted(f), f, `the engine reads its own rendering back the same: ${f}`);
      out.push(f);
    }
    if (!o.cluster) {
      assert.ok(out.every((f) => !/ON CLUSTER|Replicated|Distributed/.test(f)));
      return;
    }
    assert.ok(
      out.every((f) => new RegExp(` ON CLUSTER ${CLUSTER}\\b`).test(f)),
      'every statement runs ON CLUSTER'
    );
    const all = out.join('\n');
    for (const name of LOGICAL_TABLES) {
      const local = `${base.database}.${name}_local`;
      assert.match(
        all,
        new RegExp(
          `CREATE TABLE IF NOT EXISTS ${local} ON CLUSTER ${CLUSTER} .* ENGINE = Replicated\\w*MergeTree\\('/clickhouse/tables/\\{shard\\}/${base.database}/${name}_local', '\\{replica\\}'`
        ),
        name
      );
      assert.match(
        all,
        new RegExp(
          `CREATE TABLE IF NOT EXISTS ${base.database}\\.${name} ON CLUSTER ${CLUSTER} AS ${local} ENGINE = Distributed\\(${CLUSTER}, ${base.database}, ${name}_local, \\S`
        ),
        name
      );
    }
    for (const step of ROLLUP_STEPS) {
      assert.match(
        all,
        new RegExp(
          `MATERIALIZED VIEW IF NOT EXISTS ${base.database}\\.flows_${step}_mv ON CLUSTER ${CLUSTER} TO ${base.database}\\.flows_${step}_local AS SELECT .* FROM ${base.database}\\.flows_raw_local\\)`
        )
      );
    }
  });
}
