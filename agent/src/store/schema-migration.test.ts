import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbStore, SCHEMA_VERSION } from './duckdb-store.js';
import type { Endpoint, FlowRow, StoredReport, TopQuery } from './flow-store.js';
import { FAILURE_COUNTER_NAMES } from '../contracts/report.js';
import { FAILURE_END_COLUMNS, mergeFlows, snake } from './merge.js';

/** The roll-up tables' columns in schema version 1 (before segment counts), in order. */
const V1_ROLLUP_COLUMNS = [
  'bucket',
  'client_ip',
  'server_ip',
  'server_port',
  'category',
  'client_ep',
  'server_ep',
  'c_sent',
  'c_recv',
  's_sent',
  's_recv',
  'retransmits',
  'rtos',
  'rtt_sum',
  'rtt_n',
  'rtt_max',
];
const SEGMENT_COLUMNS = ['c_seg_sent', 'c_seg_recv', 's_seg_sent', 's_seg_recv'];
const VIA_COLUMNS = ['via_ip', 'via_port', 'via_ep'];
/** Schema 4: each end's failure counters, drops and drop_reasons (roll-ups); raw rows have one set. */
const FAILURE_ROLLUP_COLUMNS = [...FAILURE_END_COLUMNS, 'drops', 'drop_reasons'];
const FAILURE_RAW_COLUMNS = [...FAILURE_COUNTER_NAMES.map(snake), 'drops', 'drop_reasons'];
const M = 60_000;
const H = 60 * M;

const ep = (ip: string, workload: string): Endpoint => ({
  ip,
  pod: `${workload}-pod`,
  namespace: 'app',
  workload,
  kind: 'Deployment',
  node: 'node-a',
  zone: 'a',
  service: null,
});
const client = ep('10.0.0.1', 'web');
const server = ep('10.0.1.1', 'db');

/** Both ends of one flow in one 30 s window. */
function windowReports(startMs: number, n: number): StoredReport[] {
  return (['client', 'server'] as const).map((side) => {
    const row: FlowRow = {
      clientIp: client.ip,
      serverIp: server.ip,
      serverPort: 5432,
      side,
      category: 'INTRA_AZ',
      client,
      server,
      bytesSent: side === 'client' ? 1000 * n : 9000 * n,
      bytesReceived: side === 'client' ? 9000 * n : 1000 * n,
      segmentsSent: side === 'client' ? 3 * n + 1 : 10 * n,
      segmentsReceived: side === 'client' ? 10 * n - 1 : 3 * n,
      retransmits: side === 'client' ? 1 : 0,
      rtos: 0,
      connectionsOpened: 1,
      connectionsClosed: 1,
      rttAvgUs: 200,
      rttMaxUs: 300,
    };
    return {
      reportId: randomUUID(),
      node: side,
      startMs,
      endMs: startMs + 30_000,
      rows: [row],
      other: { flows: 0, bytesSent: 0, bytesReceived: 0, retransmits: 0, rtos: 0 },
    };
  });
}

async function sql(dir: string, statements: string[]): Promise<Array<Record<string, unknown>>> {
  const db = await DuckDBInstance.create(join(dir, 'flows.duckdb'));
  const c = await db.connect();
  let last: Array<Record<string, unknown>> = [];
  try {
    for (const s of statements) {
      last = (await c.runAndReadAll(s)).getRowObjects();
    }
  } finally {
    c.closeSync();
    db.closeSync();
  }
  return last;
}

const columnsOf = async (dir: string, table: string): Promise<string[]> =>
  (
    await sql(dir, [
      `SELECT column_name FROM information_schema.columns WHERE table_name = '${table}' ORDER BY ordinal_position`,
    ])
  ).map((r) => String(r.column_name));

const dropFailureColumns = [
  ...FAILURE_RAW_COLUMNS.map((c) => `ALTER TABLE flows_raw DROP COLUMN ${c}`),
  ...['flows_300', 'flows_900', 'flows_3600'].flatMap((t) =>
    FAILURE_ROLLUP_COLUMNS.map((c) => `ALTER TABLE ${t} DROP COLUMN ${c}`)
  ),
];

