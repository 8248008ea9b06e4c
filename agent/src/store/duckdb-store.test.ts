/**
 * The store conformance suite: every test runs against each store (clickhouse-test-stores.ts: DuckDB, and
 * ClickHouse through its HTTP client against the chdb stand-in), checked against the merge rule's oracle.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { stopTestStandin, testStoreKinds, withTestStore, type StoreKind } from './clickhouse-test-stores.js';
import type { Endpoint, FlowRow, FlowStore, StoredReport, TopQuery } from './flow-store.js';
import { mergeFlows, type MergedFlow } from './merge.js';
import { assertFailures, randomFailures } from './failure-oracle.testlib.js';

/** Merged flows by client ip, server ip and port (the random data here re-uses no address). */
const byIps = (m: Map<string, MergedFlow>): Map<string, MergedFlow> =>
  new Map([...m.values()].map((f) => [`${f.client.ip}|${f.server.ip}|${f.serverPort}`, f]));

const H = 3600_000;
const ep = (ip: string, ns: string | null, workload: string | null, zone: string | null): Endpoint => ({
  ip,
  pod: workload ? `${workload}-pod-${ip.split('.').pop()}` : null,
  namespace: ns,
  workload,
  kind: workload ? 'Deployment' : null,
  node: zone ? `node-${zone}` : null,
  zone,
  service: null,
});

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomReports(t0: number, windows: number, seed: number): StoredReport[] {
  const rand = rng(seed);
  const clients = Array.from({ length: 8 }, (_, i) => ep(`10.0.0.${i + 1}`, 'app', `client${i % 3}`, 'a'));
  const servers = Array.from({ length: 6 }, (_, i) =>
    i < 4 ? ep(`10.0.1.${i + 1}`, 'app', `server${i % 2}`, i % 2 ? 'b' : 'a') : ep(`192.0.2.${i}`, null, null, null)
  );
  const reports: StoredReport[] = [];
  for (let w = 0; w < windows; w++) {
    for (const side of ['client', 'server'] as const) {
      const rows: FlowRow[] = [];
      for (const c of clients) {
        for (const s of servers) {
          if (rand() < 0.5) {
            continue;
          }
          if (side === 'server' && s.zone === null) {
            continue;
          } // external servers are not monitored
          if (side === 'server' && rand() < 0.2) {
            continue;
          } // a missing server-side report
          const up = Math.floor(rand() * 100_000);
          const down = Math.floor(rand() * 1_000_000);
          rows.push({
            clientIp: c.ip,
            serverIp: s.ip,
            serverPort: 443,
            side,
            category: s.zone === null ? 'UNCLASSIFIED' : s.zone === 'a' ? 'INTRA_AZ' : 'INTER_AZ',
            client: c,
            server: s,
            bytesSent: side === 'client' ? up : down,
            bytesReceived: side === 'client' ? down : up,
            // Each end's own view, drawn independently: the merge must pick the larger one per direction.
            segmentsSent: Math.ceil((side === 'client' ? up : down) / 1448) + Math.floor(rand() * 5),
            segmentsReceived: Math.ceil((side === 'client' ? down : up) / 1448) + Math.floor(rand() * 5),
            retransmits: Math.floor(rand() * 4),
            rtos: rand() < 0.1 ? 1 : 0,
            connectionsOpened: 1,
            connectionsClosed: 1,
            rttAvgUs: rand() < 0.9 ? Math.floor(rand() * 1000) : null,
            rttMaxUs: null,
            ...randomFailures(rand, side),
          });
        }
      }
      reports.push({
        reportId: randomUUID(),
        node: side,
        startMs: t0 + w * 30_000 + (side === 'server' ? 7_000 : 0),
        endMs: t0 + w * 30_000 + 30_000,
        rows,
        other: { flows: 0, bytesSent: 0, bytesReceived: 0, retransmits: 0, rtos: 0 },
      });
    }
  }
  return reports;
}

after(stopTestStandin);

async function withStore(kind: StoreKind, fn: (s: FlowStore, another: () => Promise<FlowStore>) => Promise<void>) {
  await withTestStore(kind, (t) => fn(t.store, t.another));
}

const byKey = (
  rows: Array<{ local: { ip: string | null }; remote: { ip: string | null }; serverPort: number | null }>
) => rows.map((r) => `${r.local.ip}|${r.remote.ip}|${r.serverPort}`);

