// The hub's policy API (issue 16; docs/hub.md "Policies"): NetworkPolicy drafts from observed traffic, with the
// evidence per rule, and the observed flows a set of policies would deny. Field names are the hub's.

/** Which policies a check evaluates: the cluster's current ones, the page's draft, or only a default-deny policy. */
export const CHECK_AGAINST = ['current', 'draft', 'defaultDeny'] as const;
export type CheckAgainst = (typeof CHECK_AGAINST)[number];

export type RuleDirection = 'ingress' | 'egress';

export interface PolicyRule {
  direction: RuleDirection;
  /** `workload:shop/frontend`, `namespace:payments`, `ipBlock:203.0.113.7/32` or `dns:kube-system/kube-dns`. */
  peer: string;
  /** As in the rule, e.g. `TCP/8080`. */
  ports: string[];
  /** Evidence: 0 for assumed rules. */
  bytes: number;
  flows: number;
  firstSeenMs: number | null;
  lastSeenMs: number | null;
  /** True for the DNS rule: the agent sees TCP only, so DNS is assumed, not observed. */
  assumed: boolean;
}

export interface PolicyDraft {
  /** metadata.name of the object. */
  name: string;
  /** Null for the default-deny policy. */
  workload: string | null;
  /** The networking.k8s.io/v1 NetworkPolicy object. */
  object: Record<string, unknown>;
  /** One per peer × direction in the object, in the object's order. */
  rules: PolicyRule[];
}

export interface PolicyDraftsResponse {
  from: number;
  to: number;
  namespace: string;
  policies: PolicyDraft[];
  /** Exactly what `format=yaml` returns (multi-document, stable). */
  yaml: string;
}

export interface PolicyEndpoint {
  ip: string | null;
  pod: string | null;
  namespace: string | null;
  workload: string | null;
  kind: string | null;
}

export type DeniedBy = 'ingress' | 'egress' | 'both';

export interface DeniedFlow {
  client: PolicyEndpoint;
  server: PolicyEndpoint;
  serverPort: number;
  protocol: string;
  bytes: number;
  firstSeenMs: number | null;
  lastSeenMs: number | null;
  deniedBy: DeniedBy;
  /** The policies that isolate the denying side(s), `namespace/name`. */
  policies: string[];
}

export interface PolicyCheckResponse {
  from: number;
  to: number;
  namespace: string;
  policiesEvaluated: number;
  flowsChecked: number;
  denied: DeniedFlow[];
}
