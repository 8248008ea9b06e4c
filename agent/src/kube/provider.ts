/**
 * Kubernetes metadata as a MetadataProvider, kept current by watches:
 *  - node scope (the agent): the pods of one node (field selector spec.nodeName) and that node itself;
 *  - cluster scope (the hub): all pods, nodes (zone from topology.kubernetes.io/zone) and services, plus
 *    namespaces (labels) and NetworkPolicies, which policy drafts and checks read (policyInventory).
 * Pod IPs map to their owning workload (ReplicaSet → Deployment, Job → CronJob, StatefulSet, DaemonSet …).
 * hostNetwork pods share the node's IP, so they own no IP here: that IP resolves to the node (nodeByIp).
 */
import type { V1Namespace, V1Node, V1ObjectMeta, V1Pod, V1Service } from '@kubernetes/client-node';
import type {
  MetadataProvider,
  NamespaceInfo,
  NetworkPolicy,
  NodeInfo,
  PodInfo,
  PolicyInventory,
  ServiceInfo,
} from '../contracts/metadata.js';
import { MetadataStore } from '../metadata/store.js';
import { ApiError, KubeApi } from './api.js';
import type { KubeConnection } from './connection.js';
import { watchResource, type ObjectRef, type ResourceWatch } from './informer.js';
import { namespaceInfo, networkPolicyOf, nodeInfo, podInfos, serviceInfos } from './objects.js';
import { OwnerCache, type OwnerKind } from './owner-cache.js';
import { ownerToFetch, resolveWorkload } from './workload.js';

export interface KubernetesMetadataOptions {
  /** client-node's KubeConfig (the hub) or the agent's NodeKubeConfig (connection.ts). */
  kubeConfig: KubeConnection;
  /** Node scope when set (the agent); cluster scope otherwise (the hub). */
  nodeName?: string;
  log: (msg: string) => void;
  /** How long start() waits for the first lists before going on without them (they keep retrying). */
  syncTimeoutMs?: number;
  backoffMs?: { min: number; max: number };
}

const OWNER_PATHS: Record<OwnerKind, (namespace: string, name: string) => string> = {
  ReplicaSet: (ns, name) =>
    `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/replicasets/${encodeURIComponent(name)}`,
  Job: (ns, name) => `/apis/batch/v1/namespaces/${encodeURIComponent(ns)}/jobs/${encodeURIComponent(name)}`,
};

export class KubernetesMetadata implements MetadataProvider {
  readonly store = new MetadataStore();
  readonly owners: OwnerCache;
  private readonly watches: ResourceWatch[] = [];
  private readonly generations = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();
  private readonly api: KubeApi;
  private readonly namespaces = new Map<string, NamespaceInfo>();
  private readonly policies = new Map<string, NetworkPolicy>();

  constructor(private readonly opts: KubernetesMetadataOptions) {
    const api = (this.api = new KubeApi(opts.kubeConfig));
    this.owners = new OwnerCache(
      async (kind: OwnerKind, namespace: string, name: string): Promise<V1ObjectMeta | null> => {
        try {
          const obj = await api.get<{ metadata?: V1ObjectMeta }>(OWNER_PATHS[kind](namespace, name));
          return obj.metadata ?? {};
        } catch (err) {
          if (err instanceof ApiError && err.code === 404) {
            return null;
          }
          throw err;
        }
      },
      { log: opts.log }
    );
    const common = { api, log: opts.log, backoffMs: opts.backoffMs };
    const node = opts.nodeName;
    this.watches.push(
      watchResource<V1Pod>({
        ...common,
        path: '/api/v1/pods',
        fieldSelector: node === undefined ? undefined : `spec.nodeName=${node}`,
        handlers: { upsert: (p) => this.upsertPod(p), remove: (p) => this.removePod(p) },
      }),
      watchResource<V1Node>({
        ...common,
        path: '/api/v1/nodes',
        fieldSelector: node === undefined ? undefined : `metadata.name=${node}`,
        handlers: {
          upsert: (n) => this.store.setNode(nodeInfo(n)),
          remove: (n) => this.store.removeNode(n.metadata?.name ?? ''),
        },
      })
    );
    if (node === undefined) {
      this.watches.push(
        watchResource<V1Service>({
          ...common,
          path: '/api/v1/services',
          handlers: {
            upsert: (s) => this.store.setService(s.metadata?.uid ?? '', serviceInfos(s)),
            remove: (s) => this.store.removeService(s.metadata?.uid ?? ''),
          },
        }),
        watchResource<V1Namespace>({
          ...common,
          path: '/api/v1/namespaces',
          handlers: {
            upsert: (n) => this.namespaces.set(this.uidOf(n), namespaceInfo(n)),
            remove: (n) => this.namespaces.delete(this.uidOf(n)),
          },
        }),
        watchResource<NetworkPolicy & { metadata: V1ObjectMeta }>({
          ...common,
          path: '/apis/networking.k8s.io/v1/networkpolicies',
          handlers: {
            upsert: (p) => this.policies.set(this.uidOf(p), networkPolicyOf(p)),
            remove: (p) => this.policies.delete(this.uidOf(p)),
          },
        })
      );
    }
  }

  private uidOf(pod: ObjectRef): string {
    return pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  }

  private upsertPod(pod: V1Pod): void {
    const uid = this.uidOf(pod);
    const gen = (this.generations.get(uid) ?? 0) + 1;
    this.generations.set(uid, gen);
    const apply = () => this.store.setPod(uid, podInfos(pod, resolveWorkload(pod, this.owners.lookup)));
    apply();
    const need = ownerToFetch(pod);
    if (!need || this.owners.lookup(need.kind, need.namespace, need.name)?.found) {
      return;
    }
    const p = this.owners.ensure(need.kind, need.namespace, need.name).then(() => {
      if (this.generations.get(uid) === gen) {
        apply();
      }
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private removePod(pod: ObjectRef): void {
    const uid = this.uidOf(pod);
    this.generations.delete(uid);
    this.store.removePod(uid);
  }

  /** Waits for owner lookups in flight (tests, and start()). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) {
      await Promise.all([...this.pending]);
    }
  }

  async start(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.start()));
    const timeoutMs = this.opts.syncTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const result = await Promise.race([Promise.all(this.watches.map((w) => w.synced)), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.opts.log(`kubernetes metadata not synced after ${timeoutMs} ms; flows carry IPs only until it is`);
    }
    await this.settled();
  }

  async stop(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.stop()));
    this.api.close();
  }

  /** Successful lists per watch (a re-list after 410 adds one). */
  listCounts(): number[] {
    return this.watches.map((w) => w.lists());
  }

  podByIp(ip: string): PodInfo | undefined {
    return this.store.podByIp(ip);
  }

  nodeByName(name: string): NodeInfo | undefined {
    return this.store.nodeByName(name);
  }

  nodeByIp(ip: string): NodeInfo | undefined {
    return this.store.nodeByIp(ip);
  }

  serviceByIp(ip: string): ServiceInfo | undefined {
    return this.store.serviceByIp(ip);
  }
  serviceByNodePort(port: number): ServiceInfo | undefined {
    return this.store.serviceByNodePort(port);
  }

  policyInventory(): PolicyInventory {
    return {
      pods: this.store.allPods(),
      namespaces: [...this.namespaces.values()],
      networkPolicies: [...this.policies.values()],
    };
  }
}
