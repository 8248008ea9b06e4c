/**
 * Resolves a pod's owning workload by walking controller owner references: ReplicaSet → Deployment,
 * Job → CronJob; StatefulSet, DaemonSet and other controllers are taken as they are; a pod without a controller
 * (or a static pod, owned by its Node) is its own workload.
 */
import type { V1ObjectMeta, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import { controllerOf, type Workload } from './objects.js';

/** What is known of an intermediate owner (ReplicaSet, Job): its own controller, null when it has none. */
export type OwnerLookup = (
  kind: 'ReplicaSet' | 'Job',
  namespace: string,
  name: string
) => { found: true; controller: V1OwnerReference | null } | { found: false } | undefined;

/**
 * `lookup` answers from a cache: `{found:false}` means the owner is gone, `undefined` means unknown (not fetched or
 * the API refused); then the usual naming conventions stand in (Deployment ReplicaSets end in the pod-template-hash,
 * CronJob Jobs in the scheduled minute).
 */
export function resolveWorkload(pod: V1Pod, lookup: OwnerLookup): Workload {
  const name = pod.metadata?.name ?? '';
  const ns = pod.metadata?.namespace ?? 'default';
  const ref = controllerOf(pod.metadata);
  if (!ref || ref.kind === 'Node') {
    return { workload: name, kind: 'Pod' };
  }
  if (ref.kind === 'ReplicaSet' || ref.kind === 'Job') {
    const owner = lookup(ref.kind, ns, ref.name);
    if (owner?.found) {
      return owner.controller ? { workload: owner.controller.name, kind: owner.controller.kind } : direct(ref);
    }
    if (owner && !owner.found) {
      return direct(ref);
    }
    return guess(ref, pod.metadata);
  }
  return direct(ref);
}

function direct(ref: V1OwnerReference): Workload {
  return { workload: ref.name, kind: ref.kind };
}

function guess(ref: V1OwnerReference, meta: V1ObjectMeta | undefined): Workload {
  if (ref.kind === 'ReplicaSet') {
    const hash = meta?.labels?.['pod-template-hash'];
    if (hash && ref.name.endsWith(`-${hash}`)) {
      return { workload: ref.name.slice(0, -hash.length - 1), kind: 'Deployment' };
    }
  }
  if (ref.kind === 'Job') {
    const m = /^(.+)-\d{8,}$/.exec(ref.name);
    if (m) {
      return { workload: m[1]!, kind: 'CronJob' };
    }
  }
  return direct(ref);
}

/** The intermediate owners a pod needs looked up, if any. */
export function ownerToFetch(pod: V1Pod): { kind: 'ReplicaSet' | 'Job'; namespace: string; name: string } | null {
  const ref = controllerOf(pod.metadata);
  if (!ref || (ref.kind !== 'ReplicaSet' && ref.kind !== 'Job')) {
    return null;
  }
  return { kind: ref.kind, namespace: pod.metadata?.namespace ?? 'default', name: ref.name };
}
