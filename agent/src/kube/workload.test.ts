import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { namespaceInfo, nodeInfo, podInfos, podIps, serviceInfos } from './objects.js';
import { ownerToFetch, resolveWorkload, type OwnerLookup } from './workload.js';

const owned = (kind: string, name: string, labels: Record<string, string> = {}): V1Pod => ({
  metadata: {
    name: `${name}-x1`,
    namespace: 'ns',
    labels,
    ownerReferences: [{ apiVersion: 'v1', kind, name, uid: 'u', controller: true }],
  },
});
const unknown: OwnerLookup = () => undefined;

test('ReplicaSet → Deployment and Job → CronJob through the owner lookup', () => {
  const lookup: OwnerLookup = (kind, _ns, name) =>
    kind === 'ReplicaSet' && name === 'web-abc'
      ? { found: true, controller: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd' } }
      : kind === 'Job' && name === 'nightly-1'
        ? { found: true, controller: { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', uid: 'c' } }
        : { found: true, controller: null };
  assert.deepEqual(resolveWorkload(owned('ReplicaSet', 'web-abc'), lookup), { workload: 'web', kind: 'Deployment' });
  assert.deepEqual(resolveWorkload(owned('Job', 'nightly-1'), lookup), { workload: 'nightly', kind: 'CronJob' });
  assert.deepEqual(resolveWorkload(owned('ReplicaSet', 'solo'), lookup), { workload: 'solo', kind: 'ReplicaSet' });
  assert.deepEqual(resolveWorkload(owned('Job', 'once'), lookup), { workload: 'once', kind: 'Job' });
});

test('direct controllers, bare and static pods', () => {
  assert.deepEqual(resolveWorkload(owned('StatefulSet', 'db'), unknown), { workload: 'db', kind: 'StatefulSet' });
  assert.deepEqual(resolveWorkload(owned('DaemonSet', 'agent'), unknown), { workload: 'agent', kind: 'DaemonSet' });
  assert.deepEqual(resolveWorkload({ metadata: { name: 'p', namespace: 'ns' } }, unknown), {
    workload: 'p',
    kind: 'Pod',
  });
  assert.deepEqual(resolveWorkload(owned('Node', 'ip-10-0-0-1'), unknown), { workload: 'ip-10-0-0-1-x1', kind: 'Pod' });
  assert.equal(ownerToFetch(owned('StatefulSet', 'db')), null);
  assert.deepEqual(ownerToFetch(owned('Job', 'j')), { kind: 'Job', namespace: 'ns', name: 'j' });
});

test('naming conventions stand in while the owner is unknown; a gone owner is the workload itself', () => {
  assert.deepEqual(
    resolveWorkload(owned('ReplicaSet', 'web-7c5ddbdf54', { 'pod-template-hash': '7c5ddbdf54' }), unknown),
    {
      workload: 'web',
      kind: 'Deployment',
    }
  );
  assert.deepEqual(resolveWorkload(owned('ReplicaSet', 'web-7c5ddbdf54'), unknown), {
    workload: 'web-7c5ddbdf54',
    kind: 'ReplicaSet',
  });
  assert.deepEqual(resolveWorkload(owned('Job', 'report-29393880'), unknown), { workload: 'report', kind: 'CronJob' });
  assert.deepEqual(
    resolveWorkload(owned('ReplicaSet', 'web-7c5ddbdf54', { 'pod-template-hash': '7c5ddbdf54' }), () => ({
      found: false,
    })),
    { workload: 'web-7c5ddbdf54', kind: 'ReplicaSet' }
  );
});

test('pod IPs: dual stack, none for hostNetwork or finished pods', () => {
  const pod: V1Pod = {
    spec: { containers: [] },
    status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }] },
  };
  assert.deepEqual(podIps(pod), ['10.0.0.1', 'fd00::1']);
  assert.deepEqual(podIps({ ...pod, spec: { containers: [], hostNetwork: true } }), []);
  assert.deepEqual(podIps({ ...pod, status: { ...pod.status, phase: 'Succeeded' } }), []);
});

test('nodes: zone label (legacy fallback), internal addresses; services: cluster IPs without None', () => {
  assert.deepEqual(
    nodeInfo({
      metadata: { name: 'n', labels: { 'failure-domain.beta.kubernetes.io/zone': 'z-old' } },
      status: {
        addresses: [
          { type: 'InternalIP', address: '10.1.1.1' },
          { type: 'Hostname', address: 'n' },
        ],
      },
    }),
    { name: 'n', zone: 'z-old', addresses: ['10.1.1.1'] }
  );
  assert.equal(nodeInfo({ metadata: { name: 'n' } }).zone, null);
  assert.deepEqual(
    serviceInfos({ metadata: { name: 's', namespace: 'ns' }, spec: { clusterIP: 'None', clusterIPs: ['None'] } }),
    []
  );
  assert.deepEqual(
    serviceInfos({
      metadata: { name: 's', namespace: 'ns' },
      spec: { clusterIP: '172.20.0.9', clusterIPs: ['172.20.0.9', 'fd01::9'] },
    }),
    [
      { ip: '172.20.0.9', name: 's', namespace: 'ns' },
      { ip: 'fd01::9', name: 's', namespace: 'ns' },
    ]
  );
});

test('pods carry their labels and named container ports; namespaces their labels', () => {
  const pod: V1Pod = {
    metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } },
    spec: {
      nodeName: 'n1',
      containers: [
        { name: 'app', ports: [{ name: 'http', containerPort: 8080 }, { containerPort: 9090 }] },
        { name: 'sidecar', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] },
      ],
    },
    status: { podIP: '10.0.0.5', phase: 'Running' },
  };
  assert.deepEqual(podInfos(pod, { workload: 'web', kind: 'Deployment' }), [
    {
      ip: '10.0.0.5',
      name: 'web-1',
      namespace: 'shop',
      workload: 'web',
      kind: 'Deployment',
      node: 'n1',
      labels: { app: 'web' },
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'http', port: 8080, protocol: 'TCP' },
      ],
    },
  ]);
  assert.deepEqual(namespaceInfo({ metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop' } } }), {
    name: 'shop',
    labels: { 'kubernetes.io/metadata.name': 'shop' },
  });
});
