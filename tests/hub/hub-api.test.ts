/**
 * The hub as a process: three nodes in two zones (tests/fixtures), categories, both ends named, idempotent
 * ingest, a flow seen from both ends counted once, identical answers after a restart, and bad input refused
 * while the hub keeps serving.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { REPO_ROOT, fixture, restartHubProcess, startHubProcess, type HubProcess } from '../lib/hub-process';
import { fixtureReport, fixtureReports } from '../lib/report-fixtures';

let hub: HubProcess;
const windowStart = Date.now() - 3 * 60_000;
const range = `from=${windowStart - 60_000}&to=${Date.now() + 60_000}`;

before(async () => {
  hub = await startHubProcess({
    metadataFile: fixture('metadata/three-nodes.json'),
    ipRangesFile: fixture('ip-ranges-override.json'),
  });
});
after(async () => {
  await hub?.cleanup();
});

interface Row {
  category: string;
  local: Record<string, string | null>;
  remote: Record<string, string | null>;
  bytes: number;
  retransmits: number;
  rtos: number;
  rttUs: number | null;
  segments: number | null;
  value: number;
}

const byRemote = (rows: Row[]): Map<string, Row> => new Map(rows.map((r) => [r.remote.ip!, r]));

/**
 * Ground truth from the posted fixture reports, per flow (client ip → server ip): segments sent by the client
 * plus segments sent by the server. Where both ends reported, that is the sum of their segmentsSent (each
 * end's received count equals the other's sent count in these fixtures, checked here); where only the client
 * is monitored, the server's sends are what the client received.
 */
function fixtureSegments(): Map<string, number> {
  const views = new Map<string, { cs: number; cr: number; ss: number; sr: number }>();
  for (const r of fixtureReports()) {
    for (const f of r.flows) {
      const client = f.direction === 'client';
      const key = client ? `${f.localIp}->${f.remoteIp}` : `${f.remoteIp}->${f.localIp}`;
      const v = views.get(key) ?? { cs: 0, cr: 0, ss: 0, sr: 0 };
      views.set(key, v);
      if (client) {
        v.cs += f.segmentsSent;
        v.cr += f.segmentsReceived;
      } else {
        v.ss += f.segmentsSent;
        v.sr += f.segmentsReceived;
      }
    }
  }
  const out = new Map<string, number>();
  for (const [key, v] of views) {
    if (v.sr > 0 || v.ss > 0) {
      assert.equal(v.sr, v.cs, `${key}: both views of client → server agree in the fixtures`);
      assert.equal(v.cr, v.ss, `${key}: both views of server → client agree in the fixtures`);
    }
    out.set(key, Math.max(v.cs, v.sr) + Math.max(v.ss, v.cr));
  }
  return out;
}

test('ingest: accepted once, duplicates acknowledged without counting twice', async () => {
  const [a1, a2, b1] = fixtureReports({ startMs: windowStart });
  const first = await hub.postReport(a1, { gzip: true });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.deepEqual(first.body, { reportId: a1!.reportId, duplicate: false, flows: 5 });
  assert.equal((await hub.postReport(a2)).status, 200);
  assert.equal((await hub.postReport(b1)).status, 200);
  const again = await Promise.all([hub.postReport(a1), hub.postReport(a1, { gzip: true })]);
  for (const r of again) {
    assert.deepEqual(r.body, { reportId: a1!.reportId, duplicate: true });
  }
});

