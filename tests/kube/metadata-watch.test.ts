/**
 * The Kubernetes metadata providers against the fake API server (recorded real objects), through
 * @kubernetes/client-node's real list + watch: workload resolution, node scope, pod churn (create, relabel,
 * delete, re-list after 410, dropped connection) reflected in the exporter's labels within one collection tick,
 * and nothing left behind once pods go.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import type { PodInfo } from '../../agent/src/contracts/metadata.js';
import { KubernetesMetadata } from '../../agent/src/kube/provider.js';
import { createLocalMetadata } from '../../agent/src/metadata/local.js';
import { Exporter } from '../../agent/src/metrics/exporter.js';
import { flow, samples, tick } from '../../agent/src/metrics/testing.js';
import { FakeKubeApiServer, kubeFixture, type KubeObject } from '../lib/fake-kube-apiserver.js';
import { waitFor } from '../lib/wait.js';

const NODE = 'ip-10-0-1-23.eu-west-1.compute.internal';
/** The collection tick the tests hold the providers to. */
const TICK_MS = 1000;
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
  'pod-kube-proxy',
  'pod-fluent-bit',
  'pod-debug',
  'service-web',
  'service-db-headless',
];

const pick = (p: PodInfo | undefined) =>
  p && { name: p.name, namespace: p.namespace, workload: p.workload, kind: p.kind };

/** A new pod of the web Deployment, derived from the recorded one. */
function webPod(name: string, ip: string, uid: string): KubeObject {
  const pod = kubeFixture('pod-web');
  pod.metadata.name = name;
  pod.metadata.uid = uid;
  const status = pod.status as { podIP: string; podIPs: Array<{ ip: string }> };
  status.podIP = ip;
  status.podIPs = [{ ip }];
  return pod;
}

