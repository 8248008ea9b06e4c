import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COUNTER_NAMES, emptyCounters, reportV1Schema } from '../contracts/report.js';
import { buildReport, compareFlows } from './build.js';
import { ReportWindow, type WindowFlow } from './window.js';

function flow(i: number, over: Partial<WindowFlow> = {}): WindowFlow {
  return {
    localIp: '10.0.0.1',
    remoteIp: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    serverPort: 443,
    direction: 'client',
    ...emptyCounters(),
    bytesSent: 1000 + i,
    bytesReceived: 10 * i,
    segmentsSent: i,
    segmentsReceived: 2 * i,
    connectionsOpened: 1,
    connectionsClosed: i % 2,
    rttSumUs: 0,
    rttSamples: 0,
    rttMinUs: Number.POSITIVE_INFINITY,
    rttMaxUs: 0,
    ...over,
  };
}

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

test('loss first (retransmits + 2·rtos), then bytes', () => {
  const a = flow(1, { retransmits: 3 });
  const b = flow(2, { rtos: 2 }); // score 4
  const c = flow(3, { bytesSent: 10_000_000 });
  const d = flow(4, { retransmits: 4 }); // score 4, fewer bytes than b? no: same score, b has fewer bytes
  const sorted = [a, b, c, d].sort(compareFlows);
  assert.deepEqual(
    sorted.map((f) => f.remoteIp),
    [d.remoteIp, b.remoteIp, a.remoteIp, c.remoteIp]
  );
});

test('top N are kept, the rest summed into other: totals are exact', () => {
  const flows = Array.from({ length: 1234 }, (_, i) => flow(i, { retransmits: i % 7, rtos: i % 3 }));
  const report = buildReport({ node: 'n1', zone: 'az1', start: at(0), end: at(30), flows, topN: 500 });
  reportV1Schema.parse(report);
  assert.equal(report.flows.length, 500);
  assert.equal(report.other.flows, 734);
  for (const name of COUNTER_NAMES) {
    const total = flows.reduce((s, f) => s + f[name], 0);
    const reported = report.flows.reduce((s, f) => s + f[name], 0) + report.other[name];
    assert.equal(reported, total, name);
  }
  // every kept flow ranks at least as high as every summed one
  const worstKept = report.flows[report.flows.length - 1]!;
  const keptScore = worstKept.retransmits + 2 * worstKept.rtos;
  const restMax = Math.max(
    ...flows.filter((f) => !report.flows.some((r) => r.remoteIp === f.remoteIp)).map((f) => f.retransmits + 2 * f.rtos)
  );
  assert.ok(keptScore >= restMax);
});

test('fewer flows than N: other is zero with flows 0', () => {
  const report = buildReport({ node: 'n1', zone: null, start: at(0), end: at(30), flows: [flow(1), flow(2)] });
  assert.equal(report.flows.length, 2);
  assert.deepEqual(report.other, { ...emptyCounters(), flows: 0 });
  assert.equal(report.start, '2026-01-01T00:00:00.000Z');
  assert.equal(report.end, '2026-01-01T00:00:30.000Z');
});

test('ports: the server port on the server side, 0 for the client ephemeral side; local workload filled', () => {
  const report = buildReport({
    node: 'n1',
    zone: null,
    start: at(0),
    end: at(30),
    flows: [flow(1, { direction: 'server', serverPort: 8080 }), flow(2, { serverPort: 5432 })],
    localOf: (ip) =>
      ip === '10.0.0.1' ? { namespace: 'shop', pod: 'api-1', workload: 'api', kind: 'Deployment' } : null,
  });
  const server = report.flows.find((f) => f.direction === 'server')!;
  const client = report.flows.find((f) => f.direction === 'client')!;
  assert.equal(server.localPort, 8080);
  assert.equal(server.remotePort, 0);
  assert.equal(client.localPort, 0);
  assert.equal(client.remotePort, 5432);
  assert.deepEqual(client.local, { namespace: 'shop', pod: 'api-1', workload: 'api', kind: 'Deployment' });
});

test('the window sums ticks per flow and weights RTT by samples', () => {
  const w = new ReportWindow();
  const key = { localIp: '10.0.0.1', remoteIp: '10.0.0.2', serverPort: 80, direction: 'client' as const };
  w.add({
    start: at(0),
    end: at(5),
    flows: [
      {
        ...key,
        ...emptyCounters(),
        bytesSent: 100,
        retransmits: 1,
        rttUs: { min: 10, avg: 20, max: 30 },
        rttSamples: 3,
      },
    ],
  });
  w.add({
    start: at(5),
    end: at(10),
    flows: [{ ...key, ...emptyCounters(), bytesSent: 50, rtos: 1, rttUs: { min: 5, avg: 60, max: 90 }, rttSamples: 1 }],
  });
  assert.equal(w.start?.toISOString(), at(0).toISOString());
  assert.equal(w.end?.toISOString(), at(10).toISOString());
  const flows = w.take();
  assert.equal(flows.length, 1);
  const report = buildReport({ node: 'n', zone: null, start: at(0), end: at(10), flows });
  const f = report.flows[0]!;
  assert.equal(f.bytesSent, 150);
  assert.equal(f.retransmits, 1);
  assert.equal(f.rtos, 1);
  assert.deepEqual(f.rttUs, { min: 5, avg: 30, max: 90 }); // (20·3 + 60·1) / 4
  assert.equal(w.size, 0);
  assert.equal(w.start?.toISOString(), at(10).toISOString(), 'next window starts where this one ended');
});

