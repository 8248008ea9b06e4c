import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Endpoint, FlowRow, Side } from './flow-store.js';
import { emptyCounters } from '../contracts/report.js';
import { mergeFlows } from './merge.js';

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
