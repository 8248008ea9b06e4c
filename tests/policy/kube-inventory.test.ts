/**
 * The hub's Kubernetes watch keeps what policy drafts and checks read — pod labels and named ports, namespace
 * labels and the cluster's NetworkPolicies — from recorded objects served by the fake API server through the
 * real list + watch, and follows changes (a policy added, relabelled, deleted).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubernetesMetadata } from '../../agent/src/kube/provider.js';
import { checkFlows } from '../../agent/src/policy/check.js';
import { Inventory } from '../../agent/src/policy/inventory.js';
import { FakeKubeApiServer, kubeFixture, type KubeObject } from '../lib/fake-kube-apiserver.js';
import { waitFor } from '../lib/wait.js';

const policies = () => kubeFixture('networkpolicies-shop').items as KubeObject[];

test('pods with labels and named ports, namespaces and NetworkPolicies, kept current by the watch', async () => {
  const api = await FakeKubeApiServer.start([
    ...[
      'node-a',
      'node-b',
      'deployment-web',
      'replicaset-web',
      'pod-web',
      'pod-db',
      'namespace-shop',
      'namespace-kube-system',
    ].map(kubeFixture),
    ...policies(),
  ]);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(api.kubeconfigPath);
  const md = new KubernetesMetadata({ kubeConfig, log: () => {}, syncTimeoutMs: 10_000 });
  try {
    await md.start();
    const inv = md.policyInventory();
    const web = inv.pods.find((p) => p.workload === 'web')!;
    assert.equal(web.labels?.app, 'web');
    assert.deepEqual(web.ports, [{ name: 'http', port: 80, protocol: 'TCP' }]);
    assert.deepEqual(inv.namespaces.map((n) => [n.name, n.labels.team ?? null]).sort(), [
      ['kube-system', null],
      ['shop', 'storefront'],
    ]);
    assert.deepEqual(inv.networkPolicies.map((p) => p.metadata.name).sort(), [
      'db-from-web',
      'default-deny-ingress',
      'web-from-internet',
    ]);
    assert.equal(
      JSON.stringify(inv.networkPolicies).includes('last-applied-configuration'),
      false,
      'annotations are not kept'
    );

    // The recorded policies, evaluated: the internet may reach web on its named port http (80), nothing else
    const i = new Inventory(inv);
    const dbPod = inv.pods.find((p) => p.workload === 'db')!;
    const end = (p: typeof web) => ({
      ip: p.ip,
      pod: p.name,
      namespace: p.namespace,
      workload: p.workload,
      kind: p.kind,
    });
    const ext = { ip: '198.51.100.4', pod: null, namespace: null, workload: null, kind: null };
    const flow = (client: ReturnType<typeof end> | typeof ext, server: ReturnType<typeof end>, port: number) => ({
      client,
      server,
      serverPort: port,
      category: 'UNCLASSIFIED' as const,
      bytes: 1,
      firstSeenMs: 0,
      lastSeenMs: 0,
    });
    const r = checkFlows(
      [
        flow(ext, end(web), 80),
        flow(ext, end(web), 8080),
        flow(end(web), end(dbPod), 5432),
        flow(ext, end(dbPod), 5432),
      ],
      inv.networkPolicies,
      i
    );
    assert.deepEqual(
      r.denied.map((d) => `${d.client.ip}>${d.server.pod}:${d.serverPort} ${d.policies.join(',')}`),
      [
        `198.51.100.4>${dbPod.name}:5432 shop/db-from-web,shop/default-deny-ingress`,
        `198.51.100.4>${web.name}:8080 shop/default-deny-ingress,shop/web-from-internet`,
      ]
    );

    // Changes arrive through the watch
    api.remove('NetworkPolicy', 'shop', 'default-deny-ingress');
    await waitFor('policy deletion', () => md.policyInventory().networkPolicies.length === 2, 10_000);
    api.modify('Namespace', undefined, 'shop', (o) => {
      (o.metadata.labels as Record<string, string>).team = 'checkout';
    });
    await waitFor(
      'namespace relabel',
      () => md.policyInventory().namespaces.some((n) => n.labels.team === 'checkout'),
      10_000
    );
  } finally {
    await md.stop();
    await api.close();
  }
});
