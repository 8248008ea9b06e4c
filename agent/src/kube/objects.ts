/** Pure mapping from Kubernetes API objects to the metadata contract (PodInfo, NodeInfo, ServiceInfo). */
import type { V1Namespace, V1Node, V1ObjectMeta, V1OwnerReference, V1Pod, V1Service } from '@kubernetes/client-node';
import type { NamedPort, NamespaceInfo, NetworkPolicy, NodeInfo, PodInfo, ServiceInfo } from '../contracts/metadata.js';
import { compareText } from '../compare.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
const LEGACY_ZONE_LABEL = 'failure-domain.beta.kubernetes.io/zone';

export interface Workload {
  workload: string;
  kind: string;
}

/** The controlling owner reference (or the first one when none is marked controller). */
export function controllerOf(meta: V1ObjectMeta | undefined): V1OwnerReference | undefined {
  const refs = meta?.ownerReferences ?? [];
  return refs.find((r) => r.controller) ?? refs[0];
}

/** The pod's IPs, or none when it has no network of its own (hostNetwork) or has finished (IPs released). */
export function podIps(pod: V1Pod): string[] {
  if (pod.spec?.hostNetwork) {
    return [];
  }
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') {
    return [];
  }
  const ips = new Set<string>();
  for (const p of pod.status?.podIPs ?? []) {
    if (p.ip) {
      ips.add(p.ip);
    }
  }
  if (pod.status?.podIP) {
    ips.add(pod.status.podIP);
  }
  return [...ips];
}

/** The pod's named container ports (init containers' too: sidecars serve from them), sorted by name. */
export function namedPorts(pod: V1Pod): NamedPort[] {
  const out = new Map<string, NamedPort>();
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const p of c.ports ?? []) {
      if (p.name) {
        out.set(p.name, { name: p.name, port: p.containerPort, protocol: p.protocol ?? 'TCP' });
      }
    }
  }
  return [...out.values()].sort((a, b) => compareText(a.name, b.name));
}

export function podInfos(pod: V1Pod, workload: Workload): PodInfo[] {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? 'default';
  const labels = { ...(pod.metadata?.labels ?? {}) };
  const ports = namedPorts(pod);
  return podIps(pod).map((ip) => ({
    ip,
    name,
    namespace,
    workload: workload.workload,
    kind: workload.kind,
    node: pod.spec?.nodeName ?? null,
    labels,
    ...(ports.length > 0 ? { ports } : {}),
  }));
}

export function namespaceInfo(ns: V1Namespace): NamespaceInfo {
  return { name: ns.metadata?.name ?? '', labels: { ...(ns.metadata?.labels ?? {}) } };
}

/** A NetworkPolicy as the evaluator reads it: the object without status and managed fields. */
export function networkPolicyOf(obj: NetworkPolicy & { metadata: V1ObjectMeta }): NetworkPolicy {
  const m = obj.metadata;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: m.name ?? '',
      namespace: m.namespace ?? 'default',
      ...(m.labels ? { labels: m.labels } : {}),
    },
    spec: obj.spec ?? { podSelector: {} },
  };
}

export function nodeInfo(node: V1Node): NodeInfo {
  const labels = node.metadata?.labels ?? {};
  return {
    name: node.metadata?.name ?? '',
    zone: labels[ZONE_LABEL] ?? labels[LEGACY_ZONE_LABEL] ?? null,
    addresses: (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address),
  };
}

export function serviceInfos(svc: V1Service): ServiceInfo[] {
  const ips = new Set([...(svc.spec?.clusterIPs ?? []), svc.spec?.clusterIP ?? '']);
  const name = svc.metadata?.name ?? '';
  const namespace = svc.metadata?.namespace ?? 'default';
  const nodePorts = (svc.spec?.ports ?? []).flatMap((p) => (p.nodePort ? [p.nodePort] : []));
  return [...ips]
    .filter((ip) => ip !== '' && ip !== 'None')
    .map((ip) => (nodePorts.length > 0 ? { ip, name, namespace, nodePorts } : { ip, name, namespace }));
}