test('categories, both ends named, a flow from both ends counted once', async () => {
  const res = await hub.get(`/api/v1/top-contributors?${range}&limit=500`);
  assert.equal(res.status, 200);
  const rows = byRemote(res.body.rows as Row[]);
  assert.equal(rows.size, 5, 'five flows, whatever the number of ends that reported them');

  const intra = rows.get('10.1.2.20')!;
  assert.equal(intra.category, 'INTRA_AZ');
  assert.deepEqual(intra.local, {
    ip: '10.1.1.10',
    pod: 'frontend-7d9f8-abcde',
    namespace: 'shop',
    workload: 'frontend',
    kind: 'Deployment',
    node: 'node-a1',
    zone: 'us-east-1a',
  });
  assert.deepEqual(intra.remote, {
    ip: '10.1.2.20',
    pod: 'cart-5c4b6-fghij',
    namespace: 'shop',
    workload: 'cart',
    kind: 'Deployment',
    node: 'node-a2',
    zone: 'us-east-1a',
    service: null,
  });
  // client sent 120000 (server received the same), server sent 480000: both directions once.
  assert.equal(intra.bytes, 600_000);
  assert.equal(intra.retransmits, 3 + 4, "the client's and the server's own retransmissions");
  assert.equal(intra.rtos, 0 + 1);
  assert.equal(intra.rttUs, (240 + 200) / 2);

  const inter = rows.get('10.2.1.30')!;
  assert.equal(inter.category, 'INTER_AZ');
  assert.equal(inter.remote.node, 'node-b1');
  assert.equal(inter.remote.zone, 'us-east-1b');
  assert.equal(inter.remote.workload, 'orders');
  assert.equal(inter.bytes, 250_000);
  assert.equal(inter.retransmits, 7);
  assert.equal(inter.rtos, 1);

  const s3 = rows.get('198.51.100.7')!;
  assert.equal(s3.category, 'AMAZON_S3');
  assert.equal(s3.local.workload, 'backup');
  assert.equal(s3.local.namespace, 'ops');
  assert.equal(s3.bytes, 9_030_000, 'one end monitored: its counters stand');
  assert.equal(s3.retransmits, 2);

  const ddb = rows.get('203.0.113.9')!;
  assert.equal(ddb.category, 'AMAZON_DYNAMODB');
  assert.equal(ddb.bytes, 200_000);

  const ext = rows.get('192.0.2.50')!;
  assert.equal(ext.category, 'UNCLASSIFIED');
  assert.equal(ext.remote.pod, null);
  assert.equal(ext.bytes, 71_000);

  const segments = fixtureSegments();
  assert.equal(segments.size, 5);
  for (const row of res.body.rows as Row[]) {
    const key = `${row.local.ip}->${row.remote.ip}`;
    assert.equal(row.segments, segments.get(key), `${key}: segments sent by both ends`);
  }
  assert.equal(intra.segments, 90 + 330, 'frontend → cart: the client sent 90 segments, the server 330');
  assert.equal(rows.get('198.51.100.7')!.segments, 6200 + 700, 'one end monitored: it sent 6200, received 700');
  const byWorkload = await hub.get(`/api/v1/top-contributors?${range}&groupBy=workload&limit=500`);
  assert.equal(
    (byWorkload.body.rows as Row[]).reduce((a, r) => a + r.segments!, 0),
    [...segments.values()].reduce((a, n) => a + n, 0),
    'grouped rows carry the sum of their flows'
  );

  const sorted = (res.body.rows as Row[]).map((r) => r.bytes);
  assert.deepEqual(
    sorted,
    [...sorted].sort((a, b) => b - a),
    'sorted by the metric'
  );

  const onlyS3 = await hub.get(`/api/v1/top-contributors?${range}&category=AMAZON_S3`);
  assert.deepEqual(
    (onlyS3.body.rows as Row[]).map((r) => r.remote.ip),
    ['198.51.100.7']
  );
  const byRetrans = await hub.get(`/api/v1/top-contributors?${range}&metric=retransmits&limit=2`);
  assert.deepEqual(
    (byRetrans.body.rows as Row[]).map((r) => r.value),
    [7, 7]
  );
});

