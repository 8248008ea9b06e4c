import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Endpoint, FlowRow, Side } from './flow-store.js';
import { emptyCounters } from '../contracts/report.js';
import { mergeCategories } from '../classify/category.js';
import { failureScore, isLoopback, mergeFlows } from './merge.js';

const end = (ip: string): Endpoint => ({
  ip,
  pod: null,
  namespace: null,
  workload: null,
  kind: null,
  node: null,
  zone: null,
  service: null,
});

function row(side: Side, c: Partial<FlowRow>): FlowRow {
  return {
    clientIp: '10.0.0.1',
    serverIp: '10.0.0.2',
    serverPort: 80,
    side,
    category: 'INTRA_AZ',
    client: end('10.0.0.1'),
    server: end('10.0.0.2'),
    ...emptyCounters(),
    rttAvgUs: null,
    rttMaxUs: null,
    ...c,
  };
}

test('segments follow the bytes rule: the larger view of each direction, both directions added', () => {
  const [f] = mergeFlows([
    // The client sent 12 segments (2 of them retransmissions) and received 40; the server saw 10 arrive and sent 41.
    row('client', { bytesSent: 10_000, bytesReceived: 50_000, segmentsSent: 12, segmentsReceived: 40, retransmits: 2 }),
    row('server', { bytesSent: 50_000, bytesReceived: 10_000, segmentsSent: 41, segmentsReceived: 10, retransmits: 1 }),
  ]).values();
  assert.equal(f?.segments, 12 + 41);
  assert.equal(f?.bytes, 60_000);
  assert.equal(f?.retransmits, 3);
});

test('segments over several windows sum each end first, then take the larger view', () => {
  const [f] = mergeFlows([
    row('client', { segmentsSent: 5, segmentsReceived: 1 }),
    row('client', { segmentsSent: 5, segmentsReceived: 1 }),
    row('server', { segmentsSent: 3, segmentsReceived: 9 }), // a server window missing: its view is smaller
  ]).values();
  assert.equal(f?.segments, Math.max(10, 9) + Math.max(3, 2));
});

test('with one end monitored, its own segment counts stand', () => {
  const [f] = mergeFlows([row('client', { segmentsSent: 7, segmentsReceived: 30 })]).values();
  assert.equal(f?.segments, 37);
});

const pod = (ip: string, name: string, zone = 'za'): Endpoint => ({
  ...end(ip),
  pod: name,
  namespace: 'shop',
  workload: name.replace(/-\d+$/, ''),
  kind: 'Deployment',
  node: `node-${zone}`,
  zone,
});

test('a client view of a Service address is absorbed by the backends reached through it (NodePort via another node)', () => {
  const client = pod('10.0.0.1', 'web-1');
  const nodeB = { ...end('192.168.0.2'), kind: 'Node', node: 'node-b', zone: 'zb' };
  const b1 = pod('10.0.1.1', 'orders-1', 'za');
  const b2 = pod('10.0.2.1', 'orders-2', 'zb');
  const via = { ip: '192.168.0.2', port: 30080, endpoint: { ...nodeB, kind: 'Service', service: 'orders' } };
  const flows = mergeFlows([
    // The client's node did not translate: its socket talked to node B's address and the NodePort.
    row('client', {
      client,
      server: nodeB,
      clientIp: client.ip,
      serverIp: nodeB.ip,
      serverPort: 30080,
      bytesSent: 3000,
      bytesReceived: 30_000,
      segmentsSent: 3,
      segmentsReceived: 30,
      retransmits: 2,
      category: 'INTER_AZ',
    }),
    // Node B translated: the backends' sockets saw the original client, via = the address it used.
    row('server', {
      client,
      server: b1,
      clientIp: client.ip,
      serverIp: b1.ip,
      serverPort: 8080,
      via,
      bytesSent: 20_000,
      bytesReceived: 2000,
      segmentsSent: 20,
      segmentsReceived: 2,
      retransmits: 1,
      category: 'INTRA_AZ',
    }),
    row('server', {
      client,
      server: b2,
      clientIp: client.ip,
      serverIp: b2.ip,
      serverPort: 8080,
      via,
      bytesSent: 10_000,
      bytesReceived: 1000,
      segmentsSent: 10,
      segmentsReceived: 1,
      category: 'INTER_AZ',
    }),
  ]);
  const all = [...flows.values()];
  assert.equal(all.length, 2, 'no flow to the NodePort address');
  const f1 = all.find((f) => f.server.ip === b1.ip)!;
  const f2 = all.find((f) => f.server.ip === b2.ip)!;
  assert.equal(f1.bytes, 22_000, 'each backend keeps exactly its own bytes');
  assert.equal(f2.bytes, 11_000);
  assert.equal(f1.bytes + f2.bytes, 33_000, "the client's bytes, counted once");
  assert.equal(f1.retransmits, 1 + 2, "the client's retransmissions go to the largest backend");
  assert.equal(f2.retransmits, 0);
  assert.equal(f1.segments + f2.segments, 33);
  assert.deepEqual([f1.category, f2.category, f1.service, f2.service], ['INTRA_AZ', 'INTER_AZ', 'orders', 'orders']);
});

