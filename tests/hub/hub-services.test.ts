/**
 * The hub as a process, fed what kube-proxy clusters produce (report contract 1.1): a Service with two
 * backends in two zones called through its ClusterIP, a NodePort reached through another node's address,
 * a pod IP re-used by another pod, loopback on two nodes, and a report with an impossible window committed
 * beside a valid one. Metadata: tests/fixtures/metadata/services.json.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { ReportV1 } from '../../agent/src/contracts/report.js';
import { fixture, startHubProcess, type HubProcess } from '../lib/hub-process';

let hub: HubProcess;
const t0 = Math.floor((Date.now() - 8 * 60_000) / 30_000) * 30_000;
const range = `from=${t0 - 60_000}&to=${Date.now() + 60_000}`;
const CLUSTER_IP = '10.96.0.50';
const NODE_B = '192.168.20.1';

before(async () => {
  hub = await startHubProcess({
    metadataFile: fixture('metadata/services.json'),
    // The reports below name their cluster: the one this hub's metadata describes (docs/hub.md "Clusters").
    args: ['--cluster', 'test'],
  });
});
after(async () => {
  await hub?.cleanup();
});

type Flow = ReportV1['flows'][number];
const counters = {
  segmentsSent: 0,
  segmentsReceived: 0,
  retransmits: 0,
  rtos: 0,
  connectionsOpened: 1,
  connectionsClosed: 0,
};

function flow(over: Partial<Flow> & Pick<Flow, 'localIp' | 'remoteIp' | 'direction'>): Flow {
  return {
    localPort: 0,
    remotePort: 0,
    local: null,
    bytesSent: 0,
    bytesReceived: 0,
    rttUs: { min: 100, avg: 200, max: 900 },
    ...counters,
    ...over,
  };
}

function report(node: string, zone: string, w: number, flows: Flow[]): ReportV1 {
  return {
    version: 1,
    reportId: randomUUID(),
    node,
    cluster: 'test',
    zone,
    start: new Date(t0 + w * 30_000).toISOString(),
    end: new Date(t0 + (w + 1) * 30_000).toISOString(),
    flows,
    other: { bytesSent: 0, bytesReceived: 0, ...counters, connectionsOpened: 0 },
  };
}

async function post(r: ReportV1): Promise<void> {
  const res = await hub.postReport(r);
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

interface Row {
  category: string;
  local: Record<string, string | null>;
  remote: Record<string, string | null>;
  serverPort: number | null;
  bytes: number;
  rttUs: number | null;
  rttMaxUs: number | null;
}

async function rows(query = ''): Promise<Row[]> {
  const res = await hub.get(`/api/v1/top-contributors?${range}&limit=500${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.rows as Row[];
}

test('a ClusterIP with two backends in two zones: one row per backend, its own bytes, in its own category', async () => {
  // web-1 (zone a) sends 100,000 + 50,000 bytes through the ClusterIP; its node translated (via).
  const via = { ip: CLUSTER_IP, port: 80 };
  await post(
    report('node-a', 'zone-a', 0, [
      flow({
        localIp: '10.10.0.2',
        remoteIp: '10.10.0.7',
        remotePort: 8080,
        direction: 'client',
        via,
        bytesSent: 100_000,
        bytesReceived: 4000,
      }),
      flow({
        localIp: '10.10.0.2',
        remoteIp: '10.20.0.7',
        remotePort: 8080,
        direction: 'client',
        via,
        bytesSent: 50_000,
        bytesReceived: 2000,
      }),
      // orders-1's own end, on the same node (no translation seen by the server socket).
      flow({
        localIp: '10.10.0.7',
        localPort: 8080,
        remoteIp: '10.10.0.2',
        direction: 'server',
        bytesSent: 4000,
        bytesReceived: 100_000,
      }),
    ])
  );
  await post(
    report('node-b', 'zone-b', 0, [
      flow({
        localIp: '10.20.0.7',
        localPort: 8080,
        remoteIp: '10.10.0.2',
        direction: 'server',
        bytesSent: 2000,
        bytesReceived: 50_000,
      }),
    ])
  );
  const web1 = (await rows()).filter((r) => r.local.pod === 'web-1');
  assert.deepEqual(web1.map((r) => [r.remote.pod, r.category, r.bytes, r.remote.service, r.serverPort]).sort(), [
    ['orders-1', 'INTRA_AZ', 104_000, 'orders', 8080],
    ['orders-2', 'INTER_AZ', 52_000, 'orders', 8080],
  ]);
  // Across every category the client's rows hold what it sent (and got back), once.
  let sent = 0;
  for (const c of ['INTRA_AZ', 'INTER_AZ', 'UNCLASSIFIED']) {
    sent += (await rows(`&category=${c}`)).filter((r) => r.local.pod === 'web-1').reduce((s, r) => s + r.bytes, 0);
  }
  assert.equal(sent, 150_000 + 6000);
  assert.ok(
    web1.every((r) => r.rttMaxUs === 900),
    'rtt max reaches the API'
  );
  const all = await rows();
  assert.ok(
    all.every((r) => r.remote.ip !== CLUSTER_IP),
    'no row to the ClusterIP'
  );

  // Node ids carry the cluster the reports name (`test`; docs/hub.md "Clusters").
  const map = await hub.get(`/api/v1/service-map?${range}&groupBy=workload`);
  assert.equal(map.status, 200);
  const edge = (map.body.edges as Array<{ id: string; via: string | null; bytes: number }>).find(
    (e) => e.id === 'test/shop/web->test/shop/orders'
  );
  assert.equal(edge?.via, 'orders', 'the edge says "via orders"');
  const nodes = map.body.nodes as Array<{ id: string; ip: string | null }>;
  assert.ok(
    nodes.every((n) => n.id !== CLUSTER_IP && n.ip !== CLUSTER_IP),
    'no node for the ClusterIP'
  );
  const pods = await hub.get(`/api/v1/service-map?${range}&groupBy=pod`);
  assert.ok((pods.body.edges as Array<{ target: string }>).some((e) => e.target === 'test/shop/orders-2'));
});

test('a client-only view (backend on a node without an agent) lands on the backend and its zone', async () => {
  await post(
    report('node-a', 'zone-a', 1, [
      flow({
        localIp: '10.10.0.3',
        remoteIp: '10.30.0.9',
        remotePort: 8080,
        direction: 'client',
        via: { ip: CLUSTER_IP, port: 80 },
        bytesSent: 7000,
        bytesReceived: 300,
      }),
    ])
  );
  const r = (await rows()).filter((x) => x.local.pod === 'web-2' && x.remote.pod === 'orders-4');
  assert.deepEqual(
    r.map((x) => [x.remote.pod, x.remote.zone, x.category, x.bytes, x.remote.service]),
    [['orders-4', 'zone-b', 'INTER_AZ', 7300, 'orders']]
  );
});

test('a NodePort reached through another node: backend rows with exact bytes, none to the node address', async () => {
  // web-2 on node-a calls node-b's address on the NodePort: node-a does not translate.
  await post(
    report('node-a', 'zone-a', 2, [
      flow({
        localIp: '10.10.0.3',
        remoteIp: NODE_B,
        remotePort: 30080,
        direction: 'client',
        bytesSent: 30_000,
        bytesReceived: 9000,
        retransmits: 2,
      }),
    ])
  );
  // node-b translated: its backends' ends carry the original client and the address it used.
  const via = { ip: NODE_B, port: 30080 };
  await post(
    report('node-b', 'zone-b', 2, [
      flow({
        localIp: '10.20.0.7',
        localPort: 8080,
        remoteIp: '10.10.0.3',
        direction: 'server',
        via,
        bytesSent: 6000,
        bytesReceived: 20_000,
      }),
      flow({
        localIp: '10.20.0.8',
        localPort: 8080,
        remoteIp: '10.10.0.3',
        direction: 'server',
        via,
        bytesSent: 3000,
        bytesReceived: 10_000,
      }),
    ])
  );
  const web2 = (await rows()).filter((r) => r.local.pod === 'web-2');
  assert.ok(
    web2.every((r) => r.remote.ip !== NODE_B),
    'no row to the NodePort address'
  );
  const byPod = new Map(web2.map((r) => [r.remote.pod, r]));
  assert.equal(byPod.get('orders-2')?.bytes, 26_000);
  assert.equal(byPod.get('orders-2')?.category, 'INTER_AZ');
  assert.equal(byPod.get('orders-2')?.remote.service, 'orders');
  assert.equal(byPod.get('orders-3')?.bytes, 13_000);
  assert.equal(byPod.get('orders-2')!.rttMaxUs, 900);
  assert.equal(
    web2.reduce((s, r) => s + r.bytes, 0),
    30_000 + 9000 + 7300,
    "the client's bytes, each once"
  );
  const map = await hub.get(`/api/v1/service-map?${range}&groupBy=pod`);
  assert.ok(
    (map.body.nodes as Array<{ id: string }>).every((n) => n.id !== NODE_B),
    'no map node for it'
  );
});

test('a re-used pod IP: old flows keep the old name in rows, the service map and time series', async () => {
  const ip = '10.20.0.99'; // not in the metadata: named from what node-b's agent says about its own pods
  const local = (pod: string) => ({ namespace: 'shop', pod, workload: pod.replace(/-\d+$/, ''), kind: 'Deployment' });
  await post(
    report('node-b', 'zone-b', 4, [
      flow({
        localIp: ip,
        localPort: 9000,
        remoteIp: '10.10.0.2',
        direction: 'server',
        local: local('cart-1'),
        bytesReceived: 1111,
      }),
    ])
  );
  await post(
    report('node-a', 'zone-a', 4, [
      flow({ localIp: '10.10.0.2', remoteIp: ip, remotePort: 9000, direction: 'client', bytesSent: 1111 }),
    ])
  );
  await post(
    report('node-b', 'zone-b', 12, [
      flow({
        localIp: ip,
        localPort: 9000,
        remoteIp: '10.10.0.2',
        direction: 'server',
        local: local('payments-1'),
        bytesReceived: 2222,
      }),
    ])
  );
  await post(
    report('node-a', 'zone-a', 12, [
      flow({ localIp: '10.10.0.2', remoteIp: ip, remotePort: 9000, direction: 'client', bytesSent: 2222 }),
    ])
  );
  const named = (await rows()).filter((r) => r.remote.ip === ip);
  assert.deepEqual(named.map((r) => [r.remote.pod, r.bytes]).sort(), [
    ['cart-1', 1111],
    ['payments-1', 2222],
  ]);
  const map = await hub.get(`/api/v1/service-map?${range}&groupBy=workload`);
  const edges = map.body.edges as Array<{ id: string; bytes: number }>;
  assert.equal(edges.find((e) => e.id === 'test/shop/web->test/shop/cart')?.bytes, 1111);
  assert.equal(edges.find((e) => e.id === 'test/shop/web->test/shop/payments')?.bytes, 2222);
  const ts = await hub.get(`/api/v1/timeseries?${range}&groupBy=workload&step=30s&limit=20`);
  const series = ts.body.series as Array<{ name: string; points: Array<[number, number]> }>;
  assert.deepEqual(series.find((s) => s.name === 'shop/cart')?.points, [[t0 + 4 * 30_000, 1111]]);
  assert.deepEqual(series.find((s) => s.name === 'shop/payments')?.points, [[t0 + 12 * 30_000, 2222]]);
});

test("loopback on two nodes: two flows, each its node's own", async () => {
  for (const [node, zone, n] of [
    ['node-a', 'zone-a', 500],
    ['node-b', 'zone-b', 700],
  ] as const) {
    await post(
      report(node, zone, 6, [
        flow({ localIp: '127.0.0.1', remoteIp: '127.0.0.1', remotePort: 6379, direction: 'client', bytesSent: n }),
        flow({ localIp: '127.0.0.1', localPort: 6379, remoteIp: '127.0.0.1', direction: 'server', bytesReceived: n }),
      ])
    );
  }
  const lo = (await rows('&endpoint=ip:127.0.0.1')).map((r) => [r.local.node, r.remote.node, r.bytes]).sort();
  assert.deepEqual(lo, [
    ['node-a', 'node-a', 500],
    ['node-b', 'node-b', 700],
  ]);
});

test('drilldowns are filtered by the hub: every flow of a pod, of a workload pair', async () => {
  const orders2 = await rows('&endpoint=pod:shop/orders-2');
  assert.deepEqual(orders2.map((r) => r.local.pod).sort(), ['web-1', 'web-2']);
  const pair = await rows('&endpoint=workload:shop/orders&peer=pod:shop/web-2');
  assert.deepEqual(pair.map((r) => r.remote.pod).sort(), ['orders-2', 'orders-3', 'orders-4']);
  const bad = await hub.get(`/api/v1/top-contributors?${range}&endpoint=pod:orders-2`);
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /^endpoint: expected/);
});

test('a report starting in 1969 is a 422 and a valid report committed beside it is stored', async () => {
  const good = report('node-a', 'zone-a', 8, [
    flow({ localIp: '10.10.0.2', remoteIp: '203.0.113.5', remotePort: 443, direction: 'client', bytesSent: 4242 }),
  ]);
  const bad = { ...good, reportId: randomUUID(), start: '1969-12-31T23:59:30Z', end: '1970-01-01T00:00:00Z' };
  const days = { ...good, reportId: randomUUID(), start: new Date(Date.now() - 3 * 86400_000).toISOString() };
  const [g, b, d] = await Promise.all([hub.postReport(good), hub.postReport(bad), hub.postReport(days)]);
  assert.equal(g.status, 200);
  assert.equal(b.status, 422);
  assert.match(b.body.error, /^start: before 2000/);
  assert.equal(d.status, 422);
  const ext = (await rows('&endpoint=ip:203.0.113.5')).map((r) => [r.category, r.bytes]);
  assert.deepEqual(ext, [['UNCLASSIFIED', 4242]]);
  const health = await hub.get('/api/v1/health');
  assert.equal(health.body.reports.failedCommits, 0);
});