test('service map, workloads, namespaces and time series', async () => {
  const map = await hub.get(`/api/v1/service-map?${range}&groupBy=workload`);
  assert.equal(map.status, 200);
  const edges = new Map(
    (map.body.edges as Array<{ id: string; bytes: number; source: string; segments: number | null }>).map((e) => [
      e.id,
      e,
    ])
  );
  assert.equal(edges.get('shop/frontend->shop/cart')?.bytes, 600_000);
  const segments = fixtureSegments();
  assert.equal(edges.get('shop/frontend->shop/cart')?.segments, segments.get('10.1.1.10->10.1.2.20'));
  assert.equal(edges.get('shop/frontend->shop/orders')?.segments, segments.get('10.1.1.10->10.2.1.30'));
  assert.equal(edges.get('ops/backup->198.51.100.7')?.segments, segments.get('10.1.1.40->198.51.100.7'));
  assert.equal(
    [...edges.values()].reduce((a, e) => a + e.segments!, 0),
    [...segments.values()].reduce((a, n) => a + n, 0),
    'every edge carries its segments'
  );
  assert.equal(edges.get('shop/frontend->shop/orders')?.bytes, 250_000);
  assert.equal(edges.get('ops/backup->198.51.100.7')?.bytes, 9_030_000);
  const nodeIds = (map.body.nodes as Array<{ id: string }>).map((n) => n.id).sort();
  assert.deepEqual(nodeIds, [
    '192.0.2.50',
    '198.51.100.7',
    '203.0.113.9',
    'ops/backup',
    'shop/cart',
    'shop/frontend',
    'shop/orders',
  ]);
  const shopOnly = await hub.get(`/api/v1/service-map?${range}&namespace=ops`);
  assert.deepEqual(
    (shopOnly.body.edges as Array<{ id: string }>).map((e) => e.id),
    ['ops/backup->198.51.100.7']
  );
  assert.deepEqual((await hub.get('/api/v1/namespaces')).body, { namespaces: ['ops', 'shop'] });
  const wl = await hub.get('/api/v1/workloads?namespace=shop');
  assert.deepEqual(
    (wl.body.workloads as Array<{ workload: string }>).map((w) => w.workload),
    ['cart', 'frontend', 'orders']
  );
  const ts = await hub.get(`/api/v1/timeseries?${range}&step=30s&groupBy=category&metric=bytes`);
  assert.equal(ts.status, 200);
  const totals = Object.fromEntries(
    (ts.body.series as Array<{ name: string; points: Array<[number, number]> }>).map((s) => [
      s.name,
      s.points.reduce((a, [, v]) => a + v, 0),
    ])
  );
  assert.deepEqual(totals, {
    AMAZON_S3: 9_030_000,
    INTRA_AZ: 600_000,
    INTER_AZ: 250_000,
    AMAZON_DYNAMODB: 200_000,
    UNCLASSIFIED: 71_000,
  });
});

