/**
 * A Kubernetes cluster's data path, reproduced in network namespaces on this machine (needs root):
 *
 *   - one namespace per node (its host network), joined to the others through a "vpc" namespace holding a
 *     bridge (the VPC subnet, with the default gateway); each node routes the other nodes' pod CIDRs to them,
 *     as kindnet or the AWS VPC CNI make pod IPs routable between nodes;
 *   - one namespace per pod behind a point-to-point veth (the pod's eth0; the node side holds the pod CIDR's
 *     gateway address, as the CNI ptp plugin does);
 *   - kube-proxy's iptables nat rules in each node namespace (tests/lib/kube-proxy-rules.ts): ClusterIP DNAT
 *     with random endpoint choice, NodePorts with externalTrafficPolicy Cluster (SNAT) or Local;
 *   - optionally, hosts outside the cluster on the VPC subnet (a laptop, a load balancer's health checker): a
 *     namespace on the VPC bridge, in no node's cgroup, unknown to the cluster's metadata;
 *   - one cgroup-v2 directory per node, which every process of that node (its pods and its host processes)
 *     joins, so a node agent attached to "its" cgroup root sees its node's sockets only — as in a kind node
 *     container, whose cgroup namespace root is the node's cgroup (startNodeProcess below).
 *
 * Nothing touches the root namespace's firewall, routes or sysctls. Addresses are random per cluster (the pod
 * CIDR 10.X.0.0/16, node i's pods in 10.X.(i+1).0/24, nodes on 172.S.Y.0/24, ClusterIPs in 10.96.Z.0/24).
 *
 *   const c = await createKubeCluster(spec);
 *   try { const srv = await startServer(c.pod('catalog-a').ns, '0.0.0.0', 8080); … } finally { await c.cleanup(); }
 */
import { type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execIn, ip, setNamespaceCgroup, spawnIn } from '../../agent/test/lib/netns.js';
import type { MetadataFile } from '../../agent/src/contracts/metadata.js';
import { kubeProxyNatRules, type KubeService } from './kube-proxy-rules.js';

export interface NodeSpec {
  name: string;
  zone: string;
}

export interface PodSpec {
  name: string;
  namespace: string;
  workload: string;
  kind?: string;
  node: string;
}

export interface ServiceSpec {
  namespace: string;
  name: string;
  /** The Service port (ClusterIP side) and the pods' port. */
  port: number;
  targetPort: number;
  portName?: string;
  nodePort?: number;
  externalTrafficPolicy?: 'Cluster' | 'Local';
  /** Names of the pods behind it (its ready endpoints). */
  backends: string[];
}

export interface ClusterSpec {
  nodes: NodeSpec[];
  pods: PodSpec[];
  services: ServiceSpec[];
  /** Hosts outside the cluster, on the VPC subnet. */
  externals?: Array<{ name: string }>;
}

/** A host outside the cluster on the VPC subnet: no agent, no metadata names it. */
export interface ExternalHost {
  name: string;
  ns: string;
  ip: string;
}

export interface KubeNode {
  name: string;
  zone: string;
  /** The node's network namespace (its host network). */
  ns: string;
  /** The node's address on the VPC subnet (its InternalIP). */
  ip: string;
  /** The gateway address of this node's pod CIDR (on every pod veth's node side). */
  gatewayIp: string;
  podCidr: string;
  /** The node's cgroup-v2 directory. */
  cgroup: string;
  /** The network namespaces of this node's pods. */
  podNamespaces: string[];
}

export interface KubePod extends PodSpec {
  kind: string;
  ns: string;
  ip: string;
  /** The pod veth's node-side interface (in the node namespace). */
  hostDev: string;
}

export interface KubeCluster {
  id: string;
  clusterCidr: string;
  nodes: KubeNode[];
  pods: KubePod[];
  services: KubeService[];
  externals: ExternalHost[];
  node(name: string): KubeNode;
  pod(name: string): KubePod;
  service(name: string): KubeService;
  external(name: string): ExternalHost;
  /** What the hub's metadata file holds: nodes with zones and addresses, every pod, Services with NodePorts. */
  hubMetadata(): MetadataFile;
  /** What one node agent knows: its own node's pods (the node-scoped watch). */
  nodeMetadata(node: string): MetadataFile;
  /** The nat table kube-proxy wrote on `node`, as iptables-save prints it. */
  natRules(node: string): Promise<string>;
  /** Each node namespace's conntrack table (`conntrack -L`), for diagnostics. */
  conntrack(node: string): Promise<string>;
  cleanup(): Promise<void>;
}

