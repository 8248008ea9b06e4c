/**
 * The nat table kube-proxy (iptables mode, Kubernetes 1.28 and later) writes on one node, as
 * `iptables-restore` input (pure). Chain names, jumps, comments, probabilities and masquerade marks
 * follow kube-proxy's own shape, so the node namespaces of tests/lib/kube-node.ts translate Service
 * traffic the way a kind or EKS node does:
 *
 *   PREROUTING, OUTPUT -> KUBE-SERVICES -> KUBE-SVC-<hash> (ClusterIP)
 *                                       -> KUBE-NODEPORTS (destination is a local address) -> KUBE-EXT-<hash>
 *   KUBE-SVC-<hash>: KUBE-MARK-MASQ for sources outside the cluster CIDR, then one KUBE-SEP-<hash> per endpoint
 *                    chosen with `-m statistic --mode random --probability 1/(n-i)` (the last one unconditional)
 *   KUBE-SEP-<hash>: KUBE-MARK-MASQ for hairpin traffic, DNAT --to-destination ip:port
 *   KUBE-EXT-<hash>: externalTrafficPolicy Cluster: KUBE-MARK-MASQ, then KUBE-SVC (so the backend sees the node)
 *                    externalTrafficPolicy Local: pod and node-local sources go to KUBE-SVC, the rest to
 *                    KUBE-SVL-<hash>, which holds only this node's endpoints, without SNAT
 *   POSTROUTING -> KUBE-POSTROUTING: MASQUERADE what KUBE-MARK-MASQ marked (0x4000)
 *
 * Hashes are kube-proxy's: the first 16 characters of base32(sha256(servicePortName + protocol [+ endpoint])).
 */
import { createHash } from 'node:crypto';

export interface ServiceEndpoint {
  ip: string;
  port: number;
  /** The node the endpoint's pod runs on (ETP Local keeps only this node's endpoints). */
  node: string;
}

export interface KubeService {
  namespace: string;
  name: string;
  /** The Service port's name ("http"); part of kube-proxy's chain hash and comments. */
  portName: string;
  clusterIp: string;
  port: number;
  nodePort?: number;
  externalTrafficPolicy?: 'Cluster' | 'Local';
  endpoints: ServiceEndpoint[];
}

export interface NodeRulesInput {
  node: string;
  /** The pod network (kube-proxy's --cluster-cidr): traffic from outside it is masqueraded. */
  clusterCidr: string;
  services: KubeService[];
}

const MASQ_MARK = '0x4000';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (Go's base32.StdEncoding) of `data`, without padding. */
export function base32(data: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) {
    out += BASE32[(value << (5 - bits)) & 31];
  }
  return out;
}

function hash16(text: string): string {
  return base32(createHash('sha256').update(text).digest()).slice(0, 16);
}

/** "namespace/name:port" — kube-proxy's ServicePortName. */
export function servicePortName(s: Pick<KubeService, 'namespace' | 'name' | 'portName'>): string {
  return `${s.namespace}/${s.name}:${s.portName}`;
}

export function serviceChain(s: KubeService, prefix: 'KUBE-SVC-' | 'KUBE-EXT-' | 'KUBE-SVL-' = 'KUBE-SVC-'): string {
  return prefix + hash16(`${servicePortName(s)}tcp`);
}

export function endpointChain(s: KubeService, e: ServiceEndpoint): string {
  return `KUBE-SEP-${hash16(`${servicePortName(s)}tcp${e.ip}:${e.port}`)}`;
}

/** kube-proxy prints probabilities with %0.10f. */
export function probability(index: number, count: number): string {
  return (1 / (count - index)).toFixed(10);
}

/** The endpoints chosen at random by `chain`, each with its own SEP chain. */
function balance(s: KubeService, chain: string, endpoints: ServiceEndpoint[], lines: string[]): void {
  const svc = servicePortName(s);
  endpoints.forEach((e, i) => {
    const pick =
      i < endpoints.length - 1 ? `-m statistic --mode random --probability ${probability(i, endpoints.length)} ` : '';
    lines.push(`-A ${chain} -m comment --comment "${svc} -> ${e.ip}:${e.port}" ${pick}-j ${endpointChain(s, e)}`);
  });
}

