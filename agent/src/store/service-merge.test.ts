/**
 * The store against the merge rule of merge.ts on random data that holds what a Kubernetes cluster produces:
 * Service calls translated on the client's node (via on the client end), NodePorts reached through another
 * node (a client view of the node address, backends with via on the server end), a pod IP re-used by another
 * pod, loopback flows on two nodes, ends that disagree on the category. Also: time series complete over
 * 30 days, an hour, and a range crossing the fine tiers' retention.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { emptyCounters } from '../contracts/report.js';
import type { Category } from '../classify/category.js';
import { stopTestStandin, testStoreKinds, withTestStore, type StoreKind } from './clickhouse-test-stores.js';
import type { Endpoint, FlowRow, FlowStore, Side, StoredReport, TopRow, ViaEnd } from './flow-store.js';
import { mergeFlows, type MergedFlow } from './merge.js';
import { assertFailures, randomFailures } from './failure-oracle.testlib.js';

const H = 3600_000;
const D = 24 * H;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const bare = (ip: string, over: Partial<Endpoint> = {}): Endpoint => ({
  ip,
  pod: null,
  namespace: null,
  workload: null,
  kind: null,
  node: null,
  zone: null,
  service: null,
  ...over,
});
const pod = (ip: string, name: string, zone: string): Endpoint =>
  bare(ip, {
    pod: name,
    namespace: 'shop',
    workload: name.replace(/-\d+$/, ''),
    kind: 'Deployment',
    node: `node-${zone}`,
    zone,
  });
const service = (ip: string, port: number, name: string): ViaEnd => ({
  ip,
  port,
  endpoint: bare(ip, { namespace: 'shop', kind: 'Service', service: name }),
});

function row(side: Side, client: Endpoint, server: Endpoint, port: number, c: Partial<FlowRow>): FlowRow {
  return {
    clientIp: client.ip,
    serverIp: server.ip,
    serverPort: port,
    side,
    category: client.zone && server.zone ? (client.zone === server.zone ? 'INTRA_AZ' : 'INTER_AZ') : 'UNCLASSIFIED',
    client,
    server,
    ...emptyCounters(),
    rttAvgUs: null,
    rttMaxUs: null,
    via: null,
    ...c,
  };
}

/** One window's rows (client node's and server node's), with distinct byte counts so no two flows tie. */
function clusterWindow(w: number, rand: () => number): { client: FlowRow[]; server: FlowRow[] } {
  const big = (): number => 1000 + Math.floor(rand() * 1_000_000);
  const web = [pod('10.0.0.1', 'web-1', 'za'), pod('10.0.0.2', 'web-2', 'zb')];
  const orders = [pod('10.0.1.1', 'orders-1', 'za'), pod('10.0.2.1', 'orders-2', 'zb')];
  // 10.0.3.1 belongs to cart in the first windows, then is re-used by payments.
  const reused = w < 10 ? pod('10.0.3.1', 'cart-1', 'za') : pod('10.0.3.1', 'payments-1', 'zb');
  const clusterIp = service('10.96.0.10', 80, 'orders');
  const nodePort = service('192.168.0.2', 30080, 'orders');
  const nodeB = bare('192.168.0.2', { kind: 'Node', node: 'node-zb', zone: 'zb' });
  const client: FlowRow[] = [];
  const server: FlowRow[] = [];
  const both = (c: Endpoint, s: Endpoint, port: number, viaClient: ViaEnd | null, viaServer: ViaEnd | null): void => {
    const up = big();
    const down = big();
    const cats: Category[] = ['UNCLASSIFIED']; // the client end sometimes did not know the zone yet
    client.push(
      row('client', c, s, port, {
        bytesSent: up,
        bytesReceived: down,
        segmentsSent: Math.ceil(up / 1448),
        segmentsReceived: Math.ceil(down / 1448),
        retransmits: Math.floor(rand() * 3),
        rttAvgUs: 100 + Math.floor(rand() * 900),
        rttMaxUs: 2000 + Math.floor(rand() * 900),
        via: viaClient,
        ...(rand() < 0.2 ? { category: cats[0] } : {}),
        ...randomFailures(rand, 'client'),
      })
    );
    if (rand() < 0.85) {
      server.push(
        row('server', c, s, port, {
          bytesSent: down,
          bytesReceived: up,
          segmentsSent: Math.ceil(down / 1448),
          segmentsReceived: Math.ceil(up / 1448),
          retransmits: Math.floor(rand() * 2),
          rtos: rand() < 0.1 ? 1 : 0,
          rttAvgUs: 100 + Math.floor(rand() * 900),
          rttMaxUs: 1000 + Math.floor(rand() * 900),
          via: viaServer,
          ...randomFailures(rand, 'server'),
        })
      );
    }
  };
  for (const c of web) {
    // ClusterIP, translated on the client's node: the client end names the backend and carries via.
    for (const b of orders) {
      if (rand() < 0.7) {
        both(c, b, 8080, clusterIp, null);
      }
    }
    both(c, reused, 9000, null, null);
  }
  // NodePort reached through node B's address from web-3: the client's node did not translate.
  const c = pod('10.0.0.3', 'web-3', 'za');
  let upTotal = 0;
  let downTotal = 0;
  let segsUp = 0;
  let segsDown = 0;
  for (const b of orders) {
    const up = big();
    const down = big();
    upTotal += up;
    downTotal += down;
    segsUp += Math.ceil(up / 1448);
    segsDown += Math.ceil(down / 1448);
    server.push(
      row('server', c, b, 8080, {
        bytesSent: down,
        bytesReceived: up,
        segmentsSent: Math.ceil(down / 1448),
        segmentsReceived: Math.ceil(up / 1448),
        via: nodePort,
        retransmits: 1,
        ...randomFailures(rand, 'server'),
      })
    );
  }
  client.push(
    row('client', c, nodeB, 30080, {
      bytesSent: upTotal,
      bytesReceived: downTotal + (w % 7 === 0 ? 500 : 0), // now and then the client saw more (a server window missing)
      segmentsSent: segsUp,
      segmentsReceived: segsDown,
      retransmits: 2,
      rttAvgUs: 300,
      rttMaxUs: 4000,
      // The client's view of the NodePort: its connects and resets are the backends' too (absorbed as max(0, its
      // view − the group's)); its drops happened on its own node (added).
      ...randomFailures(rand, 'client'),
    })
  );
  // Loopback on both nodes: the same addresses, never one flow.
  for (const zone of ['za', 'zb']) {
    const lo = bare('127.0.0.1', { node: `node-${zone}`, zone });
    const n = 100 + Math.floor(rand() * 1000);
    client.push(row('client', lo, lo, 6379, { bytesSent: n, bytesReceived: 2 * n }));
    server.push(row('server', lo, lo, 6379, { bytesSent: 2 * n, bytesReceived: n }));
  }
  return { client, server };
}

