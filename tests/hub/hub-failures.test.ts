/**
 * Why connections and packets failed (report contract 1.2, hub API 1.3), through a real hub process: the three-node
 * fixture reports with failure counters added by hand, as a node agent reports them. The hub's answers are
 * compared with those hand-set numbers (the ground truth here): connects are the client's, a reset both ends
 * saw counts once, drops add up per kernel reason from both ends, and `metric=failures` lists failing flows
 * first. A report without the fields (an agent before 1.2) counts zero.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FlowRecord, ReportV1 } from '../../agent/src/contracts/report.js';
import { fixture, startHubProcess, type HubProcess } from '../lib/hub-process';
import { fixtureReports } from '../lib/report-fixtures';

let hub: HubProcess;
const windowStart = Date.now() - 3 * 60_000;
const range = `from=${windowStart - 60_000}&to=${Date.now() + 60_000}`;

interface Row {
  local: { ip: string | null; workload: string | null };
  remote: { ip: string | null; workload: string | null };
  serverPort: number | null;
  value: number;
  connectAttempts: number;
  connectFailures: number;
  connectRefused: number;
  synRetransmits: number;
  resetsFromClient: number;
  resetsFromServer: number;
  resets: number;
  drops: number;
  dropsByReason: Record<string, number>;
  failures: number;
}

const flowTo = (r: ReportV1, direction: 'client' | 'server', ip: string, port: number): FlowRecord => {
  const f = r.flows.find((x) =>
    direction === 'client'
      ? x.direction === 'client' && x.remoteIp === ip && x.remotePort === port
      : x.direction === 'server' && x.localIp === ip && x.localPort === port
  );
  assert.ok(f, `fixture flow ${direction} ${ip}:${port}`);
  return f;
};

before(async () => {
  hub = await startHubProcess({
    metadataFile: fixture('metadata/three-nodes.json'),
    ipRangesFile: fixture('ip-ranges-override.json'),
  });
  const [a1, a2, b1] = fixtureReports({ startMs: windowStart, newId: true });
  // frontend → cart:8080, both ends monitored. The client tried 14 connects: 2 got no answer (3 SYN
  // retransmissions), 1 was refused; it reset one connection and was reset twice by cart, which saw the same
  // three resets from its side. A netfilter rule on the client's node dropped 6 packets, and cart's node dropped
  // 2 with a bad sequence number.
  Object.assign(flowTo(a1!, 'client', '10.1.2.20', 8080), {
    connectAttempts: 14,
    connectFailures: 3,
    connectRefused: 1,
    synRetransmits: 3,
    resetsSent: 1,
    resetsReceived: 2,
    drops: { NETFILTER_DROP: 6 },
  });
  Object.assign(flowTo(a2!, 'server', '10.1.2.20', 8080), {
    resetsSent: 2,
    resetsReceived: 1,
    drops: { TCP_INVALID_SEQUENCE: 2 },
  });
  // frontend → orders:9090 (other zone): orders' node dropped 4 packets for a policy; the client saw a reset
  // that orders' agent missed (its report for the window is the fixture's, without the fields).
  Object.assign(flowTo(a1!, 'client', '10.2.1.30', 9090), { connectAttempts: 4, resetsReceived: 1 });
  Object.assign(flowTo(b1!, 'server', '10.2.1.30', 9090), { drops: { NETFILTER_DROP: 4 } });
  for (const r of [a1, a2, b1]) {
    const res = await hub.postReport(r);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
});
after(async () => {
  await hub?.cleanup();
});

test('top-contributors: failure fields merged by the rule, failing flows first with metric=failures', async () => {
  const res = await hub.get(`/api/v1/top-contributors?${range}&metric=failures&limit=500`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const rows = res.body.rows as Row[];
  assert.equal(rows.length, 5);
  const [cart, orders, ...rest] = rows;
  assert.equal(cart?.remote.ip, '10.1.2.20', 'the flow with most failures first');
  assert.deepEqual(
    {
      attempts: cart?.connectAttempts,
      failures: cart?.connectFailures,
      refused: cart?.connectRefused,
      syn: cart?.synRetransmits,
      fromClient: cart?.resetsFromClient,
      fromServer: cart?.resetsFromServer,
      resets: cart?.resets,
      drops: cart?.drops,
      byReason: cart?.dropsByReason,
    },
    {
      attempts: 14,
      failures: 3,
      refused: 1,
      syn: 3,
      fromClient: 1,
      fromServer: 2,
      resets: 3, // both ends saw them: counted once
      drops: 8,
      byReason: { NETFILTER_DROP: 6, TCP_INVALID_SEQUENCE: 2 },
    }
  );
  assert.equal(cart?.value, 3 + 3 + 8);
  assert.equal(cart?.failures, 3 + 3 + 8);

  assert.equal(orders?.remote.ip, '10.2.1.30');
  assert.deepEqual([orders?.connectAttempts, orders?.resetsFromServer, orders?.resets], [4, 1, 1]);
  assert.deepEqual(orders?.dropsByReason, { NETFILTER_DROP: 4 }, 'drops on the server node count for the flow');
  assert.equal(orders?.value, 1 + 4);

  for (const r of rest) {
    assert.deepEqual(
      [r.connectAttempts, r.resets, r.drops, r.failures, r.value, r.dropsByReason],
      [0, 0, 0, 0, 0, {}],
      `${r.remote.ip}: reports without the fields count zero`
    );
  }

  const grouped = await hub.get(`/api/v1/top-contributors?${range}&metric=failures&groupBy=workload&limit=500`);
  const frontendCart = (grouped.body.rows as Row[]).find((r) => r.remote.workload === 'cart');
  assert.equal(frontendCart?.failures, 14);
  assert.deepEqual(frontendCart?.dropsByReason, { NETFILTER_DROP: 6, TCP_INVALID_SEQUENCE: 2 });
});

test('service-map edges and time series carry the same failures', async () => {
  const map = await hub.get(`/api/v1/service-map?${range}`);
  assert.equal(map.status, 200);
  const edges = map.body.edges as Array<Row & { id: string }>;
  const cart = edges.find((e) => e.id === 'shop/frontend->shop/cart');
  assert.deepEqual(
    [cart?.connectFailures, cart?.resets, cart?.drops, cart?.dropsByReason],
    [3, 3, 8, { NETFILTER_DROP: 6, TCP_INVALID_SEQUENCE: 2 }]
  );
  assert.equal(
    edges.reduce((s, e) => s + e.failures, 0),
    14 + 5
  );
  const series = await hub.get(`/api/v1/timeseries?${range}&metric=failures&step=30s`);
  assert.equal(series.status, 200, JSON.stringify(series.body));
  const points = (series.body.series as Array<{ points: Array<[number, number]> }>).flatMap((s) => s.points);
  assert.equal(
    points.reduce((s, [, v]) => s + v, 0),
    14 + 5,
    'failures per step add up to the total'
  );
  const bad = await hub.get(`/api/v1/top-contributors?${range}&metric=drops`);
  assert.equal(bad.status, 400);
  assert.match(String(bad.body.error ?? JSON.stringify(bad.body)), /metric: expected one of .*failures/);
});
