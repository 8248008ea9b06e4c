/**
 * Rule 4 of merge.ts (forwarded connections): a NodePort (externalTrafficPolicy Cluster) called at node Y's address,
 * forwarded SNATed to a backend on another node. The plain-code rule on hand-made cases, then the store's SQL against
 * it on random data (one client or several per SNAT address and backend, a node that also calls the backend itself,
 * forwards without SNAT), raw and rolled up.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import type { Category } from '../classify/category.js';
import { emptyCounters } from '../contracts/report.js';
import { stopTestStandin, testStoreKinds, withTestStore, type StoreKind } from './clickhouse-test-stores.js';
import type { Endpoint, FlowRow, ForwardRow, Side, StoredReport, TopRow, ViaEnd } from './flow-store.js';
import { mergeFlows, type MergedFlow } from './merge.js';

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
  bare(ip, { pod: name, namespace: 'shop', workload: name.replace(/-\w+$/, ''), kind: 'Deployment', node: zone, zone });
const nodeY = bare('192.168.0.2', { kind: 'Node', node: 'node-y', zone: 'zb' });
const nodePort = (port: number): ViaEnd => ({
  ip: nodeY.ip,
  port,
  endpoint: bare(nodeY.ip, { namespace: 'shop', kind: 'Service', service: `svc-${port}`, node: 'node-y', zone: 'zb' }),
});
const cat = (a: Endpoint, b: Endpoint): Category =>
  a.zone && b.zone ? (a.zone === b.zone ? 'INTRA_AZ' : 'INTER_AZ') : 'UNCLASSIFIED';

function row(side: Side, client: Endpoint, server: Endpoint, port: number, c: Partial<FlowRow>): FlowRow {
  return {
    clientIp: client.ip,
    serverIp: server.ip,
    serverPort: port,
    side,
    category: cat(client, server),
    client,
    server,
    ...emptyCounters(),
    rttAvgUs: null,
    rttMaxUs: null,
    via: null,
    ...c,
  };
}
function forward(client: Endpoint, server: Endpoint, port: number, via: ViaEnd, n: number, snat = nodeY): ForwardRow {
  return { client, server, serverPort: port, snat, via, category: cat(client, server), connections: n };
}

const web = pod('10.0.0.1', 'web-1', 'za');
const batch = pod('10.0.0.2', 'batch-1', 'za');
const ordersA = pod('10.0.1.1', 'orders-a', 'za');
const ordersZ = pod('10.0.2.1', 'orders-z', 'zc');
const byServer = (m: Map<string, MergedFlow>): MergedFlow[] => [...m.values()].sort((a, b) => a.bytes - b.bytes);

test('one client forwarded through Y: its bytes land on the backend it reached, exact, via the NodePort', () => {
  const np = nodePort(30080);
  const rows = [
    // web-1's socket saw Y:30080 (its node did not translate); orders-z's saw Y's address (SNAT).
    row('client', web, nodeY, 30080, { bytesSent: 450_000, bytesReceived: 10, retransmits: 2 }),
    row('server', nodeY, ordersZ, 8080, { bytesSent: 10, bytesReceived: 450_000, retransmits: 1, rtos: 1 }),
  ];
  const merged = mergeFlows(rows, [forward(web, ordersZ, 8080, np, 3)]);
  assert.equal(merged.size, 1, JSON.stringify([...merged.keys()]));
  const f = [...merged.values()][0]!;
  assert.equal(f.client.pod, 'web-1');
  assert.equal(f.server.pod, 'orders-z');
  assert.equal(f.bytes, 450_010);
  assert.equal(f.category, 'INTER_AZ');
  assert.equal(f.service, 'svc-30080');
  assert.equal(f.retransmits, 3, "the backend's and the client's own");
  assert.equal(f.rtos, 1);
  // Without the forward the client view had no backend to join: it stays a flow to the node address.
  assert.ok([...mergeFlows(rows).values()].some((m) => m.server.ip === nodeY.ip));
});

test('clients sharing a SNAT address and a backend: split by their own views, totals exact, no other backend', () => {
  const np = nodePort(30080);
  const rows = [
    row('client', web, nodeY, 30080, { bytesSent: 300, bytesReceived: 0 }),
    row('client', batch, nodeY, 30080, { bytesSent: 701, bytesReceived: 0 }),
    row('server', nodeY, ordersZ, 8080, { bytesSent: 0, bytesReceived: 1001 }),
    // A backend on another node that neither client reached through Y in this range: untouched.
    row('server', nodeY, ordersA, 9090, { bytesSent: 5, bytesReceived: 50 }),
    row('client', nodeY, ordersA, 9090, { bytesSent: 50, bytesReceived: 5 }),
  ];
  const fw = [forward(web, ordersZ, 8080, np, 1), forward(batch, ordersZ, 8080, np, 2)];
  const merged = byServer(mergeFlows(rows, fw));
  const total = merged.reduce((s, f) => s + f.bytes, 0);
  assert.equal(total, 1001 + 55, 'totals stay exact');
  const toZ = merged.filter((f) => f.server.pod === 'orders-z');
  assert.deepEqual(
    toZ.map((f) => [f.client.pod, f.bytes]),
    [
      ['web-1', 300],
      ['batch-1', 701],
    ],
    'each client what its own end sent through the NodePort'
  );
  // web-1 not monitored (no view of its own): batch-1 gets what its own view says, web-1 the rest.
  const byConns = mergeFlows(rows.slice(1), fw);
  assert.deepEqual(
    [...byConns.values()].filter((f) => f.server.pod === 'orders-z').map((f) => [f.client.pod, f.bytes]),
    [
      ['batch-1', 701],
      ['web-1', 300],
    ]
  );
  // Both unmonitored: by connections, a third and two thirds (the remainder to the one with most connections).
  const blind = mergeFlows(rows.slice(2), fw);
  assert.deepEqual(
    [...blind.values()].filter((f) => f.server.pod === 'orders-z').map((f) => [f.client.pod, f.bytes]),
    [
      ['batch-1', 668],
      ['web-1', 333],
    ]
  );
  assert.deepEqual(
    merged.filter((f) => f.server.pod === 'orders-a').map((f) => [f.client.ip, f.bytes]),
    [[nodeY.ip, 55]],
    "the node's own call keeps its flow"
  );
  assert.ok(merged.every((f) => f.server.ip !== nodeY.ip));
});

test('a pod and an external host through one NodePort, the pod also reaching the backend on Y: each exact', () => {
  const np = nodePort(30080);
  const ext = bare('203.0.113.9');
  const ordersY = pod('10.0.3.1', 'orders-y', 'zb');
  const rows = [
    // batch-1 sent 1000 through Y:30080: 400 to orders-y on Y (Y's agent resolved it), 600 forwarded to orders-z.
    row('client', batch, nodeY, 30080, { bytesSent: 1000 }),
    row('server', batch, ordersY, 8080, { bytesReceived: 400, via: np }),
    row('server', ext, ordersY, 8080, { bytesReceived: 50, via: np }),
    // orders-z saw Y's address: batch-1's 600 and the external host's 900.
    row('server', nodeY, ordersZ, 8080, { bytesReceived: 1500 }),
  ];
  const merged = mergeFlows(rows, [forward(batch, ordersZ, 8080, np, 2), forward(ext, ordersZ, 8080, np, 5)]);
  assert.deepEqual(
    byServer(merged).map((f) => [f.client.ip, f.server.pod, f.bytes]),
    [
      [ext.ip, 'orders-y', 50],
      [batch.ip, 'orders-y', 400],
      [batch.ip, 'orders-z', 600],
      [ext.ip, 'orders-z', 900],
    ]
  );
});

test('a node calling the backend itself too keeps its own bytes; forwards without SNAT add the via', () => {
  const np = nodePort(30080);
  const rows = [
    row('client', nodeY, ordersZ, 8080, { bytesSent: 100, bytesReceived: 7 }),
    row('server', nodeY, ordersZ, 8080, { bytesSent: 7, bytesReceived: 100 + 900 }),
    row('client', web, nodeY, 30080, { bytesSent: 900, bytesReceived: 0 }),
    // ETP-Cluster without SNAT (e.g. a DSR-like setup): the backend saw the client itself.
    row('client', batch, nodeY, 30081, { bytesSent: 40, bytesReceived: 4 }),
    row('server', batch, ordersZ, 8080, { bytesSent: 4, bytesReceived: 40 }),
  ];
  const fw = [forward(web, ordersZ, 8080, np, 2), forward(batch, ordersZ, 8080, nodePort(30081), 1, batch)];
  const merged = byServer(mergeFlows(rows, fw));
  assert.deepEqual(
    merged.map((f) => [f.client.ip, f.server.pod, f.bytes, f.service]),
    [
      [batch.ip, 'orders-z', 44, 'svc-30081'],
      [nodeY.ip, 'orders-z', 107, null],
      [web.ip, 'orders-z', 900, 'svc-30080'],
    ]
  );
});

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Windows of a cluster where Y forwards NodePort calls to backends elsewhere (SNAT), with the node's own calls. */
function reports(t0: number, windows: number, seed: number): StoredReport[] {
  const rand = rng(seed);
  const big = (): number => 1000 + Math.floor(rand() * 1_000_000);
  const clients = [web, batch, pod('10.0.0.3', 'cron-1', 'zb'), bare('203.0.113.9')];
  const backends = [ordersA, ordersZ];
  const out: StoredReport[] = [];
  for (let w = 0; w < windows; w++) {
    const clientRows: FlowRow[] = [];
    const serverRows: FlowRow[] = [];
    const forwards: ForwardRow[] = [];
    for (const [i, b] of backends.entries()) {
      const np = nodePort(30080 + i);
      let up = 0;
      let down = 0;
      let conns = 0;
      for (const c of clients) {
        if (rand() < 0.4) {
          continue;
        }
        const n = 1 + Math.floor(rand() * 4);
        const u = big();
        const d = Math.floor(rand() * 5000);
        up += u;
        down += d;
        conns += n;
        // Some connections went to the backend on Y itself: Y's agent resolved them (server end with via), and the
        // client's view of the NodePort holds them too.
        const onY = rand() < 0.5 ? big() : 0;
        if (onY > 0) {
          // (one pod on Y per NodePort: a flow reached through two Service addresses is grouped under one of them)
          const onYPod = pod(`10.0.3.${i + 1}`, `orders-y${i}`, 'zb');
          serverRows.push(row('server', c, onYPod, 8080, { bytesSent: 0, bytesReceived: onY, via: np }));
        }
        // The external client is not monitored: no view of its own (its shares go by connections).
        clientRows.push(
          ...(c.pod === null
            ? []
            : [
                row('client', c, nodeY, np.port, {
                  bytesSent: u + onY,
                  bytesReceived: d + (w % 5 === 0 ? 300 : 0),
                  segmentsSent: Math.ceil(u / 1448),
                  segmentsReceived: Math.ceil(d / 1448),
                  retransmits: Math.floor(rand() * 3),
                  rttAvgUs: 200 + Math.floor(rand() * 500),
                  rttMaxUs: 3000 + Math.floor(rand() * 500),
                }),
              ])
        );
        if (rand() < 0.9) {
          forwards.push(forward(c, b, 8080, np, n));
        }
      }
      if (conns === 0) {
        continue;
      }
      // The node's own connections to the backend, now and then (the same flow key as the SNAT view).
      const own = rand() < 0.3 ? big() : 0;
      if (own > 0) {
        clientRows.push(row('client', nodeY, b, 8080, { bytesSent: own, bytesReceived: 3, segmentsSent: 2 }));
      }
      serverRows.push(
        row('server', nodeY, b, 8080, {
          bytesSent: down + (own > 0 ? 3 : 0),
          bytesReceived: up + own,
          segmentsSent: 1 + (own > 0 ? 1 : 0),
          segmentsReceived: Math.ceil(up / 1448) + (own > 0 ? 2 : 0),
          retransmits: Math.floor(rand() * 2),
          rtos: rand() < 0.2 ? 1 : 0,
          rttAvgUs: 100 + Math.floor(rand() * 100),
          rttMaxUs: 1000 + Math.floor(rand() * 100),
        })
      );
    }
    const other = { flows: 0, bytesSent: 0, bytesReceived: 0, retransmits: 0, rtos: 0 };
    const window = { startMs: t0 + w * 30_000, endMs: t0 + (w + 1) * 30_000, other };
    out.push({ reportId: randomUUID(), node: 'clients', ...window, rows: clientRows });
    out.push({ reportId: randomUUID(), node: 'node-z', ...window, rows: serverRows });
    out.push({ reportId: randomUUID(), node: 'node-y', ...window, rows: [], forwards });
  }
  return out;
}

