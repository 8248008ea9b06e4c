/**
 * Draft NetworkPolicies from observed flows (issue 16), one per workload of a namespace:
 *  - ingress from each observed client workload (podSelector on its labels + namespaceSelector on
 *    kubernetes.io/metadata.name) and from each external client address (/32 or /128 ipBlock), on the ports the
 *    pods really served (a flow's server port is already the backend's, after Service translation);
 *  - egress to each observed in-cluster server workload, to AWS services as the ip-ranges prefixes seen, and to
 *    other addresses as ipBlocks; DNS (UDP and TCP 53 to kube-dns) always, marked assumed since the agent sees
 *    TCP only;
 *  - optionally a default-deny policy for the namespace.
 * One rule per peer with the union of its ports (no duplicate peers or ports); every rule's evidence (bytes,
 * flows, first and last seen) is in the object's annotations. Output order is fixed, so the same input gives
 * the same objects. Pure.
 */
import type { Category } from '../classify/category.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from '../contracts/metadata.js';
import { Inventory, NAMESPACE_NAME_LABEL, type NamedEnd } from './inventory.js';
import { hostCidr } from './selector.js';

/** The cluster DNS as kubeadm, kind, EKS and most distributions label it. */
export const DNS_NAMESPACE = 'kube-system';
export const DNS_LABELS: Record<string, string> = { 'k8s-app': 'kube-dns' };
export const DEFAULT_DENY_NAME = 'flowlens-default-deny';
export const ANNOTATION_PREFIX = 'flowlens.io/';

/** A flow as drafts read it: merged (one per client, server and port), with its evidence. */
export interface EvidenceFlow {
  client: NamedEnd;
  server: NamedEnd;
  serverPort: number;
  category: Category;
  bytes: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface DraftRule {
  direction: 'ingress' | 'egress';
  /** `workload:NS/NAME`, `ipBlock:CIDR` or `dns:kube-system/kube-dns`. */
  peer: string;
  /** `PROTOCOL/PORT`, as in the rule. */
  ports: string[];
  bytes: number;
  flows: number;
  firstSeenMs: number | null;
  lastSeenMs: number | null;
  assumed: boolean;
}

export interface DraftPolicy {
  name: string;
  workload: string | null;
  object: NetworkPolicy;
  rules: DraftRule[];
}

export interface DraftOptions {
  namespace: string;
  workload?: string;
  defaultDeny?: boolean;
  fromMs: number;
  toMs: number;
  /** The AWS ip-ranges prefix of an address (S3, DynamoDB), or null. */
  awsPrefix: (ip: string) => string | null;
}

interface PeerAcc {
  peer: string;
  object: NetworkPolicyPeer;
  ports: Set<string>;
  bytes: number;
  flows: number;
  first: number | null;
  last: number | null;
  assumed: boolean;
}

const AWS_CATEGORIES: ReadonlySet<Category> = new Set(['AMAZON_S3', 'AMAZON_DYNAMODB']);

const sortedLabels = (labels: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

function portKey(protocol: string, port: number): string {
  return `${protocol}/${port}`;
}

function portObjects(keys: Iterable<string>): NetworkPolicyPort[] {
  return [...keys]
    .map((k) => {
      const [protocol, port] = k.split('/') as [string, string];
      return { protocol, port: Number(port) };
    })
    .sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0))
    .map((p) => ({ protocol: p.protocol, port: p.port }));
}

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());

/** The evidence annotation of one rule (what traffic justified it). */
export function evidenceText(r: DraftRule): string {
  const seen =
    r.flows > 0
      ? `${r.bytes} bytes in ${r.flows} flow${r.flows === 1 ? '' : 's'}, first seen ${iso(r.firstSeenMs)}, last seen ${iso(r.lastSeenMs)}`
      : 'no traffic observed';
  return `${r.peer} ${r.ports.join(' ')}: ${r.assumed ? `assumed (the agent sees TCP only); ${seen}` : seen}`;
}

function workloadPeer(inv: Inventory, ns: string, workload: string): NetworkPolicyPeer | null {
  const sel = inv.workloadSelector(ns, workload);
  if (!sel) {
    return null;
  }
  return {
    podSelector: { matchLabels: sortedLabels(sel) },
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: ns } },
  };
}

const DNS_PEER_TEXT = `dns:${DNS_NAMESPACE}/kube-dns`;

function dnsAcc(): PeerAcc {
  return {
    peer: DNS_PEER_TEXT,
    object: {
      podSelector: { matchLabels: { ...DNS_LABELS } },
      namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: DNS_NAMESPACE } },
    },
    ports: new Set(['UDP/53', 'TCP/53']),
    bytes: 0,
    flows: 0,
    first: null,
    last: null,
    assumed: true,
  };
}

function add(acc: PeerAcc, f: EvidenceFlow, port: string): void {
  acc.ports.add(port);
  acc.bytes += f.bytes;
  acc.flows += 1;
  acc.first = acc.first === null ? f.firstSeenMs : Math.min(acc.first, f.firstSeenMs);
  acc.last = acc.last === null ? f.lastSeenMs : Math.max(acc.last, f.lastSeenMs);
}

function toRules(direction: 'ingress' | 'egress', accs: Iterable<PeerAcc>): DraftRule[] {
  return [...accs]
    .sort((a, b) => (a.assumed !== b.assumed ? (a.assumed ? -1 : 1) : a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0))
    .map((a) => ({
      direction,
      peer: a.peer,
      ports: portObjects(a.ports).map((p) => portKey(p.protocol!, p.port as number)),
      bytes: a.bytes,
      flows: a.flows,
      firstSeenMs: a.first,
      lastSeenMs: a.last,
      assumed: a.assumed,
    }));
}

