import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PodInfo, PolicyInventory } from '../contracts/metadata.js';
import { checkFlows } from './check.js';
import { buildDrafts, evidenceText, type EvidenceFlow } from './draft.js';
import { PolicyEvaluator } from './evaluate.js';
import { Inventory, type NamedEnd } from './inventory.js';
import { policiesToYaml } from './yaml.js';

const podInfo = (
  ip: string,
  name: string,
  namespace: string,
  workload: string,
  labels: Record<string, string>
): PodInfo => ({
  ip,
  name,
  namespace,
  workload,
  kind: 'Deployment',
  node: 'n1',
  labels,
});

const INVENTORY: PolicyInventory = {
  pods: [
    podInfo('10.0.0.1', 'web-a', 'shop', 'web', { app: 'web', 'pod-template-hash': 'aaa' }),
    podInfo('10.0.0.2', 'web-b', 'shop', 'web', { app: 'web', 'pod-template-hash': 'bbb' }),
    podInfo('10.0.0.3', 'orders-a', 'shop', 'orders', { app: 'orders', tier: 'api' }),
    podInfo('10.0.1.1', 'pay-a', 'payments', 'pay', { app: 'pay' }),
    podInfo('10.0.9.1', 'coredns-a', 'kube-system', 'coredns', { 'k8s-app': 'kube-dns' }),
  ],
  namespaces: [{ name: 'shop', labels: { team: 'shop' } }],
  networkPolicies: [],
};

const end = (p: PodInfo | string): NamedEnd =>
  typeof p === 'string'
    ? { ip: p, pod: null, namespace: null, workload: null, kind: null }
    : { ip: p.ip, pod: p.name, namespace: p.namespace, workload: p.workload, kind: p.kind };
const P = Object.fromEntries(INVENTORY.pods.map((p) => [p.name, p]));

function flow(
  client: NamedEnd,
  server: NamedEnd,
  port: number,
  bytes: number,
  t = 1000,
  category: EvidenceFlow['category'] = 'INTRA_AZ'
): EvidenceFlow {
  return { client, server, serverPort: port, category, bytes, firstSeenMs: t, lastSeenMs: t + 60_000 };
}

const FLOWS: EvidenceFlow[] = [
  flow(end('198.51.100.7'), end(P['web-a']!), 8080, 500, 1000, 'UNCLASSIFIED'),
  flow(end(P['web-a']!), end(P['orders-a']!), 9000, 1000, 2000),
  flow(end(P['web-b']!), end(P['orders-a']!), 9000, 3000, 1000),
  flow(end(P['web-b']!), end(P['orders-a']!), 9100, 10, 5000),
  flow(end(P['orders-a']!), end(P['pay-a']!), 7000, 200),
  flow(end(P['orders-a']!), end('52.216.8.1'), 443, 900, 1000, 'AMAZON_S3'),
  flow(end(P['orders-a']!), end('52.216.9.2'), 443, 100, 3000, 'AMAZON_S3'),
  flow(end(P['orders-a']!), end('203.0.113.9'), 443, 50, 1000, 'UNCLASSIFIED'),
  flow(end(P['orders-a']!), end(P['coredns-a']!), 53, 40),
];
const OPTS = {
  namespace: 'shop',
  fromMs: 0,
  toMs: 86_400_000,
  awsPrefix: (ip: string) => (ip.startsWith('52.216.') ? '52.216.0.0/15' : null),
};
const inv = new Inventory(INVENTORY);

test('a workload selector is the labels all its pods share, without per-rollout labels', () => {
  assert.deepEqual(inv.workloadSelector('shop', 'web'), { app: 'web' });
  assert.deepEqual(inv.workloadSelector('shop', 'orders'), { app: 'orders', tier: 'api' });
  assert.equal(inv.workloadSelector('shop', 'gone'), null);
});

