/**
 * Issue 16 acceptance: recorded flows of a multi-namespace app (shop: frontend, orders, catalog; payments:
 * payments-api; kube-system: coredns) — Service calls (frontend → orders, orders → payments-api, each reported
 * from both ends with the node's translation), an external API, S3, a client on the internet, DNS over TCP, and
 * catalog, which only receives — posted to a real hub through its ingest API. Then:
 *  - the drafts allow every observed flow and nothing else between the app's workloads (the evaluator decides);
 *  - each rule's evidence is the traffic's ground truth (bytes the fixtures' ends reported, first/last seen);
 *  - the drafts evaluated against their own traffic deny nothing (POST /api/v1/policy-check);
 *  - the check against the cluster's hand-written restrictive policies lists exactly the flows they deny;
 *  - every generated object passes the Kubernetes schemas (kubernetes-models, strict fields);
 *  - same input → byte-identical YAML; the CLI prints exactly the API's YAML.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import type { MetadataFile, NetworkPolicy } from '../../agent/src/contracts/metadata.js';
import type { ReportV1 } from '../../agent/src/contracts/report.js';
import { PolicyEvaluator, type PolicyEnd } from '../../agent/src/policy/evaluate.js';
import { Inventory } from '../../agent/src/policy/inventory.js';
import { REPO_ROOT, startHubProcess, type HubProcess } from '../lib/hub-process.js';
import { FakeKubeApiServer } from '../lib/fake-kube-apiserver.js';
import { requireK8sTools } from '../lib/k8s-tools.js';
import { validateK8sObject, type K8sObject } from '../lib/k8s-validate.js';

const run = promisify(execFile);
const FIXTURES = join(__dirname, 'fixtures');

/** The hand-written restrictive policy set the hub's metadata calls the cluster's current policies. */
const RESTRICTIVE: NetworkPolicy[] = [
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'default-deny-ingress', namespace: 'shop' },
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'frontend-from-internet', namespace: 'shop' },
    spec: {
      podSelector: { matchLabels: { app: 'frontend' } },
      ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }], ports: [{ port: 'http' }] }],
    },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'orders-from-frontend', namespace: 'shop' },
    spec: {
      podSelector: { matchLabels: { app: 'orders' } },
      ingress: [
        { from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8080 }] },
      ],
    },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'frontend-egress', namespace: 'shop' },
    spec: {
      podSelector: { matchLabels: { app: 'frontend' } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        {
          to: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['orders'] }] } }],
          ports: [{ port: 8000, endPort: 8090 }],
        },
      ],
    },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'default-deny-egress', namespace: 'payments' },
    spec: { podSelector: {}, policyTypes: ['Egress'] },
  },
];

let hub: HubProcess;
let dir: string;
let metadata: MetadataFile;
const WINDOWS: number[] = [];
let fromMs: number;
let toMs: number;

