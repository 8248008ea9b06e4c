/**
 * The hub as a process, fed a NodePort (externalTrafficPolicy Cluster) called at node-b's address and forwarded,
 * SNATed, to orders-4 on node-c (report contract 1.2 `forwards`): web-1's node saw node-b:30080, node-c saw
 * node-b's address as the client, and node-b reported the connections it forwarded. The rows name the backend and
 * the Service, by zone, exact, with nothing at the node address; a report with a malformed forward is a 422 and
 * stores nothing.
 * Metadata: tests/fixtures/metadata/services.json.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { ReportV1 } from '../../agent/src/contracts/report.js';
import { fixture, startHubProcess, type HubProcess } from '../lib/hub-process';

let hub: HubProcess;
const t0 = Math.floor((Date.now() - 6 * 60_000) / 30_000) * 30_000;
const range = `from=${t0 - 60_000}&to=${Date.now() + 60_000}`;
const NODE_B = '192.168.20.1';
const WEB_1 = '10.10.0.2';
const ORDERS_4 = '10.30.0.9';

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
const zero = {
  segmentsSent: 0,
  segmentsReceived: 0,
  retransmits: 0,
  rtos: 0,
  connectionsOpened: 1,
  connectionsClosed: 1,
};

function flow(over: Partial<Flow> & Pick<Flow, 'localIp' | 'remoteIp' | 'direction'>): Flow {
  return { localPort: 0, remotePort: 0, local: null, bytesSent: 0, bytesReceived: 0, rttUs: null, ...zero, ...over };
}

function report(node: string, zone: string, w: number, flows: Flow[], forwards?: ReportV1['forwards']): ReportV1 {
  return {
    version: 1,
    reportId: randomUUID(),
    node,
    cluster: 'test',
    zone,
    start: new Date(t0 + w * 30_000).toISOString(),
    end: new Date(t0 + (w + 1) * 30_000).toISOString(),
    flows,
    other: { bytesSent: 0, bytesReceived: 0, ...zero, connectionsOpened: 0, connectionsClosed: 0 },
    ...(forwards ? { forwards } : {}),
  };
}

interface Row {
  category: string;
  local: { ip: string | null; pod: string | null };
  remote: { ip: string | null; pod: string | null; zone: string | null; service: string | null };
  bytes: number;
}

test('a NodePort forwarded to another node lands on the backend it reached, exact, by zone, via the Service', async () => {
  let sent = 0;
  for (let w = 0; w < 4; w++) {
    const bytes = 100_000 * (w + 1) + w;
    sent += bytes + 7;
    const client = flow({
      localIp: WEB_1,
      remoteIp: NODE_B,
      remotePort: 30080,
      direction: 'client',
      bytesSent: bytes,
      bytesReceived: 7,
    });
    const server = flow({
      localIp: ORDERS_4,
      localPort: 8080,
      remoteIp: NODE_B,
      direction: 'server',
      bytesSent: 7,
      bytesReceived: bytes,
    });
    const forward = {
      clientIp: WEB_1,
      via: { ip: NODE_B, port: 30080 },
      backendIp: ORDERS_4,
      backendPort: 8080,
      snatIp: NODE_B,
      connections: 1,
    };
    for (const r of [
      report('node-a', 'zone-a', w, [client]),
      report('node-c', 'zone-b', w, [server]),
      report('node-b', 'zone-b', w, [], [forward]),
    ]) {
      const res = await hub.postReport(r);
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
  }
  const top = await hub.get(`/api/v1/top-contributors?metric=bytes&${range}&limit=50`);
  assert.equal(top.status, 200, JSON.stringify(top.body));
  const rows = (top.body as { rows: Row[] }).rows;
  assert.deepEqual(
    rows.map((r) => [r.category, r.local.pod, r.remote.pod, r.remote.zone, r.remote.service, r.bytes]),
    [['INTER_AZ', 'web-1', 'orders-4', 'zone-b', 'orders', sent]],
    JSON.stringify(rows)
  );
  const map = await hub.get(`/api/v1/service-map?groupBy=pod&${range}`);
  const graph = map.body as {
    nodes: Array<{ id: string; ip: string | null }>;
    edges: Array<{ source: string; target: string; via: string | null; bytes: number }>;
  };
  assert.deepEqual(
    graph.edges.map((e) => [e.source, e.target, e.via, e.bytes]),
    [['test/shop/web-1', 'test/shop/orders-4', 'orders', sent]] // node ids in the reports' cluster, `test`
  );
  assert.ok(
    graph.nodes.every((n) => n.ip !== NODE_B),
    'no map node at the node address'
  );
});

test('a malformed forward is a 422 naming the field, and nothing of that report is stored', async () => {
  const bad = report(
    'node-b',
    'zone-b',
    5,
    [],
    [
      {
        clientIp: WEB_1,
        via: { ip: NODE_B, port: 30080 },
        backendIp: 'orders-4',
        backendPort: 8080,
        snatIp: NODE_B,
        connections: 1,
      },
    ]
  );
  const res = await hub.postReport(bad);
  assert.equal(res.status, 422);
  assert.match(JSON.stringify(res.body), /forwards\.0\.backendIp/);
  const again = await hub.postReport({ ...bad, forwards: [] });
  assert.equal(again.status, 200, 'the same report id was not stored by the refused attempt');
});