for (const kind of testStoreKinds()) {
  test(`[${kind}] query results follow the merge rule, before and after roll-ups, compaction and restart`, async () => {
    await withStore(kind, async (store, another) => {
      const t0 = Math.floor(Date.now() / H) * H - 5 * H; // whole hours, so coarse buckets get used
      const reports = randomReports(t0, 150, 7); // 75 minutes
      await store.append(reports.slice(0, 100));
      await store.maintain(t0 + 40 * 60_000); // rolls up part, closes some 5-minute buckets
      await store.append(reports.slice(100));
      const expected = mergeFlows(reports.flatMap((r) => r.rows));
      const q: TopQuery = { fromMs: t0, toMs: t0 + 2 * H, metric: 'bytes', limit: 500, groupBy: 'flow' };

      const check = async (label: string): Promise<void> => {
        const got = await store.topContributors(q);
        assert.equal(got.result.length, expected.size, `${label}: one row per flow`);
        for (const row of got.result) {
          const e = byIps(expected).get(`${row.local.ip}|${row.remote.ip}|${row.serverPort}`);
          assert.ok(e, `${label}: unexpected flow`);
          assert.equal(row.bytes, e.bytes, `${label}: bytes`);
          assert.equal(row.retransmits, e.retransmits, `${label}: retransmits`);
          assert.equal(row.rtos, e.rtos, `${label}: rtos`);
          assert.equal(row.segments, e.segments, `${label}: segments`);
          assertFailures(row, e, label);
          if (e.rttUs === null) {
            assert.equal(row.rttUs, null);
          } else {
            assert.ok(Math.abs(row.rttUs! - e.rttUs) < 1e-6, `${label}: rtt`);
          }
        }
        const sorted = [...got.result].sort((a, b) => b.bytes - a.bytes || b.retransmits - a.retransmits);
        assert.deepEqual(
          got.result.map((r) => r.bytes),
          sorted.map((r) => r.bytes),
          `${label}: sorted by bytes`
        );
      };
      assert.ok(
        [...expected.values()].some((f) => f.drops > 0 && f.resetsFromClient > 0 && f.connectFailures > 0),
        'the random data has failures to merge'
      );
      await check('fresh');
      await store.maintain(t0 + 3 * H); // everything closed: compacted, 15 min and 1 h buckets built
      await check('rolled up');
      const late = randomReports(t0 + 10 * 60_000, 1, 99);
      await store.append(late);
      for (const [k, v] of mergeFlows([...reports, ...late].flatMap((r) => r.rows))) {
        expected.set(k, v);
      }
      await check('late report before the next pass');
      await store.maintain(t0 + 3 * H + 60_000);
      await check('late report rolled up');

      const stats = await store.stats();
      assert.ok(stats.rollupRows > 0 && stats.rawRows > 0 && stats.bytesOnDisk > 0);
      await store.close();
      const again = await another();
      const before = byKey((await again.topContributors(q)).result);
      assert.equal(before.length, expected.size, 'same flows after a restart');
      assert.equal(await again.hasReport(reports[0]!.reportId), true, 'report ids survive a restart');
      assert.equal(await again.hasReport(randomUUID()), false);
      await again.close();
      await store.open(); // withStore closes it again
    });
  });
}