/** iptables-restore input for the nat table of `input.node`. */
export function kubeProxyNatRules(input: NodeRulesInput): string {
  const chains = new Set<string>(['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']);
  const rules: string[] = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    `-A KUBE-MARK-MASQ -j MARK --set-xmark ${MASQ_MARK}/${MASQ_MARK}`,
    `-A KUBE-POSTROUTING -m mark ! --mark ${MASQ_MARK}/${MASQ_MARK} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --set-xmark ${MASQ_MARK}/0x0`,
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  ];
  const services: string[] = [];
  for (const s of input.services) {
    if (s.endpoints.length === 0) {
      continue; // kube-proxy rejects these in the filter table; the tests never call one
    }
    const svc = servicePortName(s);
    const svcChain = serviceChain(s);
    chains.add(svcChain);
    services.push(
      `-A KUBE-SERVICES -d ${s.clusterIp}/32 -p tcp -m comment --comment "${svc} cluster IP" -m tcp --dport ${s.port} -j ${svcChain}`
    );
    rules.push(
      `-A ${svcChain} ! -s ${input.clusterCidr} -d ${s.clusterIp}/32 -p tcp -m comment --comment "${svc} cluster IP" -m tcp --dport ${s.port} -j KUBE-MARK-MASQ`
    );
    balance(s, svcChain, s.endpoints, rules);
    for (const e of s.endpoints) {
      const sep = endpointChain(s, e);
      chains.add(sep);
      rules.push(`-A ${sep} -s ${e.ip}/32 -m comment --comment "${svc}" -j KUBE-MARK-MASQ`);
      rules.push(`-A ${sep} -p tcp -m comment --comment "${svc}" -m tcp -j DNAT --to-destination ${e.ip}:${e.port}`);
    }
    if (s.nodePort === undefined) {
      continue;
    }
    const ext = serviceChain(s, 'KUBE-EXT-');
    chains.add(ext);
    rules.push(`-A KUBE-NODEPORTS -p tcp -m comment --comment "${svc}" -m tcp --dport ${s.nodePort} -j ${ext}`);
    if ((s.externalTrafficPolicy ?? 'Cluster') === 'Cluster') {
      rules.push(
        `-A ${ext} -m comment --comment "masquerade traffic for ${svc} external destinations" -j KUBE-MARK-MASQ`
      );
      rules.push(`-A ${ext} -j ${svcChain}`);
      continue;
    }
    const local = s.endpoints.filter((e) => e.node === input.node);
    const svl = serviceChain(s, 'KUBE-SVL-');
    rules.push(
      `-A ${ext} -s ${input.clusterCidr} -m comment --comment "pod traffic for ${svc} external destinations" -j ${svcChain}`
    );
    rules.push(
      `-A ${ext} -m comment --comment "masquerade LOCAL traffic for ${svc} external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`
    );
    rules.push(
      `-A ${ext} -m comment --comment "route LOCAL traffic for ${svc} external destinations" -m addrtype --src-type LOCAL -j ${svcChain}`
    );
    if (local.length === 0) {
      // kube-proxy drops these in the filter table (KUBE-EXTERNAL-SERVICES), which this model does not write.
      throw new Error(`${svc}: externalTrafficPolicy Local without an endpoint on ${input.node} is not modelled`);
    }
    chains.add(svl);
    rules.push(`-A ${ext} -j ${svl}`);
    balance(s, svl, local, rules);
  }
  services.push(
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS'
  );
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...[...chains].sort().map((c) => `:${c} - [0:0]`),
    ...rules.slice(0, 3),
    ...services,
    ...rules.slice(3),
    'COMMIT',
    '',
  ].join('\n');
}