const CGROUP2_ROOT = '/sys/fs/cgroup/unified';

function cgroup2Root(): string {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, mountPoint, fsType] = line.split(' ');
    if (fsType === 'cgroup2' && mountPoint) {
      return mountPoint;
    }
  }
  return CGROUP2_ROOT;
}

function octet(b: number, lo: number, span: number, avoid: number[] = []): number {
  let v = lo + (b % span);
  while (avoid.includes(v)) {
    v = lo + ((v - lo + 1) % span);
  }
  return v;
}

export async function createKubeCluster(spec: ClusterSpec, opts: { offloadsOff?: boolean } = {}): Promise<KubeCluster> {
  const id = randomBytes(3).toString('hex');
  const r = randomBytes(4);
  const x = octet(r[0]!, 64, 128, [96]);
  const s = octet(r[1]!, 16, 16);
  const y = r[2]!;
  const z = r[3]!;
  const clusterCidr = `10.${x}.0.0/16`;
  const vpc = `fl-${id}-vpc`;
  const routerIp = `172.${s}.${y}.1`;
  const createdNs: string[] = [];
  const cgroupDir = join(cgroup2Root(), `flowlens-test-${id}`);
  const nodes: KubeNode[] = [];
  const pods: KubePod[] = [];
  const services: KubeService[] = [];
  const externals: ExternalHost[] = [];

  const find = <T extends { name: string }>(list: T[], what: string, name: string): T => {
    const found = list.find((v) => v.name === name);
    if (!found) {
      throw new Error(`no ${what} '${name}' in this cluster`);
    }
    return found;
  };

  const cleanup = async (): Promise<void> => {
    for (const ns of createdNs.splice(0).reverse()) {
      setNamespaceCgroup(ns, null);
      await ip(['netns', 'del', ns]).catch(() => undefined);
    }
    for (const dir of [...nodes.map((n) => n.cgroup), cgroupDir]) {
      // A cgroup goes once its last process has exited; the caller stops them first, so retry briefly.
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          rmdirSync(dir);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
            break;
          }
          await new Promise((res) => setTimeout(res, 100));
        }
      }
    }
  };

  const addNs = async (name: string): Promise<void> => {
    await ip(['netns', 'add', name]);
    createdNs.push(name);
    await execIn(name, ['ip', 'link', 'set', 'lo', 'up']);
  };
  const offloads = async (ns: string, dev: string): Promise<void> => {
    if (opts.offloadsOff) {
      await execIn(ns, ['ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    }
  };

  try {
    mkdirSync(cgroupDir);
    // The VPC: a bridge with the subnet's router (default gateway of every node).
    await addNs(vpc);
    await execIn(vpc, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    await execIn(vpc, ['ip', 'addr', 'add', `${routerIp}/24`, 'dev', 'br0']);
    await execIn(vpc, ['ip', 'link', 'set', 'br0', 'up']);

    for (const [i, n] of spec.nodes.entries()) {
      const ns = `fl-${id}-${n.name}`;
      await addNs(ns);
      const fabricDev = `fl${id}n${i}`;
      await ip(['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', fabricDev, 'netns', vpc]);
      await execIn(vpc, ['ip', 'link', 'set', fabricDev, 'master', 'br0', 'up']);
      const nodeIp = `172.${s}.${y}.${11 + i}`;
      await execIn(ns, ['ip', 'addr', 'add', `${nodeIp}/24`, 'dev', 'eth0']);
      await execIn(ns, ['ip', 'link', 'set', 'eth0', 'up']);
      await offloads(ns, 'eth0');
      await execIn(ns, ['ip', 'route', 'add', 'default', 'via', routerIp]);
      // A node forwards for its pods; reverse-path filtering off as on kind and EKS nodes (asymmetric NodePort paths).
      await execIn(ns, [
        'sysctl',
        '-qw',
        'net.ipv4.ip_forward=1',
        'net.ipv4.conf.all.rp_filter=0',
        'net.ipv4.conf.default.rp_filter=0',
      ]);
      const cgroup = join(cgroupDir, n.name);
      mkdirSync(cgroup);
      setNamespaceCgroup(ns, cgroup);
      nodes.push({
        name: n.name,
        zone: n.zone,
        ns,
        ip: nodeIp,
        gatewayIp: `10.${x}.${i + 1}.1`,
        podCidr: `10.${x}.${i + 1}.0/24`,
        cgroup,
        podNamespaces: [],
      });
    }
    for (const [i, e] of (spec.externals ?? []).entries()) {
      const ns = `fl-${id}-x-${e.name}`;
      await addNs(ns);
      const fabricDev = `fl${id}x${i}`;
      await ip(['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', fabricDev, 'netns', vpc]);
      await execIn(vpc, ['ip', 'link', 'set', fabricDev, 'master', 'br0', 'up']);
      const hostIp = `172.${s}.${y}.${200 + i}`;
      await execIn(ns, ['ip', 'addr', 'add', `${hostIp}/24`, 'dev', 'eth0']);
      await execIn(ns, ['ip', 'link', 'set', 'eth0', 'up']);
      await offloads(ns, 'eth0');
      await execIn(ns, ['ip', 'route', 'add', 'default', 'via', routerIp]);
      externals.push({ name: e.name, ns, ip: hostIp });
    }
    // Pod CIDRs of the other nodes route through them (kindnet's routes, the VPC CNI's secondary IPs).
    for (const n of nodes) {
      for (const other of nodes.filter((o) => o !== n)) {
        await execIn(n.ns, ['ip', 'route', 'add', other.podCidr, 'via', other.ip]);
      }
    }

    const perNode = new Map<string, number>();
    for (const [k, p] of spec.pods.entries()) {
      const node = find(nodes, 'node', p.node);
      const index = perNode.get(node.name) ?? 0;
      perNode.set(node.name, index + 1);
      const podIp = node.gatewayIp.replace(/\.1$/, `.${2 + index}`);
      const ns = `fl-${id}-${p.name}`;
      await addNs(ns);
      const hostDev = `fl${id}p${k}`;
      await ip(['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', hostDev, 'netns', node.ns]);
      await execIn(ns, ['ip', 'addr', 'add', `${podIp}/32`, 'dev', 'eth0']);
      await execIn(ns, ['ip', 'link', 'set', 'eth0', 'up']);
      await execIn(ns, ['ip', 'route', 'add', node.gatewayIp, 'dev', 'eth0', 'scope', 'link']);
      await execIn(ns, ['ip', 'route', 'add', 'default', 'via', node.gatewayIp, 'dev', 'eth0']);
      await execIn(node.ns, ['ip', 'addr', 'add', `${node.gatewayIp}/32`, 'dev', hostDev]);
      await execIn(node.ns, ['ip', 'link', 'set', hostDev, 'up']);
      await execIn(node.ns, ['ip', 'route', 'add', `${podIp}/32`, 'dev', hostDev, 'scope', 'link']);
      await offloads(ns, 'eth0');
      await offloads(node.ns, hostDev);
      setNamespaceCgroup(ns, node.cgroup);
      node.podNamespaces.push(ns);
      pods.push({ ...p, kind: p.kind ?? 'Deployment', ns, ip: podIp, hostDev });
    }

    for (const [k, svc] of spec.services.entries()) {
      services.push({
        namespace: svc.namespace,
        name: svc.name,
        portName: svc.portName ?? 'http',
        clusterIp: `10.96.${z}.${10 + k}`,
        port: svc.port,
        nodePort: svc.nodePort,
        externalTrafficPolicy: svc.externalTrafficPolicy,
        endpoints: svc.backends.map((name) => {
          const pod = find(pods, 'pod', name);
          return { ip: pod.ip, port: svc.targetPort, node: pod.node };
        }),
      });
    }
    for (const n of nodes) {
      const rules = kubeProxyNatRules({ node: n.name, clusterCidr, services });
      await execIn(n.ns, ['sh', '-c', 'printf "%s" "$0" | iptables-restore --noflush', rules]);
    }
  } catch (err) {
    await cleanup();
    throw err;
  }

  const metadata = (podsOf: (p: KubePod) => boolean): MetadataFile => ({
    nodes: nodes.map((n) => ({ name: n.name, zone: n.zone, addresses: [n.ip, n.gatewayIp] })),
    pods: pods.filter(podsOf).map((p) => ({
      ip: p.ip,
      name: p.name,
      namespace: p.namespace,
      workload: p.workload,
      kind: p.kind,
      node: p.node,
    })),
    services: services.map((svc) => ({
      ip: svc.clusterIp,
      name: svc.name,
      namespace: svc.namespace,
      ...(svc.nodePort === undefined ? {} : { nodePorts: [svc.nodePort] }),
    })),
  });

  return {
    id,
    clusterCidr,
    nodes,
    pods,
    services,
    externals,
    node: (name) => find(nodes, 'node', name),
    pod: (name) => find(pods, 'pod', name),
    service: (name) => find(services, 'service', name),
    external: (name) => find(externals, 'external host', name),
    hubMetadata: () => metadata(() => true),
    nodeMetadata: (node) => metadata((p) => p.node === node),
    natRules: (node) => execIn(find(nodes, 'node', node).ns, ['iptables-save', '-t', 'nat']),
    conntrack: (node) => execIn(find(nodes, 'node', node).ns, ['conntrack', '-L', '-p', 'tcp']).catch((e) => String(e)),
    cleanup,
  };
}

/** Writes `metadata` as JSON to `path` and returns the path. */
export function writeMetadataFile(path: string, metadata: MetadataFile): string {
  writeFileSync(path, `${JSON.stringify(metadata, null, 2)}\n`);
  return path;
}

/**
 * Starts a host process on `node` (its host network and cgroup) the way a privileged hostNetwork, hostPID
 * pod of a kind node sees the machine: a cgroup namespace rooted at the node's cgroup with cgroup2 mounted
 * at /sys/fs/cgroup, so a node agent attaches its sock_ops program to its node only; and of all network
 * namespaces only the node's own and its pods' (its own PID namespace and /proc, and a /run/netns holding
 * just this node's pods). The other "nodes" share this kernel but are other machines, which a node never sees.
 *
 * `unshare --fork` runs the program as its child; use `signalNodeProcess` to signal the program itself.
 */
export function startNodeProcess(node: KubeNode, argv: string[], opts: SpawnOptions = {}): ChildProcess {
  // In the process's own mount namespace: a tmpfs with bind mounts of this node's pod namespaces replaces
  // /run/netns (a mount can only be moved under a private parent, which unshare makes).
  const script = [
    'set -e',
    'mount -t cgroup2 cgroup2 /sys/fs/cgroup',
    'stage=$(mktemp -d)',
    'mount -t tmpfs tmpfs "$stage"',
    'for ns in $1; do touch "$stage/$ns"; mount --bind "/run/netns/$ns" "$stage/$ns"; done',
    'mount --move "$stage" /run/netns',
    'rmdir "$stage"',
    'shift',
    'exec "$@"',
  ].join('\n');
  return spawnIn(
    node.ns,
    [
      'unshare',
      '--cgroup',
      '--pid',
      '--mount-proc',
      '--kill-child',
      'sh',
      '-c',
      script,
      'sh',
      node.podNamespaces.join(' '),
      ...argv,
    ],
    opts
  );
}

/** Sends `signal` to the program startNodeProcess started (the forked child of `unshare`). */
export function signalNodeProcess(child: ChildProcess, signal: NodeJS.Signals): void {
  let target = child.pid;
  try {
    const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/);
    if (kids[0]) {
      target = Number(kids[0]);
    }
  } catch {
    /* already gone: signal the unshare process itself */
  }
  if (target !== undefined) {
    try {
      process.kill(target, signal);
    } catch {
      /* exited meanwhile */
    }
  }
}