for (const kind of testStoreKinds()) {
  test(`[${kind}] grouping, filters, service map and time series agree with the flow rows`, async () => {
    await withStore(kind, async (store) => {
      const t0 = Date.now() - 20 * 60_000;
      const reports = randomReports(t0, 10, 3);
      await store.append(reports);
      const range = { fromMs: t0, toMs: t0 + 10 * 60_000 };
      const flows = (await store.topContributors({ ...range, metric: 'bytes', limit: 500, groupBy: 'flow' })).result;
      const total = flows.reduce((s, r) => s + r.bytes, 0);
      const totalSegments = flows.reduce((s, r) => s + r.segments!, 0);
      assert.equal(
        totalSegments,
        [...mergeFlows(reports.flatMap((r) => r.rows)).values()].reduce((s, f) => s + f.segments, 0)
      );

      const byWorkload = (await store.topContributors({ ...range, metric: 'bytes', limit: 500, groupBy: 'workload' }))
        .result;
      assert.equal(
        byWorkload.reduce((s, r) => s + r.bytes, 0),
        total
      );
      assert.equal(
        byWorkload.reduce((s, r) => s + r.segments!, 0),
        totalSegments
      );
      assert.ok(byWorkload.every((r) => r.local.ip === null && r.local.workload !== null && r.local.pod === null));
      const external = byWorkload.filter((r) => r.category === 'UNCLASSIFIED');
      assert.ok(external.length > 0 && external.every((r) => r.remote.ip !== null && r.remote.workload === null));

      const interOnly = (
        await store.topContributors({
          ...range,
          metric: 'bytes',
          limit: 500,
          groupBy: 'flow',
          categories: ['INTER_AZ'],
        })
      ).result;
      assert.ok(interOnly.length > 0 && interOnly.every((r) => r.category === 'INTER_AZ'));
      assert.equal(
        interOnly.reduce((s, r) => s + r.bytes, 0),
        flows.filter((r) => r.category === 'INTER_AZ').reduce((s, r) => s + r.bytes, 0)
      );

      const server0 = (
        await store.topContributors({ ...range, metric: 'bytes', limit: 500, groupBy: 'flow', workload: 'server0' })
      ).result;
      assert.ok(server0.length > 0 && server0.every((r) => r.remote.workload === 'server0'));

      const limited = (await store.topContributors({ ...range, metric: 'retransmits', limit: 3, groupBy: 'flow' }))
        .result;
      assert.deepEqual(
        limited.map((r) => r.value),
        [...flows.map((r) => r.retransmits)].sort((a, b) => b - a).slice(0, 3)
      );

      const totalFailures = flows.reduce((s, r) => s + r.failures, 0);
      const failureTotal = (rows: Array<{ drops: number; resets: number; connectAttempts: number }>): number[] => [
        rows.reduce((s, r) => s + r.drops, 0),
        rows.reduce((s, r) => s + r.resets, 0),
        rows.reduce((s, r) => s + r.connectAttempts, 0),
      ];
      assert.ok(totalFailures > 0);
      assert.deepEqual(failureTotal(byWorkload), failureTotal(flows), 'grouped rows add up their flows’ failures');
      const failing = (await store.topContributors({ ...range, metric: 'failures', limit: 5, groupBy: 'flow' })).result;
      assert.deepEqual(
        failing.map((r) => r.value),
        flows
          .map((r) => r.failures)
          .sort((a, b) => b - a)
          .slice(0, 5),
        'metric=failures lists failing flows first'
      );
      const netfilter = (rows: Array<{ dropsByReason: Record<string, number> }>): number =>
        rows.reduce((s, r) => s + (r.dropsByReason.NETFILTER_DROP ?? 0), 0);
      assert.equal(netfilter(byWorkload), netfilter(flows));

      const map = (await store.serviceMap({ ...range, groupBy: 'workload', limit: 1000 })).result;
      assert.deepEqual(failureTotal(map.edges), failureTotal(flows), 'edges add up their flows’ failures');
      assert.equal(netfilter(map.edges), netfilter(flows));
      const failureSeries = (
        await store.timeseries({ ...range, metric: 'failures', stepMs: 30_000, groupBy: 'total', limit: 10 })
      ).result;
      assert.equal(
        failureSeries[0]!.points.reduce((s, [, v]) => s + v, 0),
        totalFailures,
        'failures per step add up to the merged total'
      );
      assert.equal(
        map.edges.reduce((s, e) => s + e.bytes, 0),
        total
      );
      assert.equal(
        map.edges.reduce((s, e) => s + e.segments!, 0),
        totalSegments
      );
      const ids = new Set(map.nodes.map((n) => n.id));
      assert.ok(map.edges.every((e) => ids.has(e.source) && ids.has(e.target)));
      assert.ok(ids.has('app/client0') && ids.has('app/server1'));

      for (const stepMs of [30_000, 300_000]) {
        const series = (await store.timeseries({ ...range, metric: 'bytes', stepMs, groupBy: 'total', limit: 10 }))
          .result;
        assert.equal(series.length, 1);
        // The two ends' windows are 7 s apart, so they often land in different steps: the steps still add up.
        assert.equal(
          series[0]!.points.reduce((s, [, v]) => s + v, 0),
          total,
          `step ${stepMs}`
        );
      }
      const byCat = (
        await store.timeseries({ ...range, metric: 'bytes', stepMs: 60_000, groupBy: 'category', limit: 10 })
      ).result;
      assert.deepEqual(byCat.map((s) => s.name).sort(), ['INTER_AZ', 'INTRA_AZ', 'UNCLASSIFIED']);

      assert.deepEqual(await store.namespaces(), ['app']);
      assert.ok((await store.workloads('app')).some((w) => w.workload === 'server1' && w.kind === 'Deployment'));
    });
  });
}