function clusterReports(t0: number, windows: number, seed: number): StoredReport[] {
  const rand = rng(seed);
  const out: StoredReport[] = [];
  for (let w = 0; w < windows; w++) {
    const { client, server } = clusterWindow(w, rand);
    for (const [node, rows] of [
      ['clients', client],
      ['servers', server],
    ] as const) {
      out.push({
        reportId: randomUUID(),
        node,
        startMs: t0 + w * 30_000,
        endMs: t0 + (w + 1) * 30_000,
        rows,
        other: { flows: 0, bytesSent: 0, bytesReceived: 0, retransmits: 0, rtos: 0 },
      });
    }
  }
  return out;
}

after(stopTestStandin);

/** Each test runs against every store (clickhouse-test-stores.ts): one conformance suite. */
async function withStore(kind: StoreKind, fn: (s: FlowStore) => Promise<void>): Promise<void> {
  await withTestStore(kind, (t) => fn(t.store));
}

const rowKey = (r: TopRow): string =>
  [r.local.ip, r.local.pod, r.local.node, r.remote.ip, r.remote.pod, r.remote.node, r.serverPort].join('|');
const flowKeyOf = (f: MergedFlow): string =>
  [f.client.ip, f.client.pod, f.client.node, f.server.ip, f.server.pod, f.server.node, f.serverPort].join('|');

