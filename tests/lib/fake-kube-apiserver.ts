/**
 * A local stand-in for the Kubernetes API server (none can run here), close enough that @kubernetes/client-node
 * runs its real list + watch code path against it:
 *  - GET collection (cluster-wide or namespaced) → `XList` with `metadata.resourceVersion`, items without kind;
 *  - GET one object, 404 Status when missing;
 *  - `?watch=true&resourceVersion=N` → a chunked stream of `{"type","object"}` lines: the events after N, then live
 *    ones; a resourceVersion older than the compacted history gets the API server's 410 "Expired" ERROR event;
 *  - `fieldSelector` (`a=b`, `a==b`, `a!=b`, comma-separated) on lists and watches;
 *  - HTTPS with its own CA (in the kubeconfig it writes) and bearer-token authentication (401 without it).
 * Tests drive churn with create / update / remove, and failure modes with `compact()` (forces a 410 re-list),
 * `expireWatches()` (410 on open watches) and `dropWatches()` (connections cut mid-stream).
 * Objects come from recorded real API objects (tests/fixtures/kube/).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface ResourceType {
  kind: string;
  apiVersion: string;
  /** URL prefix: `/api/v1` or `/apis/GROUP/VERSION`. */
  prefix: string;
  plural: string;
  namespaced: boolean;
}

const RESOURCES: ResourceType[] = [
  { kind: 'Pod', apiVersion: 'v1', prefix: '/api/v1', plural: 'pods', namespaced: true },
  { kind: 'Node', apiVersion: 'v1', prefix: '/api/v1', plural: 'nodes', namespaced: false },
  { kind: 'Service', apiVersion: 'v1', prefix: '/api/v1', plural: 'services', namespaced: true },
  { kind: 'ReplicaSet', apiVersion: 'apps/v1', prefix: '/apis/apps/v1', plural: 'replicasets', namespaced: true },
  { kind: 'Deployment', apiVersion: 'apps/v1', prefix: '/apis/apps/v1', plural: 'deployments', namespaced: true },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', prefix: '/apis/apps/v1', plural: 'statefulsets', namespaced: true },
  { kind: 'DaemonSet', apiVersion: 'apps/v1', prefix: '/apis/apps/v1', plural: 'daemonsets', namespaced: true },
  { kind: 'Job', apiVersion: 'batch/v1', prefix: '/apis/batch/v1', plural: 'jobs', namespaced: true },
  { kind: 'CronJob', apiVersion: 'batch/v1', prefix: '/apis/batch/v1', plural: 'cronjobs', namespaced: true },
  { kind: 'Namespace', apiVersion: 'v1', prefix: '/api/v1', plural: 'namespaces', namespaced: false },
  {
    kind: 'NetworkPolicy',
    apiVersion: 'networking.k8s.io/v1',
    prefix: '/apis/networking.k8s.io/v1',
    plural: 'networkpolicies',
    namespaced: true,
  },
];

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface StoredEvent {
  rv: number;
  type: EventType;
  kind: string;
  object: KubeObject;
}

interface OpenWatch {
  kind: string;
  namespace: string | undefined;
  selector: FieldSelector;
  res: ServerResponse;
  socket: Socket;
}

type FieldSelector = Array<{ path: string; op: '=' | '!='; value: string }>;

function parseFieldSelector(raw: string | null): FieldSelector {
  if (!raw) {
    return [];
  }
  return raw.split(',').map((term) => {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(term.trim());
    if (!m) {
      throw new Error(`bad field selector term '${term}'`);
    }
    return { path: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]! };
  });
}

function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    cur = (cur as Record<string, unknown> | undefined)?.[part];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

function matches(obj: KubeObject, namespace: string | undefined, selector: FieldSelector): boolean {
  if (namespace !== undefined && obj.metadata.namespace !== namespace) {
    return false;
  }
  return selector.every(({ path, op, value }) => (fieldValue(obj, path) === value) === (op === '='));
}

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

const clone = <T>(v: T): T => structuredClone(v);

/** A throw-away self-signed certificate for 127.0.0.1 (the kubeconfig trusts it as the cluster CA). */
function selfSignedCert(dir: string): { key: string; cert: string } {
  const key = join(dir, 'tls.key');
  const cert = join(dir, 'tls.crt');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=fake-kube-apiserver',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'pipe', timeout: 10_000 }
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make the fake API server's certificate: ${(err as Error).message}`);
  }
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

/** Reads a recorded object from tests/fixtures/kube/NAME.json. */
export function kubeFixture(name: string): KubeObject {
  return JSON.parse(readFileSync(join(__dirname, '../fixtures/kube', `${name}.json`), 'utf8')) as KubeObject;
}

export interface RequestRecord {
  method: string;
  path: string;
  watch: boolean;
  resourceVersion: string | null;
  fieldSelector: string | null;
}

