/**
 * The hub's HTTP API on Node's own http module: the API is a handful of routes with bodies we must cap and
 * decode ourselves (gzip bombs), so a framework would add a dependency without removing much code.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FlowStore } from '../store/flow-store.js';
import { TokenCheck } from './auth.js';
import type { Ingestor } from './ingest.js';
import { log } from './log.js';
import { DEFAULT_CLUSTER } from '../contracts/report.js';
import { ParamError, parseClusterName, parseMapQuery, parseRange, parseSeriesQuery, parseTopQuery } from './params.js';
import { checkAnswer, draftsAnswer, NotImplementedError, parsePolicyQuery, type PolicyDeps } from './policy-routes.js';

export interface HubServerOptions {
  ingestToken: string;
  queryToken: string;
  maxBodyBytes: number;
  store: FlowStore;
  ingestor: Ingestor;
  now?: () => number;
  /** Metadata and ip-ranges for the policy API (without them its routes answer 501). */
  policy?: Omit<PolicyDeps, 'store'>;
  /** The hub's own cluster (`--cluster`): the one the policy API's metadata describes. Default `default`. */
  cluster?: string;
}

/** A non-JSON answer (the policy drafts' YAML). */
class RawBody {
  constructor(
    readonly contentType: string,
    readonly text: string
  ) {}
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body instanceof RawBody ? body.text : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': body instanceof RawBody ? body.contentType : 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/**
 * Reads a body up to `max` bytes. A larger body is read to its end and discarded (so the client sees the 413
 * rather than a reset connection) unless it passes 4 × `max`, where the hub stops reading at once.
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): HttpError => new HttpError(413, `body larger than ${max} bytes`);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > 4 * max) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) {
        chunks.push(c);
      } else if (size > 4 * max && !settled) {
        settled = true;
        reject(tooLarge());
      }
    });
    req.on('end', () => {
      if (settled) {
        return;
      }
      settled = true;
      if (size > max) {
        reject(tooLarge());
      } else {
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('error', (err) => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
  });
}

export function createHubServer(opts: HubServerOptions): Server {
  const ingestAuth = new TokenCheck(opts.ingestToken);
  const queryAuth = new TokenCheck(opts.queryToken);
  const now = opts.now ?? Date.now;
  const started = now();
  const ownCluster = opts.cluster ?? DEFAULT_CLUSTER;
  const optionalCluster = (url: URL): string | undefined => {
    const c = url.searchParams.get('cluster');
    return c === null || c === '' ? undefined : parseClusterName(c);
  };

  const policyDeps = (): PolicyDeps => {
    if (!opts.policy) {
      throw new HttpError(501, 'this hub was started without metadata for the policy API');
    }
    return { store: opts.store, ...opts.policy };
  };

  const authorize = (req: IncomingMessage, check: TokenCheck): void => {
    const r = check.check(req.headers);
    if (r === 'missing') {
      throw new HttpError(401, 'missing bearer token');
    }
    if (r === 'wrong') {
      throw new HttpError(403, 'token not accepted for this API');
    }
  };

  const routes: Record<string, (req: IncomingMessage, url: URL) => Promise<[number, unknown]>> = {
    'GET /api/v1/health': async () => [
      200,
      {
        status: 'ok',
        uptimeSeconds: Math.round((now() - started) / 1000),
        reports: { ...opts.ingestor.counters },
      },
    ],
    'POST /api/v1/reports': async (req) => {
      authorize(req, ingestAuth);
      const body = await readBody(req, opts.maxBodyBytes);
      const r = await opts.ingestor.handleBody(body, req.headers['content-encoding']);
      return [r.status, r.body];
    },
    'GET /api/v1/top-contributors': async (req, url) => {
      authorize(req, queryAuth);
      const a = await opts.store.topContributors(parseTopQuery(url.searchParams, now()));
      return [200, { rows: a.result, from: a.fromMs, to: a.toMs }];
    },
    'GET /api/v1/service-map': async (req, url) => {
      authorize(req, queryAuth);
      const a = await opts.store.serviceMap(parseMapQuery(url.searchParams, now()));
      return [200, { ...a.result, from: a.fromMs, to: a.toMs }];
    },
    'GET /api/v1/timeseries': async (req, url) => {
      authorize(req, queryAuth);
      const q = parseSeriesQuery(url.searchParams, now());
      const a = await opts.store.timeseries(q);
      return [200, { series: a.result, from: a.fromMs, to: a.toMs }];
    },
    'GET /api/v1/namespaces': async (req, url) => {
      authorize(req, queryAuth);
      return [200, { namespaces: await opts.store.namespaces(optionalCluster(url)) }];
    },
    'GET /api/v1/clusters': async (req, url) => {
      authorize(req, queryAuth);
      const a = await opts.store.clusters(parseRange(url.searchParams, now()));
      return [
        200,
        { clusters: a.result.map((c) => ({ name: c.name, lastSeen: c.lastSeenMs })), from: a.fromMs, to: a.toMs },
      ];
    },
    'GET /api/v1/policy-drafts': async (req, url) => {
      authorize(req, queryAuth);
      const q = parsePolicyQuery(url.searchParams, now(), ownCluster);
      const a = await draftsAnswer(policyDeps(), q);
      return [200, q.format === 'yaml' ? new RawBody('application/yaml', a.yaml) : a];
    },
    'GET /api/v1/policy-check': async (req, url) => {
      authorize(req, queryAuth);
      return [200, await checkAnswer(policyDeps(), parsePolicyQuery(url.searchParams, now(), ownCluster))];
    },
    'POST /api/v1/policy-check': async (req, url) => {
      authorize(req, queryAuth);
      const q = parsePolicyQuery(url.searchParams, now(), ownCluster);
      const body = await readBody(req, opts.maxBodyBytes);
      return [200, await checkAnswer(policyDeps(), q, body.toString('utf8'))];
    },
    'GET /api/v1/workloads': async (req, url) => {
      authorize(req, queryAuth);
      const ns = url.searchParams.get('namespace');
      const workloads = await opts.store.workloads(ns === null || ns === '' ? undefined : ns, optionalCluster(url));
      return [200, { workloads }];
    },
  };
  const paths = new Set(Object.keys(routes).map((k) => k.split(' ')[1]));

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub.invalid');
    const route = routes[`${req.method} ${url.pathname}`];
    const finish = (status: number, body: unknown): void => {
      const headers: Record<string, string> = {};
      if (status === 401) {
        headers['WWW-Authenticate'] = 'Bearer realm="flowlens"';
      }
      if (status === 413) {
        headers.Connection = 'close';
      }
      if (!res.headersSent) {
        send(res, status, body, headers);
      }
      if (status >= 500) {
        log('error', 'request failed', { method: req.method, path: url.pathname, status });
      } else if (status >= 400) {
        const error = (body as { error?: string }).error?.slice(0, 300);
        log('warn', 'request refused', { method: req.method, path: url.pathname, status, error });
      }
    };
    if (!route) {
      if (!paths.has(url.pathname)) {
        finish(404, { error: `no route ${url.pathname}` });
      } else {
        finish(405, { error: `method ${req.method} not allowed on ${url.pathname}` });
      }
      req.resume();
      return;
    }
    route(req, url).then(
      ([status, body]) => finish(status, body),
      (err: unknown) => {
        if (err instanceof HttpError) {
          finish(err.status, { error: err.message });
        } else if (err instanceof ParamError) {
          finish(400, { error: err.message });
        } else if (err instanceof NotImplementedError) {
          finish(501, { error: err.message });
        } else {
          log('error', 'handler error', { path: url.pathname, error: (err as Error)?.message ?? String(err) });
          finish(500, { error: 'internal error' });
        }
        req.resume();
      }
    );
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 15_000;
  server.keepAliveTimeout = 10_000;
  return server;
}
