/**
 * `--metadata-file`: the static form of what the Kubernetes watch provides (MetadataFile in
 * contracts/metadata.ts) — for a hub outside Kubernetes, a demo, or a test.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type {
  MetadataFile,
  MetadataProvider,
  NamespaceInfo,
  NetworkPolicy,
  NodeInfo,
  PodInfo,
  PolicyInventory,
  ServiceInfo,
} from '../contracts/metadata.js';
import { networkPolicySchema } from '../policy/schema.js';

const metadataFileSchema = z.object({
  nodes: z
    .array(
      z.object({
        name: z.string().min(1),
        zone: z.string().nullable().default(null),
        addresses: z.array(z.string().ip()).optional(),
      })
    )
    .default([]),
  pods: z
    .array(
      z.object({
        ip: z.string().ip(),
        name: z.string().min(1),
        namespace: z.string().min(1),
        workload: z.string().min(1),
        kind: z.string().min(1),
        node: z.string().nullable().default(null),
        hostNetwork: z.boolean().optional(),
        labels: z.record(z.string()).optional(),
        ports: z
          .array(
            z.object({
              name: z.string().min(1),
              port: z.number().int().min(1).max(65535),
              protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
            })
          )
          .optional(),
      })
    )
    .default([]),
  services: z
    .array(
      z.object({
        ip: z.string().ip(),
        name: z.string().min(1),
        namespace: z.string().min(1),
        nodePorts: z.array(z.number().int().min(1).max(65535)).optional(),
      })
    )
    .default([]),
  namespaces: z.array(z.object({ name: z.string().min(1), labels: z.record(z.string()).default({}) })).optional(),
  networkPolicies: z.array(networkPolicySchema).optional(),
});

/** An immutable index over one MetadataFile. */
export class StaticMetadata implements MetadataProvider {
  private readonly pods = new Map<string, PodInfo>();
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly nodeIps = new Map<string, NodeInfo>();
  private readonly services = new Map<string, ServiceInfo>();
  private readonly nodePorts = new Map<number, ServiceInfo>();
  private readonly inventory: PolicyInventory;

  constructor(file: MetadataFile) {
    this.inventory = {
      pods: file.pods.filter((p) => !p.hostNetwork),
      namespaces: file.namespaces ?? [],
      networkPolicies: file.networkPolicies ?? [],
    };
    for (const n of file.nodes) {
      this.nodes.set(n.name, n);
      for (const ip of n.addresses ?? []) {
        this.nodeIps.set(ip, n);
      }
    }
    // Host-network pods share the node's address: the node, not one of its pods, owns that IP.
    for (const p of file.pods) {
      if (!p.hostNetwork) {
        this.pods.set(p.ip, p);
      }
    }
    for (const s of file.services) {
      this.services.set(s.ip, s);
      for (const port of s.nodePorts ?? []) {
        this.nodePorts.set(port, s);
      }
    }
  }

  static parse(doc: unknown, source = 'metadata file'): StaticMetadata {
    const parsed = metadataFileSchema.safeParse(doc);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    return new StaticMetadata(
      parsed.data as MetadataFile & { namespaces?: NamespaceInfo[]; networkPolicies?: NetworkPolicy[] }
    );
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  podByIp(ip: string): PodInfo | undefined {
    return this.pods.get(ip);
  }
  nodeByName(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }
  nodeByIp(ip: string): NodeInfo | undefined {
    return this.nodeIps.get(ip);
  }
  serviceByIp(ip: string): ServiceInfo | undefined {
    return this.services.get(ip);
  }
  serviceByNodePort(port: number): ServiceInfo | undefined {
    return this.nodePorts.get(port);
  }
  policyInventory(): PolicyInventory {
    return this.inventory;
  }
}

export async function loadMetadataFile(path: string): Promise<MetadataProvider> {
  const text = await readFile(path, 'utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  return StaticMetadata.parse(doc, path);
}
