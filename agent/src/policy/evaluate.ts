/**
 * Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), as the documentation states them:
 *  - a pod is isolated for ingress (egress) when at least one policy in its namespace selects it and has Ingress
 *    (Egress) in its policyTypes; a pod no policy selects accepts (sends) everything;
 *  - policyTypes, when missing, is Ingress, plus Egress when the policy has egress rules;
 *  - policies are additive: a connection is allowed on one side when any rule of any policy isolating that
 *    side allows it; a rule matches when one of its peers (`from`/`to`; none = every peer) and one of its
 *    ports (none = every port) match;
 *  - a connection needs both sides: egress allowed from the client pod and ingress allowed to the server pod;
 *  - a peer's podSelector alone selects pods of the policy's own namespace, namespaceSelector alone every pod
 *    of the matching namespaces, both in one peer the pods matching both; ipBlock matches addresses in its
 *    CIDR and not in its `except` (which pods' own addresses ipBlock matches is CNI-dependent: here, any
 *    address in the block);
 *  - a port is a number (optionally a range up to endPort) or a named container port of the server pod;
 *    protocol defaults to TCP;
 *  - a pod never blocks itself, and traffic between a pod and the node it runs on is always allowed.
 * Pure: the ends come resolved (labels, named ports) from inventory.ts.
 */
import type {
  LabelSelector,
  NamedPort,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
} from '../contracts/metadata.js';
import { cidrContains, selectorMatches } from './selector.js';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface PodEnd {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** Named container ports (how a policy's named port resolves). */
  ports: NamedPort[];
  /** Addresses of the node the pod runs on (traffic with its own node is always allowed). */
  nodeAddresses: string[];
}

/** One end of a connection: an address, and the pod behind it when it is one (null: external, node, Service). */
export interface PolicyEnd {
  ip: string;
  pod: PodEnd | null;
}

export interface Connection {
  client: PolicyEnd;
  server: PolicyEnd;
  port: number;
  protocol: Protocol;
}

export interface SideVerdict {
  /** The pod on this side is isolated for this direction (some policy selects it with this policy type). */
  isolated: boolean;
  allowed: boolean;
  /** The policies (namespace/name) that isolate this side, sorted. */
  policies: string[];
}

export interface Verdict {
  allowed: boolean;
  /** Which side's isolation denies the connection; null when allowed. */
  deniedBy: 'ingress' | 'egress' | 'both' | null;
  egress: SideVerdict;
  ingress: SideVerdict;
}

/** The policy types a policy has, defaulted as the API server defaults them. */
export function policyTypesOf(p: NetworkPolicy): Array<'Ingress' | 'Egress'> {
  if (p.spec.policyTypes && p.spec.policyTypes.length > 0) {
    return p.spec.policyTypes;
  }
  return (p.spec.egress?.length ?? 0) > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

const policyId = (p: NetworkPolicy): string => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;

export class PolicyEvaluator {
  /**
   * @param policies the policy set (a policy without a namespace belongs to `default`)
   * @param namespaceLabels labels of a namespace (kubernetes.io/metadata.name included)
   */
  constructor(
    private readonly policies: NetworkPolicy[],
    private readonly namespaceLabels: (namespace: string) => Record<string, string>
  ) {}

  get size(): number {
    return this.policies.length;
  }

  evaluate(c: Connection): Verdict {
    const self = c.client.pod && c.server.pod && samePod(c.client.pod, c.server.pod);
    const egress =
      c.client.pod && !self && !c.client.pod.nodeAddresses.includes(c.server.ip)
        ? this.side('Egress', c.client.pod, c.server, c)
        : open();
    const ingress =
      c.server.pod && !self && !c.server.pod.nodeAddresses.includes(c.client.ip)
        ? this.side('Ingress', c.server.pod, c.client, c)
        : open();
    const deniedBy =
      !egress.allowed && !ingress.allowed ? 'both' : !egress.allowed ? 'egress' : !ingress.allowed ? 'ingress' : null;
    return { allowed: deniedBy === null, deniedBy, egress, ingress };
  }

  /** The verdict of the policies isolating `pod` for one direction; `peer` is the other end. */
  private side(type: 'Ingress' | 'Egress', pod: PodEnd, peer: PolicyEnd, c: Connection): SideVerdict {
    const isolating = this.policies.filter(
      (p) =>
        (p.metadata.namespace ?? 'default') === pod.namespace &&
        selectorMatches(p.spec.podSelector, pod.labels) &&
        policyTypesOf(p).includes(type)
    );
    if (isolating.length === 0) {
      return open();
    }
    const server = c.server.pod;
    const allowed = isolating.some((p) => {
      const ns = p.metadata.namespace ?? 'default';
      const rules =
        type === 'Ingress'
          ? (p.spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports }))
          : (p.spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
      return rules.some(
        (r) =>
          (r.peers === undefined || r.peers.length === 0 || r.peers.some((x) => this.peerMatches(x, ns, peer))) &&
          (r.ports === undefined || r.ports.length === 0 || r.ports.some((x) => portMatches(x, c, server)))
      );
    });
    return { isolated: true, allowed, policies: isolating.map(policyId).sort() };
  }

  private peerMatches(peer: NetworkPolicyPeer, policyNamespace: string, end: PolicyEnd): boolean {
    if (peer.ipBlock) {
      return (
        cidrContains(peer.ipBlock.cidr, end.ip) && !(peer.ipBlock.except ?? []).some((x) => cidrContains(x, end.ip))
      );
    }
    if (!peer.podSelector && !peer.namespaceSelector) {
      return false; // an empty peer is invalid; the API server refuses it
    }
    const pod = end.pod;
    if (!pod) {
      return false;
    }
    const nsOk = peer.namespaceSelector
      ? selectorMatches(peer.namespaceSelector, this.namespaceLabels(pod.namespace))
      : pod.namespace === policyNamespace;
    return nsOk && selectorMatches(peer.podSelector ?? ({} as LabelSelector), pod.labels);
  }
}

function open(): SideVerdict {
  return { isolated: false, allowed: true, policies: [] };
}

function samePod(a: PodEnd, b: PodEnd): boolean {
  return a.namespace === b.namespace && a.name === b.name;
}

function portMatches(p: NetworkPolicyPort, c: Connection, server: PodEnd | null): boolean {
  if ((p.protocol ?? 'TCP') !== c.protocol) {
    return false;
  }
  if (p.port === undefined) {
    return true;
  }
  if (typeof p.port === 'string') {
    if (/^\d+$/.test(p.port)) {
      return Number(p.port) === c.port;
    }
    // A named port means the server pod's container port of that name (and protocol).
    return server?.ports.some((n) => n.name === p.port && n.port === c.port && n.protocol === c.protocol) ?? false;
  }
  return p.endPort !== undefined ? c.port >= p.port && c.port <= p.endPort : c.port === p.port;
}
