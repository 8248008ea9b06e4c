import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { IpRanges } from '../classify/ip-ranges.js';
import type { ReportV1 } from '../contracts/report.js';
import { StaticMetadata } from '../metadata/static-file.js';
import type { FlowStore, StoredReport } from '../store/flow-store.js';
import { TokenCheck } from './auth.js';
import { parseListen } from './command.js';
import { Enricher } from './enrich.js';
import { Ingestor } from './ingest.js';
import { ParamError, parseSeriesQuery, parseTime, parseTopQuery } from './params.js';

const meta = new StaticMetadata({
  nodes: [
    { name: 'n-a', zone: 'za', addresses: ['192.168.0.1'] },
    { name: 'n-b', zone: 'zb' },
  ],
  pods: [
    { ip: '10.0.0.1', name: 'web-1', namespace: 'shop', workload: 'web', kind: 'Deployment', node: 'n-a' },
    { ip: '10.0.1.1', name: 'db-0', namespace: 'shop', workload: 'db', kind: 'StatefulSet', node: 'n-b' },
  ],
  services: [{ ip: '10.96.0.9', name: 'db', namespace: 'shop' }],
});
const ranges = new IpRanges().add({ prefixes: [{ ip_prefix: '52.216.0.0/15', service: 'S3' }] });
const zero = {
  segmentsSent: 0,
  segmentsReceived: 0,
  connectionsOpened: 0,
  connectionsClosed: 0,
  retransmits: 0,
  rtos: 0,
};

function report(flows: ReportV1['flows'], node = 'n-a', zone: string | null = 'za'): ReportV1 {
  const start = new Date(Date.now() - 60_000);
  return {
    version: 1,
    reportId: crypto.randomUUID(),
    node,
    zone,
    start: start.toISOString(),
    end: new Date(start.getTime() + 30_000).toISOString(),
    flows,
    other: { bytesSent: 0, bytesReceived: 0, ...zero },
  };
}
const flow = (over: Partial<ReportV1['flows'][number]>): ReportV1['flows'][number] => ({
  localIp: '10.0.0.1',
  localPort: 0,
  remoteIp: '10.0.1.1',
  remotePort: 5432,
  direction: 'client',
  local: null,
  bytesSent: 10,
  bytesReceived: 20,
  rttUs: null,
  ...zero,
  ...over,
});

test('enrichment orients client → server and names both ends', () => {
  const e = new Enricher(meta, ranges);
  const [client] = e.enrich(report([flow({})])).rows;
  assert.equal(client!.clientIp, '10.0.0.1');
  assert.equal(client!.serverIp, '10.0.1.1');
  assert.equal(client!.serverPort, 5432);
  assert.equal(client!.side, 'client');
  assert.equal(client!.category, 'INTER_AZ');
  assert.equal(client!.server.workload, 'db');
  assert.equal(client!.server.zone, 'zb');

  const [server] = e.enrich(
    report(
      [flow({ localIp: '10.0.1.1', localPort: 5432, remoteIp: '10.0.0.1', remotePort: 0, direction: 'server' })],
      'n-b',
      'zb'
    )
  ).rows;
  assert.equal(server!.clientIp, '10.0.0.1');
  assert.equal(server!.serverPort, 5432);
  assert.equal(server!.side, 'server');
  assert.equal(server!.client.pod, 'web-1');

  const [s3] = e.enrich(report([flow({ remoteIp: '52.217.1.1', remotePort: 443 })])).rows;
  assert.equal(s3!.category, 'AMAZON_S3');
  const [svc] = e.enrich(report([flow({ remoteIp: '10.96.0.9' })])).rows;
  assert.equal(svc!.server.service, 'db');
  assert.equal(svc!.server.namespace, 'shop');
  assert.equal(svc!.category, 'UNCLASSIFIED', 'a ClusterIP has no zone');
  const [host] = e.enrich(report([flow({ remoteIp: '192.168.0.1' })])).rows;
  assert.equal(host!.server.kind, 'Node');
  assert.equal(host!.category, 'INTRA_AZ');
});

test('what agents say about their own pods names addresses the metadata does not know', () => {
  const e = new Enricher(meta, ranges);
  const local = { namespace: 'batch', pod: 'job-x', workload: 'job', kind: 'Job' };
  const [own] = e.enrich(report([flow({ localIp: '10.0.2.7', local })], 'n-b', 'zb')).rows;
  assert.equal(own!.client.pod, 'job-x');
  assert.equal(own!.client.node, 'n-b');
  assert.equal(own!.client.zone, 'zb', "the reporting node's zone");
  const [seen] = e.enrich(report([flow({ remoteIp: '10.0.2.7' })])).rows;
  assert.equal(seen!.server.workload, 'job', 'learned from the other node');
  assert.equal(seen!.server.zone, 'zb');
  assert.equal(seen!.category, 'INTER_AZ');

  // The address is re-used by another pod the metadata does not know: named after it at once, on both sides.
  const next = { namespace: 'batch', pod: 'job-y', workload: 'job2', kind: 'Job' };
  const [reused] = e.enrich(report([flow({ localIp: '10.0.2.7', local: next })], 'n-b', 'zb')).rows;
  assert.equal(reused!.client.pod, 'job-y');
  const [seenAgain] = e.enrich(report([flow({ remoteIp: '10.0.2.7' })])).rows;
  assert.equal(seenAgain!.server.workload, 'job2');
});

