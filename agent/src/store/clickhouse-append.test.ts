import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ids, hashId, rawTsv, rawTsvBytes } from './clickhouse-append.js';
import { RAW_NAMES } from './clickhouse-schema.js';
import { TsvWriter } from './clickhouse-tsv.js';
import type { Endpoint, FlowRow, StoredReport } from './flow-store.js';
import { flowIdentity } from './merge.js';

const ep = (ip: string): Endpoint => ({
  ip,
  pod: null,
  namespace: null,
  workload: null,
  kind: null,
  node: null,
  zone: null,
  service: null,
});

function report(rows: Array<Partial<FlowRow>>): StoredReport {
  const client = ep('10.0.0.1');
  const server = ep('10.0.0.2');
  const base: FlowRow = {
    clientIp: client.ip,
    serverIp: server.ip,
    serverPort: 443,
    side: 'client',
    category: 'INTRA_AZ',
    client,
    server,
    bytesSent: 10,
    bytesReceived: 20,
    segmentsSent: 1,
    segmentsReceived: 2,
    retransmits: 0,
    rtos: 0,
    connectionsOpened: 1,
    connectionsClosed: 1,
    rttAvgUs: null,
    rttMaxUs: null,
  };
  return {
    reportId: 'r1',
    node: 'n1',
    startMs: 1_700_000_000_500,
    endMs: 1_700_000_030_500,
    rows: rows.map((r) => ({ ...base, ...r })),
    other: { flows: 0, bytesSent: 0, bytesReceived: 0, retransmits: 0, rtos: 0 },
  };
}

test('rawTsv: one line per row, every raw column in RAW_NAMES order, ids as the hashes every hub computes', () => {
  const fresh = new Map<string, Endpoint>();
  const r = report([{}, { side: 'server', rttAvgUs: 1.5, rttMaxUs: 3, connectFailures: 2, drops: { NO_SOCKET: 4 } }]);
  const lines = rawTsv(r, new Ids(), fresh).split('\n');
  assert.equal(lines.pop(), '', 'every line ends with a newline');
  assert.equal(lines.length, 2);
  const rows = lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [RAW_NAMES[i], v])));
  for (const l of lines) {
    assert.equal(l.split('\t').length, RAW_NAMES.length);
  }
  assert.equal(rows[0]!.ts, '1700000000');
  assert.equal(rows[0]!.client_ip, hashId(flowIdentity(r.rows[0]!.client)));
  assert.equal(rows[0]!.rtt_avg, '\\N', 'no RTT sample: NULL');
  assert.deepEqual([rows[0]!.via_ip, rows[0]!.via_port, rows[0]!.via_ep], ['0', '0', '0'], 'no via');
  assert.deepEqual([rows[0]!.drops, rows[0]!.drop_reasons], ['0', '{}']);
  assert.deepEqual(
    [rows[1]!.side, rows[1]!.rtt_avg, rows[1]!.connect_failures, rows[1]!.drops, rows[1]!.drop_reasons],
    ['1', '1.5', '2', '4', "{'NO_SOCKET':4}"]
  );
  assert.equal(fresh.size, 2, 'both ends are new endpoints');
});

test('rawTsv refuses what the columns cannot hold, naming the report', () => {
  assert.throws(() => rawTsv(report([{ serverPort: 70_000 }]), new Ids(), new Map()), /report r1: port 70000/);
  assert.throws(() => rawTsv(report([{ bytesSent: NaN }]), new Ids(), new Map()), /report r1: bytesSent NaN/);
  assert.throws(
    () => rawTsv(report([{ drops: { NO_SOCKET: Infinity } }]), new Ids(), new Map()),
    /report r1: drops Infinity/
  );
});

test('rawTsvBytes writes every number as String() does, and strings as UTF-8', () => {
  // Counters of every kind a column may see: small and large integers, past 2^53, fractions, exponents, -0.
  const values = [0, -0, 7, 10, 99, 100, 1448, 65_535, 2 ** 31, 2 ** 32 + 1, 123_456_789_012, 2 ** 53 - 1, 2 ** 53];
  values.push(2 ** 53 + 2, 1e21, 1.5e300, 0.5, 1.25, 1234.5678, 5e-7, -3, Number.MAX_VALUE, Number.MIN_VALUE);
  let seed = 7;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 200; i++) {
    values.push(next() * 2 ** (next() % 40), next() / 1000);
  }
  const w = new TsvWriter(16);
  const expected: string[] = [];
  for (const v of values) {
    w.number(v);
    w.tab();
    expected.push(String(v));
  }
  for (const s of ['', 'ascii', 'zoné', '名前', 'a\u{1F600}b', 'x'.repeat(100)]) {
    w.text(s);
    w.tab();
    expected.push(s);
  }
  assert.equal(w.take().toString('utf8'), expected.map((e) => `${e}\t`).join(''));
  assert.equal(w.take().length, 0, 'take starts over');

  // A whole report, byte for byte the text of its fields, through a writer reused across reports.
  const r = report([
    { bytesSent: 2 ** 40, rttAvgUs: 312.75, rttMaxUs: 2 ** 53 + 2, resetsSent: 3 },
    { side: 'server', drops: { NO_SOCKET: 4, TCP_CLOSE: 0, É: 1 } },
  ]);
  const reused = new TsvWriter(8);
  rawTsvBytes(report([{}]), new Ids(), new Map(), reused);
  assert.equal(rawTsvBytes(r, new Ids(), new Map(), reused).toString('utf8'), rawTsv(r, new Ids(), new Map()));
  const line = rawTsv(r, new Ids(), new Map()).split('\n')[0]!.split('\t');
  assert.deepEqual([line[8], line[16], line[17]], [String(2 ** 40), '312.75', String(2 ** 53 + 2)]);
  const second = rawTsv(r, new Ids(), new Map()).split('\n')[1]!.split('\t');
  assert.deepEqual(second.slice(-2), ['5', "{'NO_SOCKET':4,'É':1}"]);
});

test('a report refused part-way leaves nothing in a reused writer', () => {
  const w = new TsvWriter();
  assert.throws(() => rawTsvBytes(report([{}, { serverPort: -1 }]), new Ids(), new Map(), w), /port -1/);
  const ok = report([{}]);
  assert.equal(rawTsvBytes(ok, new Ids(), new Map(), w).toString(), rawTsv(ok, new Ids(), new Map()));
});

test('reports written one after another keep their own bytes (views of shared slabs, never written again)', () => {
  const w = new TsvWriter(256);
  const reports = [report([{}]), report([{ bytesSent: 123_456 }, {}]), report([{ rttAvgUs: 2.5, rttMaxUs: 9 }])];
  const taken = reports.map((r) => rawTsvBytes(r, new Ids(), new Map(), w));
  const refused = report([{}, { serverPort: 99_999 }]);
  assert.throws(() => rawTsvBytes(refused, new Ids(), new Map(), w));
  taken.push(rawTsvBytes(reports[0]!, new Ids(), new Map(), w));
  const expected = [...reports, reports[0]!].map((r) => rawTsv(r, new Ids(), new Map()));
  assert.deepEqual(
    taken.map((b) => b.toString('utf8')),
    expected
  );
});
