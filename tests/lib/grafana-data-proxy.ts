/**
 * A faithful local stand-in for the two Grafana pieces a frontend datasource talks through, since no
 * Grafana server runs here:
 *
 * - the data proxy (`/api/datasources/proxy/uid/<uid>/<path>`), which matches the request path against
 *   the `routes` of the datasource's plugin.json, fills the route's URL and headers from the instance's
 *   jsonData / decrypted secureJsonData (Go-template `{{ .JsonData.x }}` / `{{ .SecureJsonData.x }}`),
 *   drops the browser's cookies and Authorization, forwards, and answers 502 when the target is unreachable
 *   (Grafana's pkg/api/pluginproxy: ds_proxy.go, ApplyRoute);
 * - the browser's `getBackendSrv().fetch` (params serialised into the query string, JSON parsed, a non-2xx
 *   answer rejected as `{ status, statusText, data, config }`).
 *
 * Every request on both sides is recorded, so a test can check the browser never carries a secret.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Observable } from 'rxjs';

export interface PluginRoute {
  path: string;
  method?: string;
  url?: string;
  headers?: Array<{ name: string; content: string }>;
  urlParams?: Array<{ name: string; content: string }>;
}

export interface ProxiedDatasource {
  uid: string;
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

export interface DataProxy {
  /** Grafana's origin, e.g. http://127.0.0.1:40123 */
  origin: string;
  /** What a datasource instance's `url` is in Grafana for proxy access. */
  datasourceUrl(uid: string): string;
  /** Requests the browser made to Grafana. */
  incoming: RecordedRequest[];
  /** Requests Grafana made to the route targets. */
  upstream: RecordedRequest[];
  close(): Promise<void>;
}

/** Go `text/template` for the two fields Grafana exposes to routes; a missing key renders `<no value>` as Go does. */
export function interpolateRouteTemplate(template: string, ds: ProxiedDatasource): string {
  return template.replace(/\{\{\s*\.(JsonData|SecureJsonData)\.(\w+)\s*\}\}/g, (_, scope: string, key: string) => {
    const source: Record<string, unknown> = scope === 'JsonData' ? ds.jsonData : ds.secureJsonData;
    const v = source[key];
    return v === undefined || v === null ? '<no value>' : String(v);
  });
}

/** util.JoinURLFragments: exactly one slash between the route's path and the rest. */
export function joinUrlFragments(a: string, b: string): string {
  if (b === '') {
    return a;
  }
  return `${a.replace(/\/+$/, '')}/${b.replace(/^\/+/, '')}`;
}

const cleanRelative = (p: string) => p.replace(/^\/+/, '');

/** First route whose (cleaned) path prefixes the proxy path and whose method fits, as ds_proxy.go picks. */
export function matchRoute(routes: PluginRoute[], proxyPath: string, method: string): PluginRoute | undefined {
  return routes.find(
    (r) =>
      (!r.method || r.method === '*' || r.method === method) &&
      cleanRelative(proxyPath).startsWith(cleanRelative(r.path))
  );
}

/** The target URL and headers Grafana sends upstream for a proxied request (ApplyRoute). */
export function applyRoute(
  route: PluginRoute,
  proxyPath: string,
  search: string,
  ds: ProxiedDatasource
): { url: string; headers: Record<string, string> } {
  const rest = cleanRelative(proxyPath).slice(cleanRelative(route.path).length);
  const base = new URL(interpolateRouteTemplate(route.url ?? '', ds));
  const target = new URL(base.toString());
  target.pathname = joinUrlFragments(base.pathname, rest);
  target.search = search;
  for (const p of route.urlParams ?? []) {
    target.searchParams.set(p.name, interpolateRouteTemplate(p.content, ds));
  }
  const headers: Record<string, string> = {};
  for (const h of route.headers ?? []) {
    headers[h.name] = interpolateRouteTemplate(h.content, ds);
  }
  return { url: target.toString(), headers };
}

function flatHeaders(h: IncomingHttpHeaders | Headers): Record<string, string> {
  const out: Record<string, string> = {};
  if (h instanceof Headers) {
    h.forEach((v, k) => (out[k.toLowerCase()] = v));
  } else {
    for (const [k, v] of Object.entries(h)) {
      if (v !== undefined) {
        out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
      }
    }
  }
  return out;
}

const PREFIX = '/api/datasources/proxy/uid/';
/** Headers Grafana's proxy never forwards from the browser. */
const DROPPED = new Set(['cookie', 'authorization', 'origin', 'referer', 'host', 'connection', 'content-length']);