/** Draft policies for the namespace (or one workload of it) from flows with at least one end in it. */
export function buildDrafts(flows: EvidenceFlow[], inv: Inventory, o: DraftOptions): DraftPolicy[] {
  const ns = o.namespace;
  const inNs = (e: NamedEnd): e is NamedEnd & { pod: string; namespace: string; workload: string } =>
    Inventory.isPod(e) && e.namespace === ns && e.workload !== null;
  const workloads = new Set<string>();
  for (const f of flows) {
    for (const e of [f.client, f.server]) {
      if (inNs(e) && (o.workload === undefined || e.workload === o.workload)) {
        workloads.add(e.workload);
      }
    }
  }
  const isDns = (e: NamedEnd, port: number): boolean => {
    if (port !== 53 || !Inventory.isPod(e) || e.namespace !== DNS_NAMESPACE) {
      return false;
    }
    const labels = inv.end(e).pod?.labels ?? {};
    return Object.entries(DNS_LABELS).every(([k, v]) => labels[k] === v);
  };

  const out: DraftPolicy[] = [];
  for (const workload of [...workloads].sort()) {
    const selector = inv.workloadSelector(ns, workload);
    if (!selector) {
      continue; // no pod of it now (or no stable label): nothing a policy could select
    }
    const ingress = new Map<string, PeerAcc>();
    const egress = new Map<string, PeerAcc>([[DNS_PEER_TEXT, dnsAcc()]]);
    const unresolved = new Set<string>();
    const peerFor = (e: NamedEnd, category: Category): { text: string; object: NetworkPolicyPeer } | null => {
      if (Inventory.isPod(e) && e.workload !== null) {
        const object = workloadPeer(inv, e.namespace, e.workload);
        if (!object) {
          unresolved.add(`workload:${e.namespace}/${e.workload}`);
          return null;
        }
        return { text: `workload:${e.namespace}/${e.workload}`, object };
      }
      const prefix = AWS_CATEGORIES.has(category) ? o.awsPrefix(e.ip) : null;
      const cidr = prefix ?? hostCidr(e.ip);
      return { text: `ipBlock:${cidr}`, object: { ipBlock: { cidr } } };
    };
    for (const f of flows) {
      const port = portKey('TCP', f.serverPort);
      if (inNs(f.server) && f.server.workload === workload) {
        const p = peerFor(f.client, f.category);
        if (p) {
          const acc = ingress.get(p.text) ?? { ...emptyAcc(p.text, p.object) };
          ingress.set(p.text, acc);
          add(acc, f, port);
        }
      }
      if (inNs(f.client) && f.client.workload === workload) {
        if (isDns(f.server, f.serverPort)) {
          add(egress.get(DNS_PEER_TEXT)!, f, port);
          continue;
        }
        const p = peerFor(f.server, f.category);
        if (p) {
          const acc = egress.get(p.text) ?? { ...emptyAcc(p.text, p.object) };
          egress.set(p.text, acc);
          add(acc, f, port);
        }
      }
    }
    const inRules = toRules('ingress', ingress.values());
    const outRules = toRules('egress', egress.values());
    const peerObject = (m: Map<string, PeerAcc>, r: DraftRule) => m.get(r.peer)!.object;
    const annotations: Record<string, string> = {
      [`${ANNOTATION_PREFIX}observed`]: `${iso(o.fromMs)}/${iso(o.toMs)}`,
    };
    inRules.forEach((r, i) => (annotations[`${ANNOTATION_PREFIX}ingress-${i}`] = evidenceText(r)));
    outRules.forEach((r, i) => (annotations[`${ANNOTATION_PREFIX}egress-${i}`] = evidenceText(r)));
    if (unresolved.size > 0) {
      annotations[`${ANNOTATION_PREFIX}unresolved`] =
        `no current pods to select, so no rule: ${[...unresolved].sort().join(', ')}`;
    }
    const overlap = inv.alsoSelected(ns, workload, selector);
    if (overlap.length > 0) {
      annotations[`${ANNOTATION_PREFIX}warning`] = `the selector also selects pods of ${overlap.join(', ')}`;
    }
    const name = `flowlens-${workload}`;
    out.push({
      name,
      workload,
      rules: [...inRules, ...outRules],
      object: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: {
          name,
          namespace: ns,
          labels: { 'app.kubernetes.io/managed-by': 'flowlens' },
          annotations,
        },
        spec: {
          podSelector: { matchLabels: sortedLabels(selector) },
          policyTypes: ['Ingress', 'Egress'],
          // no ingress rule: isolated for ingress, nothing allowed in (a workload that only sends)
          ...(inRules.length > 0
            ? { ingress: inRules.map((r) => ({ from: [peerObject(ingress, r)], ports: portObjects(r.ports) })) }
            : {}),
          egress: outRules.map((r) => ({ to: [peerObject(egress, r)], ports: portObjects(r.ports) })),
        },
      },
    });
  }
  if (o.defaultDeny) {
    out.unshift({
      name: DEFAULT_DENY_NAME,
      workload: null,
      rules: [],
      object: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: {
          name: DEFAULT_DENY_NAME,
          namespace: ns,
          labels: { 'app.kubernetes.io/managed-by': 'flowlens' },
          annotations: { [`${ANNOTATION_PREFIX}observed`]: `${iso(o.fromMs)}/${iso(o.toMs)}` },
        },
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      },
    });
  }
  return out;
}

function emptyAcc(peer: string, object: NetworkPolicyPeer): PeerAcc {
  return { peer, object, ports: new Set(), bytes: 0, flows: 0, first: null, last: null, assumed: false };
}