function shifted(r: ReportV1, startMs: number): ReportV1 {
  return {
    ...r,
    reportId: randomUUID(),
    start: new Date(startMs).toISOString(),
    end: new Date(startMs + 30_000).toISOString(),
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowlens-policy-'));
  metadata = JSON.parse(await readFile(join(FIXTURES, 'app-metadata.json'), 'utf8')) as MetadataFile;
  const metadataFile = join(dir, 'metadata.json');
  await writeFile(metadataFile, JSON.stringify({ ...metadata, networkPolicies: RESTRICTIVE }));
  hub = await startHubProcess({
    metadataFile,
    ipRangesFile: join(FIXTURES, 'ip-ranges.json'),
    // app-reports.json names its cluster, `dev`: the one this hub's metadata describes (docs/hub.md "Clusters").
    args: ['--cluster', 'dev'],
  });
  const reports = JSON.parse(await readFile(join(FIXTURES, 'app-reports.json'), 'utf8')) as ReportV1[];
  // Two report windows, ten and five minutes ago (30 s aligned, as agents report)
  const base = Math.floor((Date.now() - 600_000) / 30_000) * 30_000;
  WINDOWS.push(base, base + 300_000);
  for (const start of WINDOWS) {
    for (const r of reports) {
      const res = await hub.postReport(shifted(r, start));
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
  }
  fromMs = base - 3600_000;
  toMs = base + 3600_000;
});

after(async () => {
  await hub?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const range = () => `from=${fromMs}&to=${toMs}`;

interface Rule {
  direction: string;
  peer: string;
  ports: string[];
  bytes: number;
  flows: number;
  firstSeenMs: number | null;
  lastSeenMs: number | null;
  assumed: boolean;
}
interface Draft {
  name: string;
  workload: string | null;
  object: NetworkPolicy;
  rules: Rule[];
}

async function drafts(ns: string, extra = ''): Promise<{ policies: Draft[]; yaml: string }> {
  const res = await hub.get(`/api/v1/policy-drafts?namespace=${ns}&${range()}${extra}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { policies: Draft[]; yaml: string };
}

// The app's pods by workload, and the observed connections (ground truth: the fixtures' flows).
const POD_IPS: Record<string, string> = {
  'shop/frontend': '10.10.0.10',
  'shop/orders': '10.10.0.20',
  'shop/catalog': '10.10.0.30',
  'payments/payments-api': '10.20.0.10',
  'kube-system/coredns': '10.30.0.10',
};
const OBSERVED: Array<[string, string, number]> = [
  ['shop/frontend', 'shop/orders', 8080],
  ['shop/frontend', 'shop/catalog', 9000],
  ['shop/frontend', 'kube-system/coredns', 53],
  ['shop/orders', 'payments/payments-api', 8443],
  ['shop/orders', '198.51.100.20', 443],
  ['payments/payments-api', '203.0.113.50', 443],
  ['192.0.2.77', 'shop/frontend', 80],
];

function endOf(inv: Inventory, name: string): PolicyEnd {
  const ip = POD_IPS[name];
  if (ip === undefined) {
    return { ip: name, pod: null };
  }
  const p = metadata.pods.find((x) => x.ip === ip)!;
  return inv.end({ ip, pod: p.name, namespace: p.namespace, workload: p.workload, kind: p.kind, node: p.node });
}

test('the drafts allow every observed flow and nothing else between the app workloads', async () => {
  const all = [...(await drafts('shop')).policies, ...(await drafts('payments')).policies].map((d) => d.object);
  assert.deepEqual(
    all.map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
    ['shop/flowlens-catalog', 'shop/flowlens-frontend', 'shop/flowlens-orders', 'payments/flowlens-payments-api']
  );
  const inv = new Inventory({ ...metadata, networkPolicies: [] } as Required<MetadataFile>, (n) =>
    n === 'node-a' ? ['192.168.10.1'] : ['192.168.20.1']
  );
  const ev = new PolicyEvaluator(all, inv.namespaceLabels);
  const allowed = (c: string, s: string, port: number) =>
    ev.evaluate({ client: endOf(inv, c), server: endOf(inv, s), port, protocol: 'TCP' }).allowed;
  for (const [c, s, port] of OBSERVED) {
    assert.equal(allowed(c, s, port), true, `observed ${c} → ${s}:${port}`);
  }
  const app = ['shop/frontend', 'shop/orders', 'shop/catalog', 'payments/payments-api'];
  const ports = [80, 443, 53, 8080, 8443, 9000];
  let denied = 0;
  for (const c of app) {
    for (const s of app) {
      for (const port of ports) {
        if (c === s || OBSERVED.some(([a, b, p]) => a === c && b === s && p === port)) {
          continue;
        }
        assert.equal(allowed(c, s, port), false, `not observed: ${c} → ${s}:${port}`);
        denied++;
      }
    }
  }
  assert.equal(denied, 4 * 3 * 6 - 3);
  // Outside the app: only what was seen (the S3 prefix, not one address; the external API; the internet client)
  assert.equal(allowed('shop/orders', '198.51.100.99', 443), true, 'the ip-ranges S3 prefix seen');
  assert.equal(allowed('shop/orders', '198.51.100.200', 443), false, 'outside the S3 prefix');
  assert.equal(allowed('shop/orders', '203.0.113.50', 443), false, 'the external API is payments-api’s');
  assert.equal(allowed('192.0.2.77', 'shop/orders', 8080), false);
  assert.equal(allowed('192.0.2.78', 'shop/frontend', 80), false, '/32 for an external client');
});

test('each rule carries the ground-truth evidence; DNS is assumed; catalog only receives', async () => {
  const { policies } = await drafts('shop');
  const rule = (wl: string, dir: string, peer: string) =>
    policies.find((p) => p.workload === wl)!.rules.find((r) => r.direction === dir && r.peer === peer)!;
  // frontend → orders through the Service: bytes = max(client sent, server received) + max(server sent, client
  // received) per window = 120000 + 480000, in both windows; seen from the first window's start to the second's
  const fo = rule('orders', 'ingress', 'workload:shop/frontend');
  assert.deepEqual(
    [fo.ports, fo.bytes, fo.flows, fo.firstSeenMs, fo.lastSeenMs, fo.assumed],
    [['TCP/8080'], 2 * 600_000, 1, WINDOWS[0], WINDOWS[1], false]
  );
  assert.deepEqual(rule('frontend', 'ingress', 'ipBlock:192.0.2.77/32').bytes, 2 * 671_000);
  assert.deepEqual(rule('orders', 'egress', 'ipBlock:198.51.100.0/25').bytes, 2 * 2_540_000);
  assert.deepEqual(rule('orders', 'egress', 'workload:payments/payments-api').ports, ['TCP/8443']);
  const dns = rule('frontend', 'egress', 'dns:kube-system/kube-dns');
  assert.deepEqual([dns.ports, dns.assumed, dns.bytes], [['TCP/53', 'UDP/53'], true, 2 * 3300]);
  assert.equal(rule('catalog', 'egress', 'dns:kube-system/kube-dns').flows, 0, 'catalog sends nothing');
  const catalog = policies.find((p) => p.workload === 'catalog')!;
  assert.deepEqual(
    catalog.rules.map((r) => `${r.direction} ${r.peer}`),
    ['ingress workload:shop/frontend', 'egress dns:kube-system/kube-dns']
  );
  assert.deepEqual(catalog.object.spec.podSelector, {
    matchLabels: { app: 'catalog', 'app.kubernetes.io/part-of': 'shop' },
  });
  assert.match(
    catalog.object.metadata.annotations!['flowlens.io/ingress-0']!,
    /^workload:shop\/frontend TCP\/9000: 118000 bytes in 1 flow, first seen/
  );
});

test('every generated object passes the Kubernetes schemas (kubernetes-models, strict fields)', async () => {
  for (const ns of ['shop', 'payments']) {
    const { yaml: text } = await drafts(ns, '&defaultDeny=true');
    const docs = yaml.loadAll(text) as K8sObject[];
    assert.ok(docs.length >= 2);
    for (const d of docs) {
      assert.deepEqual(await validateK8sObject(d), [], `${d.metadata?.name}`);
    }
  }
});

/** kubectl from PATH, else the one the deploy tests use (deploy/tools/k8s-tools.ts), else a skip saying why. */
async function findKubectl(t: import('node:test').TestContext): Promise<string | null> {
  try {
    await run('kubectl', ['version', '--client']);
    return 'kubectl';
  } catch {
    t.diagnostic('no kubectl on PATH: using the kubectl the deploy tests download');
    return (await requireK8sTools(t))?.kubectl ?? null;
  }
}

test('kubectl apply --dry-run=client accepts every generated object', async (t) => {
  const kubectl = await findKubectl(t);
  if (!kubectl) {
    return;
  }
  // kubectl maps kinds through an API server's discovery even in client dry-run: the fake one answers it
  // (no OpenAPI document there, hence --validate=false; the schemas are checked by the test above)
  const api = await FakeKubeApiServer.start([]);
  try {
    for (const ns of ['shop', 'payments']) {
      const { yaml: text } = await drafts(ns, '&defaultDeny=true');
      const file = join(dir, `${ns}.yaml`);
      await writeFile(file, text);
      const out: { stdout: string } = await run(kubectl, [
        '--kubeconfig',
        api.kubeconfigPath,
        'apply',
        '--dry-run=client',
        '--validate=false',
        '-f',
        file,
      ]);
      const names = (yaml.loadAll(text) as K8sObject[]).map(
        (o) => `networkpolicy.networking.k8s.io/${o.metadata!.name} created (dry run)`
      );
      assert.deepEqual(out.stdout.trim().split('\n'), names);
    }
  } finally {
    await api.close();
  }
});

test('the drafts evaluated against their own traffic deny nothing (with and without default-deny)', async () => {
  for (const extra of ['', '&defaultDeny=true']) {
    const text = [(await drafts('shop', extra)).yaml, (await drafts('payments', extra)).yaml].join('');
    const res = await fetch(`${hub.url}/api/v1/policy-check?namespace=shop&${range()}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${hub.queryToken}`, 'Content-Type': 'application/yaml' },
      body: text,
    });
    const body = (await res.json()) as { denied: unknown[]; flowsChecked: number; policiesEvaluated: number };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body.denied, []);
    assert.equal(body.flowsChecked, 6, 'the six flows with an end in shop');
    assert.equal(body.policiesEvaluated, extra ? 6 : 4);
  }
});

test('the check lists exactly the flows the cluster’s restrictive policies deny', async () => {
  const res = await hub.get(`/api/v1/policy-check?namespace=shop&${range()}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.policiesEvaluated, RESTRICTIVE.length);
  assert.equal(res.body.flowsChecked, 6);
  const denied = (res.body.denied as Array<Record<string, any>>).map((d) => [
    `${d.client.namespace}/${d.client.workload}`,
    `${d.server.namespace}/${d.server.workload}`,
    d.serverPort,
    d.bytes,
    d.deniedBy,
    d.policies.join(','),
  ]);
  // frontend → catalog: catalog is isolated by default-deny-ingress, frontend's egress allows only DNS and orders
  assert.deepEqual(denied, [
    ['shop/frontend', 'shop/catalog', 9000, 2 * 59_000, 'both', 'shop/default-deny-ingress,shop/frontend-egress'],
  ]);
  const d0 = res.body.denied[0];
  assert.deepEqual([d0.firstSeenMs, d0.lastSeenMs, d0.protocol], [WINDOWS[0], WINDOWS[1], 'TCP']);
  assert.equal(d0.client.ip, '10.10.0.11');

  const pay = await hub.get(`/api/v1/policy-check?namespace=payments&${range()}`);
  assert.deepEqual(
    (pay.body.denied as Array<Record<string, any>>).map((d) => [
      d.client.workload,
      d.server.ip,
      d.server.pod,
      d.deniedBy,
      d.policies,
    ]),
    [['payments-api', '203.0.113.50', null, 'egress', ['payments/default-deny-egress']]],
    'orders → payments-api stays allowed: payments isolates egress only'
  );
});

test('same input gives byte-identical YAML, format=yaml is the JSON answer’s yaml, and the CLI prints it exactly', async () => {
  const a = await hub.get(`/api/v1/policy-drafts?namespace=shop&${range()}&format=yaml`);
  const b = await hub.get(`/api/v1/policy-drafts?namespace=shop&${range()}&format=yaml`);
  assert.equal(a.status, 200);
  assert.equal(typeof a.body, 'string');
  assert.equal(a.body, b.body);
  assert.equal(a.body, (await drafts('shop')).yaml);
  const res = await fetch(`${hub.url}/api/v1/policy-drafts?namespace=shop&${range()}&format=yaml`, {
    headers: { Authorization: `Bearer ${hub.queryToken}` },
  });
  assert.match(res.headers.get('content-type') ?? '', /^application\/yaml/);
  const cli = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO_ROOT, 'agent/src/cli.ts'),
      'policy',
      'draft',
      '--namespace',
      'shop',
      '--from',
      String(fromMs),
      '--to',
      String(toMs),
      '--hub',
      hub.url,
    ],
    { cwd: REPO_ROOT, env: { ...process.env, FLOWLENS_HUB_QUERY_TOKEN: hub.queryToken } }
  );
  assert.equal(cli.stdout, a.body, 'CLI output is byte-identical to the API YAML');
  const check = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO_ROOT, 'agent/src/cli.ts'),
      'policy',
      'check',
      '--namespace',
      'shop',
      '--from',
      String(fromMs),
      '--to',
      String(toMs),
      '--hub',
      hub.url,
    ],
    { cwd: REPO_ROOT, env: { ...process.env, FLOWLENS_HUB_QUERY_TOKEN: hub.queryToken } }
  );
  assert.match(
    check.stdout,
    /^1 of 6 flows denied by 5 policies\nshop\/frontend \(10\.10\.0\.11\) -> shop\/catalog \(10\.10\.0\.30\) TCP\/9000 118000 bytes, denied by both/
  );
  // --file: the drafts themselves (POST), which deny nothing of the traffic they came from
  const draftFile = join(dir, 'drafts-cli.yaml');
  await writeFile(draftFile, (await drafts('shop')).yaml + (await drafts('payments')).yaml);
  const fromFile = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO_ROOT, 'agent/src/cli.ts'),
      'policy',
      'check',
      '--namespace',
      'shop',
      '--file',
      draftFile,
      '--from',
      String(fromMs),
      '--to',
      String(toMs),
      '--hub',
      hub.url,
    ],
    { cwd: REPO_ROOT, env: { ...process.env, FLOWLENS_HUB_QUERY_TOKEN: hub.queryToken } }
  );
  assert.equal(fromFile.stdout, '0 of 6 flows denied by 4 policies\n');
});

test('bad parameters and bodies get a 400 naming what is wrong', async () => {
  assert.match((await hub.get('/api/v1/policy-drafts')).body.error, /^namespace: required/);
  assert.match((await hub.get('/api/v1/policy-drafts?namespace=Shop_1')).body.error, /^namespace: expected/);
  assert.match((await hub.get('/api/v1/policy-check?namespace=shop&from=yesterday')).body.error, /^from: /);
  assert.match((await hub.get('/api/v1/policy-drafts?namespace=shop&format=xml')).body.error, /^format: /);
  assert.equal((await hub.get('/api/v1/policy-drafts?namespace=shop', { token: null })).status, 401);
  const res = await fetch(`${hub.url}/api/v1/policy-check?namespace=shop`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${hub.queryToken}` },
    body: 'kind: NetworkPolicy\nmetadata: {name: x}\nspec: {podSelector: {matchLabels: {app: 1}}}\n',
  });
  assert.equal(res.status, 400);
  assert.match(
    ((await res.json()) as { error: string }).error,
    /^body: document 1\.spec\.podSelector\.matchLabels\.app/
  );
});