test('what the client view saw beyond its backends (a missing server window) is kept, on the largest backend', () => {
  const client = pod('10.0.0.1', 'web-1');
  const svc = end('10.96.0.10');
  const b1 = pod('10.0.1.1', 'orders-1');
  const via = { ip: svc.ip, port: 80, endpoint: { ...svc, kind: 'Service', service: 'orders' } };
  const flows = [
    ...mergeFlows([
      row('client', { client, server: svc, serverIp: svc.ip, serverPort: 80, bytesSent: 5000, bytesReceived: 9000 }),
      row('server', {
        client,
        server: b1,
        serverIp: b1.ip,
        serverPort: 8080,
        via,
        bytesSent: 4000,
        bytesReceived: 2000,
      }),
    ]).values(),
  ];
  assert.equal(flows.length, 1);
  assert.equal(flows[0]!.bytes, Math.max(5000, 2000) + Math.max(9000, 4000));
});

test('a client-only view translated by its own node lands on the backend, named after it, with the Service', () => {
  const client = pod('10.0.0.1', 'web-1');
  const b1 = pod('10.0.1.1', 'orders-1', 'zb');
  const via = { ip: '10.96.0.10', port: 80, endpoint: { ...end('10.96.0.10'), kind: 'Service', service: 'orders' } };
  const [f] = mergeFlows([
    row('client', {
      client,
      server: b1,
      serverIp: b1.ip,
      serverPort: 8080,
      via,
      bytesSent: 10,
      bytesReceived: 20,
      category: 'INTER_AZ',
    }),
  ]).values();
  assert.deepEqual([f!.server.pod, f!.service, f!.category, f!.bytes], ['orders-1', 'orders', 'INTER_AZ', 30]);
});

test('a re-used pod IP is another flow: old rows keep the old name', () => {
  const client = pod('10.0.0.1', 'web-1');
  const cart = pod('10.0.1.1', 'cart-1');
  const orders = pod('10.0.1.1', 'orders-1');
  const flows = [
    ...mergeFlows([
      row('client', { client, server: cart, bytesSent: 100 }),
      row('client', { client, server: orders, bytesSent: 7 }),
    ]).values(),
  ];
  assert.deepEqual(flows.map((f) => [f.server.pod, f.bytes]).sort(), [
    ['cart-1', 100],
    ['orders-1', 7],
  ]);
});

test('loopback flows of two nodes are never merged', () => {
  const lo = (node: string): Endpoint => ({ ...end('127.0.0.1'), node });
  const flows = mergeFlows([
    row('client', { client: lo('a'), server: lo('a'), serverIp: '127.0.0.1', clientIp: '127.0.0.1', bytesSent: 5 }),
    row('server', { client: lo('a'), server: lo('a'), serverIp: '127.0.0.1', clientIp: '127.0.0.1', bytesReceived: 5 }),
    row('client', { client: lo('b'), server: lo('b'), serverIp: '127.0.0.1', clientIp: '127.0.0.1', bytesSent: 9 }),
  ]);
  assert.deepEqual([...flows.values()].map((f) => f.bytes).sort(), [5, 9]);
  assert.equal(isLoopback('::1'), true);
  assert.equal(isLoopback('127.8.0.1'), true);
  assert.equal(isLoopback('128.0.0.1'), false);
});

test('a flow has one category, decided after its ends are merged', () => {
  const [f] = mergeFlows([
    row('client', { category: 'UNCLASSIFIED', bytesSent: 1 }), // the server's zone was not known yet
    row('server', { category: 'INTER_AZ', bytesReceived: 1 }),
  ]).values();
  assert.equal(f!.category, 'INTER_AZ');
  assert.equal(mergeCategories(['UNCLASSIFIED', 'INTRA_AZ']), 'INTRA_AZ');
  assert.equal(mergeCategories(['AMAZON_S3', 'UNCLASSIFIED']), 'AMAZON_S3');
});

test('failures: connects are the client end’s, a reset seen by both ends counts once, drops add up per reason', () => {
  const [f] = mergeFlows([
    // 3 attempts, 2 failed (1 refused), 4 SYN retransmissions; the client reset the connection once and was reset
    // twice; 5 packets dropped by a netfilter rule on the client's node.
    row('client', {
      connectAttempts: 3,
      connectFailures: 2,
      connectRefused: 1,
      synRetransmits: 4,
      resetsSent: 1,
      resetsReceived: 2,
      drops: { NETFILTER_DROP: 5 },
    }),
    // The server saw the client's reset (received 1) and sent 2 — the same three resets — plus its own drops.
    row('server', { resetsSent: 2, resetsReceived: 1, drops: { NETFILTER_DROP: 1, TCP_INVALID_SEQUENCE: 2 } }),
  ]).values();
  assert.equal(f?.connectAttempts, 3);
  assert.equal(f?.connectFailures, 2);
  assert.equal(f?.connectRefused, 1);
  assert.equal(f?.synRetransmits, 4);
  assert.equal(f?.resetsFromClient, 1, 'never counted twice');
  assert.equal(f?.resetsFromServer, 2);
  assert.deepEqual(f?.dropsByReason, { NETFILTER_DROP: 6, TCP_INVALID_SEQUENCE: 2 });
  assert.equal(f?.drops, 8);
  assert.equal(failureScore(f!), 2 + 1 + 2 + 8);
});

test('failures: when one end missed a reset the other saw, the larger view stands; absent counters are 0', () => {
  const [f] = mergeFlows([
    row('client', { resetsReceived: 1 }),
    row('client', {}), // a report of an agent before contract 1.2
    row('server', { resetsSent: 3, connectAttempts: 9 }), // a server end never opens: its attempts are not the flow's
  ]).values();
  assert.equal(f?.resetsFromServer, 3);
  assert.equal(f?.resetsFromClient, 0);
  assert.equal(f?.connectAttempts, 0);
  assert.deepEqual(f?.dropsByReason, {});
  assert.equal(f?.drops, 0);
});
