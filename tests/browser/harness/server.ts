/**
 * Serves the bundled harness on 127.0.0.1 (port 0) as if it were Grafana's origin: the static files, the
 * page's settings at /harness-config.json, and everything under /api/ passed on to the data proxy stand-in.
 * Every request the browser makes is recorded (method, URL, headers).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { RecordedRequest } from '../../lib/grafana-data-proxy';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
const STATIC = new Set(['/index.html', '/harness.js', '/harness.css']);

export interface HarnessServer {
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface ServeOptions {
  dir: string;
  /** Served as /harness-config.json; read on every request, so a test can change it between page loads. */
  config: unknown;
  apiOrigin: string;
  /** Single-page app: any other GET path answers index.html (as Grafana serves its routes). */
  spa?: boolean;
  /** Handles a request before the rest (e.g. other Grafana APIs); returns true when it answered. */
  handle?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;
}

export async function serveHarness(opts: ServeOptions): Promise<HarnessServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://harness.invalid');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      headers[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
    }
    requests.push({ method: req.method ?? 'GET', url: url.pathname + url.search, headers });
    if (opts.handle?.(req, res, url)) {
      return;
    }
    const isApi = url.pathname.startsWith('/api/');
    const path =
      url.pathname === '/' ||
      (opts.spa &&
        !isApi &&
        !url.pathname.startsWith('/public/') &&
        !STATIC.has(url.pathname) &&
        url.pathname !== '/harness-config.json')
        ? '/index.html'
        : url.pathname;
    if (path === '/harness-config.json') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(opts.config));
    } else if (STATIC.has(path)) {
      readFile(join(opts.dir, path)).then(
        (body) => {
          res.writeHead(200, { 'Content-Type': TYPES[path.slice(path.lastIndexOf('.'))] ?? 'text/plain' });
          res.end(body);
        },
        () => {
          res.writeHead(404);
          res.end();
        }
      );
    } else if (path.startsWith('/api/')) {
      const forwarded = Object.fromEntries(
        Object.entries(headers).filter(([k]) => k !== 'host' && k !== 'connection' && k !== 'content-length')
      );
      // A POST's body (e.g. a policy to check) is passed on as it came.
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && chunks.length > 0;
        fetch(opts.apiOrigin + url.pathname + url.search, {
          method: req.method,
          headers: forwarded,
          ...(hasBody ? { body: Buffer.concat(chunks) } : {}),
          signal: AbortSignal.timeout(15_000),
        }).then(
          async (r) => {
            const body = Buffer.from(await r.arrayBuffer());
            res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') ?? 'application/octet-stream' });
            res.end(body);
          },
          () => {
            res.writeHead(502);
            res.end();
          }
        );
      });
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