export class FakeKubeApiServer {
  private rv = 1000;
  /** Watches from resourceVersions below this get 410 Gone. */
  private oldestRv = 1000;
  private readonly objects = new Map<string, KubeObject>();
  private readonly events: StoredEvent[] = [];
  private readonly watches = new Set<OpenWatch>();
  private readonly dir = mkdtempSync(join(tmpdir(), 'flowlens-fake-kube-'));
  private readonly cert = selfSignedCert(this.dir);
  private readonly server = createServer({ key: this.cert.key, cert: this.cert.cert }, (req, res) =>
    this.handle(req, res)
  );
  readonly token = randomBytes(16).toString('hex');
  readonly requests: RequestRecord[] = [];
  url = '';
  kubeconfigPath = '';

  static async start(objects: KubeObject[] = []): Promise<FakeKubeApiServer> {
    const s = new FakeKubeApiServer();
    for (const o of objects) {
      s.create(o);
    }
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.url = `https://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    s.kubeconfigPath = join(s.dir, 'kubeconfig');
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'fake',
          cluster: { server: s.url, 'certificate-authority-data': Buffer.from(s.cert.cert).toString('base64') },
        },
      ],
      users: [{ name: 'flowlens', user: { token: s.token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'flowlens' } }],
      'current-context': 'fake',
    };
    await writeFile(s.kubeconfigPath, JSON.stringify(kubeconfig), { mode: 0o600 });
    return s;
  }

  private key(kind: string, namespace: string | undefined, name: string): string {
    return `${kind}/${namespace ?? ''}/${name}`;
  }

  private typeOf(kind: string): ResourceType {
    const t = RESOURCES.find((r) => r.kind === kind);
    if (!t) {
      throw new Error(`fake API server does not serve kind ${kind}`);
    }
    return t;
  }

  private record(type: EventType, obj: KubeObject): KubeObject {
    const kind = obj.kind!;
    this.typeOf(kind);
    const stored = clone(obj);
    stored.metadata.resourceVersion = String(++this.rv);
    if (type !== 'DELETED') {
      this.objects.set(this.key(kind, stored.metadata.namespace, stored.metadata.name), stored);
    }
    const event: StoredEvent = { rv: this.rv, type, kind, object: stored };
    this.events.push(event);
    for (const w of this.watches) {
      this.send(w, event);
    }
    return clone(stored);
  }

  create(obj: KubeObject): KubeObject {
    if (!obj.kind) {
      throw new Error('object needs a kind');
    }
    if (this.objects.has(this.key(obj.kind, obj.metadata.namespace, obj.metadata.name))) {
      throw new Error(`${obj.kind} ${obj.metadata.name} exists`);
    }
    return this.record('ADDED', obj);
  }

  update(obj: KubeObject): KubeObject {
    if (!this.objects.has(this.key(obj.kind!, obj.metadata.namespace, obj.metadata.name))) {
      throw new Error(`${obj.kind} ${obj.metadata.name} does not exist`);
    }
    return this.record('MODIFIED', obj);
  }

  /** Applies `change` to a copy of the stored object and records it as MODIFIED. */
  modify(kind: string, namespace: string | undefined, name: string, change: (obj: KubeObject) => void): KubeObject {
    const current = this.get(kind, namespace, name);
    if (!current) {
      throw new Error(`${kind} ${name} does not exist`);
    }
    change(current);
    return this.update(current);
  }

  remove(kind: string, namespace: string | undefined, name: string): void {
    const k = this.key(kind, namespace, name);
    const obj = this.objects.get(k);
    if (!obj) {
      throw new Error(`${kind} ${name} does not exist`);
    }
    this.objects.delete(k);
    this.record('DELETED', obj);
  }

  /** Changes the store without any watch event — what a watcher misses while disconnected. */
  silently(
    fn: (api: { put(obj: KubeObject): void; drop(kind: string, ns: string | undefined, name: string): void }) => void
  ): void {
    fn({
      put: (obj) => {
        const stored = clone(obj);
        stored.metadata.resourceVersion = String(++this.rv);
        this.objects.set(this.key(obj.kind!, obj.metadata.namespace, obj.metadata.name), stored);
      },
      drop: (kind, ns, name) => {
        this.objects.delete(this.key(kind, ns, name));
        ++this.rv;
      },
    });
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const o = this.objects.get(this.key(kind, namespace, name));
    return o ? clone(o) : undefined;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Forgets the event history (etcd compaction): any watch resuming from an older resourceVersion gets 410. */
  compact(): void {
    this.oldestRv = this.rv;
    this.events.length = 0;
  }

  /** Sends the 410 "too old resource version" ERROR event to every open watch and ends it, as the API server does. */
  expireWatches(): void {
    this.compact();
    for (const w of [...this.watches]) {
      w.res.write(
        JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${this.rv}`) }) + '\n'
      );
      w.res.end();
      this.watches.delete(w);
    }
  }

  /** Cuts every open watch connection mid-stream (no terminating chunk). */
  dropWatches(): void {
    for (const w of [...this.watches]) {
      this.watches.delete(w);
      w.socket.destroy();
    }
  }

  get openWatches(): number {
    return this.watches.size;
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private send(w: OpenWatch, event: StoredEvent): void {
    if (event.kind !== w.kind || !matches(event.object, w.namespace, w.selector)) {
      return;
    }
    w.res.write(JSON.stringify({ type: event.type, object: event.object }) + '\n');
  }

  /** The discovery documents kubectl reads before it maps a kind to a resource (`/api`, `/apis`, per version). */
  private discovery(path: string): object | null {
    const prefixes = [...new Set(RESOURCES.map((r) => r.prefix))];
    if (path === '/version') {
      return { major: '1', minor: '31', gitVersion: 'v1.31.0' };
    }
    if (path === '/api') {
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
    }
    if (path === '/apis') {
      const groups = prefixes
        .filter((p) => p.startsWith('/apis/'))
        .map((p) => {
          const [, , name, version] = p.split('/') as [string, string, string, string];
          const gv = { groupVersion: `${name}/${version}`, version };
          return { name, versions: [gv], preferredVersion: gv };
        });
      return { kind: 'APIGroupList', apiVersion: 'v1', groups };
    }
    const prefix = prefixes.find((p) => p === path);
    if (prefix) {
      const types = RESOURCES.filter((r) => r.prefix === prefix);
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: types[0]!.apiVersion,
        resources: types.map((t) => ({
          name: t.plural,
          singularName: t.kind.toLowerCase(),
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: ['get', 'list', 'watch'],
        })),
      };
    }
    return null;
  }

  private route(path: string): { type: ResourceType; namespace?: string; name?: string } | null {
    for (const type of RESOURCES) {
      if (!path.startsWith(type.prefix + '/')) {
        continue;
      }
      const rest = path.slice(type.prefix.length + 1).split('/');
      if (rest[0] === 'namespaces' && type.namespaced && rest.length >= 3 && rest[2] === type.plural) {
        if (rest.length === 3) {
          return { type, namespace: rest[1] };
        }
        if (rest.length === 4) {
          return { type, namespace: rest[1], name: rest[3] };
        }
      }
      if (rest[0] === type.plural) {
        if (rest.length === 1) {
          return { type };
        }
        if (rest.length === 2 && !type.namespaced) {
          return { type, name: rest[1] };
        }
      }
    }
    return null;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const json = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      watch,
      resourceVersion: url.searchParams.get('resourceVersion'),
      fieldSelector: url.searchParams.get('fieldSelector'),
    });
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return json(401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    if (req.method !== 'GET') {
      return json(405, status(405, 'MethodNotAllowed', 'the fake API server is read-only'));
    }
    const discovery = this.discovery(url.pathname);
    if (discovery) {
      return json(200, discovery);
    }
    const route = this.route(url.pathname);
    if (!route) {
      return json(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    }
    const { type, namespace, name } = route;
    if (name !== undefined) {
      const obj = this.objects.get(this.key(type.kind, namespace, name));
      if (!obj) {
        return json(404, status(404, 'NotFound', `${type.plural} "${name}" not found`));
      }
      return json(200, obj);
    }
    let selector: FieldSelector;
    try {
      selector = parseFieldSelector(url.searchParams.get('fieldSelector'));
    } catch (err) {
      return json(400, status(400, 'BadRequest', (err as Error).message));
    }
    const current = [...this.objects.values()].filter((o) => o.kind === type.kind && matches(o, namespace, selector));
    if (!watch) {
      const items = current.map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
      return json(200, {
        kind: `${type.kind}List`,
        apiVersion: type.apiVersion,
        metadata: { resourceVersion: String(this.rv) },
        items,
      });
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w: OpenWatch = { kind: type.kind, namespace, selector, res, socket: req.socket };
    const from = url.searchParams.get('resourceVersion');
    if (from === null || from === '' || from === '0') {
      for (const o of current) {
        res.write(JSON.stringify({ type: 'ADDED', object: o }) + '\n');
      }
    } else {
      const n = Number(from);
      if (!Number.isInteger(n) || n < this.oldestRv) {
        res.end(
          JSON.stringify({
            type: 'ERROR',
            object: status(410, 'Expired', `too old resource version: ${from} (${this.oldestRv})`),
          }) + '\n'
        );
        return;
      }
      for (const e of this.events) {
        if (e.rv > n) {
          this.send(w, e);
        }
      }
    }
    this.watches.add(w);
    req.on('close', () => this.watches.delete(w));
  }
}
