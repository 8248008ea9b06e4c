import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { IpRanges } from '../classify/ip-ranges.js';
import type { ReportV1 } from '../contracts/report.js';
import { StaticMetadata } from '../metadata/static-file.js';
import {
  AsIsReport,
  asIsReports,
  type FlowStore,
  type PreparedReport,
  type StoredReport,
} from '../store/flow-store.js';
import { TokenCheck } from './auth.js';
import { parseListen } from './command.js';
import { Enricher } from './enrich.js';
import { Ingestor, windowProblem } from './ingest.js';
import { ParamError, parseEndpointFilter, parseSeriesQuery, parseTime, parseTopQuery } from './params.js';
import { parsePolicyQuery } from './policy-routes.js';

const meta = new StaticMetadata({
  nodes: [
    { name: 'n-a', zone: 'za', addresses: ['192.168.0.1'] },
    { name: 'n-b', zone: 'zb' },
  ],
  pods: [
    { ip: '10.0.0.1', name: 'web-1', namespace: 'shop', workload: 'web', kind: 'Deployment', node: 'n-a' },
    { ip: '10.0.1.1', name: 'db-0', namespace: 'shop', workload: 'db', kind: 'StatefulSet', node: 'n-b' },
  ],
  services: [{ ip: '10.96.0.9', name: 'db', namespace: 'shop', nodePorts: [30432] }],
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
  /** A report this store cannot take, whatever it is committed with (as DuckDB refused a 1969 timestamp). */
  poison: string | null = null;
  appends = 0;
  hasReport(id: string): boolean {
    return this.stored.some((r) => r.reportId === id);
  }
  async append(reports: StoredReport[]): Promise<void> {
    this.appends++;
    await new Promise((r) => setTimeout(r, 5));
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    if (reports.some((r) => r.reportId === this.poison)) {
      throw new Error('Conversion Error: value out of range');
    }
    this.stored.push(...reports);
  }
  prepare(report: StoredReport): PreparedReport {
    return new AsIsReport(report);
  }
  appendPrepared(prepared: PreparedReport[]): Promise<void> {
    return this.append(asIsReports(prepared));
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

test('report windows: impossible ones are named, real ones pass', () => {
  const now = Date.parse('2026-06-01T12:00:00Z');
  const ok = (startMs: number, endMs: number) => windowProblem(startMs, endMs, now, 6 * 3600);
  assert.equal(ok(now - 60_000, now - 30_000), null);
  assert.equal(ok(now - 3600_000, now), null, 'an hour is the longest window');
  assert.match(ok(Date.parse('1969-12-31T23:59:30Z'), Date.parse('1970-01-01T00:00:00Z'))!, /^start: before 2000/);
  assert.match(ok(now - 3600_001, now)!, /longer than 60 minutes/);
  assert.match(ok(now - 86400_000 * 3, now)!, /longer than 60 minutes/);
  assert.match(ok(now + 5 * 60_000 - 30_000, now + 5 * 60_000 + 1)!, /5 minutes in the future/);
  assert.equal(ok(now + 4 * 60_000, now + 5 * 60_000), null, 'a little clock skew is fine');
  assert.match(ok(now - 1000, now - 2000)!, /^end: before start/);
  assert.match(ok(now - 7 * 3600_000, now - 7 * 3600_000 + 30_000)!, /^end: report older/);
});

test('group commit: a report the store refuses fails alone, the reports committed beside it are stored', async () => {
  const store = new MemoryStore();
  const ing = new Ingestor(store as unknown as FlowStore, new Enricher(meta, ranges), {
    maxBodyBytes: 4096,
    maxAgeS: 3600,
    commitDelayMs: 20,
  });
  const [a, bad, b] = [report([flow({})]), report([flow({})]), report([flow({})])];
  store.poison = bad.reportId;
  const results = await Promise.all([a, bad, b].map((r) => ing.ingest(r)));
  assert.deepEqual(
    results.map((r) => r.status),
    [200, 503, 200]
  );
  assert.deepEqual(store.stored.map((r) => r.reportId).sort(), [a.reportId, b.reportId].sort());
  assert.equal(store.appends, 4, 'one group commit, then one transaction per report');
  assert.equal(ing.counters.failedCommits, 1);
  assert.equal(ing.counters.accepted, 2);
});

test('enrichment: a Service address (via) is named from the metadata, ClusterIP or NodePort', () => {
  const e = new Enricher(meta, ranges);
  const viaCluster = e.enrich(
    report([flow({ remoteIp: '10.0.1.1', remotePort: 5432, via: { ip: '10.96.0.9', port: 5432 } })])
  ).rows[0]!;
  assert.equal(viaCluster.server.pod, 'db-0', 'the row lands on the backend pod');
  assert.equal(viaCluster.category, 'INTER_AZ', "classified by the two pods' zones");
  assert.equal(viaCluster.via?.endpoint.service, 'db');
  assert.equal(viaCluster.via?.endpoint.namespace, 'shop');
  const viaNodePort = e.enrich(
    report(
      [
        flow({
          direction: 'server',
          localIp: '10.0.1.1',
          localPort: 5432,
          remoteIp: '10.0.0.1',
          remotePort: 0,
          via: { ip: '192.168.0.1', port: 30432 },
        }),
      ],
      'n-b',
      'zb'
    )
  ).rows[0]!;
  assert.equal(viaNodePort.via?.endpoint.service, 'db', 'node address + NodePort names the Service');
  assert.equal(viaNodePort.via?.endpoint.node, 'n-a');
  const unknown = e.enrich(report([flow({ via: { ip: '10.96.0.77', port: 80 } })])).rows[0]!;
  assert.equal(unknown.via?.endpoint.service, null);
  const plain = e.enrich(report([flow({})])).rows[0]!;
  assert.equal(plain.via, null, 'a 1.0 flow has no via');
});

test("enrichment: a loopback peer is the reporting node's own", () => {
  const e = new Enricher(meta, ranges);
  const [a] = e.enrich(report([flow({ localIp: '127.0.0.1', remoteIp: '127.0.0.1', remotePort: 6379 })], 'n-a')).rows;
  const [b] = e.enrich(
    report([flow({ localIp: '127.0.0.1', remoteIp: '127.0.0.1', remotePort: 6379 })], 'n-b', 'zb')
  ).rows;
  assert.equal(a!.server.node, 'n-a');
  assert.equal(b!.server.node, 'n-b');
  assert.equal(b!.client.node, 'n-b');
});

test('drilldown parameters', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  assert.deepEqual(parseEndpointFilter('endpoint', 'pod:shop/cart-1'), {
    kind: 'pod',
    namespace: 'shop',
    name: 'cart-1',
  });
  assert.deepEqual(parseEndpointFilter('endpoint', 'workload:shop/cart'), {
    kind: 'workload',
    namespace: 'shop',
    name: 'cart',
  });
  assert.deepEqual(parseEndpointFilter('endpoint', 'ip:fd00::7'), { kind: 'ip', ip: 'fd00::7' });
  assert.deepEqual(parseEndpointFilter('endpoint', 'ip:203.0.113.9'), { kind: 'ip', ip: '203.0.113.9' });
  for (const bad of ['pod:cart', 'pod:/cart', 'node:x/y', 'ip:', 'ip:x', 'workload:a/b/c']) {
    assert.throws(() => parseEndpointFilter('endpoint', bad), /endpoint: expected/);
  }
  const q = parseTopQuery(new URLSearchParams('endpoint=workload:shop/web&peer=ip:203.0.113.9'), now);
  assert.deepEqual(q.endpoint, { kind: 'workload', namespace: 'shop', name: 'web' });
  assert.deepEqual(q.peer, { kind: 'ip', ip: '203.0.113.9' });
  assert.throws(() => parseTopQuery(new URLSearchParams('peer=ip:203.0.113.9'), now), /peer: needs endpoint/);
});

test('clusters: the cluster parameter is checked by the one rule and named when wrong', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  assert.equal(parseTopQuery(new URLSearchParams('cluster=eu-prod'), now).cluster, 'eu-prod');
  assert.equal(parseTopQuery(new URLSearchParams('cluster='), now).cluster, undefined, 'empty: every cluster');
  assert.equal(parseSeriesQuery(new URLSearchParams('cluster=a.b_c'), now).cluster, 'a.b_c');
  for (const bad of ['a~b', '.x', 'a b', 'x'.repeat(254)]) {
    assert.throws(
      () => parseTopQuery(new URLSearchParams({ cluster: bad }), now),
      (e: unknown) => e instanceof ParamError && e.message.startsWith('cluster: expected a cluster name')
    );
  }
  // Policies are one cluster's, the hub's own (its metadata describes no other).
  const policy = (q: string) => parsePolicyQuery(new URLSearchParams(q), now, 'east');
  assert.equal(policy('namespace=app').range.cluster, 'east');
  assert.equal(policy('namespace=app&cluster=east').range.cluster, 'east');
  assert.throws(() => policy('namespace=app&cluster=west'), /^Error: cluster: policies are drafted .* 'east'/);
});

test("clusters: a report without one is the hub cluster's, named from its metadata; another cluster only from its own agents", () => {
  const e = new Enricher(meta, ranges, Date.now, 'east');
  const own = e.enrich(report([flow({})]));
  assert.equal(own.rows[0]!.client.cluster, 'east');
  assert.equal(own.rows[0]!.server.pod, 'db-0', "the hub's metadata names its own cluster's pods");
  // West's agent on a node of the same name reports the same addresses: nothing of east's metadata is borrowed.
  const west = e.enrich({
    ...report([flow({ local: { namespace: 'w', pod: 'w-1', workload: 'w', kind: 'Pod' } })]),
    cluster: 'west',
  });
  const r = west.rows[0]!;
  assert.deepEqual([r.client.cluster, r.server.cluster], ['west', 'west']);
  assert.deepEqual([r.client.pod, r.client.namespace], ['w-1', 'w'], "west's own agent named its pod");
  assert.deepEqual([r.server.pod, r.server.namespace, r.server.zone], [null, null, null]);
  assert.equal(r.category, 'UNCLASSIFIED', "no zone from east's nodes");
  // What west's agents say is west's only: east's view of the same address keeps east's name.
  assert.equal(e.enrich(report([flow({})])).rows[0]!.client.pod, 'web-1');
});

test('ingest: a report with a bad cluster name is refused (422) naming the field', async () => {
  const store = new MemoryStore();
  const ing = new Ingestor(store as unknown as FlowStore, new Enricher(meta, ranges), {
    maxBodyBytes: 4096,
    maxAgeS: 3600,
  });
  const r = await ing.handleBody(
    Buffer.from(JSON.stringify({ ...report([flow({})]), cluster: 'no~tilde' })),
    undefined
  );
  assert.equal(r.status, 422);
  assert.match(String(r.body.error), /^schema violation: cluster: a cluster name is letters/);
  assert.equal(store.stored.length, 0);
});
