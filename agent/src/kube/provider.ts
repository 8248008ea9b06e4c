/**
 * Kubernetes metadata as a MetadataProvider, kept current by watches:
 *  - node scope (the agent): the pods of one node (field selector spec.nodeName) and that node itself;
 *  - cluster scope (the hub): all pods, nodes (zone from topology.kubernetes.io/zone) and services.
 * Pod IPs map to their owning workload (ReplicaSet → Deployment, Job → CronJob, StatefulSet, DaemonSet …).
 * hostNetwork pods share the node's IP, so they own no IP here: that IP resolves to the node (nodeByIp).
 */
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Node,
  type V1ObjectMeta,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import type { MetadataProvider, NodeInfo, PodInfo, ServiceInfo } from '../contracts/metadata.js';
import { MetadataStore } from '../metadata/store.js';
import { watchResource, type ResourceWatch } from './informer.js';
import { nodeInfo, podInfos, serviceInfos } from './objects.js';
import { OwnerCache, type OwnerKind } from './owner-cache.js';
import { ownerToFetch, resolveWorkload } from './workload.js';

export interface KubernetesMetadataOptions {
  kubeConfig: KubeConfig;
  /** Node scope when set (the agent); cluster scope otherwise (the hub). */
  nodeName?: string;
  log: (msg: string) => void;
  /** How long start() waits for the first lists before going on without them (they keep retrying). */
  syncTimeoutMs?: number;
  backoffMs?: { min: number; max: number };
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: number; statusCode?: number; body?: unknown };
  return e?.code === 404 || e?.statusCode === 404;
}

export class KubernetesMetadata implements MetadataProvider {
  readonly store = new MetadataStore();
  readonly owners: OwnerCache;
  private readonly watches: ResourceWatch[] = [];
  private readonly generations = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly opts: KubernetesMetadataOptions) {
    const kc = opts.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const batch = kc.makeApiClient(BatchV1Api);
    this.owners = new OwnerCache(
      async (kind: OwnerKind, namespace: string, name: string): Promise<V1ObjectMeta | null> => {
        try {
          const obj =
            kind === 'ReplicaSet'
              ? await apps.readNamespacedReplicaSet({ name, namespace })
              : await batch.readNamespacedJob({ name, namespace });
          return obj.metadata ?? {};
        } catch (err) {
          if (isNotFound(err)) {
            return null;
          }
          throw err;
        }
      },
      { log: opts.log }
    );
    const common = { kubeConfig: kc, log: opts.log, backoffMs: opts.backoffMs };
    const node = opts.nodeName;
    this.watches.push(
      watchResource<V1Pod>({
        ...common,
        path: '/api/v1/pods',
        fieldSelector: node === undefined ? undefined : `spec.nodeName=${node}`,
        list: (fieldSelector) => core.listPodForAllNamespaces({ fieldSelector }),
        handlers: { upsert: (p) => this.upsertPod(p), remove: (p) => this.removePod(p) },
      }),
      watchResource<V1Node>({
        ...common,
        path: '/api/v1/nodes',
        fieldSelector: node === undefined ? undefined : `metadata.name=${node}`,
        list: (fieldSelector) => core.listNode({ fieldSelector }),
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
          list: (fieldSelector) => core.listServiceForAllNamespaces({ fieldSelector }),
          handlers: {
            upsert: (s) => this.store.setService(s.metadata?.uid ?? '', serviceInfos(s)),
            remove: (s) => this.store.removeService(s.metadata?.uid ?? ''),
          },
        })
      );
    }
  }

  private uidOf(pod: V1Pod): string {
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

  private removePod(pod: V1Pod): void {
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
}
