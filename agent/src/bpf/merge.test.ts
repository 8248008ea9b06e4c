import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CollectParser, parseFlow } from './protocol.js';

const STATS = 'stats 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0';

test("one tick's lines naming the same flow are summed: counters, RTT sums and counts, min and max", () => {
  const p = new CollectParser();
  // flow local remote port dir sent recv segsS segsR retr rtos opened closed rttSum rttCnt rttMin rttMax via viaPort
  assert.equal(p.push('flow 10.0.0.2 10.0.0.1 8080 client 100 200 1 2 0 0 1 1 300 3 50 200 - 0'), null);
  p.push('flow 10.0.0.2 10.0.0.1 8080 client 1000 2000 10 20 1 1 1 0 0 0 0 0 - 0'); // no RTT sample
  p.push('flow 10.0.0.2 10.0.0.1 8080 client 5 5 1 1 0 0 0 1 80 2 30 50 - 0');
  p.push('flow 10.0.0.1 10.0.0.2 8080 server 7 7 1 1 0 0 1 1 0 0 0 0 - 0'); // the other end: its own flow
  p.push('flow 10.0.0.2 10.0.0.1 8080 client 1 1 1 1 0 0 0 0 10 1 20 20 10.96.0.10 80'); // translated: another
  p.push('fail 10.0.0.2 10.0.0.1 8080 client - 0 - 2 1 1 0 0 0 0');
  p.push('fail 10.0.0.2 10.0.0.1 8080 client - 0 - 3 2 0 1 1 0 0');
  p.push('fail 10.0.0.2 10.0.0.1 8080 client - 0 NO_SOCKET 0 0 0 0 0 0 4');
  p.push('fail 10.0.0.2 10.0.0.1 8080 client - 0 NO_SOCKET 0 0 0 0 0 0 5');
  p.push('fail 10.0.0.2 10.0.0.1 8080 client - 0 TCP_CLOSE 0 0 0 0 0 0 1');
  p.push(STATS);
  const r = p.push('end')!;
  assert.equal(r.flows.length, 3);
  assert.deepEqual(r.flows[0], {
    localIp: '10.0.0.2',
    remoteIp: '10.0.0.1',
    serverPort: 8080,
    direction: 'client',
    bytesSent: 1105,
    bytesReceived: 2205,
    segmentsSent: 12,
    segmentsReceived: 23,
    retransmits: 1,
    rtos: 1,
    connectionsOpened: 2,
    connectionsClosed: 2,
    rttSumUs: 380,
    rttCount: 5,
    rttMinUs: 30,
    rttMaxUs: 200,
    via: null,
  });
  assert.equal(r.flows[1]!.direction, 'server');
  assert.deepEqual(r.flows[2]!.via, { ip: '10.96.0.10', port: 80 });
  assert.equal(r.failures!.length, 3);
  const [conn, noSocket, close] = r.failures!;
  assert.deepEqual(
    [conn!.connectAttempts, conn!.connectFailures, conn!.connectRefused, conn!.synRetransmits, conn!.resetsSent],
    [5, 3, 1, 1, 1]
  );
  assert.deepEqual([noSocket!.reason, noSocket!.drops], ['NO_SOCKET', 9]);
  assert.deepEqual([close!.reason, close!.drops], ['TCP_CLOSE', 1]);
});

test('the first entry with RTT samples sets min and max; entries without samples leave them alone', () => {
  const p = new CollectParser();
  p.push('flow 10.0.0.2 10.0.0.1 8080 client 1 1 1 1 0 0 0 0 0 0 0 0 - 0');
  p.push('flow 10.0.0.2 10.0.0.1 8080 client 1 1 1 1 0 0 0 0 400 2 150 250 - 0');
  p.push('flow 10.0.0.2 10.0.0.1 8080 client 1 1 1 1 0 0 0 0 0 0 0 0 - 0');
  p.push(STATS);
  const f = p.push('end')!.flows[0]!;
  assert.deepEqual([f.rttSumUs, f.rttCount, f.rttMinUs, f.rttMaxUs], [400, 2, 150, 250]);
});

test('the next tick starts empty', () => {
  const p = new CollectParser();
  p.push('flow 10.0.0.2 10.0.0.1 8080 client 1 1 1 1 0 0 0 0 0 0 0 0 - 0');
  p.push('fail 10.0.0.2 10.0.0.1 8080 client - 0 NO_SOCKET 0 0 0 0 0 0 4');
  p.push(STATS);
  p.push('end');
  p.push(STATS);
  const r = p.push('end')!;
  assert.deepEqual([r.flows.length, r.failures!.length], [0, 0]);
});

test('numeric fields: digits only, at most 2^53 - 1', () => {
  const line = (sent: string) => `flow 10.0.0.2 10.0.0.1 8080 client ${sent} 1 1 1 0 0 0 0 0 0 0 0 - 0`;
  assert.equal(parseFlow(line('9007199254740991')).bytesSent, Number.MAX_SAFE_INTEGER);
  assert.equal(parseFlow(line('0')).bytesSent, 0);
  assert.equal(parseFlow(line('0012')).bytesSent, 12);
  for (const bad of ['-1', '+1', '1e3', '0x10', '1.5', ' 1', 'x']) {
    assert.throws(() => parseFlow(line(bad)), /bad bytesSent/, bad);
  }
  assert.throws(() => parseFlow(line('9007199254740993')), /bytesSent out of range/);
  assert.throws(() => parseFlow(line('99999999999999999999999')), /bytesSent out of range/);
});
