/**
 * Who owns an IP address. Filled by the Kubernetes watch (node-scoped in the agent, cluster-wide in the hub),
 * by the Docker provider, or by a static metadata file (`--metadata-file`, same shape as MetadataFile below).
 */
export interface PodInfo {
  ip: string;
  name: string;
  namespace: string;
  /** Owning workload after walking owner references (ReplicaSet → Deployment, Job → CronJob); the pod name if none. */
  workload: string;
  /** Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet, Pod, Container … */
  kind: string;
  node: string | null;
  hostNetwork?: boolean;
}

export interface NodeInfo {
  name: string;
  zone: string | null;
  /** Internal addresses of the node, so host-network traffic can be attributed to it. */
  addresses?: string[];
}

export interface ServiceInfo {
  ip: string;
  name: string;
  namespace: string;
  /** The Service's NodePorts: any node address with one of these ports reaches it (optional). */
  nodePorts?: number[];
}

/** The static form of what the Kubernetes watch provides (`flowlens-agent hub --metadata-file`). */
export interface MetadataFile {
  nodes: NodeInfo[];
  pods: PodInfo[];
  services: ServiceInfo[];
}

/** A read-only view that enrichment code queries; providers keep it current. */
export interface MetadataView {
  podByIp(ip: string): PodInfo | undefined;
  nodeByName(name: string): NodeInfo | undefined;
  nodeByIp(ip: string): NodeInfo | undefined;
  serviceByIp(ip: string): ServiceInfo | undefined;
  /** The Service that owns this NodePort (optional: providers without NodePort knowledge leave it out). */
  serviceByNodePort?(port: number): ServiceInfo | undefined;
}

export interface MetadataProvider extends MetadataView {
  start(): Promise<void>;
  stop(): Promise<void>;
}
