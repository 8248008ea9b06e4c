/**
 * The evaluator against the behaviours the Kubernetes documentation states
 * (https://kubernetes.io/docs/concepts/services-networking/network-policies/ and the NetworkPolicy API
 * reference): one test per documented behaviour, with the documentation's own examples where it has one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NetworkPolicy, NetworkPolicyPeer } from '../contracts/metadata.js';
import { PolicyEvaluator, policyTypesOf, type Connection, type PolicyEnd, type Protocol } from './evaluate.js';

const NS_LABELS: Record<string, Record<string, string>> = {
  default: {},
  myproject: { project: 'myproject' },
  other: { team: 'operations' },
  prod: { env: 'prod' },
};
const nsLabels = (ns: string) => ({ ...(NS_LABELS[ns] ?? {}), 'kubernetes.io/metadata.name': ns });

function pod(
  ip: string,
  namespace: string,
  labels: Record<string, string>,
  extra: Partial<PolicyEnd['pod']> = {}
): PolicyEnd {
  return {
    ip,
    pod: { namespace, name: `pod-${ip}`, labels, ports: [], nodeAddresses: ['192.168.0.1'], ...extra },
  };
}
const ext = (ip: string): PolicyEnd => ({ ip, pod: null });

function np(name: string, namespace: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

const conn = (client: PolicyEnd, server: PolicyEnd, port: number, protocol: Protocol = 'TCP'): Connection => ({
  client,
  server,
  port,
  protocol,
});

const verdict = (policies: NetworkPolicy[], c: Connection) => new PolicyEvaluator(policies, nsLabels).evaluate(c);
const allowed = (policies: NetworkPolicy[], c: Connection) => verdict(policies, c).allowed;

const db = pod('10.0.0.10', 'default', { role: 'db' });
const frontend = pod('10.0.0.20', 'default', { role: 'frontend' });
const web = pod('10.0.0.30', 'default', { role: 'web' });
const inMyProject = pod('10.0.1.5', 'myproject', { app: 'x' });
const inOther = pod('10.0.2.5', 'other', { role: 'frontend' });

/** The documentation's example, test-network-policy. */
const docExample = np('test-network-policy', 'default', {
  podSelector: { matchLabels: { role: 'db' } },
  policyTypes: ['Ingress', 'Egress'],
  ingress: [
    {
      from: [
        { ipBlock: { cidr: '172.17.0.0/16', except: ['172.17.1.0/24'] } },
        { namespaceSelector: { matchLabels: { project: 'myproject' } } },
        { podSelector: { matchLabels: { role: 'frontend' } } },
      ],
      ports: [{ protocol: 'TCP', port: 6379 }],
    },
  ],
  egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ protocol: 'TCP', port: 5978 }] }],
});

test('pods are non-isolated by default: with no policy every connection is allowed', () => {
  assert.equal(allowed([], conn(web, db, 5432)), true);
  assert.equal(allowed([], conn(db, ext('203.0.113.7'), 443)), true);
});

test('the documentation example: ingress to role=db on TCP 6379 from the ipBlock (minus except), myproject, role=frontend', () => {
  assert.equal(allowed([docExample], conn(ext('172.17.0.9'), db, 6379)), true);
  assert.equal(allowed([docExample], conn(ext('172.17.1.9'), db, 6379)), false, 'except carves out 172.17.1.0/24');
  assert.equal(allowed([docExample], conn(inMyProject, db, 6379)), true);
  assert.equal(allowed([docExample], conn(frontend, db, 6379)), true);
  assert.equal(allowed([docExample], conn(frontend, db, 6380)), false, 'other port');
  assert.equal(allowed([docExample], conn(web, db, 6379)), false, 'role=web is not a listed peer');
});

test('the documentation example: egress from role=db only to 10.0.0.0/24 on TCP 5978', () => {
  assert.equal(allowed([docExample], conn(db, ext('10.0.0.99'), 5978)), true);
  assert.equal(allowed([docExample], conn(db, ext('10.0.0.99'), 80)), false);
  assert.equal(allowed([docExample], conn(db, ext('10.0.1.99'), 5978)), false);
});

test('a policy only isolates the pods its podSelector selects; others keep accepting everything', () => {
  assert.equal(allowed([docExample], conn(web, frontend, 8080)), true);
});