describe('Kubernetes metadata through the fake API server', () => {
  let api: FakeKubeApiServer;
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);

  before(async () => {
    api = await FakeKubeApiServer.start(FIXTURES.map(kubeFixture));
  });
  after(async () => {
    await api.close();
  });

  test('node scope (agent): own pods with their workloads, own node with zone, hostNetwork pods own no IP', async () => {
    const md = await createLocalMetadata({ nodeName: NODE, env: { KUBECONFIG: api.kubeconfigPath }, log });
    // By name: local.ts imports the provider lazily, and tsx loads that import as a separate ES module instance.
    assert.equal(md.constructor.name, KubernetesMetadata.name);
    await md.start();
    try {
      assert.deepEqual(pick(md.podByIp('10.0.1.57')), {
        name: 'web-7c5ddbdf54-x2x7q',
        namespace: 'shop',
        workload: 'web',
        kind: 'Deployment',
      });
      assert.deepEqual(pick(md.podByIp('10.0.1.88')), {
        name: 'report-29393880-7kq9d',
        namespace: 'shop',
        workload: 'report',
        kind: 'CronJob',
      });
      assert.deepEqual(pick(md.podByIp('10.0.1.101')), {
        name: 'db-0',
        namespace: 'shop',
        workload: 'db',
        kind: 'StatefulSet',
      });
      assert.deepEqual(pick(md.podByIp('10.0.1.140')), {
        name: 'fluent-bit-9ztqk',
        namespace: 'logging',
        workload: 'fluent-bit',
        kind: 'DaemonSet',
      });
      assert.equal(md.podByIp('10.0.1.57')?.node, NODE);
      // kube-proxy runs with hostNetwork: its IP is the node's.
      assert.equal(md.podByIp('10.0.1.23'), undefined);
      assert.deepEqual(md.nodeByIp('10.0.1.23'), { name: NODE, zone: 'eu-west-1a', addresses: ['10.0.1.23'] });
      // Node scope: the pod and node elsewhere are not watched.
      assert.equal(md.podByIp('10.0.2.17'), undefined);
      assert.equal(md.nodeByName('ip-10-0-2-45.eu-west-1.compute.internal'), undefined);
      assert.equal(md.nodeByName(NODE)?.zone, 'eu-west-1a');
      const podCalls = api.requests.filter((r) => r.path === '/api/v1/pods');
      assert.ok(podCalls.length >= 2, 'list and watch');
      assert.ok(podCalls.every((r) => r.fieldSelector === `spec.nodeName=${NODE}`));
      assert.ok(api.requests.some((r) => r.path === '/apis/apps/v1/namespaces/shop/replicasets/web-7c5ddbdf54'));
      assert.ok(api.requests.some((r) => r.path === '/apis/batch/v1/namespaces/shop/jobs/report-29393880'));
    } finally {
      await md.stop();
    }
  });

  test('cluster scope (hub): every pod, node zones, service IPs (headless ones have none)', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    const md = new KubernetesMetadata({ kubeConfig: kc, log });
    await md.start();
    try {
      assert.deepEqual(pick(md.podByIp('10.0.2.17')), {
        name: 'debug',
        namespace: 'default',
        workload: 'debug',
        kind: 'Pod',
      });
      assert.equal(md.nodeByName('ip-10-0-2-45.eu-west-1.compute.internal')?.zone, 'eu-west-1b');
      assert.equal(md.nodeByIp('10.0.2.45')?.name, 'ip-10-0-2-45.eu-west-1.compute.internal');
      assert.deepEqual(md.serviceByIp('172.20.41.7'), { ip: '172.20.41.7', name: 'web', namespace: 'shop' });
      assert.equal(md.store.size().services, 1);
    } finally {
      await md.stop();
    }
  });

  test('churn shows in the exporter within one tick; a 410 re-lists; a dropped watch resumes; nothing leaks', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    const md = new KubernetesMetadata({ kubeConfig: kc, nodeName: NODE, log, backoffMs: { min: 50, max: 200 } });
    await md.start();
    let clock = 0; // the exporter's clock, so the grace period is exact
    const exporter = new Exporter({ node: NODE, metadata: md, podGraceMs: 300, now: () => clock });
    const series = async () =>
      [...samples(await exporter.render('prometheus')).entries()].filter(([k]) =>
        k.startsWith('flowlens_pod_egress_bytes_total')
      );
    const traffic = (ip: string, bytes: number) =>
      exporter.onTick(tick([flow({ localIp: ip, direction: 'client', bytesSent: bytes })]));
    try {
      const before = md.store.size();

      // create
      api.create(webPod('web-7c5ddbdf54-new01', '10.0.1.60', '11111111-0000-4000-8000-000000000001'));
      await waitFor('new pod in metadata', () => md.podByIp('10.0.1.60'), TICK_MS);
      traffic('10.0.1.60', 100);
      assert.deepEqual(await series(), [
        [
          'flowlens_pod_egress_bytes_total{namespace="shop",pod="web-7c5ddbdf54-new01",workload="web",node="' +
            NODE +
            '"}',
          100,
        ],
      ]);

      // relabel: the ReplicaSet is deleted with --cascade=orphan, so the pod loses its owner
      api.modify('Pod', 'shop', 'web-7c5ddbdf54-new01', (p) => {
        delete p.metadata.ownerReferences;
      });
      await waitFor('orphaned pod relabelled', () => md.podByIp('10.0.1.60')?.kind === 'Pod', TICK_MS);
      traffic('10.0.1.60', 7);
      const relabelled = new Map(await series());
      assert.equal(
        relabelled.get(
          `flowlens_pod_egress_bytes_total{namespace="shop",pod="web-7c5ddbdf54-new01",workload="web-7c5ddbdf54-new01",node="${NODE}"}`
        ),
        7
      );

      // delete: the IP stops resolving at once; the series go after the grace period
      api.remove('Pod', 'shop', 'web-7c5ddbdf54-new01');
      await waitFor('deleted pod gone', () => md.podByIp('10.0.1.60') === undefined, TICK_MS);
      traffic('10.0.1.60', 50); // late packets of a gone pod are no pod's
      assert.equal((await series()).length, 2, 'old series kept during the grace period');
      clock += 299;
      exporter.onTick(tick([]));
      assert.equal((await series()).length, 2, 'still within the grace period');
      clock += 1;
      exporter.onTick(tick([]));
      assert.deepEqual(await series(), []);
      assert.equal(exporter.pods.seriesCount, 0);
      assert.deepEqual(md.store.size(), before);

      // 410 Gone: changes the watcher never saw (history compacted) arrive through a re-list
      traffic('10.0.1.57', 1);
      const listsBefore = md.listCounts()[0]!;
      api.silently(({ put, drop }) => {
        drop('Pod', 'shop', 'web-7c5ddbdf54-x2x7q');
        put(webPod('web-7c5ddbdf54-relist', '10.0.1.61', '11111111-0000-4000-8000-000000000002'));
      });
      api.expireWatches();
      await waitFor(
        're-list after 410',
        () => md.podByIp('10.0.1.61') && md.podByIp('10.0.1.57') === undefined,
        TICK_MS
      );
      assert.equal(md.listCounts()[0], listsBefore + 1, 'exactly one re-list');
      traffic('10.0.1.61', 9);
      clock += 300;
      exporter.onTick(tick([]));
      assert.deepEqual(await series(), [
        [
          `flowlens_pod_egress_bytes_total{namespace="shop",pod="web-7c5ddbdf54-relist",workload="web",node="${NODE}"}`,
          9,
        ],
      ]);

      // dropped connection: the watch comes back from its resourceVersion (no re-list) and sees what it missed
      const listsBeforeDrop = md.listCounts()[0]!;
      api.dropWatches();
      api.create(webPod('web-7c5ddbdf54-after', '10.0.1.62', '11111111-0000-4000-8000-000000000003'));
      await waitFor('event after a dropped watch', () => md.podByIp('10.0.1.62'), TICK_MS);
      assert.equal(md.listCounts()[0], listsBeforeDrop, 'resumed, not re-listed');
      const resumed = api.requests.filter((r) => r.path === '/api/v1/pods' && r.watch).at(-1)!;
      assert.ok(Number(resumed.resourceVersion) > 0, 'watch resumed from a resourceVersion');

      // pods on other nodes never enter the agent's view
      const other = webPod('web-7c5ddbdf54-other', '10.0.2.99', '11111111-0000-4000-8000-000000000004');
      (other.spec as { nodeName: string }).nodeName = 'ip-10-0-2-45.eu-west-1.compute.internal';
      api.create(other);
      api.create(webPod('web-7c5ddbdf54-mark', '10.0.1.63', '11111111-0000-4000-8000-000000000005'));
      await waitFor('later pod', () => md.podByIp('10.0.1.63'), TICK_MS);
      assert.equal(md.podByIp('10.0.2.99'), undefined);
    } finally {
      await md.stop();
    }
    await waitFor('watches closed', () => api.openWatches === 0, 2000);
  });

  test('an owner the API cannot show falls back to the direct owner; an API that is down is retried', async () => {
    const pod = webPod('api-5d9f8b7c6d-q1w2e', '10.0.1.70', '22222222-0000-4000-8000-000000000001');
    pod.metadata.labels = { app: 'api', 'pod-template-hash': '5d9f8b7c6d' };
    (pod.metadata.ownerReferences as Array<{ name: string }>)[0]!.name = 'api-5d9f8b7c6d';
    api.create(pod);
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    const md = new KubernetesMetadata({ kubeConfig: kc, nodeName: NODE, log, backoffMs: { min: 50, max: 200 } });
    await md.start();
    try {
      // The ReplicaSet is not in the API (404): the pod's own owner stands.
      assert.deepEqual(pick(md.podByIp('10.0.1.70')), {
        name: 'api-5d9f8b7c6d-q1w2e',
        namespace: 'shop',
        workload: 'api-5d9f8b7c6d',
        kind: 'ReplicaSet',
      });
    } finally {
      await md.stop();
      api.remove('Pod', 'shop', 'api-5d9f8b7c6d-q1w2e');
    }

    const down = new KubeConfig();
    down.loadFromOptions({
      clusters: [{ name: 'down', server: 'http://127.0.0.1:9', skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'down', cluster: 'down', user: 'u' }],
      currentContext: 'down',
    });
    const downLogs: string[] = [];
    const md2 = new KubernetesMetadata({
      kubeConfig: down,
      nodeName: NODE,
      log: (m) => downLogs.push(m),
      syncTimeoutMs: 300,
      backoffMs: { min: 50, max: 100 },
    });
    await md2.start();
    await md2.stop();
    assert.ok(
      downLogs.some((l) => l.includes('not synced')),
      downLogs.join('\n')
    );
    assert.ok(downLogs.filter((l) => l.includes('retrying')).length >= 2, 'retried');
  });
});
