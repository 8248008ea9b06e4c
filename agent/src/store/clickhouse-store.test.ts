/**
 * The ClickHouse store's own behaviour (the conformance suite is duckdb-store.test.ts and service-merge.test.ts,
 * run on both stores): versioned migrations shared by hubs, a newer schema refused, and deduplication by report
 * id in the engine — through the roll-up views — without any hub memory.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient } from '@clickhouse/client';
import { Readable } from 'node:stream';
import { endpointRows, Ids, rawTsv } from './clickhouse-append.js';
import { MIGRATIONS, migrationsTable, RAW_NAMES } from './clickhouse-schema.js';
import { ClickHouseStore, QUERY_SETTINGS, SCHEMA_VERSION } from './clickhouse-store.js';
import { databaseClient, stopTestStandin, withTestStore } from './clickhouse-test-stores.js';
import type { ClickHouseConfig } from './clickhouse-config.js';
import type { Endpoint, StoredReport } from './flow-store.js';

after(stopTestStandin);

const ep = (ip: string, workload: string): Endpoint => ({
  ip,
  pod: `${workload}-1`,
  namespace: 'app',
  workload,
  kind: 'Deployment',
  node: 'n1',
  zone: 'a',
  service: null,
});

function report(reportId: string, startMs: number, bytes: number): StoredReport {
  const client = ep('10.0.0.1', 'web');
  const server = ep('10.0.0.2', 'db');
  return {
    reportId,
    node: 'n1',
    startMs,
    endMs: startMs + 30_000,
    rows: [
      {
        clientIp: client.ip,
        serverIp: server.ip,
        serverPort: 5432,
        side: 'client',
        category: 'INTRA_AZ',
        client,
        server,
        bytesSent: bytes,
        bytesReceived: 1,
        segmentsSent: 1,
        segmentsReceived: 1,
        retransmits: 0,
        rtos: 0,
        connectionsOpened: 1,
        connectionsClosed: 0,
        rttAvgUs: null,
        rttMaxUs: null,
      },
    ],
    other: { flows: 0, bytesSent: 0, bytesReceived: 0, retransmits: 0, rtos: 0 },
  };
}

test('two stores (two hubs) on one database: migrations once, a re-sent report stored once, in every tier', async () => {
  await withTestStore('clickhouse', async ({ store, another }) => {
    const second = await another();
    const t0 = Math.floor(Date.now() / 3600_000) * 3600_000 - 3600_000;
    await store.append([report('r-1', t0, 1000)]);
    // The second hub has never seen r-1: it asks the store, and the engine refuses the rows even when asked to append.
    assert.equal(await second.hasReport('r-1'), true);
    await second.append([report('r-1', t0, 1000)]);
    await Promise.all([
      store.append([report('r-2', t0 + 60_000, 10)]),
      second.append([report('r-2', t0 + 60_000, 10)]),
    ]);
    const ranges = [
      { fromMs: t0, toMs: t0 + 3600_000 }, // the hour tier
      { fromMs: t0, toMs: t0 + 300_000 }, // 5-minute buckets
    ];
    for (const r of ranges) {
      const top = await second.topContributors({ ...r, metric: 'bytes', limit: 10, groupBy: 'flow' });
      assert.deepEqual(
        top.result.map((x) => x.bytes),
        [1000 + 10 + 2],
        `${r.toMs - r.fromMs} ms range: each report once`
      );
    }
    const fine = await store.timeseries({
      fromMs: t0,
      toMs: t0 + 300_000,
      metric: 'bytes',
      stepMs: 30_000,
      groupBy: 'total',
      limit: 1,
    });
    assert.equal(
      fine.result[0]!.points.reduce((s, [, v]) => s + v, 0),
      1012,
      'raw rows: each report once'
    );
    const stats = await second.stats();
    assert.equal(stats.rawRows, 2);
    assert.equal(stats.reports, 2);
  });
});

test('a database written by a newer schema is refused, naming both versions', async () => {
  await withTestStore('clickhouse', async ({ clickhouse }) => {
    const config = clickhouse!;
    const c = databaseClient(config);
    try {
      const rs = await c.query({
        query: 'SELECT version FROM flowlens_migrations FINAL ORDER BY version',
        format: 'JSONEachRow',
      });
      assert.deepEqual(
        await rs.json(),
        Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 }))
      );
      await c.insert({
        table: 'flowlens_migrations',
        values: [{ version: SCHEMA_VERSION + 1, description: 'from the future' }],
        format: 'JSONEachRow',
      });
    } finally {
      await c.close();
    }
    const newer = new ClickHouseStore({ config });
    await assert.rejects(
      newer.open(),
      new RegExp(`newer hub \\(store schema ${SCHEMA_VERSION + 1}; this hub reads up to ${SCHEMA_VERSION}\\)`)
    );
  });
});

test('a version-1 database migrates to the latest: old rows kept (cluster `default`), failure counters stored and rolled up from then on', async () => {
  await withTestStore('clickhouse', async ({ clickhouse }) => {
    const config = { ...clickhouse!, database: `${clickhouse!.database}_v1` };
    const o = {
      database: config.database,
      cluster: null,
      rawRetentionS: 6 * 3600,
      fineRetentionS: 7 * 86400,
      hourRetentionS: 90 * 86400,
      dedupWindow: 1000,
    };
    const c = createClient({ url: config.url, username: config.username, password: config.password });
    const t0 = Math.floor(Date.now() / 3600_000) * 3600_000 - 3600_000;
    try {
      // A database as a version-1 hub left it, with one report in the version-1 raw layout.
      for (const sql of [...migrationsTable(o), ...MIGRATIONS[0]!.statements(o)]) {
        await c.command({ query: sql });
      }
      const v1Names = RAW_NAMES.slice(0, 21);
      await c.insert({
        table: `${o.database}.flowlens_migrations`,
        values: [{ version: 1, description: 'v1' }],
        format: 'JSONEachRow',
      });
      const fresh = new Map<string, Endpoint>();
      const old = report('old', t0, 1000);
      await c.insert({
        table: `${o.database}.flows_raw`,
        columns: v1Names as [string, ...string[]],
        // The first 21 fields of each line (version 1's columns).
        values: Readable.from(
          [
            rawTsv(old, new Ids(), fresh)
              .split('\n')
              .map((line) => line.split('\t').slice(0, 21).join('\t'))
              .join('\n'),
          ],
          { objectMode: false }
        ),
        format: 'TabSeparated',
        clickhouse_settings: QUERY_SETTINGS,
      });
      // Version 1's endpoints: no cluster column (version 4 adds it).
      const v1Endpoints = endpointRows(fresh).map((r) => r.slice(0, 9));
      await c.insert({ table: `${o.database}.endpoints`, values: v1Endpoints, format: 'JSONCompactEachRow' });
    } finally {
      await c.close();
    }

    const store = new ClickHouseStore({ config });
    await store.open();
    try {
      const failing = report('new', t0 + 60_000, 10);
      failing.rows[0] = { ...failing.rows[0]!, connectAttempts: 3, connectFailures: 2, drops: { NETFILTER_DROP: 5 } };
      await store.append([failing]);
      for (const r of [
        { fromMs: t0, toMs: t0 + 3600_000 }, // the hour tier (its view's query was replaced)
        { fromMs: t0, toMs: t0 + 300_000 }, // 5-minute buckets
      ]) {
        const [row] = (await store.topContributors({ ...r, metric: 'failures', limit: 10, groupBy: 'flow' })).result;
        assert.equal(row?.bytes, 1000 + 10 + 2, 'the version-1 row is kept');
        assert.equal(row.cluster, 'default', 'version 4: ends stored before clusters were kept are `default`');
        assert.deepEqual(
          [row.connectAttempts, row.connectFailures, row.drops, row.dropsByReason, row.failures],
          [3, 2, 5, { NETFILTER_DROP: 5 }, 2 + 5],
          `${r.toMs - r.fromMs} ms range: failures of the report stored after the migration`
        );
      }
      const raw = await store.timeseries({
        fromMs: t0,
        toMs: t0 + 300_000,
        metric: 'failures',
        stepMs: 30_000,
        groupBy: 'total',
        limit: 1,
      });
      assert.equal(
        raw.result[0]!.points.reduce((s, [, v]) => s + v, 0),
        7,
        'raw rows: failures'
      );
      assert.deepEqual(
        (await store.clusters({ fromMs: t0, toMs: t0 + 3600_000 })).result.map((x) => x.name),
        ['default']
      );
    } finally {
      await store.close();
    }
  });
});

test('raw rows sent as TabSeparated read back exactly: fractions, 1e21, RTTs, via, failure counters, drops by reason', async () => {
  await withTestStore('clickhouse', async ({ store, clickhouse }) => {
    const t0 = Math.floor(Date.now() / 3600_000) * 3600_000 - 3600_000;
    const r = report('tsv', t0, 0.1);
    const base = r.rows[0]!;
    const via = { ip: '10.96.0.10', port: 80, endpoint: { ...ep('10.96.0.10', 'svc'), service: "it's\\a\tsvc" } };
    r.rows = [
      base,
      {
        ...base,
        side: 'server',
        bytesSent: 1e21,
        bytesReceived: 123456789.125,
        rttAvgUs: 250.5,
        rttMaxUs: 900,
        via,
        connectAttempts: 3,
        resetsReceived: 2,
        // The contract allows [A-Z0-9_] only; the store escapes whatever it is given.
        drops: { NETFILTER_DROP: 5, NO_SOCKET: 0, TCP_CSUM: 1.5, "IT'S\\A\tR\n": 2 },
      },
    ];
    await store.append([r]);
    const c = databaseClient(clickhouse!);
    try {
      const rs = await c.query({
        query: `SELECT side, bytes_sent, bytes_received, rtt_avg, rtt_max, via_port, via_ip != 0 AS has_via,
          connect_attempts, resets_received, drops, drop_reasons,
          (SELECT service FROM endpoints FINAL WHERE id = via_ep) AS via_service
          FROM flows_raw ORDER BY side`,
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0, output_format_json_quote_64bit_floats: 0 },
      });
      assert.deepEqual(await rs.json(), [
        {
          side: 0,
          bytes_sent: 0.1,
          bytes_received: 1,
          rtt_avg: null,
          rtt_max: null,
          via_port: 0,
          has_via: 0,
          connect_attempts: 0,
          resets_received: 0,
          drops: 0,
          drop_reasons: {},
          via_service: null,
        },
        {
          side: 1,
          bytes_sent: 1e21,
          bytes_received: 123456789.125,
          rtt_avg: 250.5,
          rtt_max: 900,
          via_port: 80,
          has_via: 1,
          connect_attempts: 3,
          resets_received: 2,
          drops: 8.5,
          drop_reasons: { NETFILTER_DROP: 5, TCP_CSUM: 1.5, "IT'S\\A\tR\n": 2 },
          via_service: "it's\\a\tsvc",
        },
      ]);
    } finally {
      await c.close();
    }
  });
});

/** Node n's report for window w: client and server ends, a via, failure counters, drops, a null RTT, a forward. */
function bulkReport(n: number, w: number, t0: number): StoredReport {
  const base = report(`bulk-${n}-${w}`, t0 + w * 30_000 + n * 1000, 1000 + n * 10 + w);
  const first = base.rows[0]!;
  const local = ep(`10.0.${n}.1`, `web${n}`);
  const peer = ep(`10.0.${(n + 1) % 3}.2`, `db${(n + 1) % 3}`);
  const via = { ip: '10.96.0.10', port: 80, endpoint: { ...ep('10.96.0.10', 'svc'), service: 'svc' } };
  base.node = `n${n}`;
  base.rows = [
    { ...first, clientIp: local.ip, serverIp: peer.ip, client: local, server: peer, rttAvgUs: 100 + w, rttMaxUs: 400 },
    {
      ...first,
      clientIp: peer.ip,
      serverIp: local.ip,
      client: peer,
      server: local,
      side: 'server',
      category: 'INTER_AZ',
      bytesSent: 5000.5 + w,
      bytesReceived: 77,
      segmentsSent: 4,
      segmentsReceived: 3,
      retransmits: n,
      rtos: w,
      connectionsOpened: 2,
      connectionsClosed: 1,
      rttAvgUs: null,
      rttMaxUs: null,
      via,
      connectAttempts: 3,
      connectFailures: 1,
      resetsSent: w,
      resetsReceived: n,
      drops: { NETFILTER_DROP: 5 + n, TCP_CSUM: w },
    },
  ];
  base.other = { flows: n, bytesSent: 10 * w, bytesReceived: 3, retransmits: 1, rtos: 0 };
  base.forwards = [
    {
      client: local,
      server: peer,
      serverPort: 8080,
      snat: ep(`10.1.${n}.9`, 'node'),
      via,
      category: 'INTRA_AZ',
      connections: 2 + w,
    },
  ];
  return base;
}