test('isolation is per direction: an Ingress-only policy leaves egress open', () => {
  const p = np('in-only', 'default', { podSelector: { matchLabels: { role: 'db' } }, policyTypes: ['Ingress'] });
  assert.equal(allowed([p], conn(db, ext('198.51.100.1'), 443)), true);
  assert.equal(allowed([p], conn(web, db, 5432)), false);
});

test('a connection needs egress allowed at the client and ingress allowed at the server', () => {
  const denyEgress = np('deny-egress', 'default', {
    podSelector: { matchLabels: { role: 'web' } },
    policyTypes: ['Egress'],
  });
  const allowIn = np('allow-in', 'default', {
    podSelector: { matchLabels: { role: 'db' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { role: 'web' } } }] }],
  });
  const v = verdict([denyEgress, allowIn], conn(web, db, 5432));
  assert.equal(v.allowed, false);
  assert.equal(v.deniedBy, 'egress');
  assert.deepEqual(v.egress.policies, ['default/deny-egress']);
  assert.equal(v.ingress.allowed, true);
  const both = np('deny-in', 'default', { podSelector: {}, policyTypes: ['Ingress'] });
  assert.equal(verdict([denyEgress, both], conn(web, db, 5432)).deniedBy, 'both');
});

test('policies are additive: the union of every rule of every policy selecting the pod', () => {
  const a = np('a', 'default', {
    podSelector: { matchLabels: { role: 'db' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { role: 'frontend' } } }] }],
  });
  const b = np('b', 'default', {
    podSelector: { matchLabels: { role: 'db' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { role: 'web' } } }] }],
  });
  assert.equal(allowed([a], conn(web, db, 1)), false);
  assert.equal(allowed([a, b], conn(web, db, 1)), true);
  assert.equal(allowed([a, b], conn(frontend, db, 1)), true);
  assert.deepEqual(verdict([a, b], conn(pod('10.0.0.40', 'default', {}), db, 1)).ingress.policies, [
    'default/a',
    'default/b',
  ]);
});

test('default deny all ingress: podSelector {} with policyTypes [Ingress]', () => {
  const p = np('default-deny-ingress', 'default', { podSelector: {}, policyTypes: ['Ingress'] });
  assert.equal(allowed([p], conn(web, db, 5432)), false);
  assert.equal(allowed([p], conn(ext('203.0.113.1'), web, 80)), false);
  assert.equal(allowed([p], conn(web, ext('203.0.113.1'), 80)), true, 'egress not isolated');
});

test('allow all ingress: one empty ingress rule', () => {
  const deny = np('deny', 'default', { podSelector: {}, policyTypes: ['Ingress'] });
  const all = np('allow-all-ingress', 'default', { podSelector: {}, ingress: [{}], policyTypes: ['Ingress'] });
  assert.equal(allowed([deny, all], conn(ext('203.0.113.1'), db, 1234)), true);
});

test('default deny all egress, and allow all egress', () => {
  const deny = np('default-deny-egress', 'default', { podSelector: {}, policyTypes: ['Egress'] });
  assert.equal(allowed([deny], conn(web, ext('203.0.113.1'), 443)), false);
  assert.equal(allowed([deny], conn(ext('203.0.113.1'), web, 443)), true, 'ingress not isolated');
  const all = np('allow-all-egress', 'default', { podSelector: {}, egress: [{}], policyTypes: ['Egress'] });
  assert.equal(allowed([deny, all], conn(web, ext('203.0.113.1'), 443)), true);
});

