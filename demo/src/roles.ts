/**
 * The demo services' request handlers and the load generator. Each handler returns a JSON summary
 * of what it called, so a caller (and a test) can see the whole chain.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as aws from './aws.js';
import type { ServiceConfig } from './config.js';

export interface CallResult {
  url: string;
  status: number;
  bytes: number;
  error?: string;
}

async function call(req: aws.HttpRequest | string, timeoutMs: number): Promise<CallResult> {
  const r: aws.HttpRequest = typeof req === 'string' ? { method: 'GET', url: req, headers: {} } : req;
  try {
    const res = await fetch(r.url, {
      method: r.method,
      headers: r.headers,
      body: r.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await res.arrayBuffer();
    return { url: r.url, status: res.status, bytes: body.byteLength };
  } catch (err) {
    return { url: r.url, status: 0, bytes: 0, error: err instanceof Error ? err.message : String(err) };
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

type Handler = (req: IncomingMessage, url: URL, res: ServerResponse) => Promise<void>;

function catalogHandler(config: ServiceConfig): Handler {
  return async (_req, url, res) => {
    if (url.pathname !== '/items') {
      sendJson(res, 404, { error: 'try /items?size=BYTES' });
      return;
    }
    const size = Number(url.searchParams.get('size') ?? config.itemBytes);
    if (!Number.isInteger(size) || size < 1 || size > 64 * 1024 * 1024) {
      sendJson(res, 400, { error: 'size must be an integer from 1 to 67108864' });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    res.end(Buffer.alloc(size, 0x61));
  };
}

function frontendHandler(config: ServiceConfig): Handler {
  let next = 0;
  return async (_req, _url, res) => {
    // One catalog per request, in turn: like a Service spreading requests over two zones.
    const target = config.catalogUrls[next++ % config.catalogUrls.length]!;
    const result = await call(target, config.requestTimeoutMs);
    sendJson(res, result.status === 200 ? 200 : 502, { role: 'frontend', calls: [result] });
  };
}

function storageHandler(config: ServiceConfig): Handler {
  const s3 = config.s3Endpoint!;
  const ddb = config.dynamodbEndpoint!;
  let prepared = false;
  let n = 0;
  return async (_req, _url, res) => {
    const calls: CallResult[] = [];
    if (!prepared) {
      // Both are idempotent enough for a demo: moto answers "already exists" on a second try.
      calls.push(await call(aws.s3CreateBucket(s3, config.region, config.bucket), config.requestTimeoutMs));
      calls.push(await call(aws.dynamoCreateTable(ddb, config.region, config.table), config.requestTimeoutMs));
      prepared = calls.every((c) => c.status > 0);
    }
    const key = `item-${n++ % 100}`;
    const value = 'x'.repeat(4096);
    calls.push(await call(aws.s3PutObject(s3, config.region, config.bucket, key, value), config.requestTimeoutMs));
    calls.push(await call(aws.s3GetObject(s3, config.region, config.bucket, key), config.requestTimeoutMs));
    calls.push(await call(aws.dynamoPutItem(ddb, config.region, config.table, key, value), config.requestTimeoutMs));
    calls.push(await call(aws.dynamoGetItem(ddb, config.region, config.table, key), config.requestTimeoutMs));
    const ok = calls.every((c) => c.status >= 200 && c.status < 300);
    sendJson(res, ok ? 200 : 502, { role: 'storage', calls });
  };
}

function egressHandler(config: ServiceConfig): Handler {
  return async (_req, _url, res) => {
    const result = await call(config.externalUrl!, config.requestTimeoutMs);
    sendJson(res, result.status > 0 ? 200 : 502, { role: 'egress', calls: [result] });
  };
}

const handlers: Record<Exclude<ServiceConfig['role'], 'loadgen'>, (c: ServiceConfig) => Handler> = {
  catalog: catalogHandler,
  frontend: frontendHandler,
  storage: storageHandler,
  egress: egressHandler,
};

/** Starts the HTTP server of a serving role; resolves once it listens. */
export async function startService(config: ServiceConfig): Promise<Server> {
  if (config.role === 'loadgen') {
    throw new Error('loadgen does not serve');
  }
  const handle = handlers[config.role](config);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    if (url.pathname === '/healthz') {
      sendJson(res, 200, { role: config.role, ok: true });
      return;
    }
    handle(req, url, res).catch((err: unknown) => {
      sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  return server;
}

export function listeningPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

export interface LoadStats {
  sent: number;
  ok: number;
  failed: number;
}

/**
 * Calls every target in turn at the configured rate until the duration is over (or forever with
 * 0) or the signal aborts. Never more than one request per target in flight.
 */
export async function runLoad(
  config: ServiceConfig,
  signal?: AbortSignal,
  onResult?: (r: CallResult) => void
): Promise<LoadStats> {
  const stats: LoadStats = { sent: 0, ok: 0, failed: 0 };
  const periodMs = 1000 / config.requestsPerSecond;
  const end = config.durationSeconds > 0 ? Date.now() + config.durationSeconds * 1000 : Infinity;
  let i = 0;
  while (Date.now() < end && !signal?.aborted) {
    const started = Date.now();
    const target = config.targetUrls[i++ % config.targetUrls.length]!;
    const result = await call(target, config.requestTimeoutMs);
    stats.sent++;
    if (result.status >= 200 && result.status < 300) {
      stats.ok++;
    } else {
      stats.failed++;
    }
    onResult?.(result);
    const wait = periodMs - (Date.now() - started);
    if (wait > 0) {
      await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(0, end - Date.now()))));
    }
  }
  return stats;
}
