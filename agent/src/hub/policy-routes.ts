/**
 * `GET /api/v1/policy-drafts` and `GET|POST /api/v1/policy-check` (docs/openapi.yaml, docs/policy.md): the
 * store's observed flows and the metadata's pods, namespaces and NetworkPolicies, handed to the pure policy code
 * (agent/src/policy). server.ts routes and authorizes; this module parses and answers.
 */
import type { IpRanges } from '../classify/ip-ranges.js';
import type { MetadataView, NetworkPolicy } from '../contracts/metadata.js';
import { checkFlows, type CheckResult } from '../policy/check.js';
import { buildDrafts, type DraftPolicy, type EvidenceFlow } from '../policy/draft.js';
import { Inventory } from '../policy/inventory.js';
import { parsePolicies, policiesToYaml } from '../policy/yaml.js';
import type { FlowStore, RangeQuery } from '../store/flow-store.js';
import { DEFAULT_CLUSTER } from '../contracts/report.js';
import { ParamError, parseClusterName, parseRange } from './params.js';

export interface PolicyDeps {
  store: FlowStore;
  metadata: MetadataView;
  ranges: IpRanges;
}

/** The policy API's default range: the last 24 hours. */
export const POLICY_DEFAULT_RANGE_MS = 24 * 3600_000;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export class NotImplementedError extends Error {}

export interface PolicyQuery {
  range: RangeQuery & { namespace: string };
  format: 'json' | 'yaml';
  defaultDeny: boolean;
}

function bool(p: URLSearchParams, name: string): boolean {
  const v = p.get(name);
  if (v === null || v === '' || v === 'false') {
    return false;
  }
  if (v === 'true') {
    return true;
  }
  throw new ParamError(`${name}: expected true or false, got '${v}'`);
}

/**
 * namespace (required), workload, from/to (default: the last 24 h), format, defaultDeny, cluster. Pure. A policy
 * is one cluster's: `cluster` defaults to the hub's own (`ownCluster`), and only that one is accepted, since the
 * hub's metadata (pods, namespaces, NetworkPolicies) describes no other.
 */
export function parsePolicyQuery(p: URLSearchParams, nowMs: number, ownCluster = DEFAULT_CLUSTER): PolicyQuery {
  const cluster = p.get('cluster') || ownCluster;
  if (parseClusterName(cluster) !== ownCluster) {
    throw new ParamError(
      `cluster: policies are drafted and checked for this hub's own cluster '${ownCluster}' only (its metadata describes no other), got '${cluster}'`
    );
  }
  const ns = p.get('namespace') ?? '';
  if (ns === '') {
    throw new ParamError('namespace: required (a Kubernetes namespace name)');
  }
  if (ns.length > 63 || !DNS_LABEL.test(ns)) {
    throw new ParamError(`namespace: expected a Kubernetes namespace name, got '${ns}'`);
  }
  const wl = p.get('workload') ?? '';
  if (wl !== '' && (wl.length > 253 || !DNS_SUBDOMAIN.test(wl))) {
    throw new ParamError(`workload: expected a Kubernetes object name, got '${wl}'`);
  }
  const rangeParams = new URLSearchParams({ namespace: ns, cluster });
  for (const k of ['from', 'to', 'workload']) {
    const v = p.get(k);
    if (v !== null && v !== '') {
      rangeParams.set(k, v);
    }
  }
  if (!rangeParams.has('from')) {
    // parseRange's own default is one hour; policies want a day of evidence
    const to = parseRange(rangeParams, nowMs).toMs;
    rangeParams.set('from', String(to - POLICY_DEFAULT_RANGE_MS));
  }
  const range = parseRange(rangeParams, nowMs) as RangeQuery & { namespace: string };
  const format = p.get('format') ?? 'json';
  if (format !== 'json' && format !== 'yaml') {
    throw new ParamError(`format: expected json or yaml, got '${format}'`);
  }
  return { range, format, defaultDeny: bool(p, 'defaultDeny') };
}

async function evidence(
  deps: PolicyDeps,
  q: RangeQuery
): Promise<{ fromMs: number; toMs: number; flows: EvidenceFlow[] }> {
  if (!deps.store.observedFlows) {
    throw new NotImplementedError('this store does not keep observed flows (policy drafts and checks need them)');
  }
  const a = await deps.store.observedFlows(q);
  return { fromMs: a.fromMs, toMs: a.toMs, flows: a.result };
}

function inventory(deps: PolicyDeps): Inventory {
  const inv = deps.metadata.policyInventory?.() ?? { pods: [], namespaces: [], networkPolicies: [] };
  return new Inventory(inv, (node) => deps.metadata.nodeByName(node)?.addresses ?? []);
}

export interface DraftsAnswer {
  from: number;
  to: number;
  namespace: string;
  policies: DraftPolicy[];
  yaml: string;
}

export async function draftsAnswer(deps: PolicyDeps, q: PolicyQuery): Promise<DraftsAnswer> {
  const e = await evidence(deps, q.range);
  const policies = buildDrafts(e.flows, inventory(deps), {
    namespace: q.range.namespace,
    workload: q.range.workload,
    defaultDeny: q.defaultDeny,
    fromMs: e.fromMs,
    toMs: e.toMs,
    awsPrefix: (ip) => deps.ranges.lookup(ip)?.prefix ?? null,
  });
  return {
    from: e.fromMs,
    to: e.toMs,
    namespace: q.range.namespace,
    policies,
    yaml: policiesToYaml(policies.map((p) => p.object)),
  };
}

export interface CheckAnswer extends CheckResult {
  from: number;
  to: number;
  namespace: string;
}

/** `body`: YAML or JSON NetworkPolicies to evaluate instead of the cluster's (POST). */
export async function checkAnswer(deps: PolicyDeps, q: PolicyQuery, body?: string): Promise<CheckAnswer> {
  let policies: NetworkPolicy[] | undefined;
  if (body !== undefined) {
    try {
      policies = parsePolicies(body, q.range.namespace);
    } catch (err) {
      throw new ParamError(`body: ${(err as Error).message}`);
    }
  }
  const inv = inventory(deps);
  const e = await evidence(deps, q.range);
  const r = checkFlows(e.flows, policies ?? inv.networkPolicies, inv);
  return { from: e.fromMs, to: e.toMs, namespace: q.range.namespace, ...r };
}
