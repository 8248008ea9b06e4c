/**
 * The policy check: which observed flows a policy set would deny, and by which side's isolation — the "what will
 * break if I switch to default-deny / apply this draft" answer. Pure.
 */
import type { NetworkPolicy } from '../contracts/metadata.js';
import type { EvidenceFlow } from './draft.js';
import { PolicyEvaluator } from './evaluate.js';
import type { Inventory, NamedEnd } from './inventory.js';

export interface CheckEnd {
  ip: string;
  pod: string | null;
  namespace: string | null;
  workload: string | null;
  kind: string | null;
}

export interface DeniedFlow {
  client: CheckEnd;
  server: CheckEnd;
  serverPort: number;
  protocol: 'TCP';
  bytes: number;
  firstSeenMs: number;
  lastSeenMs: number;
  deniedBy: 'ingress' | 'egress' | 'both';
  /** The policies (namespace/name) isolating the denying side(s), sorted. */
  policies: string[];
}

export interface CheckResult {
  policiesEvaluated: number;
  flowsChecked: number;
  denied: DeniedFlow[];
}

const view = (e: NamedEnd): CheckEnd => ({
  ip: e.ip,
  pod: e.pod,
  namespace: e.namespace,
  workload: e.workload,
  kind: e.kind ?? null,
});

const text = (e: CheckEnd): string => (e.pod !== null ? `${e.namespace}/${e.pod}` : e.ip);

export function checkFlows(flows: EvidenceFlow[], policies: NetworkPolicy[], inv: Inventory): CheckResult {
  const evaluator = new PolicyEvaluator(policies, inv.namespaceLabels);
  const denied: DeniedFlow[] = [];
  for (const f of flows) {
    const v = evaluator.evaluate({
      client: inv.end(f.client),
      server: inv.end(f.server),
      port: f.serverPort,
      protocol: 'TCP',
    });
    if (v.deniedBy === null) {
      continue;
    }
    const policies = [
      ...(v.deniedBy !== 'ingress' ? v.egress.policies : []),
      ...(v.deniedBy !== 'egress' ? v.ingress.policies : []),
    ];
    denied.push({
      client: view(f.client),
      server: view(f.server),
      serverPort: f.serverPort,
      protocol: 'TCP',
      bytes: f.bytes,
      firstSeenMs: f.firstSeenMs,
      lastSeenMs: f.lastSeenMs,
      deniedBy: v.deniedBy,
      policies: [...new Set(policies)].sort(),
    });
  }
  const key = (d: DeniedFlow): string => `${text(d.client)} ${text(d.server)} ${String(d.serverPort).padStart(5, '0')}`;
  denied.sort((a, b) => b.bytes - a.bytes || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return { policiesEvaluated: policies.length, flowsChecked: flows.length, denied };
}
