import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadMetadataFile, StaticMetadata } from './static-file.js';

test('loads nodes, pods and services and answers by IP and name', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flowlens-meta-'));
  try {
    const file = join(dir, 'm.json');
    await writeFile(
      file,
      JSON.stringify({
        nodes: [{ name: 'n1', zone: 'us-east-1a', addresses: ['192.168.0.1'] }],
        pods: [
          { ip: '10.0.0.5', name: 'web-1', namespace: 'shop', workload: 'web', kind: 'Deployment', node: 'n1' },
          {
            ip: '192.168.0.1',
            name: 'kp',
            namespace: 'kube-system',
            workload: 'kp',
            kind: 'DaemonSet',
            node: 'n1',
            hostNetwork: true,
          },
        ],
        services: [{ ip: '10.96.0.10', name: 'dns', namespace: 'kube-system' }],
      })
    );
    const m = await loadMetadataFile(file);
    assert.equal(m.podByIp('10.0.0.5')?.workload, 'web');
    assert.equal(m.podByIp('192.168.0.1'), undefined, 'host-network pods do not own the node address');
    assert.equal(m.nodeByIp('192.168.0.1')?.name, 'n1');
    assert.equal(m.nodeByName('n1')?.zone, 'us-east-1a');
    assert.equal(m.serviceByIp('10.96.0.10')?.name, 'dns');
    assert.equal(m.podByIp('10.0.0.6'), undefined);

    await writeFile(
      file,
      JSON.stringify({ pods: [{ ip: 'x', name: 'a', namespace: 'b', workload: 'c', kind: 'Pod' }] })
    );
    await assert.rejects(loadMetadataFile(file), /pods\.0\.ip/);
    await writeFile(file, '{');
    await assert.rejects(loadMetadataFile(file), /not valid JSON/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('labels, named ports, namespaces and NetworkPolicies load for the policy API; files without them still load', async () => {
  const withPolicy = StaticMetadata.parse({
    pods: [
      {
        ip: '10.0.0.5',
        name: 'web-1',
        namespace: 'shop',
        workload: 'web',
        kind: 'Deployment',
        labels: { app: 'web' },
        ports: [{ name: 'http', port: 8080 }],
      },
    ],
    namespaces: [{ name: 'shop', labels: { team: 'a' } }],
    networkPolicies: [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'deny', namespace: 'shop' },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      },
    ],
  });
  const inv = withPolicy.policyInventory();
  assert.deepEqual(inv.pods[0]!.labels, { app: 'web' });
  assert.deepEqual(inv.pods[0]!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  assert.deepEqual(inv.namespaces, [{ name: 'shop', labels: { team: 'a' } }]);
  assert.equal(inv.networkPolicies[0]!.metadata.name, 'deny');
  const old = StaticMetadata.parse({
    pods: [{ ip: '10.0.0.5', name: 'a', namespace: 'b', workload: 'c', kind: 'Pod' }],
  });
  assert.deepEqual(old.policyInventory().namespaces, []);
  assert.equal(old.podByIp('10.0.0.5')?.labels, undefined);
  assert.throws(
    () =>
      StaticMetadata.parse({
        networkPolicies: [
          { metadata: { name: 'x' }, spec: { podSelector: { matchExpressions: [{ key: 'a', operator: 'Is' }] } } },
        ],
      }),
    /networkPolicies\.0\.spec\.podSelector\.matchExpressions\.0\.operator/
  );
});
