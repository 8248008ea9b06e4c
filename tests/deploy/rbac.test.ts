/**
 * The chart's RBAC against what the code really asks the API server for. The node agent (node scope) and
 * the hub (cluster scope) run their real Kubernetes metadata code (agent/src/kube/provider.ts, through
 * @kubernetes/client-node) against the fake API server with recorded objects, including a pod owned
 * by a ReplicaSet and one owned by a Job (the owner walk); every request is turned into the
 * (apiGroup, resource, verb) the API server would authorize. A scan of agent/src/kube names every API
 * call in the code, so a call the run did not exercise still counts. The rendered ClusterRoles must
 * grant exactly that: nothing missing (a 403 and guessed workload names), nothing extra.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubernetesMetadata } from '../../agent/src/kube/provider.js';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';
import { helmTemplate, parseManifests } from '../../deploy/tools/render.js';
import { FakeKubeApiServer, kubeFixture, type KubeObject, type RequestRecord } from '../lib/fake-kube-apiserver.js';
import { requireK8sTools } from '../lib/k8s-tools.js';

const NODE = 'ip-10-0-1-23.eu-west-1.compute.internal';
const FIXTURES = [
  'node-a',
  'node-b',
  'deployment-web',
  'replicaset-web',
  'pod-web',
  'cronjob-report',
  'job-report',
  'pod-report',
  'pod-db',
  'service-web',
  'namespace-shop',
  'policy:networkpolicies-shop',
];
const TOKENS = { 'tokens.ingestToken': 'i', 'tokens.queryToken': 'q' };

/** "group/resource:verb" as RBAC sees a request. */
function authorizationOf(r: RequestRecord): string {
  const parts = r.path.split('/').filter(Boolean);
  const [group, rest] = parts[0] === 'api' ? ['', parts.slice(2)] : [parts[1]!, parts.slice(3)];
  const scoped = rest[0] === 'namespaces' && rest.length >= 3 ? rest.slice(2) : rest;
  const resource = scoped[0]!;
  const verb = r.watch ? 'watch' : scoped.length > 1 ? 'get' : 'list';
  if (r.method !== 'GET') {
    throw new Error(`${r.method} ${r.path}: the metadata code only reads`);
  }
  return `${group}/${resource}:${verb}`;
}

async function observed(nodeName: string | undefined): Promise<Set<string>> {
  // `policy:FILE` is a recorded List (kubectl get -o json): its items are the objects
  const objects = FIXTURES.flatMap((f) =>
    f.startsWith('policy:') ? (kubeFixture(f.slice(7)).items as KubeObject[]) : [kubeFixture(f)]
  );
  const api = await FakeKubeApiServer.start(objects);
  try {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(api.kubeconfigPath);
    const md = new KubernetesMetadata({ kubeConfig, nodeName, log: () => {}, syncTimeoutMs: 10_000 });
    await md.start();
    await md.settled();
    // Watches open after the first list: wait until every list has its watch.
    const deadline = Date.now() + 10_000;
    while (api.requests.filter((r) => r.watch).length < md.listCounts().length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await md.stop();
    return new Set(api.requests.map(authorizationOf));
  } finally {
    await api.close();
  }
}

const KIND_GROUP: Record<string, string> = { Pod: '', Node: '', Service: '', ReplicaSet: 'apps', Job: 'batch' };

/** Every API call written in agent/src/kube (client-node methods, informer paths, reads by path), as group/resource:verb. */
function callsInCode(): { agent: Set<string>; hub: Set<string> } {
  const dir = join(REPO_ROOT, 'agent/src/kube');
  const all = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const m of text.matchAll(
      /\.(read|list|create|replace|patch|delete)(?:Namespaced)?([A-Z][A-Za-z]*?)(?:ForAllNamespaces)?\(/g
    )) {
      const [, op, kind] = m as unknown as [string, string, string];
      assert.ok(kind in KIND_GROUP, `${f}: ${m[0]} reads a kind this test does not map yet (${kind}): add it`);
      const verb = op === 'read' ? 'get' : op === 'list' ? 'list' : op;
      all.add(`${KIND_GROUP[kind]}/${kind.toLowerCase()}s:${verb}`);
    }
    // Informers (informer.ts): list, then watch, the path they are given (core or a named group).
    for (const m of text.matchAll(/path: '\/api(?:s\/([a-z0-9.]+))?\/v1\/([a-z]+)'/g)) {
      all.add(`${m[1] ?? ''}/${m[2]}:list`);
      all.add(`${m[1] ?? ''}/${m[2]}:watch`);
    }
    // Single-object reads by path (the owner walk): /apis/<group>/<version>/namespaces/${ns}/<resource>/${name}.
    for (const m of text.matchAll(/`\/apis\/([a-z.]+)\/v1\/namespaces\/\$\{[^}]+\}\/([a-z]+)\/\$\{/g)) {
      all.add(`${m[1]}/${m[2]}:get`);
    }
  }
  // Node scope leaves out the services, namespaces and NetworkPolicies watches (provider.ts: only when no node
  // name is given).
  const hubOnly = ['/services:', '/namespaces:', 'networking.k8s.io/networkpolicies:'];
  const agent = new Set([...all].filter((c) => !hubOnly.some((h) => c.startsWith(h))));
  return { agent, hub: all };
}

function granted(role: { rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> }): Set<string> {
  const out = new Set<string>();
  for (const rule of role.rules ?? []) {
    for (const g of rule.apiGroups) {
      for (const r of rule.resources) {
        for (const v of rule.verbs) {
          out.add(`${g}/${r}:${v}`);
        }
      }
    }
  }
  return out;
}

const sorted = (s: Set<string>): string[] => [...s].sort();
let agentCalls: Set<string>;
let hubCalls: Set<string>;

before(async () => {
  agentCalls = await observed(NODE);
  hubCalls = await observed(undefined);
});

test('the run exercised every API call in the code (including the ReplicaSet and Job owner reads)', () => {
  const code = callsInCode();
  assert.deepEqual(sorted(agentCalls), sorted(code.agent));
  assert.deepEqual(sorted(hubCalls), sorted(code.hub));
  assert.ok(hubCalls.has('apps/replicasets:get') && hubCalls.has('batch/jobs:get'));
});

test('the chart grants each component exactly the calls its code makes', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const objs = parseManifests(await helmTemplate(tools.helm, { set: TOKENS })) as Array<{
    kind: string;
    metadata?: { name?: string };
    rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
  }>;
  const role = (suffix: string) => objs.find((o) => o.kind === 'ClusterRole' && o.metadata?.name?.endsWith(suffix))!;
  assert.deepEqual(sorted(granted(role('-agent'))), sorted(agentCalls), 'agent ClusterRole vs agent calls');
  assert.deepEqual(sorted(granted(role('-hub'))), sorted(hubCalls), 'hub ClusterRole vs hub calls');
});

test('the comparison is live: the rules before this fix (no replicasets/jobs get) are caught', () => {
  const old = granted({
    rules: [
      { apiGroups: [''], resources: ['pods', 'nodes', 'services', 'namespaces'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list', 'watch'] },
    ],
  });
  const missing = sorted(hubCalls).filter((c) => !old.has(c));
  assert.deepEqual(missing, ['apps/replicasets:get', 'batch/jobs:get']);
});
