/**
 * kind's cluster config (kind.x-k8s.io/v1alpha4 Cluster), as a strict zod schema of the fields kind
 * documents. kind ships no JSON schema; this subset covers every field Flowlens uses plus the
 * common ones, and refuses unknown keys just as kind's strict YAML decoding does.
 */
import { parse } from 'yaml';
import { z } from 'zod';

const mount = z
  .object({
    hostPath: z.string(),
    containerPath: z.string(),
    readOnly: z.boolean().optional(),
    selinuxRelabel: z.boolean().optional(),
    propagation: z.enum(['None', 'HostToContainer', 'Bidirectional']).optional(),
  })
  .strict();

const portMapping = z
  .object({
    containerPort: z.number().int(),
    hostPort: z.number().int().optional(),
    listenAddress: z.string().optional(),
    protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
  })
  .strict();

const node = z
  .object({
    role: z.enum(['control-plane', 'worker']),
    image: z.string().optional(),
    labels: z.record(z.string()).optional(),
    extraMounts: z.array(mount).optional(),
    extraPortMappings: z.array(portMapping).optional(),
    kubeadmConfigPatches: z.array(z.string()).optional(),
    kubeadmConfigPatchesJSON6902: z.array(z.record(z.unknown())).optional(),
  })
  .strict();

const cluster = z
  .object({
    kind: z.literal('Cluster'),
    apiVersion: z.literal('kind.x-k8s.io/v1alpha4'),
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
      .optional(),
    nodes: z.array(node).min(1),
    networking: z
      .object({
        ipFamily: z.enum(['ipv4', 'ipv6', 'dual']).optional(),
        apiServerAddress: z.string().optional(),
        apiServerPort: z.number().int().optional(),
        podSubnet: z.string().optional(),
        serviceSubnet: z.string().optional(),
        disableDefaultCNI: z.boolean().optional(),
        kubeProxyMode: z.enum(['iptables', 'ipvs', 'nftables', 'none']).optional(),
        dnsSearch: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    featureGates: z.record(z.boolean()).optional(),
    runtimeConfig: z.record(z.string()).optional(),
    kubeadmConfigPatches: z.array(z.string()).optional(),
    kubeadmConfigPatchesJSON6902: z.array(z.record(z.unknown())).optional(),
    containerdConfigPatches: z.array(z.string()).optional(),
  })
  .strict();

export type KindCluster = z.infer<typeof cluster>;
export type KindNode = z.infer<typeof node>;

export function parseKindConfig(text: string): KindCluster {
  const result = cluster.safeParse(parse(text));
  if (!result.success) {
    throw new Error(
      `invalid kind config: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message} ${JSON.stringify(i)}`).join('; ')}`
    );
  }
  return result.data;
}

/**
 * The container (and node) names kind gives: <cluster>-control-plane, then <cluster>-worker,
 * <cluster>-worker2, … in config order (kind numbers the second and later nodes of a role).
 */
export function kindNodeNames(config: KindCluster): Array<KindNode & { name: string }> {
  const cluster = config.name ?? 'kind';
  const seen = new Map<string, number>();
  return config.nodes.map((n) => {
    const count = (seen.get(n.role) ?? 0) + 1;
    seen.set(n.role, count);
    return { ...n, name: `${cluster}-${n.role}${count === 1 ? '' : String(count)}` };
  });
}
