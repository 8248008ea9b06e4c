/**
 * A realistic node for the agent's in-cluster memory measurement: the fake API server
 * (tests/lib/fake-kube-apiserver.ts) loaded with a full node (110 pods, the kubelet's default maximum) of
 * Deployments, StatefulSets, DaemonSets (two on the host network), CronJob runs and bare pods, their
 * ReplicaSets and Jobs (the agent looks each owner up), and 20 more nodes carrying 2,000 pods the agent's
 * field selector must leave on the server. Every object is derived from the recorded real ones in
 * tests/fixtures/kube/.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const BENCH_NODE = 'ip-10-0-1-23.eu-west-1.compute.internal';
export const PODS_ON_NODE = 110;
const OTHER_NODES = 20;
const PODS_ON_OTHER_NODES = 2000;

interface KubeObject {
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface FakeApi {
  kubeconfigPath: string;
  requests: Array<{ path: string; watch: boolean; fieldSelector: string | null }>;
  close(): Promise<void>;
}

interface FakeApiModule {
  FakeKubeApiServer: { start(objects: KubeObject[]): Promise<FakeApi> };
}

/** A recorded object from tests/fixtures/kube/ (a fresh copy each call). */
const fixture = (name: string): KubeObject =>
  JSON.parse(readFileSync(join(ROOT, 'tests', 'fixtures', 'kube', `${name}.json`), 'utf8')) as KubeObject;

/** The test suite's fake API server, loaded at run time (it lives outside the agent package). */
async function fakeApiModule(): Promise<FakeApiModule> {
  const url = pathToFileURL(join(ROOT, 'tests', 'lib', 'fake-kube-apiserver.ts')).href;
  const mod = (await import(url)) as FakeApiModule & { default?: FakeApiModule };
  return mod.FakeKubeApiServer ? mod : mod.default!;
}

