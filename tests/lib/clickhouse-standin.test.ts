/**
 * The ClickHouse stand-in speaks the HTTP interface as @clickhouse/client expects it: auth, errors in
 * ClickHouse's format, per-statement settings that do not leak into the next statement, query parameters,
 * JSON formats, inserts with data and insert deduplication by token, all run by the real engine (chdb).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient, ClickHouseLogLevel, type ClickHouseClient } from '@clickhouse/client';
import { startClickHouseStandin, type ClickHouseStandin } from './clickhouse-standin';

let ch: ClickHouseStandin;
let dir: string;
let client: ClickHouseClient;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowlens-standin-'));
  ch = await startClickHouseStandin({ dir });
  client = createClient({
    url: ch.url,
    username: ch.user,
    password: ch.password,
    log: { level: ClickHouseLogLevel.OFF },
  });
});
after(async () => {
  await client?.close();
  await ch?.stop();
  await rm(dir, { recursive: true, force: true });
});

const setting = async (name: string, settings: Record<string, number> = {}): Promise<string> => {
  const rs = await client.query({
    query: 'SELECT value FROM system.settings WHERE name = {name:String}',
    query_params: { name },
    format: 'JSONEachRow',
    clickhouse_settings: settings,
  });
  return ((await rs.json()) as Array<{ value: string }>)[0]!.value;
};

test('ping, version and a JSON query through the official client', async () => {
  assert.equal((await client.ping()).success, true);
  const rs = await client.query({ query: 'SELECT version() AS v, 1 + 1 AS two', format: 'JSON' });
  const doc = (await rs.json()) as { data: Array<{ v: string; two: number }> };
  assert.match(doc.data[0]!.v, /^\d+\.\d+/);
  assert.equal(doc.data[0]!.two, 2);
});

test("a query's summary header carries the engine's own time, as a server's does", async () => {
  const rs = await client.query({ query: 'SELECT sum(number) AS s FROM numbers(2000000)', format: 'JSONEachRow' });
  assert.deepEqual(await rs.json(), [{ s: '1999999000000' }]);
  const summary = JSON.parse(String(rs.response_headers['x-clickhouse-summary'])) as Record<string, string>;
  const ns = Number(summary.elapsed_ns);
  assert.ok(Number.isInteger(ns) && ns > 0, `elapsed_ns ${summary.elapsed_ns}`);
  // Two million rows summed: more than a microsecond, less than the client's two minutes.
  assert.ok(ns > 1_000 && ns < 120e9, `elapsed_ns ${ns}`);
});

test('wrong credentials are a 401 with AUTHENTICATION_FAILED', async () => {
  const bad = createClient({
    url: ch.url,
    username: ch.user,
    password: 'wrong',
    log: { level: ClickHouseLogLevel.OFF },
  });
  try {
    await assert.rejects(bad.query({ query: 'SELECT 1' }), (e: Error & { code?: string; type?: string }) => {
      assert.equal(e.code, '516');
      assert.equal(e.type, 'AUTHENTICATION_FAILED');
      return true;
    });
  } finally {
    await bad.close();
  }
});

test('engine errors come back as ClickHouse errors (code and type)', async () => {
  await assert.rejects(client.query({ query: 'SELEC 1' }), (e: Error & { code?: string; type?: string }) => {
    assert.equal(e.code, '62');
    assert.equal(e.type, 'SYNTAX_ERROR');
    return true;
  });
  await assert.rejects(client.query({ query: 'SELECT * FROM no_such_table' }), (e: Error & { type?: string }) => {
    assert.equal(e.type, 'UNKNOWN_TABLE');
    return true;
  });
});

test('settings apply to their statement only', async () => {
  assert.equal(await setting('join_use_nulls', { join_use_nulls: 1 }), '1');
  assert.equal(await setting('join_use_nulls'), '0');
});

test('inserts with data, the database parameter, and deduplication by token', async () => {
  await client.command({ query: 'CREATE DATABASE IF NOT EXISTS s' });
  const db = createClient({
    url: ch.url,
    username: ch.user,
    password: ch.password,
    database: 's',
    log: { level: ClickHouseLogLevel.OFF },
  });
  try {
    await db.command({
      query: `CREATE TABLE t (k UInt32, s String) ENGINE = MergeTree ORDER BY k
        SETTINGS non_replicated_deduplication_window = 100`,
    });
    for (const token of ['x', 'x', 'y']) {
      await db.insert({
        table: 't',
        values: [
          { k: 1, s: "it's \\ here" },
          { k: 2, s: 'b' },
        ],
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: token },
      });
    }
    const rs = await db.query({ query: 'SELECT count() AS n, max(s) AS s FROM t', format: 'JSONEachRow' });
    assert.deepEqual(await rs.json(), [{ n: '4', s: "it's \\ here" }]);
    assert.ok(ch.statements() > 0);
  } finally {
    await db.close();
  }
});
