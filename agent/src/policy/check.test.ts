import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NetworkPolicy } from '../contracts/metadata.js';
import { checkFlows } from './check.js';
import type { EvidenceFlow } from './draft.js';
import { Inventory } from './inventory.js';

const inv = new Inventory(
  {
    pods: [
      {
        ip: '10.0.0.1',
        name: 'web-1',
        namespace: 'shop',
        workload: 'web',
        kind: 'Deployment',
        node: 'n1',
        labels: { app: 'web' },
      },
      {
        ip: '10.0.0.2',
        name: 'db-1',
        namespace: 'shop',
        workload: 'db',
        kind: 'StatefulSet',
        node: 'n1',
        labels: { app: 'db' },
      },
    ],
    namespaces: [],
    networkPolicies: [],
  },
  (node) => (node === 'n1' ? ['192.168.0.1'] : [])
);
const web = { ip: '10.0.0.1', pod: 'web-1', namespace: 'shop', workload: 'web', kind: 'Deployment', node: 'n1' };
const db = { ip: '10.0.0.2', pod: 'db-1', namespace: 'shop', workload: 'db', kind: 'StatefulSet', node: 'n1' };
const ext = (ip: string) => ({ ip, pod: null, namespace: null, workload: null, kind: null });
const f = (
  client: EvidenceFlow['client'],
  server: EvidenceFlow['server'],
  port: number,
  bytes: number
): EvidenceFlow => ({
  client,
  server,
  serverPort: port,
  category: 'UNCLASSIFIED',
  bytes,
  firstSeenMs: 1,
  lastSeenMs: 2,
});
const deny: NetworkPolicy = {
  metadata: { name: 'default-deny', namespace: 'shop' },
  spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
};
const dbIn: NetworkPolicy = {
  metadata: { name: 'db-in', namespace: 'shop' },
  spec: {
    podSelector: { matchLabels: { app: 'db' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }],
  },
};

test('lists denied flows by bytes, with the side and the isolating policies', () => {
  const flows = [
    f(web, db, 5432, 10),
    f(ext('203.0.113.5'), web, 80, 30),
    f(web, ext('198.51.100.1'), 443, 20),
    f(ext('192.168.0.1'), web, 8080, 99),
  ];
  const r = checkFlows(flows, [deny, dbIn], inv);
  assert.equal(r.policiesEvaluated, 2);
  assert.equal(r.flowsChecked, 4);
  assert.deepEqual(
    r.denied.map((d) => [d.client.ip, d.server.ip, d.serverPort, d.deniedBy, d.policies.join(',')]),
    [
      ['203.0.113.5', '10.0.0.1', 80, 'ingress', 'shop/default-deny'],
      ['10.0.0.1', '198.51.100.1', 443, 'egress', 'shop/default-deny'],
      ['10.0.0.1', '10.0.0.2', 5432, 'egress', 'shop/default-deny'],
    ],
    'web→db passes db-in ingress but not web egress; the kubelet probe from the node passes'
  );
  assert.deepEqual(r.denied[2]!.server, {
    ip: '10.0.0.2',
    pod: 'db-1',
    namespace: 'shop',
    workload: 'db',
    kind: 'StatefulSet',
  });
});

test('no policies: nothing denied', () => {
  assert.deepEqual(checkFlows([f(web, db, 1, 1)], [], inv).denied, []);
});