/** Every table of a store's database (the migrations' bookkeeping aside) as sorted rows: FINAL where rows collapse. */
async function tableContents(config: ClickHouseConfig): Promise<Record<string, string[]>> {
  const c = databaseClient(config);
  try {
    const tables = await (
      await c.query({
        query: `SELECT name, engine FROM system.tables WHERE database = currentDatabase()
          AND engine LIKE '%MergeTree' AND name != 'flowlens_migrations' ORDER BY name`,
        format: 'JSONEachRow',
      })
    ).json<{ name: string; engine: string }>();
    const out: Record<string, string[]> = {};
    for (const { name, engine } of tables) {
      const rs = await c.query({
        query: `SELECT * FROM ${name}${engine === 'MergeTree' ? '' : ' FINAL'}`,
        format: 'JSONEachRow',
      });
      out[name] = (await rs.json<Record<string, unknown>>()).map((r) => JSON.stringify(r)).sort();
    }
    return out;
  } finally {
    await c.close();
  }
}

test('appendBulk (the benchmark prefill) stores what ingest stores, in every table and roll-up', async () => {
  const t0 = Math.floor(Date.now() / 3600_000) * 3600_000 - 3600_000;
  const reports = (): StoredReport[] => [0, 1].flatMap((w) => [0, 1, 2].map((n) => bulkReport(n, w, t0)));
  let viaIngest: Record<string, string[]> = {};
  await withTestStore('clickhouse', async ({ store, clickhouse }) => {
    for (const r of reports()) {
      await store.append([r]);
    }
    viaIngest = await tableContents(clickhouse!);
  });
  await withTestStore('clickhouse', async ({ store, clickhouse }) => {
    const ch = store as ClickHouseStore;
    await ch.appendBulk(reports().map((r) => ch.prepare(r)));
    const viaBulk = await tableContents(clickhouse!);
    assert.deepEqual(Object.keys(viaIngest), [
      'endpoints',
      'flows_300',
      'flows_3600',
      'flows_900',
      'flows_raw',
      'forwards',
      'reports',
    ]);
    assert.equal(viaIngest.flows_raw!.length, 12);
    assert.equal(viaIngest.forwards!.length, 6);
    for (const [table, rows] of Object.entries(viaIngest)) {
      assert.ok(rows.length > 0, `${table} has rows`);
      assert.deepEqual(viaBulk[table], rows, table);
    }
  });
});
