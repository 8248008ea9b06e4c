// Shared pieces of the policy frames: what the page reads from a frame's meta, and how an endpoint is named.
import type { DataFrame } from '@grafana/data';
import type { CheckAgainst, PolicyEndpoint } from '../datasource/policyTypes';

/** Carried in `meta.custom` of the drafts frame: the YAML exactly as the hub sent it, for the code view and download. */
export interface PolicyDraftsMeta {
  kind: 'policyDrafts';
  namespace: string;
  yaml: string;
  policies: number;
}

/** Carried in `meta.custom` of the check frame. */
export interface PolicyCheckMeta {
  kind: 'policyCheck';
  namespace: string;
  against: CheckAgainst;
  policiesEvaluated: number;
  flowsChecked: number;
  denied: number;
}

export function policyDraftsMeta(frames: DataFrame[] | undefined): PolicyDraftsMeta | undefined {
  const custom = frames?.find((f) => f.meta?.custom?.kind === 'policyDrafts')?.meta?.custom;
  return custom as PolicyDraftsMeta | undefined;
}

export function policyCheckMeta(frames: DataFrame[] | undefined): PolicyCheckMeta | undefined {
  const custom = frames?.find((f) => f.meta?.custom?.kind === 'policyCheck')?.meta?.custom;
  return custom as PolicyCheckMeta | undefined;
}

/** `shop/orders` (workload), `shop/orders-5d9f` (pod without a workload), or the IP for an external end. */
export function describePolicyEndpoint(e: PolicyEndpoint): string {
  const name = e.workload ?? e.pod;
  if (name) {
    return e.namespace ? `${e.namespace}/${name}` : name;
  }
  return e.ip ?? 'unknown';
}

/** The file a namespace's drafts download as. */
export function policyYamlFileName(namespace: string): string {
  return `flowlens-policies-${namespace}.yaml`;
}