test('default deny all ingress and all egress', () => {
  const p = np('default-deny-all', 'default', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  assert.equal(verdict([p], conn(web, db, 5432)).deniedBy, 'both');
});

test('policyTypes defaults to Ingress, plus Egress when the policy has egress rules', () => {
  assert.deepEqual(policyTypesOf(np('x', 'default', { podSelector: {} })), ['Ingress']);
  assert.deepEqual(policyTypesOf(np('x', 'default', { podSelector: {}, egress: [{}] })), ['Ingress', 'Egress']);
  assert.deepEqual(policyTypesOf(np('x', 'default', { podSelector: {}, egress: [] })), ['Ingress']);
  // No policyTypes and no egress: egress is not isolated
  const p = np('in', 'default', { podSelector: {}, ingress: [] });
  assert.equal(allowed([p], conn(web, ext('203.0.113.1'), 443)), true);
  assert.equal(allowed([p], conn(ext('203.0.113.1'), web, 443)), false);
});

test('podSelector in a peer selects pods of the policy namespace only', () => {
  const p = np('p', 'default', {
    podSelector: { matchLabels: { role: 'db' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { role: 'frontend' } } }] }],
  });
  assert.equal(allowed([p], conn(frontend, db, 1)), true);
  assert.equal(allowed([p], conn(inOther, db, 1)), false, 'role=frontend in another namespace');
});

test('namespaceSelector alone selects every pod of the matching namespaces', () => {
  const p = np('p', 'default', {
    podSelector: { matchLabels: { role: 'db' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'operations' } } }] }],
  });
  assert.equal(allowed([p], conn(inOther, db, 1)), true);
  assert.equal(allowed([p], conn(inMyProject, db, 1)), false);
  assert.equal(allowed([p], conn(frontend, db, 1)), false, 'its own namespace is not selected');
});

test('namespaceSelector and podSelector in one peer: pods matching both (AND); as two peers: either (OR)', () => {
  const and: NetworkPolicyPeer = {
    namespaceSelector: { matchLabels: { team: 'operations' } },
    podSelector: { matchLabels: { role: 'frontend' } },
  };
  const pAnd = np('and', 'default', { podSelector: { matchLabels: { role: 'db' } }, ingress: [{ from: [and] }] });
  const pOr = np('or', 'default', {
    podSelector: { matchLabels: { role: 'db' } },
    ingress: [{ from: [{ namespaceSelector: and.namespaceSelector }, { podSelector: and.podSelector }] }],
  });
  const opsOther = pod('10.0.2.6', 'other', { role: 'backend' });
  assert.equal(allowed([pAnd], conn(inOther, db, 1)), true);
  assert.equal(allowed([pAnd], conn(opsOther, db, 1)), false);
  assert.equal(allowed([pAnd], conn(frontend, db, 1)), false);
  assert.equal(allowed([pOr], conn(opsOther, db, 1)), true);
  assert.equal(allowed([pOr], conn(frontend, db, 1)), true);
});

test('a namespace is targeted by name through kubernetes.io/metadata.name', () => {
  const p = np('p', 'default', {
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'prod' } } }] }],
  });
  assert.equal(allowed([p], conn(web, pod('10.0.3.1', 'prod', {}), 80)), true);
  assert.equal(allowed([p], conn(web, inOther, 80)), false);
});

test('matchExpressions: In, NotIn, Exists, DoesNotExist, ANDed with matchLabels', () => {
  const p = np('p', 'default', {
    podSelector: { matchLabels: { role: 'db' } },
    ingress: [
      {
        from: [
          {
            podSelector: {
              matchLabels: { tier: 'app' },
              matchExpressions: [
                { key: 'role', operator: 'In', values: ['frontend', 'web'] },
                { key: 'env', operator: 'NotIn', values: ['dev'] },
                { key: 'team', operator: 'Exists' },
                { key: 'legacy', operator: 'DoesNotExist' },
              ],
            },
          },
        ],
      },
    ],
  });
  const ok = { tier: 'app', role: 'web', team: 'a' };
  assert.equal(allowed([p], conn(pod('10.0.0.50', 'default', ok), db, 1)), true);
  assert.equal(
    allowed([p], conn(pod('10.0.0.51', 'default', { ...ok, env: 'prod' }), db, 1)),
    true,
    'NotIn: other value'
  );
  assert.equal(allowed([p], conn(pod('10.0.0.52', 'default', { ...ok, env: 'dev' }), db, 1)), false, 'NotIn');
  assert.equal(allowed([p], conn(pod('10.0.0.53', 'default', { ...ok, role: 'batch' }), db, 1)), false, 'In');
  assert.equal(allowed([p], conn(pod('10.0.0.54', 'default', { tier: 'app', role: 'web' }), db, 1)), false, 'Exists');
  assert.equal(allowed([p], conn(pod('10.0.0.55', 'default', { ...ok, legacy: '' }), db, 1)), false, 'DoesNotExist');
  assert.equal(allowed([p], conn(pod('10.0.0.56', 'default', { ...ok, tier: 'x' }), db, 1)), false, 'matchLabels');
});

