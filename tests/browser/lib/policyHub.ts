/**
 * A stand-in for the hub's policy API (policy-api.md, issue 16) in front of the live hub: answers
 * `/api/v1/policy-drafts` and `/api/v1/policy-check` from the recorded fixtures (src/testing/policyFixtures.ts) and
 * passes every other request to the live hub unchanged. It checks what the hub checks (the query token, a namespace,
 * numeric from/to) and answers bad requests as the hub does (401 / 400 naming the parameter), and it records every
 * policy call with its body, so a test can see what the page POSTed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_DENY_POLICY,
  SHOP_CHECK_CURRENT,
  SHOP_CHECK_DEFAULT_DENY,
  SHOP_CHECK_DRAFT,
  SHOP_DRAFTS,
  SHOP_DRAFTS_DEFAULT_DENY,
  SHOP_DRAFTS_REDIS,
} from '../../../src/testing/policyFixtures';
import type { PolicyCheckResponse, PolicyDraftsResponse } from '../../../src/datasource/policyTypes';

export interface PolicyCall {
  method: string;
  path: string;
  params: Record<string, string>;
  contentType?: string;
  body?: string;
  status: number;
}

export interface PolicyHub {
  url: string;
  calls: PolicyCall[];
  close(): Promise<void>;
}

const NS = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const YAMLS_OF_DRAFTS = new Set([SHOP_DRAFTS, SHOP_DRAFTS_DEFAULT_DENY, SHOP_DRAFTS_REDIS].map((d) => d.yaml));

function draftsFor(namespace: string, params: URLSearchParams): PolicyDraftsResponse {
  if (namespace !== SHOP_DRAFTS.namespace) {
    return { ...SHOP_DRAFTS, namespace, policies: [], yaml: '' };
  }
  if (params.get('workload') === 'redis') {
    return SHOP_DRAFTS_REDIS;
  }
  return params.get('defaultDeny') === 'true' ? SHOP_DRAFTS_DEFAULT_DENY : SHOP_DRAFTS;
}

/** The check for a POSTed body: the drafts' YAML denies nothing; the default-deny object denies everything. */
function checkFor(body: string): PolicyCheckResponse | undefined {
  if (YAMLS_OF_DRAFTS.has(body)) {
    return SHOP_CHECK_DRAFT;
  }
  try {
    if (JSON.stringify(JSON.parse(body)) === JSON.stringify(DEFAULT_DENY_POLICY.object)) {
      return SHOP_CHECK_DEFAULT_DENY;
    }
  } catch {
    /* not JSON */
  }
  return undefined;
}

export async function startPolicyHub(hub: { url: string; queryToken: string }): Promise<PolicyHub> {
  const calls: PolicyCall[] = [];

  const answer = (req: IncomingMessage, url: URL, body: string): { status: number; type: string; text: string } => {
    const json = (status: number, data: unknown) => ({ status, type: 'application/json', text: JSON.stringify(data) });
    if (req.headers.authorization !== `Bearer ${hub.queryToken}`) {
      return json(401, { error: 'missing or wrong query token' });
    }
    const namespace = url.searchParams.get('namespace');
    if (!namespace || !NS.test(namespace)) {
      return json(400, { error: 'namespace: required, a Kubernetes namespace name' });
    }
    for (const p of ['from', 'to']) {
      const v = url.searchParams.get(p);
      if (v !== null && !/^\d+$/.test(v)) {
        return json(400, { error: `${p}: epoch milliseconds or RFC 3339` });
      }
    }
    if (url.pathname === '/api/v1/policy-drafts' && req.method === 'GET') {
      const drafts = draftsFor(namespace, url.searchParams);
      return url.searchParams.get('format') === 'yaml'
        ? { status: 200, type: 'application/yaml', text: drafts.yaml }
        : json(200, drafts);
    }
    if (url.pathname === '/api/v1/policy-check' && req.method === 'GET') {
      return json(200, namespace === 'shop' ? SHOP_CHECK_CURRENT : { ...SHOP_CHECK_DRAFT, namespace, flowsChecked: 0 });
    }
    if (url.pathname === '/api/v1/policy-check' && req.method === 'POST') {
      const check = checkFor(body);
      return check ? json(200, check) : json(400, { error: 'body: no NetworkPolicy objects this stand-in knows' });
    }
    return json(405, { error: `${req.method} not allowed` });
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://hub.invalid');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (url.pathname === '/api/v1/policy-drafts' || url.pathname === '/api/v1/policy-check') {
        const a = answer(req, url, body.toString('utf8'));
        calls.push({
          method: req.method ?? 'GET',
          path: url.pathname,
          params: Object.fromEntries(url.searchParams),
          contentType: req.headers['content-type'],
          body: body.length > 0 ? body.toString('utf8') : undefined,
          status: a.status,
        });
        res.writeHead(a.status, { 'Content-Type': a.type });
        res.end(a.text);
        return;
      }
      const headers = Object.fromEntries(
        Object.entries(req.headers)
          .filter(([k]) => !['host', 'connection', 'content-length'].includes(k))
          .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')])
      );
      fetch(hub.url + url.pathname + url.search, {
        method: req.method,
        headers,
        ...(body.length > 0 ? { body } : {}),
        signal: AbortSignal.timeout(10_000),
      }).then(
        async (r) => {
          res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') ?? 'application/octet-stream' });
          res.end(Buffer.from(await r.arrayBuffer()));
        },
        () => {
          res.writeHead(502);
          res.end();
        }
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