export async function startDataProxy(opts: {
  routes: PluginRoute[];
  datasources: ProxiedDatasource[];
  upstreamTimeoutMs?: number;
}): Promise<DataProxy> {
  const incoming: RecordedRequest[] = [];
  const upstream: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const reply = (status: number, body?: unknown) => {
      res.writeHead(status, body === undefined ? {} : { 'Content-Type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://grafana.invalid');
    incoming.push({ method: req.method ?? 'GET', url: url.pathname + url.search, headers: flatHeaders(req.headers) });
    if (!url.pathname.startsWith(PREFIX)) {
      reply(404, { message: 'Not found' });
      return;
    }
    const [uid, ...restParts] = url.pathname.slice(PREFIX.length).split('/');
    const ds = opts.datasources.find((d) => d.uid === uid);
    if (!ds) {
      reply(404, { message: 'Unable to find datasource' });
      return;
    }
    const proxyPath = restParts.join('/');
    const route = matchRoute(opts.routes, proxyPath, req.method ?? 'GET');
    if (!route) {
      // A datasource without a matching route would be proxied to its own URL; ours has none.
      reply(502, { message: 'No route matches and the datasource has no URL' });
      return;
    }
    let target: { url: string; headers: Record<string, string> };
    try {
      target = applyRoute(route, proxyPath, url.search, ds);
    } catch (err) {
      reply(500, { message: `Failed to interpolate route: ${(err as Error).message}` });
      return;
    }
    const forwarded: Record<string, string> = {};
    for (const [k, v] of Object.entries(flatHeaders(req.headers))) {
      if (!DROPPED.has(k) && !k.startsWith('x-grafana')) {
        forwarded[k] = v;
      }
    }
    Object.assign(forwarded, target.headers);
    upstream.push({ method: req.method ?? 'GET', url: target.url, headers: flatHeaders(new Headers(forwarded)) });
    // The request body goes upstream as it came (a POST's JSON or YAML), as Grafana's reverse proxy streams it.
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && chunks.length > 0;
      fetch(target.url, {
        method: req.method,
        headers: forwarded,
        ...(hasBody ? { body: Buffer.concat(chunks) } : {}),
        signal: AbortSignal.timeout(opts.upstreamTimeoutMs ?? 10_000),
      }).then(
        async (r) => {
          const body = Buffer.from(await r.arrayBuffer());
          res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') ?? 'application/octet-stream' });
          res.end(body);
        },
        // Grafana's proxy error handler: "Proxy request failed" and a bare 502.
        () => reply(502)
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    datasourceUrl: (uid) => `${PREFIX}${uid}`,
    incoming,
    upstream,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The subset of BackendSrvRequest a frontend datasource uses. */
export interface BrowserRequest {
  url: string;
  method?: string;
  params?: Record<string, unknown>;
  headers?: Record<string, string>;
  data?: unknown;
}

/** Grafana's serializeParams: arrays repeat the key, null/undefined are left out. */
export function serializeParams(params: Record<string, unknown> = {}): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    for (const item of Array.isArray(v) ? v : [v]) {
      if (item !== undefined && item !== null) {
        parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(item))}`);
      }
    }
  }
  return parts.join('&');
}

/** `getBackendSrv().fetch` as a browser on Grafana's origin runs it. */
export function browserFetch(origin: string) {
  const sent: RecordedRequest[] = [];
  const fetchFn = <T>(req: BrowserRequest) =>
    new Observable<{ data: T; status: number; statusText: string; ok: boolean; config: BrowserRequest }>((sub) => {
      const query = serializeParams(req.params);
      const url = new URL(req.url + (query ? (req.url.includes('?') ? '&' : '?') + query : ''), origin);
      const headers: Record<string, string> = { Accept: 'application/json, text/plain, */*', ...req.headers };
      // backendSrv's parseBody: a string goes as is, anything else as JSON.
      let body: string | undefined;
      if (req.data !== undefined) {
        body = typeof req.data === 'string' ? req.data : JSON.stringify(req.data);
        headers['Content-Type'] ??= 'application/json';
      }
      sent.push({ method: req.method ?? 'GET', url: url.pathname + url.search, headers: { ...headers } });
      const controller = new AbortController();
      fetch(url, { method: req.method ?? 'GET', headers, body, signal: controller.signal })
        .then(async (r) => {
          const text = await r.text();
          let data: unknown = text;
          try {
            data = text === '' ? {} : JSON.parse(text);
          } catch {
            /* keep text */
          }
          if (r.ok) {
            sub.next({ data: data as T, status: r.status, statusText: r.statusText, ok: true, config: req });
            sub.complete();
          } else {
            sub.error({ status: r.status, statusText: r.statusText, data, config: req });
          }
        })
        .catch((err: unknown) => sub.error({ status: 0, statusText: String(err), data: {}, config: req }));
      return () => controller.abort();
    });
  return { fetch: fetchFn, sent };
}