for (const kind of testStoreKinds()) {
  test(`[${kind}] queries running while a maintenance pass rolls up and compacts see every flow exactly once`, async () => {
    await withStore(kind, async (store) => {
      const t0 = Math.floor(Date.now() / H) * H - 4 * H;
      const reports = randomReports(t0, 40, 11);
      await store.append(reports);
      const expected = [...mergeFlows(reports.flatMap((r) => r.rows)).values()].reduce((s, f) => s + f.bytes, 0);
      const q: TopQuery = { fromMs: t0, toMs: t0 + H, metric: 'bytes', limit: 500, groupBy: 'flow' };
      const pass = store.maintain(t0 + 2 * H);
      const totals = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          await new Promise((r) => setTimeout(r, i * 3));
          const rows = (await store.topContributors(q)).result;
          return rows.reduce((s, r) => s + r.bytes, 0);
        })
      );
      await pass;
      assert.deepEqual(totals, new Array(12).fill(expected));
    });
  });
}

for (const kind of testStoreKinds()) {
  test(`[${kind}] a failed append leaves no endpoint id behind: a retry with the same endpoint objects is named right`, async () => {
    await withStore(kind, async (store) => {
      const t0 = Date.now() - 60_000;
      const a = ep('10.0.0.1', 'app', 'a', 'a');
      const b = ep('10.0.0.2', 'app', 'b', 'a');
      const c = ep('10.0.0.3', 'app', 'c', 'a');
      const row = (client: Endpoint, server: Endpoint, serverPort: number, bytes: number): FlowRow => ({
        clientIp: client.ip,
        serverIp: server.ip,
        serverPort,
        side: 'client',
        category: 'INTRA_AZ',
        client,
        server,
        bytesSent: bytes,
        bytesReceived: 0,
        segmentsSent: 1,
        segmentsReceived: 0,
        retransmits: 0,
        rtos: 0,
        connectionsOpened: 1,
        connectionsClosed: 0,
        rttAvgUs: null,
        rttMaxUs: null,
      });
      const report = (reportId: string, rows: FlowRow[]): StoredReport => ({
        reportId,
        node: 'n',
        startMs: t0,
        endMs: t0 + 30_000,
        rows,
        other: { flows: 0, bytesSent: 0, bytesReceived: 0, retransmits: 0, rtos: 0 },
      });
      // A port outside USMALLINT makes the transaction fail after a and b were given ids.
      await assert.rejects(store.append([report('r1', [row(a, b, 80, 100), row(a, b, 70_000, 1)])]));
      await store.append([report('r2', [row(a, c, 80, 300), row(a, b, 80, 200)])]);
      const top = await store.topContributors({
        fromMs: t0,
        toMs: t0 + 60_000,
        metric: 'bytes',
        limit: 10,
        groupBy: 'flow',
      });
      assert.deepEqual(
        top.result.map((r) => [r.local.workload, r.remote.workload, r.bytes]),
        [
          ['a', 'c', 300],
          ['a', 'b', 200],
        ]
      );
    });
  });
}

for (const kind of testStoreKinds()) {
  test(`[${kind}] one append of several thousand rows (many full data chunks) stores every row's counters and drops`, async () => {
    await withStore(kind, async (store) => {
      const t0 = Math.floor(Date.now() / H) * H - 3 * H;
      const reports = randomReports(t0, 200, 11);
      const rows = reports.flatMap((r) => r.rows);
      assert.ok(rows.length > 3 * 2048, `${rows.length} rows: more than three DuckDB chunks`);
      assert.ok(
        rows.filter((r) => r.drops !== undefined).length > 100 && rows.some((r) => r.drops === undefined),
        'rows with and without drops'
      );
      await store.append(reports);
      const expected = byIps(mergeFlows(rows));
      const got = await store.topContributors({
        fromMs: t0,
        toMs: t0 + 2 * H,
        metric: 'bytes',
        limit: 500,
        groupBy: 'flow',
      });
      assert.equal(got.result.length, expected.size);
      for (const row of got.result) {
        const e = expected.get(`${row.local.ip}|${row.remote.ip}|${row.serverPort}`);
        assert.ok(e, 'unexpected flow');
        assert.equal(row.bytes, e.bytes);
        assert.equal(row.segments, e.segments);
        assert.equal(row.retransmits, e.retransmits);
        assertFailures(row, e, 'one large append');
      }
    });
  });
}