const rowKey = (r: TopRow): string => [r.local.ip, r.local.pod, r.remote.ip, r.remote.pod, r.serverPort].join('|');
const flowKeyOf = (f: MergedFlow): string =>
  [f.client.ip, f.client.pod, f.server.ip, f.server.pod, f.serverPort].join('|');

after(stopTestStandin);

for (const kind of testStoreKinds()) {
  for (const seed of [11, 12, 13]) {
    test(`[${kind}] forwarded connections: the store answers what the merge rule says, raw and rolled up (seed ${seed})`, () =>
      storeMatchesRule(kind, seed));
  }
}

async function storeMatchesRule(kind: StoreKind, seed: number): Promise<void> {
  await withTestStore(kind, async ({ store }) => {
    const H = 3600_000;
    const t0 = Math.floor(Date.now() / H) * H - 3 * H;
    const all = reports(t0, 30, seed);
    const expected = new Map(
      [
        ...mergeFlows(
          all.flatMap((r) => r.rows),
          all.flatMap((r) => r.forwards ?? [])
        ).values(),
      ].map((f) => [flowKeyOf(f), f])
    );
    const sent = all.flatMap((r) => r.rows).filter((r) => r.side === 'server');
    assert.ok(sent.length > 0 && expected.size > 4);
    assert.ok(
      [...expected.values()].every((f) => f.server.ip !== nodeY.ip),
      'every client view of the NodePort joined a backend'
    );
    const q = { fromMs: t0, toMs: t0 + H, metric: 'bytes' as const, limit: 500, groupBy: 'flow' as const };
    await store.append(all.slice(0, 45));
    await store.maintain(t0 + 8 * 60_000);
    await store.append(all.slice(45));
    for (const label of ['raw and partly rolled up', 'rolled up']) {
      const got = (await store.topContributors(q)).result;
      assert.equal(got.length, expected.size, `${label}: one row per flow: ${got.map(rowKey).join(', ')}`);
      for (const r of got) {
        const e = expected.get(rowKey(r));
        assert.ok(e, `${label}: unexpected row ${rowKey(r)}`);
        assert.equal(r.bytes, e.bytes, `${label}: bytes of ${rowKey(r)}`);
        assert.equal(r.segments, e.segments, `${label}: segments of ${rowKey(r)}`);
        assert.equal(r.retransmits, e.retransmits, `${label}: retransmits of ${rowKey(r)}`);
        assert.equal(r.rtos, e.rtos, `${label}: rtos of ${rowKey(r)}`);
        assert.equal(r.category, e.category, `${label}: category of ${rowKey(r)}`);
        assert.equal(r.remote.service, e.service, `${label}: service of ${rowKey(r)}`);
        assert.equal(r.rttMaxUs, e.rttMaxUs, `${label}: rtt max of ${rowKey(r)}`);
        assert.ok(Math.abs((r.rttUs ?? 0) - (e.rttUs ?? 0)) < 1e-6, `${label}: rtt of ${rowKey(r)}`);
      }
      await store.maintain(t0 + 2 * H);
    }
  });
}