const uid = (n: number, kind: number) =>
  `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function withIp(pod: KubeObject, name: string, namespace: string, ip: string, node: string, n: number): KubeObject {
  pod.metadata.name = name;
  pod.metadata.namespace = namespace;
  pod.metadata.uid = uid(n, 1);
  (pod.spec as { nodeName: string }).nodeName = node;
  const status = pod.status as { podIP?: string; podIPs?: Array<{ ip: string }> };
  status.podIP = ip;
  status.podIPs = [{ ip }];
  return pod;
}

function owned(pod: KubeObject, kind: string, name: string, ownerUid: string): KubeObject {
  const ref = (pod.metadata.ownerReferences as Array<Record<string, unknown>>)[0]!;
  ref.kind = kind;
  ref.name = name;
  ref.uid = ownerUid;
  ref.apiVersion = kind === 'Job' ? 'batch/v1' : 'apps/v1';
  return pod;
}

export function realisticCluster(): KubeObject[] {
  const objects: KubeObject[] = [];
  const nodeA = fixture('node-a');
  objects.push(nodeA);
  for (let i = 0; i < OTHER_NODES; i++) {
    const n = fixture('node-b');
    n.metadata.name = `ip-10-0-${10 + i}-45.eu-west-1.compute.internal`;
    n.metadata.uid = uid(i, 9);
    (n.status as { addresses: Array<{ type: string; address: string }> }).addresses = [
      { type: 'InternalIP', address: `10.0.${10 + i}.45` },
    ];
    objects.push(n);
  }
  let n = 0;
  const namespaces = ['shop', 'payments', 'search', 'auth', 'catalog', 'orders', 'mail', 'media', 'ads', 'ml'];
  // 60 Deployment pods: 30 Deployments × 2 replicas (one ReplicaSet each)
  for (let d = 0; d < 30; d++) {
    const ns = namespaces[d % namespaces.length]!;
    const rsName = `svc${d}-7c5ddbdf${(10 + d).toString(16)}`;
    const rs = fixture('replicaset-web');
    rs.metadata.name = rsName;
    rs.metadata.namespace = ns;
    rs.metadata.uid = uid(d, 2);
    objects.push(rs);
    for (let r = 0; r < 2; r++) {
      const pod = withIp(fixture('pod-web'), `${rsName}-x${r}q${d}`, ns, `10.0.1.${10 + n}`, BENCH_NODE, n);
      objects.push(owned(pod, 'ReplicaSet', rsName, rs.metadata.uid));
      n++;
    }
  }
  // 20 StatefulSet pods: 7 StatefulSets
  for (let s = 0; n < 80; s = (s + 1) % 7) {
    const ns = namespaces[s]!;
    const pod = withIp(fixture('pod-db'), `db${s}-${n}`, ns, `10.0.1.${10 + n}`, BENCH_NODE, n);
    objects.push(owned(pod, 'StatefulSet', `db${s}`, uid(s, 3)));
    n++;
  }
  // 10 DaemonSet pods, two of them on the host network (kube-proxy-like: they own no pod IP)
  for (let s = 0; s < 10; s++) {
    const hostNet = s < 2;
    const pod = withIp(
      fixture(hostNet ? 'pod-kube-proxy' : 'pod-fluent-bit'),
      `ds${s}-9ztq${s}`,
      'kube-system',
      hostNet ? '10.0.1.23' : `10.0.1.${10 + n}`,
      BENCH_NODE,
      n
    );
    objects.push(owned(pod, 'DaemonSet', `ds${s}`, uid(s, 4)));
    n++;
  }
  // 10 CronJob runs (a Job each)
  for (let j = 0; j < 10; j++) {
    const job = fixture('job-report');
    job.metadata.name = `report${j}-2939388${j}`;
    job.metadata.uid = uid(j, 5);
    objects.push(job);
    const pod = withIp(fixture('pod-report'), `${job.metadata.name}-7kq9d`, 'shop', `10.0.1.${10 + n}`, BENCH_NODE, n);
    objects.push(owned(pod, 'Job', job.metadata.name, job.metadata.uid));
    n++;
  }
  // 10 bare pods
  for (let b = 0; n < PODS_ON_NODE; b++) {
    objects.push(withIp(fixture('pod-debug'), `debug${b}`, 'default', `10.0.1.${10 + n}`, BENCH_NODE, n));
    n++;
  }
  // other nodes' pods (the server filters them out of the agent's node-scoped list and watch)
  for (let o = 0; o < PODS_ON_OTHER_NODES; o++) {
    const node = o % OTHER_NODES;
    const ip = `10.0.${10 + node}.${10 + Math.floor(o / OTHER_NODES)}`;
    const pod = withIp(
      fixture('pod-web'),
      `other-${o}`,
      namespaces[o % namespaces.length]!,
      ip,
      `ip-10-0-${10 + node}-45.eu-west-1.compute.internal`,
      10_000 + o
    );
    objects.push(owned(pod, 'ReplicaSet', `other-rs${o % 50}`, uid(o % 50, 6)));
  }
  return objects;
}

/** Starts the fake API server with the realistic cluster. */
export async function startFakeCluster(): Promise<FakeApi> {
  const mod = await fakeApiModule();
  return mod.FakeKubeApiServer.start(realisticCluster());
}

/**
 * The environment of an agent pod pointed at the fake API server: KUBERNETES_SERVICE_HOST/PORT and a service
 * account directory (token, ca.crt) made from the fake server's kubeconfig, so the agent takes its in-cluster path.
 */
export function inClusterEnv(api: FakeApi, dir: string): NodeJS.ProcessEnv {
  const kc = JSON.parse(readFileSync(api.kubeconfigPath, 'utf8')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{ user: { token: string } }>;
  };
  const { server, 'certificate-authority-data': ca } = kc.clusters[0]!.cluster;
  writeFileSync(join(dir, 'token'), kc.users[0]!.user.token, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), Buffer.from(ca, 'base64'));
  const url = new URL(server);
  return {
    KUBERNETES_SERVICE_HOST: url.hostname,
    KUBERNETES_SERVICE_PORT: url.port,
    FLOWLENS_SERVICE_ACCOUNT_DIR: dir,
  };
}