test('ipBlock with except, IPv4 and IPv6; pod selectors never match an external address', () => {
  const p = np('p', 'default', {
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '192.168.0.0/16'] } }] },
      { to: [{ ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] } }] },
      { to: [{ namespaceSelector: {} }] },
    ],
  });
  assert.equal(allowed([p], conn(web, ext('203.0.113.1'), 443)), true);
  assert.equal(allowed([p], conn(web, ext('10.1.2.3'), 443)), false);
  assert.equal(allowed([p], conn(web, ext('2001:db8:2::1'), 443)), true);
  assert.equal(allowed([p], conn(web, ext('2001:db8:1::1'), 443)), false);
  assert.equal(allowed([p], conn(web, inOther, 443)), true, 'namespaceSelector {} selects every pod');
});

test('ports: protocol defaults to TCP; a port without a number is every port of the protocol', () => {
  const p = np('p', 'default', {
    podSelector: {},
    policyTypes: ['Ingress'],
    ingress: [{ ports: [{ port: 53 }, { protocol: 'UDP' }] }],
  });
  assert.equal(allowed([p], conn(web, db, 53)), true);
  assert.equal(allowed([p], conn(web, db, 53, 'UDP')), true);
  assert.equal(allowed([p], conn(web, db, 9999, 'UDP')), true);
  assert.equal(allowed([p], conn(web, db, 54)), false);
  assert.equal(allowed([p], conn(web, db, 53, 'SCTP')), false);
});

test('endPort: a range of ports from port to endPort inclusive', () => {
  const p = np('multi-port-egress', 'default', {
    podSelector: { matchLabels: { role: 'db' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ protocol: 'TCP', port: 32000, endPort: 32768 }] }],
  });
  for (const [port, ok] of [
    [31999, false],
    [32000, true],
    [32500, true],
    [32768, true],
    [32769, false],
  ] as const) {
    assert.equal(allowed([p], conn(db, ext('10.0.0.5'), port)), ok, `port ${port}`);
  }
});

test('named ports resolve against the server pod (ingress and egress)', () => {
  const api = pod('10.0.0.60', 'default', { role: 'api' }, { ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] });
  const otherApi = pod(
    '10.0.0.61',
    'default',
    { role: 'api' },
    { ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] }
  );
  const ingress = np('in', 'default', {
    podSelector: { matchLabels: { role: 'api' } },
    ingress: [{ ports: [{ port: 'http' }] }],
  });
  assert.equal(allowed([ingress], conn(web, api, 8080)), true);
  assert.equal(allowed([ingress], conn(web, api, 9090)), false);
  assert.equal(allowed([ingress], conn(web, otherApi, 9090)), true, 'each pod its own number for the name');
  const egress = np('out', 'default', {
    podSelector: { matchLabels: { role: 'web' } },
    policyTypes: ['Egress'],
    egress: [{ ports: [{ port: 'http' }] }],
  });
  assert.equal(allowed([egress], conn(web, api, 8080)), true);
  assert.equal(allowed([egress], conn(web, ext('203.0.113.1'), 8080)), false, 'an external server has no named ports');
});

test('a pod cannot block access to itself', () => {
  const p = np('deny', 'default', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  assert.equal(allowed([p], conn(web, web, 8080)), true);
});

test('traffic between a pod and the node it runs on is always allowed', () => {
  const p = np('deny', 'default', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  assert.equal(allowed([p], conn(ext('192.168.0.1'), web, 8080)), true, 'kubelet probe from its node');
  assert.equal(allowed([p], conn(web, ext('192.168.0.1'), 10250)), true);
  assert.equal(allowed([p], conn(ext('192.168.0.2'), web, 8080)), false, 'another node');
});

test('policies apply to pods of their own namespace only', () => {
  const p = np('deny', 'other', { podSelector: {}, policyTypes: ['Ingress'] });
  assert.equal(allowed([p], conn(web, db, 5432)), true);
  assert.equal(allowed([p], conn(web, inOther, 5432)), false);
});