class MemoryStore {
  stored: StoredReport[] = [];
  failNext = false;
  hasReport(id: string): boolean {
    return this.stored.some((r) => r.reportId === id);
  }
  async append(reports: StoredReport[]): Promise<void> {
    await new Promise((r) => setTimeout(r, 5));
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    this.stored.push(...reports);
  }
}

test('ingest: decoding, validation, idempotency and group commit', async () => {
  const store = new MemoryStore();
  const ing = new Ingestor(store as unknown as FlowStore, new Enricher(meta, ranges), {
    maxBodyBytes: 4096,
    maxAgeS: 3600,
  });
  const r = report([flow({})]);
  const body = Buffer.from(JSON.stringify(r));
  const results = await Promise.all([
    ing.handleBody(body, undefined),
    ing.handleBody(gzipSync(body), 'gzip'),
    ing.handleBody(body, 'identity'),
  ]);
  assert.deepEqual(
    results.map((x) => [x.status, x.body.duplicate]),
    [
      [200, false],
      [200, true],
      [200, true],
    ]
  );
  assert.equal(store.stored.length, 1);
  assert.equal((await ing.handleBody(body, 'br')).status, 415);
  assert.equal((await ing.handleBody(Buffer.from('{'), undefined)).status, 400);
  assert.equal((await ing.handleBody(Buffer.from('not gzip'), 'gzip')).status, 400);
  assert.equal((await ing.handleBody(Buffer.alloc(5000, 32), undefined)).status, 413);
  assert.equal((await ing.handleBody(gzipSync(Buffer.alloc(100_000, 32)), 'gzip')).status, 413);
  const bad = await ing.handleBody(Buffer.from(JSON.stringify({ ...r, node: '', flows: [{}] })), undefined);
  assert.equal(bad.status, 422);
  assert.match(String(bad.body.error), /node: .*flows\.0\.bytesSent: Required; .*and 11 more/);
  const old = report([]);
  old.start = old.end = new Date(Date.now() - 2 * 3600_000).toISOString();
  assert.match(String((await ing.ingest(old)).body.error), /^end: report older/);
  const backwards = report([]);
  backwards.end = new Date(Date.parse(backwards.start) - 1).toISOString();
  assert.equal((await ing.ingest(backwards)).status, 422);

  store.failNext = true;
  const failed = await ing.ingest(report([]));
  assert.equal(failed.status, 503, 'not acknowledged when the commit fails');
  assert.equal(ing.counters.failedCommits, 1);
  assert.equal(ing.counters.accepted, 1);
  assert.equal(ing.counters.duplicates, 2);
});

test('tokens: missing, wrong, right', () => {
  const t = new TokenCheck('s3cret');
  assert.equal(t.check({}), 'missing');
  assert.equal(t.check({ authorization: 'Basic abc' }), 'missing');
  assert.equal(t.check({ authorization: 'Bearer nope' }), 'wrong');
  assert.equal(t.check({ authorization: 'Bearer s3cret' }), 'ok');
  assert.equal(t.check({ authorization: 'bearer s3cret' }), 'ok');
});

test('query parameters', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  assert.equal(parseTime('from', '1767225600000'), 1767225600000);
  assert.equal(parseTime('from', '2026-01-01T00:00:00Z'), 1767225600000);
  assert.equal(parseTime('from', '2026-01-01T01:00:00+01:00'), 1767225600000);
  assert.throws(() => parseTime('from', 'now-1h'), ParamError);
  const q = parseTopQuery(new URLSearchParams('category=INTER_AZ,AMAZON_S3&category=INTER_AZ&groupBy=workload'), now);
  assert.deepEqual(q, {
    fromMs: now - 3600_000,
    toMs: now,
    categories: ['INTER_AZ', 'AMAZON_S3'],
    metric: 'bytes',
    limit: 100,
    groupBy: 'workload',
  });
  assert.throws(() => parseTopQuery(new URLSearchParams('limit=501'), now), /limit/);
  assert.throws(() => parseTopQuery(new URLSearchParams('limit=0'), now), /limit/);
  assert.throws(() => parseTopQuery(new URLSearchParams('category=LAN'), now), /category/);
  assert.throws(() => parseTopQuery(new URLSearchParams('groupBy=node'), now), /groupBy/);
  assert.throws(() => parseTopQuery(new URLSearchParams(`from=${now}&to=${now}`), now), /from/);
  assert.equal(parseSeriesQuery(new URLSearchParams('step=5m'), now).stepMs, 300_000);
  assert.equal(parseSeriesQuery(new URLSearchParams('step=15000'), now).stepMs, 15_000);
  assert.equal(parseSeriesQuery(new URLSearchParams(''), now).stepMs, 30_000);
  assert.throws(() => parseSeriesQuery(new URLSearchParams('step=1ms&from=0'), now), /step/);
});

test('--listen', () => {
  assert.deepEqual(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListen(':7470'), { host: '0.0.0.0', port: 7470 });
  assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
  assert.throws(() => parseListen('7470'), /HOST:PORT/);
});