for (const kind of testStoreKinds()) {
  test(`[${kind}] Service calls, NodePorts, re-used IPs and loopback: the store answers what the merge rule says`, async () => {
    await withStore(kind, async (store) => {
      const t0 = Math.floor(Date.now() / H) * H - 3 * H;
      const reports = clusterReports(t0, 40, 5); // 20 minutes
      const expected = new Map([...mergeFlows(reports.flatMap((r) => r.rows)).values()].map((f) => [flowKeyOf(f), f]));
      const q = { fromMs: t0, toMs: t0 + H, metric: 'bytes' as const, limit: 500, groupBy: 'flow' as const };
      await store.append(reports.slice(0, 25));
      await store.maintain(t0 + 9 * 60_000);
      await store.append(reports.slice(25));
      for (const label of ['raw and partly rolled up', 'rolled up']) {
        const got = (await store.topContributors(q)).result;
        assert.equal(got.length, expected.size, `${label}: one row per flow`);
        for (const r of got) {
          const e = expected.get(rowKey(r));
          assert.ok(e, `${label}: unexpected row ${rowKey(r)}`);
          assert.equal(r.bytes, e.bytes, `${label}: bytes of ${rowKey(r)}`);
          assert.equal(r.segments, e.segments, `${label}: segments`);
          assert.equal(r.retransmits, e.retransmits, `${label}: retransmits of ${rowKey(r)}`);
          assert.equal(r.rtos, e.rtos);
          assert.equal(r.category, e.category, `${label}: category of ${rowKey(r)}`);
          assert.equal(r.remote.service, e.service, `${label}: service of ${rowKey(r)}`);
          assert.equal(r.rttMaxUs, e.rttMaxUs, `${label}: rtt max`);
          assert.ok(Math.abs((r.rttUs ?? 0) - (e.rttUs ?? 0)) < 1e-6, `${label}: rtt`);
          assertFailures(r, e, `${label}: ${rowKey(r)}`);
        }
        assert.ok(
          got.every((r) => r.remote.ip !== '192.168.0.2' && r.remote.ip !== '10.96.0.10'),
          'no row to a Service address'
        );
        assert.deepEqual(
          got
            .filter((r) => r.remote.ip === '10.0.3.1')
            .map((r) => r.remote.pod)
            .sort(),
          ['cart-1', 'cart-1', 'payments-1', 'payments-1'],
          'the re-used IP keeps each pod its own rows'
        );
        assert.equal(got.filter((r) => r.remote.ip === '127.0.0.1').length, 2, 'one loopback flow per node');
        // Each flow in exactly one category: the per-category answers add up to the whole.
        let sum = 0;
        for (const c of ['INTRA_AZ', 'INTER_AZ', 'UNCLASSIFIED'] as const) {
          const part = (await store.topContributors({ ...q, categories: [c] })).result;
          assert.ok(part.every((r) => r.category === c));
          sum += part.reduce((s, r) => s + r.bytes, 0);
        }
        assert.equal(
          sum,
          [...expected.values()].reduce((s, f) => s + f.bytes, 0),
          `${label}: categories partition`
        );
        await store.maintain(t0 + 2 * H);
      }

      const map = (await store.serviceMap({ fromMs: t0, toMs: t0 + H, groupBy: 'workload', limit: 1000 })).result;
      assert.ok(
        map.nodes.every((n) => n.kind !== 'Service' && n.ip !== '192.168.0.2'),
        'no service-map node for a Service address'
      );
      const edge = map.edges.find((e) => e.id === 'shop/web->shop/orders');
      assert.equal(edge?.via, 'orders');
      assert.ok(map.nodes.some((n) => n.id === 'shop/cart') && map.nodes.some((n) => n.id === 'shop/payments'));

      const series = (
        await store.timeseries({
          fromMs: t0,
          toMs: t0 + H,
          metric: 'bytes',
          stepMs: 300_000,
          groupBy: 'workload',
          limit: 20,
        })
      ).result;
      const names = series.map((s) => s.name).sort();
      assert.ok(names.includes('shop/cart') && names.includes('shop/payments'), names.join(','));
      const cart = series.find((s) => s.name === 'shop/cart')!;
      assert.ok(
        cart.points.every(([t]) => t < t0 + 10 * 30_000 + 300_000),
        'cart has no points after its IP went to payments'
      );

      // Drilldowns filtered by the hub: every flow of one pod, of one pair, of one address.
      const orders1 = (
        await store.topContributors({ ...q, endpoint: { kind: 'pod', namespace: 'shop', name: 'orders-1' } })
      ).result;
      const want = [...expected.values()].filter((f) => f.server.pod === 'orders-1' || f.client.pod === 'orders-1');
      assert.equal(orders1.length, want.length);
      assert.ok(orders1.length > 0);
      const pair = (
        await store.topContributors({
          ...q,
          endpoint: { kind: 'workload', namespace: 'shop', name: 'orders' },
          peer: { kind: 'pod', namespace: 'shop', name: 'web-2' },
        })
      ).result;
      assert.ok(pair.length > 0 && pair.every((r) => r.local.pod === 'web-2' && r.remote.workload === 'orders'));
      const lo = (await store.topContributors({ ...q, endpoint: { kind: 'ip', ip: '127.0.0.1' } })).result;
      assert.equal(lo.length, 2);
    });
  });
}