test('drafts: ingress from client workloads and external clients, egress to workloads, AWS prefixes, addresses, DNS', () => {
  const drafts = buildDrafts(FLOWS, inv, OPTS);
  assert.deepEqual(
    drafts.map((d) => d.name),
    ['flowlens-orders', 'flowlens-web']
  );
  const orders = drafts[0]!;
  assert.deepEqual(
    orders.rules.map((r) => [r.direction, r.peer, r.ports.join(','), r.bytes, r.flows, r.assumed]),
    [
      ['ingress', 'workload:shop/web', 'TCP/9000,TCP/9100', 4010, 3, false],
      ['egress', 'dns:kube-system/kube-dns', 'TCP/53,UDP/53', 40, 1, true],
      ['egress', 'ipBlock:203.0.113.9/32', 'TCP/443', 50, 1, false],
      ['egress', 'ipBlock:52.216.0.0/15', 'TCP/443', 1000, 2, false],
      ['egress', 'workload:payments/pay', 'TCP/7000', 200, 1, false],
    ]
  );
  assert.equal(orders.rules[0]!.firstSeenMs, 1000);
  assert.equal(orders.rules[0]!.lastSeenMs, 65_000);
  assert.deepEqual(orders.object.spec.podSelector, { matchLabels: { app: 'orders', tier: 'api' } });
  assert.deepEqual(orders.object.spec.ingress![0], {
    from: [
      {
        podSelector: { matchLabels: { app: 'web' } },
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } },
      },
    ],
    ports: [
      { protocol: 'TCP', port: 9000 },
      { protocol: 'TCP', port: 9100 },
    ],
  });
  assert.equal(
    orders.object.metadata.annotations!['flowlens.io/ingress-0'],
    'workload:shop/web TCP/9000 TCP/9100: 4010 bytes in 3 flows, first seen 1970-01-01T00:00:01.000Z, last seen 1970-01-01T00:01:05.000Z'
  );
  const web = drafts[1]!;
  assert.deepEqual(
    web.rules.map((r) => `${r.direction} ${r.peer} ${r.ports.join(',')}`),
    [
      'ingress ipBlock:198.51.100.7/32 TCP/8080',
      'egress dns:kube-system/kube-dns TCP/53,UDP/53',
      'egress workload:shop/orders TCP/9000,TCP/9100',
    ]
  );
});

test('a workload that only sends gets no ingress rule (isolated: nothing may connect to it)', () => {
  const only = buildDrafts([flow(end(P['web-a']!), end('203.0.113.1'), 443, 1)], inv, OPTS);
  assert.equal(only[0]!.object.spec.ingress, undefined);
  assert.deepEqual(only[0]!.object.spec.policyTypes, ['Ingress', 'Egress']);
});

test('the DNS rule is always there and assumed, with no evidence when no TCP DNS was seen', () => {
  const d = buildDrafts([flow(end('198.51.100.7'), end(P['web-a']!), 8080, 1)], inv, OPTS)[0]!;
  const dns = d.rules.find((r) => r.peer.startsWith('dns:'))!;
  assert.deepEqual([dns.assumed, dns.bytes, dns.flows, dns.firstSeenMs], [true, 0, 0, null]);
  assert.match(evidenceText(dns), /assumed \(the agent sees TCP only\); no traffic observed/);
});

test('workload option, default-deny, and clients without current pods are reported, not guessed', () => {
  const gone: NamedEnd = { ip: '10.0.0.99', pod: 'old-1', namespace: 'shop', workload: 'old', kind: 'Deployment' };
  const d = buildDrafts([...FLOWS, flow(gone, end(P['orders-a']!), 9000, 5)], inv, {
    ...OPTS,
    workload: 'orders',
    defaultDeny: true,
  });
  assert.deepEqual(
    d.map((p) => [p.name, p.workload]),
    [
      ['flowlens-default-deny', null],
      ['flowlens-orders', 'orders'],
    ]
  );
  assert.deepEqual(d[0]!.object.spec, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  assert.match(d[1]!.object.metadata.annotations!['flowlens.io/unresolved']!, /workload:shop\/old/);
});

test('the drafts allow every flow they were built from, and deny other traffic between the workloads', () => {
  const drafts = buildDrafts(FLOWS, inv, OPTS).map((d) => d.object);
  assert.deepEqual(checkFlows(FLOWS, drafts, inv).denied, []);
  const ev = new PolicyEvaluator(drafts, inv.namespaceLabels);
  const c = (a: PodInfo, b: PodInfo, port: number) =>
    ev.evaluate({ client: inv.end(end(a)), server: inv.end(end(b)), port, protocol: 'TCP' });
  assert.equal(c(P['orders-a']!, P['web-a']!, 8080).deniedBy, 'both');
  assert.equal(c(P['web-a']!, P['orders-a']!, 9200).deniedBy, 'both');
  assert.equal(c(P['pay-a']!, P['orders-a']!, 9000).deniedBy, 'ingress');
});

test('same input, byte-identical YAML, whatever the order of the flows', () => {
  const a = policiesToYaml(buildDrafts(FLOWS, inv, OPTS).map((d) => d.object));
  const b = policiesToYaml(buildDrafts([...FLOWS].reverse(), inv, OPTS).map((d) => d.object));
  assert.equal(a, b);
  assert.match(
    a,
    /^---\napiVersion: networking.k8s.io\/v1\nkind: NetworkPolicy\nmetadata:\n {2}name: flowlens-orders\n/
  );
});
