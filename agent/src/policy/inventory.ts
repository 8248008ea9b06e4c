/**
 * Names → what policies select on: a flow end as stored (the names it had at the time) becomes a PolicyEnd with
 * the labels and named ports its pod has now (or, when that pod is gone, those its workload's pods share), and a
 * workload's selector is the labels all its pods share, less the labels that differ from one rollout, pod or Job
 * to the next.
 */
import type { NamedPort, NetworkPolicy, PodInfo, PolicyInventory } from '../contracts/metadata.js';
import type { PolicyEnd } from './evaluate.js';

/** The label the API server puts on every namespace (Kubernetes 1.21+): how a draft selects a namespace. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Labels that change per rollout, per pod or per Job run: never part of a workload's selector. */
const UNSTABLE_LABELS = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
  'job-name',
  'batch.kubernetes.io/job-name',
  'batch.kubernetes.io/job-completion-index',
]);

/** What a flow end carries (store Endpoint or API view). */
export interface NamedEnd {
  ip: string;
  pod: string | null;
  namespace: string | null;
  workload: string | null;
  kind?: string | null;
  node?: string | null;
}

const wkey = (ns: string, workload: string): string => `${ns}/${workload}`;

function common(pods: PodInfo[]): Record<string, string> {
  const [first, ...rest] = pods;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first?.labels ?? {})) {
    if (!UNSTABLE_LABELS.has(k) && rest.every((p) => p.labels?.[k] === v)) {
      out[k] = v;
    }
  }
  return out;
}

export class Inventory {
  private readonly byPod = new Map<string, PodInfo>();
  private readonly byWorkload = new Map<string, PodInfo[]>();
  private readonly nsLabels = new Map<string, Record<string, string>>();
  private readonly nodeAddresses: (node: string) => string[];

  constructor(
    readonly inventory: PolicyInventory,
    nodeAddresses: (node: string) => string[] = () => []
  ) {
    this.nodeAddresses = nodeAddresses;
    for (const p of inventory.pods) {
      this.byPod.set(`${p.namespace}/${p.name}`, p);
      const k = wkey(p.namespace, p.workload);
      const list = this.byWorkload.get(k) ?? [];
      if (!list.some((q) => q.name === p.name)) {
        list.push(p);
      }
      this.byWorkload.set(k, list);
    }
    for (const n of inventory.namespaces) {
      this.nsLabels.set(n.name, n.labels);
    }
  }

  get networkPolicies(): NetworkPolicy[] {
    return this.inventory.networkPolicies;
  }

  namespaceLabels = (ns: string): Record<string, string> => ({
    ...(this.nsLabels.get(ns) ?? {}),
    [NAMESPACE_NAME_LABEL]: ns,
  });

  /** Labels every current pod of the workload has (unstable ones left out); null when it has no pod now. */
  workloadLabels(ns: string, workload: string): Record<string, string> | null {
    const pods = this.byWorkload.get(wkey(ns, workload));
    return pods && pods.length > 0 ? common(pods) : null;
  }

  /**
   * The matchLabels that select the workload's pods: its shared labels, or null when it has no pod now or its
   * pods share no stable label (an empty selector would select the whole namespace).
   */
  workloadSelector(ns: string, workload: string): Record<string, string> | null {
    const labels = this.workloadLabels(ns, workload);
    return labels && Object.keys(labels).length > 0 ? labels : null;
  }

  /** Other workloads in `ns` whose pods the labels also select (a selector that cannot single a workload out). */
  alsoSelected(ns: string, workload: string, labels: Record<string, string>): string[] {
    const out = new Set<string>();
    for (const [k, pods] of this.byWorkload) {
      if (!k.startsWith(`${ns}/`) || k === wkey(ns, workload)) {
        continue;
      }
      if (pods.some((p) => Object.entries(labels).every(([l, v]) => p.labels?.[l] === v))) {
        out.add(k.slice(ns.length + 1));
      }
    }
    return [...out].sort();
  }

  /** True when the end is a pod (a name in a namespace), as opposed to an address: external, node or Service. */
  static isPod(e: NamedEnd): e is NamedEnd & { pod: string; namespace: string } {
    return e.pod !== null && e.namespace !== null && e.kind !== 'Node';
  }

  /** The end with what policies select on, as known now. */
  end(e: NamedEnd): PolicyEnd {
    if (!Inventory.isPod(e)) {
      return { ip: e.ip, pod: null };
    }
    const pod = this.byPod.get(`${e.namespace}/${e.pod}`);
    const siblings = e.workload === null ? [] : (this.byWorkload.get(wkey(e.namespace, e.workload)) ?? []);
    const labels = pod?.labels ?? (siblings.length > 0 ? common(siblings) : {});
    const ports: NamedPort[] = pod?.ports ?? siblings[0]?.ports ?? [];
    const node = pod?.node ?? e.node ?? null;
    return {
      ip: e.ip,
      pod: {
        namespace: e.namespace,
        name: e.pod,
        labels,
        ports,
        nodeAddresses: node === null ? [] : this.nodeAddresses(node),
      },
    };
  }
}
