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
  /** The pod's labels (network policies select pods by them; optional: providers that do not keep them leave it out). */
  labels?: Record<string, string>;
  /** The pod's named container ports (a policy's named port resolves against the server pod's). */
  ports?: NamedPort[];
}

/** A named container port of a pod (`spec.containers[].ports[]` with a name). */
export interface NamedPort {
  name: string;
  port: number;
  /** TCP (default), UDP or SCTP. */
  protocol: string;
}

export interface NamespaceInfo {
  name: string;
  /** The namespace's labels; `kubernetes.io/metadata.name` is implied when missing (the API server sets it). */
  labels: Record<string, string>;
}

/** A label selector (metav1.LabelSelector): matchLabels AND matchExpressions; an empty selector selects everything. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

export interface NetworkPolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

/** A networking.k8s.io/v1 NetworkPolicy, as the API server returns it (status and managed fields left out). */
export interface NetworkPolicy {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: Array<'Ingress' | 'Egress'>;
    ingress?: Array<{ from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>;
    egress?: Array<{ to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>;
  };
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
  /** Namespaces with their labels (optional: files written before network policies load unchanged). */
  namespaces?: NamespaceInfo[];
  /** The cluster's NetworkPolicies (optional). */
  networkPolicies?: NetworkPolicy[];
}

/** What network-policy drafts and checks read: every pod with its labels, the namespaces and the policies. */
export interface PolicyInventory {
  pods: PodInfo[];
  namespaces: NamespaceInfo[];
  networkPolicies: NetworkPolicy[];
}

/** A read-only view that enrichment code queries; providers keep it current. */
export interface MetadataView {
  podByIp(ip: string): PodInfo | undefined;
  nodeByName(name: string): NodeInfo | undefined;
  nodeByIp(ip: string): NodeInfo | undefined;
  serviceByIp(ip: string): ServiceInfo | undefined;
  /** The Service that owns this NodePort (optional: providers without NodePort knowledge leave it out). */
  serviceByNodePort?(port: number): ServiceInfo | undefined;
  /** Pods, namespaces and NetworkPolicies as known now (optional: providers without them leave it out). */
  policyInventory?(): PolicyInventory;
}

export interface MetadataProvider extends MetadataView {
  start(): Promise<void>;
  stop(): Promise<void>;
}