for (const kind of testStoreKinds()) {
  test(`[${kind}] time series are complete over 30 days, an hour, and a range crossing the fine tiers retention`, async () => {
    await withStore(kind, async (store) => {
      const now = Date.now();
      const ages = [29 * D + 5 * H, 10 * D, 7 * D + 3 * H, 6 * D + 20 * H, 3 * D, 2 * H, 40 * 60_000, 5 * 60_000];
      const client = pod('10.0.0.1', 'web-1', 'za');
      const server = pod('10.0.1.1', 'orders-1', 'za');
      const reports: StoredReport[] = ages.map((age, i) => {
        const start = Math.floor((now - age) / 30_000) * 30_000;
        return {
          reportId: randomUUID(),
          node: 'n',
          startMs: start,
          endMs: start + 30_000,
          rows: [row('client', client, server, 80, { bytesSent: 1000 * (i + 1), bytesReceived: 1 })],
          other: { flows: 0, bytesSent: 0, bytesReceived: 0, retransmits: 0, rtos: 0 },
        };
      });
      const bytesOf = (i: number): number => 1000 * (i + 1) + 1;
      // As a hub that ran all along would have it: each report rolled up by the pass after it arrived.
      for (const r of [...reports].sort((a, b) => a.startMs - b.startMs)) {
        await store.append([r]);
        await store.maintain(r.endMs + 60_000);
      }
      await store.maintain(now);
      const total = async (fromMs: number, toMs: number, stepMs: number): Promise<number> => {
        const s = (await store.timeseries({ fromMs, toMs, metric: 'bytes', stepMs, groupBy: 'total', limit: 10 }))
          .result;
        return s.reduce((a, x) => a + x.points.reduce((b, [, v]) => b + v, 0), 0);
      };
      const within = (fromMs: number, toMs: number): number =>
        reports.reduce((s, r, i) => s + (r.startMs >= fromMs && r.startMs < toMs ? bytesOf(i) : 0), 0);
      const all = reports.reduce((s, _, i) => s + bytesOf(i), 0);
      assert.equal(await total(now - 30 * D, now, Math.ceil((30 * D) / 300)), all, '30 days, default-like step');
      assert.equal(await total(now - 30 * D, now, 3 * H), all, '30 days, 3-hour step');
      assert.equal(await total(now - 30 * D, now, 5 * 60_000), all, '30 days, a step finer than the hour tier');
      assert.equal(await total(now - H, now, 30_000), within(now - H, now), 'the last hour at 30 s');
      assert.equal(await total(now - H, now, 60_000), within(now - H, now));
      // 8 days back to 6 days back: the start is only in the hour tier, the rest in the finer tiers too.
      const from = Math.floor((now - 8 * D) / H) * H;
      const to = Math.floor((now - 6 * D) / H) * H;
      assert.equal(await total(from, to, 15 * 60_000), within(from, to), 'across the fine tiers retention');
      assert.ok(within(from, to) > 0);
    });
  });
}