for (const kind of testStoreKinds()) {
  test(`[${kind}] time series plot forwarded connections on the clients that made them, adding up to the merged bytes`, async () => {
    await withTestStore(kind, async ({ store }) => {
      const H = 3600_000;
      const t0 = Math.floor(Date.now() / H) * H - 2 * H;
      const np = nodePort(30080);
      const other = { flows: 0, bytesSent: 0, bytesReceived: 0, retransmits: 0, rtos: 0 };
      const all: StoredReport[] = [];
      for (let w = 0; w < 20; w++) {
        const window = { startMs: t0 + w * 30_000, endMs: t0 + (w + 1) * 30_000, other };
        const a = 1000 * (w + 1);
        const b = 700 * (w + 1);
        all.push({
          reportId: randomUUID(),
          node: 'node-a',
          ...window,
          rows: [
            row('client', web, nodeY, 30080, { bytesSent: a, bytesReceived: 0 }),
            row('client', batch, nodeY, 30080, { bytesSent: b, bytesReceived: 0 }),
          ],
        });
        all.push({
          reportId: randomUUID(),
          node: 'node-z',
          ...window,
          rows: [row('server', nodeY, ordersZ, 8080, { bytesSent: 0, bytesReceived: a + b, retransmits: 1 })],
        });
        all.push({
          reportId: randomUUID(),
          node: 'node-y',
          ...window,
          rows: [],
          forwards: [forward(web, ordersZ, 8080, np, 2), forward(batch, ordersZ, 8080, np, 1)],
        });
      }
      await store.append(all);
      const range = { fromMs: t0, toMs: t0 + H };
      const top = (await store.topContributors({ ...range, metric: 'bytes', limit: 50, groupBy: 'flow' })).result;
      const sentA = all.flatMap((r) => r.rows).filter((r) => r.client.pod === 'web-1');
      const truthA = sentA.reduce((s, r) => s + r.bytesSent, 0);
      const truthB = all
        .flatMap((r) => r.rows)
        .filter((r) => r.client.pod === 'batch-1')
        .reduce((s, r) => s + r.bytesSent, 0);
      assert.deepEqual(
        top.map((r) => [r.local.pod, r.remote.pod, r.bytes, r.remote.service]).sort(),
        [
          ['batch-1', 'orders-z', truthB, 'svc-30080'],
          ['web-1', 'orders-z', truthA, 'svc-30080'],
        ],
        'each client its own bytes (its own view weighs the split), nothing at the node address'
      );
      const series = async (groupBy: 'total' | 'namespace', metric: 'bytes' | 'retransmits') =>
        (await store.timeseries({ ...range, metric, stepMs: 60_000, groupBy, limit: 10 })).result;
      const total = (await series('total', 'bytes'))[0]!.points.reduce((s, [, v]) => s + v, 0);
      assert.ok(Math.abs(total - (truthA + truthB)) < 1e-6, `series ${total} = merged ${truthA + truthB}`);
      const rt = (await series('total', 'retransmits'))[0]!.points.reduce((s, [, v]) => s + v, 0);
      assert.equal(rt, 20, "the backend's retransmits stay plotted (on the first share)");
      assert.equal(
        top.reduce((s, r) => s + r.retransmits, 0),
        20
      );
      // Network-policy evidence reads the same merge: the forwarded clients with the times the backend saw them.
      const observed = (await store.observedFlows!({ ...range, namespace: 'shop' })).result;
      assert.deepEqual(
        observed.map((f) => [f.client.pod, f.server.pod, f.serverPort, f.bytes, f.service]).sort(),
        [
          ['batch-1', 'orders-z', 8080, truthB, 'svc-30080'],
          ['web-1', 'orders-z', 8080, truthA, 'svc-30080'],
        ],
        'policy evidence names the clients that reached the backend, never the node address'
      );
      for (const f of observed) {
        assert.deepEqual(
          [f.firstSeenMs, f.lastSeenMs],
          [t0, t0 + 19 * 30_000],
          `${f.client.pod} seen as the backend saw it`
        );
      }
    });
  });
}