test('bad input is refused with the right status and the hub keeps serving', async () => {
  const good = fixtureReport('node-a2', { startMs: windowStart, newId: true });
  assert.equal((await hub.postReport(good, { token: null })).status, 401);
  assert.equal((await hub.postReport(good, { token: 'wrong' })).status, 403);
  assert.equal((await hub.postReport(good, { token: hub.queryToken })).status, 403, 'query token cannot ingest');
  assert.equal((await hub.get('/api/v1/top-contributors', { token: null })).status, 401);
  assert.equal((await hub.get('/api/v1/top-contributors', { token: hub.ingestToken })).status, 403);

  const malformed = await hub.postReport('{"version": 1, "flows": [');
  assert.equal(malformed.status, 400);
  assert.match(malformed.body.error, /malformed JSON/);

  const bad = structuredClone(good) as any;
  bad.flows[0].bytesSent = -5;
  bad.flows[0].remoteIp = 'not-an-ip';
  const invalid = await hub.postReport(bad);
  assert.equal(invalid.status, 422);
  assert.match(invalid.body.error, /flows\.0\.bytesSent/);
  assert.match(invalid.body.error, /flows\.0\.remoteIp/);

  const big = Buffer.alloc(17 * 1024 * 1024, 0x20);
  assert.equal((await hub.postReport(big)).status, 413);
  // A gzip bomb: small on the wire, past the limit once inflated.
  const bomb = gzipSync(
    Buffer.concat([Buffer.from('{"pad":"'), Buffer.alloc(40 * 1024 * 1024, 0x61), Buffer.from('"}')])
  );
  assert.ok(bomb.length < 1024 * 1024);
  const bombRes = await hub.postReport(bomb, {});
  assert.equal(bombRes.status, 400, 'not gzip-encoded: the raw bytes are not JSON');
  const bombGz = await fetch(`${hub.url}/api/v1/reports`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${hub.ingestToken}`, 'Content-Encoding': 'gzip' },
    body: bomb,
  });
  assert.equal(bombGz.status, 413);
  assert.equal((await hub.get(`/api/v1/top-contributors?limit=501`)).status, 400);
  assert.equal((await hub.get(`/api/v1/top-contributors?metric=nope`)).status, 400);
  assert.equal((await hub.get(`/api/v1/top-contributors?from=yesterday`)).status, 400);
  assert.equal((await hub.get(`/api/v1/nothing`)).status, 404);

  const ok = await hub.postReport(good);
  assert.equal(ok.status, 200, 'still serving after bad input');
  assert.equal((await hub.get('/api/v1/health', { token: null })).body.status, 'ok');
  assert.ok(!hub.logs().includes(hub.ingestToken) && !hub.logs().includes(hub.queryToken), 'no token in the logs');
  assert.ok(!hub.logs().includes('wrong"'), 'no presented token in the logs');
});

test('flowlens-agent top prints the top talkers from the hub', async () => {
  const run = (args: string[], token?: string) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'agent/src/cli.ts', 'top', '--hub', hub.url, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, FLOWLENS_HUB_QUERY_TOKEN: token ?? hub.queryToken },
      timeout: 30_000,
    });
  const { stdout } = await run(['--since', '1h', '--limit', '3']);
  const lines = stdout.trimEnd().split('\n');
  assert.equal(lines.length, 4);
  assert.match(
    lines[1]!,
    /^AMAZON_S3\s+ops\/backup-29012345-x7k2p\s+198\.51\.100\.7:443\s+8\.6 MiB\s+2\s+0\s+1\.7 ms$/
  );
  assert.match(lines[2]!, /^INTRA_AZ\s+shop\/frontend-7d9f8-abcde\s+shop\/cart-5c4b6-fghij:8080/);
  const inter = await run(['--category', 'INTER_AZ', '--metric', 'rtos']);
  assert.match(inter.stdout, /INTER_AZ\s+shop\/frontend-7d9f8-abcde\s+shop\/orders-0:9090\s+244\.1 KiB\s+7\s+1/);
  await assert.rejects(run([], 'wrong'), /hub answered 403/);
});

test('identical answers after a restart, and ids still deduplicated', async () => {
  const queries = [
    `/api/v1/top-contributors?${range}&limit=500`,
    `/api/v1/top-contributors?${range}&groupBy=workload`,
    `/api/v1/service-map?${range}&groupBy=pod`,
    `/api/v1/timeseries?${range}&step=1m&groupBy=namespace`,
  ];
  const before = await Promise.all(queries.map((q) => hub.get(q)));
  hub = await restartHubProcess(hub);
  const afterRestart = await Promise.all(queries.map((q) => hub.get(q)));
  for (let i = 0; i < queries.length; i++) {
    assert.equal(afterRestart[i]!.status, 200);
    assert.deepEqual(afterRestart[i]!.body, before[i]!.body, queries[i]);
  }
  const dup = await hub.postReport(fixtureReport('node-a1', { startMs: windowStart }));
  assert.equal(dup.body.duplicate, true);
  const fresh = await hub.postReport({ ...fixtureReport('node-a1', { startMs: windowStart }), reportId: randomUUID() });
  assert.equal(fresh.body.duplicate, false);
});