// DuckDB reads a range served by one compacted roll-up bucket as it is, without grouping it per flow
// (merge.ts `SourceShape`): the answers must be the ones the grouping merge gives, on aligned and unaligned ranges.
test('[duckdb] a range of one roll-up bucket is merged without grouping, with the same answers', async () => {
  await withStore('duckdb', async (store) => {
    const t0 = Math.floor(Date.now() / H) * H - 5 * H;
    const reports = randomReports(t0, 120, 11); // one hour
    await store.append(reports);
    const s = store as unknown as { sourceShape: (...a: unknown[]) => Promise<{ oneRowPerFlow?: boolean }> };
    const shape = s.sourceShape.bind(store);
    const taken: boolean[] = [];
    let grouping = false;
    s.sourceShape = async (...a) => {
      const r = grouping ? {} : await shape(...a);
      taken.push(r.oneRowPerFlow === true);
      return r;
    };
    const M = 60_000;
    // [from, to) in minutes from t0, and whether one bucket serves it once every bucket is built and compacted.
    const ranges: Array<[number, number, boolean]> = [
      [5, 10, true],
      [15, 30, true],
      [0, 60, true],
      [7, 9, true], // aligned outward to one 5-minute bucket
      [16, 29, true], // aligned outward to one 15-minute bucket
      [3, 13, true], // likewise
      [50, 70, false], // two 5-minute buckets with rows
    ];
    const answers = async (from: number, to: number) => {
      const r = { fromMs: t0 + from * M, toMs: t0 + to * M };
      return [
        await store.topContributors({ ...r, metric: 'bytes', limit: 500, groupBy: 'flow' }),
        await store.topContributors({
          ...r,
          metric: 'retransmits',
          limit: 7,
          groupBy: 'flow',
          categories: ['INTER_AZ'],
        }),
        await store.topContributors({ ...r, metric: 'bytes', limit: 500, groupBy: 'workload' }),
        await store.topContributors({ ...r, metric: 'failures', limit: 500, groupBy: 'pod' }),
        await store.serviceMap({ ...r, groupBy: 'workload', limit: 1000 }),
        await store.serviceMap({ ...r, groupBy: 'pod', limit: 1000, namespace: 'app' }),
      ];
    };
    const compare = async (label: string, compacted: (from: number, to: number) => boolean): Promise<void> => {
      for (const [from, to, single] of ranges) {
        taken.length = 0;
        grouping = false;
        const fast = await answers(from, to);
        assert.deepEqual(
          taken,
          taken.map(() => single && compacted(from, to)),
          `${label} [${from}, ${to}): merged without grouping exactly when one compacted bucket serves it`
        );
        grouping = true;
        const grouped = await answers(from, to);
        assert.deepEqual(fast, grouped, `${label} [${from}, ${to}): same answers`);
        // And both are the merge rule's: the flows of the reports in the answered range.
        const answered = fast[0]!;
        const inRange = reports.filter((r) => r.startMs >= answered.fromMs && r.startMs < answered.toMs);
        const expected = byIps(mergeFlows(inRange.flatMap((r) => r.rows)));
        const rows = answered.result as Array<
          { local: { ip: string | null }; remote: { ip: string | null } } & {
            serverPort: number | null;
            bytes: number;
          }
        >;
        assert.equal(rows.length, expected.size, `${label} [${from}, ${to}): one row per flow`);
        for (const row of rows) {
          assert.equal(row.bytes, expected.get(`${row.local.ip}|${row.remote.ip}|${row.serverPort}`)?.bytes);
        }
      }
    };
    await compare('raw rows', () => false);
    await store.maintain(t0 + 30 * M); // part rolled up, the first buckets compacted, the rest raw
    // Closed by then (end + 2-minute grace): the 5-minute buckets up to minute 25 (compacted) and the first 15 minutes.
    await compare('half rolled up', (_, to) => to <= 15);
    await store.maintain(t0 + 3 * H); // everything compacted, 15-minute and hour buckets built
    await compare('compacted', () => true);
    const late = randomReports(t0 + 6 * M, 1, 99); // a late report into a compacted bucket
    await store.append(late);
    reports.push(...late);
    await compare('late report, not rolled up', (from, to) => to <= 5 || from >= 10);
    await store.maintain(t0 + 3 * H + M);
    await compare('late report compacted', () => true);
  });
});