test('a store written by schema version 1 opens, keeps its data, and gains segment counts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flowlens-migrate-'));
  try {
    const t0 = Math.floor(Date.now() / H) * H - 4 * H;
    const old = [...windowReports(t0, 1), ...windowReports(t0 + 30_000, 2)]; // rolled up and compacted in v1
    const pending = windowReports(t0 + 20 * M, 3); // stored raw in v1, not rolled up yet
    const v1 = new DuckDbStore({ dataDir: dir, threads: 1 });
    await v1.open();
    await v1.append(old);
    await v1.maintain(t0 + 15 * M);
    await v1.append(pending);
    await v1.close();
    // What a version-1 hub left on disk: the roll-ups without segment columns, no via columns (schema 3), flows
    // keyed by bare IP (schema 3 keys them by identity), no failure columns (schema 4), no schema_version key.
    await sql(dir, [
      ...dropFailureColumns,
      ...['flows_300', 'flows_900', 'flows_3600'].flatMap((t) =>
        SEGMENT_COLUMNS.map((c) => `ALTER TABLE ${t} DROP COLUMN ${c}`)
      ),
      ...['flows_raw', 'flows_300', 'flows_900', 'flows_3600'].flatMap((t) =>
        VIA_COLUMNS.map((c) => `ALTER TABLE ${t} DROP COLUMN ${c}`)
      ),
      ...['flows_raw', 'flows_300', 'flows_900', 'flows_3600'].flatMap((t) => [
        `UPDATE ${t} SET client_ip = (SELECT i.id FROM endpoints e JOIN ips i ON i.ip = e.ip WHERE e.id = client_ep)`,
        `UPDATE ${t} SET server_ip = (SELECT i.id FROM endpoints e JOIN ips i ON i.ip = e.ip WHERE e.id = server_ep)`,
      ]),
      `DELETE FROM meta WHERE key = 'schema_version'`,
      'CHECKPOINT',
    ]);
    for (const t of ['flows_300', 'flows_900', 'flows_3600']) {
      assert.deepEqual(await columnsOf(dir, t), V1_ROLLUP_COLUMNS, `${t} has the version-1 layout`);
    }

    const store = new DuckDbStore({ dataDir: dir, threads: 1 });
    await store.open();
    const later = windowReports(t0 + 2 * H, 4); // written after the upgrade
    await store.append(later);
    await store.maintain(t0 + 3 * H);
    const q = (fromMs: number, toMs: number): TopQuery => ({
      fromMs,
      toMs,
      metric: 'bytes',
      limit: 10,
      groupBy: 'flow',
    });
    const merged = (reports: StoredReport[]) => [...mergeFlows(reports.flatMap((r) => r.rows)).values()][0]!;

    const [before] = (await store.topContributors(q(t0, t0 + 5 * M))).result;
    assert.equal(before?.bytes, merged(old).bytes, 'version-1 roll-ups keep their bytes');
    assert.equal(before?.segments, null, 'no segment count where version 1 kept none');

    const [pendingRow] = (await store.topContributors(q(t0 + 20 * M, t0 + 25 * M))).result;
    assert.equal(pendingRow?.segments, merged(pending).segments, 'raw rows from version 1 roll up with segments');
    // Client sent 10, server received 9; server sent 30, client received 29: max + max.
    assert.equal(pendingRow?.segments, 40);

    const [after] = (await store.topContributors(q(t0 + 2 * H, t0 + 2 * H + 5 * M))).result;
    assert.equal(after?.segments, merged(later).segments);
    const map = (await store.serviceMap({ fromMs: t0 + 2 * H, toMs: t0 + 3 * H, groupBy: 'workload', limit: 10 }))
      .result;
    assert.deepEqual(
      map.edges.map((e) => [e.id, e.segments]),
      [['app/web->app/db', merged(later).segments]]
    );
    const whole = (await store.serviceMap({ fromMs: t0, toMs: t0 + 3 * H, groupBy: 'workload', limit: 10 })).result;
    assert.equal(whole.edges[0]?.segments, null, 'a range reaching into version-1 roll-ups has no exact count');
    assert.equal(whole.edges[0]?.bytes, merged([...old, ...pending, ...later]).bytes);
    const rows = (await store.topContributors(q(t0, t0 + 3 * H))).result;
    assert.equal(rows.length, 1, 'rows keyed by bare IP before the upgrade merge with rows keyed by identity');
    assert.equal(rows[0]?.bytes, merged([...old, ...pending, ...later]).bytes);
    await store.close();

    for (const t of ['flows_300', 'flows_900', 'flows_3600']) {
      assert.deepEqual(
        await columnsOf(dir, t),
        [...V1_ROLLUP_COLUMNS, ...SEGMENT_COLUMNS, ...VIA_COLUMNS, ...FAILURE_ROLLUP_COLUMNS],
        `${t} migrated`
      );
    }
    const [version] = await sql(dir, [`SELECT value FROM meta WHERE key = 'schema_version'`]);
    assert.equal(Number(version?.value), SCHEMA_VERSION);

    // Opening the migrated store again changes nothing.
    const again = new DuckDbStore({ dataDir: dir, threads: 1 });
    await again.open();
    const [same] = (await again.topContributors(q(t0 + 2 * H, t0 + 2 * H + 5 * M))).result;
    assert.equal(same?.segments, merged(later).segments);
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a store written by a newer schema version is refused with a clear error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flowlens-migrate-'));
  try {
    const s = new DuckDbStore({ dataDir: dir, threads: 1 });
    await s.open();
    await s.close();
    await sql(dir, [`INSERT OR REPLACE INTO meta VALUES ('schema_version', ${SCHEMA_VERSION + 1})`, 'CHECKPOINT']);
    const newer = new DuckDbStore({ dataDir: dir, threads: 1 });
    await assert.rejects(
      newer.open(),
      new RegExp(
        `written by a newer hub \\(store schema ${SCHEMA_VERSION + 1}; this hub reads up to ${SCHEMA_VERSION}\\)`
      )
    );
    // The refused open released the file: the current schema still opens it.
    await sql(dir, [`INSERT OR REPLACE INTO meta VALUES ('schema_version', ${SCHEMA_VERSION})`]);
    await newer.open();
    await newer.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a store written by schema version 3 opens, keeps its data, and stores failures from then on', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flowlens-migrate-'));
  try {
    const t0 = Math.floor(Date.now() / H) * H - 4 * H;
    const old = [...windowReports(t0, 1), ...windowReports(t0 + 30_000, 2)]; // rolled up and compacted in v3
    const pending = windowReports(t0 + 20 * M, 3); // raw in v3, not rolled up yet
    const v3 = new DuckDbStore({ dataDir: dir, threads: 1 });
    await v3.open();
    await v3.append(old);
    await v3.maintain(t0 + 15 * M);
    await v3.append(pending);
    await v3.close();
    // What a version-3 hub left on disk: no failure columns anywhere.
    await sql(dir, [...dropFailureColumns, `UPDATE meta SET value = 3 WHERE key = 'schema_version'`, 'CHECKPOINT']);
    assert.deepEqual(await columnsOf(dir, 'flows_300'), [...V1_ROLLUP_COLUMNS, ...SEGMENT_COLUMNS, ...VIA_COLUMNS]);

    const store = new DuckDbStore({ dataDir: dir, threads: 1 });
    await store.open();
    // After the upgrade: a 1.2 agent's counters, both ends.
    const later = windowReports(t0 + 2 * H, 4);
    Object.assign(later[0]!.rows[0]!, {
      connectAttempts: 5,
      connectFailures: 2,
      connectRefused: 2,
      resetsSent: 1,
      drops: { NETFILTER_DROP: 7 },
    });
    Object.assign(later[1]!.rows[0]!, { resetsReceived: 1, drops: { NO_SOCKET: 2 } });
    await store.append(later);
    const q = (fromMs: number, toMs: number): TopQuery => ({
      fromMs,
      toMs,
      metric: 'failures',
      limit: 10,
      groupBy: 'flow',
    });
    const merged = (reports: StoredReport[]) => [...mergeFlows(reports.flatMap((r) => r.rows)).values()][0]!;
    for (const label of ['raw', 'rolled up']) {
      const [before] = (await store.topContributors(q(t0, t0 + 5 * M))).result;
      assert.equal(before?.bytes, merged(old).bytes, `${label}: version-3 roll-ups keep their bytes`);
      assert.equal(before?.segments, merged(old).segments);
      assert.deepEqual([before?.drops, before?.resets, before?.connectAttempts], [0, 0, 0], 'old rows: no failures');
      const [p] = (await store.topContributors(q(t0 + 20 * M, t0 + 25 * M))).result;
      assert.equal(p?.bytes, merged(pending).bytes, `${label}: version-3 raw rows roll up`);
      const [after] = (await store.topContributors(q(t0 + 2 * H, t0 + 2 * H + 5 * M))).result;
      assert.deepEqual(after?.dropsByReason, { NETFILTER_DROP: 7, NO_SOCKET: 2 }, `${label}: drops by reason`);
      assert.equal(after?.drops, 9);
      assert.equal(after?.resets, 1, `${label}: one reset, seen by both ends`);
      assert.deepEqual([after?.connectAttempts, after?.connectFailures, after?.connectRefused], [5, 2, 2]);
      assert.equal(after?.value, 2 + 1 + 9);
      const [whole] = (await store.topContributors(q(t0, t0 + 3 * H))).result;
      assert.equal(whole?.bytes, merged([...old, ...pending, ...later]).bytes);
      assert.equal(whole?.drops, 9);
      await store.maintain(t0 + 3 * H);
    }
    await store.close();
    for (const t of ['flows_300', 'flows_900', 'flows_3600']) {
      assert.deepEqual(
        await columnsOf(dir, t),
        [...V1_ROLLUP_COLUMNS, ...SEGMENT_COLUMNS, ...VIA_COLUMNS, ...FAILURE_ROLLUP_COLUMNS],
        `${t} migrated`
      );
    }
    const [version] = await sql(dir, [`SELECT value FROM meta WHERE key = 'schema_version'`]);
    assert.equal(Number(version?.value), SCHEMA_VERSION);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a store written by schema version 4 opens: its flows are the cluster `default`, and merge with its new rows', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flowlens-migrate-'));
  try {
    const t0 = Math.floor(Date.now() / H) * H - 4 * H;
    const old = [...windowReports(t0, 1), ...windowReports(t0 + 30_000, 2)];
    const v4 = new DuckDbStore({ dataDir: dir, threads: 1 });
    await v4.open();
    await v4.append(old);
    await v4.maintain(t0 + 15 * M);
    await v4.close();
    // What a version-4 hub left on disk: named ends without a cluster.
    await sql(dir, [
      'ALTER TABLE endpoints DROP COLUMN cluster',
      `UPDATE meta SET value = 4 WHERE key = 'schema_version'`,
      'CHECKPOINT',
    ]);
    assert.ok(!(await columnsOf(dir, 'endpoints')).includes('cluster'));

    const store = new DuckDbStore({ dataDir: dir, threads: 1 });
    await store.open();
    // After the upgrade: the same flow from agents without a cluster (the hub names them `default`), and the same
    // addresses and names in another cluster.
    const later = windowReports(t0 + 2 * H, 4);
    const elsewhere = windowReports(t0 + 2 * H, 5).map((r) => ({
      ...r,
      rows: r.rows.map((f) => ({
        ...f,
        client: { ...f.client, cluster: 'west' },
        server: { ...f.server, cluster: 'west' },
      })),
    }));
    await store.append([...later, ...elsewhere]);
    const range = { fromMs: t0, toMs: t0 + 3 * H };
    const top = (cluster?: string) =>
      store
        .topContributors({ ...range, ...(cluster ? { cluster } : {}), metric: 'bytes', limit: 10, groupBy: 'flow' })
        .then((a) => a.result.map((r) => [r.cluster, r.bytes]));
    const merged = (reports: StoredReport[]) => [...mergeFlows(reports.flatMap((r) => r.rows)).values()][0]!;
    assert.deepEqual(
      await top('default'),
      [['default', merged([...old, ...later]).bytes]],
      'rows stored before the upgrade are `default` and merge with its rows after'
    );
    assert.deepEqual(await top('west'), [['west', merged(elsewhere).bytes]]);
    assert.equal((await top()).length, 2);
    assert.deepEqual(
      (await store.clusters(range)).result.map((c) => c.name),
      ['default', 'west']
    );
    await store.close();
    const [version] = await sql(dir, [`SELECT value FROM meta WHERE key = 'schema_version'`]);
    assert.equal(Number(version?.value), SCHEMA_VERSION);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
