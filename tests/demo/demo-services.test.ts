/**
 * The demo services as plain processes on loopback: the load generator calls the frontend, the
 * frontend spreads requests over two catalog replicas, storage writes and reads S3 and DynamoDB
 * (a recording stand-in here, moto in compose) and egress fetches its external URL.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { parseConfig, ConfigError } from '../../demo/src/config.js';
import { startDemo, type DemoProcess } from '../lib/demo-processes.js';

interface Recorded {
  method: string;
  path: string;
  service: string | null;
  target: string | null;
  body: string;
}

/** Answers like moto for the calls the storage service makes, and records them. */
async function startAwsStandIn(): Promise<{ server: Server; url: string; calls: Recorded[] }> {
  const calls: Recorded[] = [];
  const objects = new Map<string, string>();
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const auth = String(req.headers.authorization ?? '');
      const service = /Credential=[^/]+\/\d+\/[^/]+\/([^/]+)\//.exec(auth)?.[1] ?? null;
      const target = (req.headers['x-amz-target'] as string | undefined) ?? null;
      calls.push({ method: req.method ?? '', path: req.url ?? '', service, target, body });
      if (service === 's3' && req.method === 'PUT') {
        objects.set(req.url ?? '', body);
        res.writeHead(200).end();
      } else if (service === 's3' && req.method === 'GET') {
        const found = objects.get(req.url ?? '');
        res.writeHead(found === undefined ? 404 : 200).end(found ?? '');
      } else if (service === 'dynamodb') {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}');
      } else {
        res.writeHead(403).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
}

test('configuration errors are clear and name the missing setting', () => {
  assert.throws(() => parseConfig([], {}), /missing role/);
  assert.throws(() => parseConfig(['cart'], {}), /unknown role 'cart'/);
  assert.throws(() => parseConfig(['frontend'], {}), /frontend needs CATALOG_URLS/);
  assert.throws(() => parseConfig(['storage'], { S3_ENDPOINT: 'http://s3' }), /DYNAMODB_ENDPOINT/);
  assert.throws(() => parseConfig(['loadgen'], { TARGET_URLS: 'not a url' }), ConfigError);
  assert.throws(() => parseConfig(['catalog'], { PORT: '-1' }), /PORT must be a number >= 0/);
  const c = parseConfig(['frontend'], { CATALOG_URLS: 'http://a:1/items, http://b:2/items' });
  assert.deepEqual(c.catalogUrls, ['http://a:1/items', 'http://b:2/items']);
});

test('the demo services call each other as processes', async () => {
  const started: DemoProcess[] = [];
  const aws = await startAwsStandIn();
  const external = createServer((_req, res) => res.end('external'));
  await new Promise<void>((r) => external.listen(0, '127.0.0.1', () => r()));
  try {
    const catalogA = await startDemo('catalog', { ITEM_BYTES: '1000' });
    started.push(catalogA);
    const catalogB = await startDemo('catalog', { ITEM_BYTES: '2000' });
    started.push(catalogB);
    const frontend = await startDemo('frontend', {
      CATALOG_URLS: `${catalogA.url}/items,${catalogB.url}/items`,
    });
    started.push(frontend);
    const storage = await startDemo('storage', { S3_ENDPOINT: aws.url, DYNAMODB_ENDPOINT: aws.url });
    started.push(storage);
    const egress = await startDemo('egress', {
      EXTERNAL_URL: `http://127.0.0.1:${(external.address() as AddressInfo).port}/`,
    });
    started.push(egress);

    // The frontend alternates between the two replicas (1000 and 2000 bytes).
    const sizes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const body = (await (await fetch(frontend.url, { signal: AbortSignal.timeout(10_000) })).json()) as {
        calls: Array<{ status: number; bytes: number }>;
      };
      assert.equal(body.calls[0]!.status, 200);
      sizes.push(body.calls[0]!.bytes);
    }
    assert.deepEqual(sizes, [1000, 2000, 1000, 2000]);

    const storageReply = await fetch(storage.url, { signal: AbortSignal.timeout(10_000) });
    assert.equal(storageReply.status, 200, await storageReply.clone().text());
    const s3 = aws.calls.filter((c) => c.service === 's3').map((c) => `${c.method} ${c.path}`);
    assert.deepEqual(s3, ['PUT /flowlens-demo', 'PUT /flowlens-demo/item-0', 'GET /flowlens-demo/item-0']);
    const ddb = aws.calls.filter((c) => c.service === 'dynamodb').map((c) => c.target);
    assert.deepEqual(ddb, ['DynamoDB_20120810.CreateTable', 'DynamoDB_20120810.PutItem', 'DynamoDB_20120810.GetItem']);
    assert.equal(JSON.parse(aws.calls.find((c) => c.target?.endsWith('GetItem'))!.body).Key.id.S, 'item-0');

    const egressReply = (await (await fetch(egress.url, { signal: AbortSignal.timeout(10_000) })).json()) as {
      calls: Array<{ status: number; bytes: number }>;
    };
    assert.deepEqual(egressReply.calls[0]!.status, 200);
    assert.equal(egressReply.calls[0]!.bytes, 'external'.length);

    // The load generator runs for its duration and exits 0 with its counts.
    const loadgen = await startDemo('loadgen', {
      TARGET_URLS: `${frontend.url}/,${storage.url}/`,
      REQUESTS_PER_SECOND: '20',
      DURATION_SECONDS: '1',
    });
    started.push(loadgen);
    assert.equal(await Promise.race([loadgen.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]), 0);
    const summary = JSON.parse(loadgen.lines.at(-1)!) as { sent: number; ok: number; failed: number };
    assert.ok(summary.sent >= 5 && summary.sent <= 21, `sent ${summary.sent}`);
    assert.equal(summary.failed, 0);
    assert.equal(summary.ok, summary.sent);
  } finally {
    await Promise.all(started.map((p) => p.stop()));
    await new Promise<void>((r) => aws.server.close(() => r()));
    await new Promise<void>((r) => external.close(() => r()));
  }
});