test('a translated flow keeps its via apart from the same backend reached directly, and the report carries it', () => {
  const w = new ReportWindow();
  const key = { localIp: '10.0.0.1', remoteIp: '10.2.0.7', serverPort: 8080, direction: 'client' as const };
  const via = { ip: '10.96.0.10', port: 80 };
  const tick = (bytes: number, v: typeof via | null) => ({
    start: at(0),
    end: at(5),
    flows: [{ ...key, ...emptyCounters(), bytesSent: bytes, rttUs: null, via: v }],
  });
  w.add(tick(100, via));
  w.add(tick(10, via));
  w.add(tick(7, null));
  const report = reportV1Schema.parse(
    buildReport({ node: 'n', zone: null, start: at(0), end: at(5), flows: w.take() })
  );
  const viaService = report.flows.find((f) => f.via);
  const direct = report.flows.find((f) => !f.via);
  assert.deepEqual(viaService?.via, via);
  assert.equal(viaService?.bytesSent, 110);
  assert.equal(viaService?.remoteIp, '10.2.0.7', 'keyed by the backend');
  assert.equal(viaService?.remotePort, 8080);
  assert.equal(direct?.via, null);
  assert.equal(direct?.bytesSent, 7);
});

test('failure counters (contract 1.2): in the record where non-zero, summed into other, and they rank a flow as loss', () => {
  const failing = flow(1, {
    bytesSent: 0,
    bytesReceived: 0,
    connectionsOpened: 0,
    connectAttempts: 3,
    connectFailures: 3,
    synRetransmits: 6,
    drops: { NETFILTER_DROP: 9 },
  });
  const big = flow(2, { bytesSent: 50_000_000 });
  const rest = [
    flow(3, { resetsReceived: 1, drops: { NO_SOCKET: 3 } }),
    flow(4, { resetsSent: 1, drops: { NO_SOCKET: 1, NETFILTER_DROP: 1 } }),
  ];
  const report = buildReport({
    node: 'n1',
    zone: null,
    start: at(0),
    end: at(30),
    flows: [big, ...rest, failing],
    topN: 2,
  });
  assert.ok(reportV1Schema.safeParse(report).success);
  // the failing flow comes first although it carried no byte; then the flow with one reset and three drops
  assert.equal(report.flows[0]!.remoteIp, failing.remoteIp);
  assert.equal(report.flows[0]!.connectFailures, 3);
  assert.equal(report.flows[0]!.synRetransmits, 6);
  assert.deepEqual(report.flows[0]!.drops, { NETFILTER_DROP: 9 });
  assert.equal(report.flows[1]!.remoteIp, rest[0]!.remoteIp);
  assert.equal('connectRefused' in report.flows[0]!, false, 'zero counters stay absent');
  assert.equal(report.other.flows, 2);
  assert.equal(report.other.resetsSent, 1);
  assert.deepEqual(report.other.drops, { NO_SOCKET: 1, NETFILTER_DROP: 1 });
  assert.equal(report.other.bytesSent, big.bytesSent + rest[1]!.bytesSent);
});

test('the report window adds failure counters over ticks', () => {
  const w = new ReportWindow();
  const base = { localIp: '10.0.0.1', remoteIp: '10.0.0.2', serverPort: 80, direction: 'client' as const, rttUs: null };
  w.add({
    start: at(0),
    end: at(5),
    flows: [{ ...base, ...emptyCounters(), connectFailures: 1, drops: { NO_SOCKET: 1 } }],
  });
  w.add({
    start: at(5),
    end: at(10),
    flows: [{ ...base, ...emptyCounters(), connectFailures: 2, drops: { NO_SOCKET: 2, NETFILTER_DROP: 1 } }],
  });
  const [f] = w.take();
  assert.equal(f!.connectFailures, 3);
  assert.deepEqual(f!.drops, { NO_SOCKET: 3, NETFILTER_DROP: 1 });
});

test("the node's cluster (contract 1.1) is on the report when set, absent otherwise", () => {
  const base = { node: 'n1', zone: null, start: at(0), end: at(30), flows: [flow(1)] };
  const withCluster = buildReport({ ...base, cluster: 'eu-prod' });
  assert.equal(withCluster.cluster, 'eu-prod');
  assert.ok(reportV1Schema.safeParse(withCluster).success);
  assert.ok(!('cluster' in buildReport(base)));
});
