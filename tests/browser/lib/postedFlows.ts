/**
 * Ground truth from the reports a test posted, computed without the hub: each flow's bytes per cluster (the merge
 * rule of docs/hub.md: per direction the larger of the two ends' views, both directions added), the pods each
 * cluster's agents described, and the service map those flows draw per workload or per pod (node ids as the hub API
 * documents them: `NAMESPACE/WORKLOAD`, `NAMESPACE/POD` or the address, prefixed `CLUSTER/` in any cluster but
 * `default`).
 *
 * Only what the browser tests post is handled: flows without `via` (a Service view would need the hub's Service
 * metadata) and one pod per address.
 */
import type { ReportV1 } from '../../../agent/src/contracts/report.js';

export interface PostedFlow {
  cluster: string;
  clientIp: string;
  serverIp: string;
  serverPort: number;
  bytes: number;
}

export interface PostedPod {
  namespace: string;
  workload: string;
  pod: string;
}

/** The service map's view: a node per workload, or per pod. */
export type MapLevel = 'workload' | 'pod';

export interface PostedEdge {
  source: string;
  target: string;
  bytes: number;
}

const DEFAULT_CLUSTER = 'default';

export const clusterOf = (report: ReportV1, hubCluster: string): string => report.cluster ?? hubCluster;

export const flowKey = (f: Pick<PostedFlow, 'cluster' | 'clientIp' | 'serverIp' | 'serverPort'>): string =>
  `${f.cluster} ${f.clientIp} → ${f.serverIp}:${f.serverPort}`;

/** Every flow the reports hold, per cluster, with its merged bytes; sorted by key. */
export function postedFlows(reports: ReportV1[], hubCluster: string): PostedFlow[] {
  const ends = new Map<
    string,
    { flow: Omit<PostedFlow, 'bytes'>; client: [number, number]; server: [number, number] }
  >();
  for (const report of reports) {
    const cluster = clusterOf(report, hubCluster);
    for (const f of report.flows) {
      if (f.via) {
        throw new Error(`postedFlows: a flow with via (${f.localIp} → ${f.remoteIp}) needs the hub's Service names`);
      }
      const client = f.direction === 'client';
      const flow = {
        cluster,
        clientIp: client ? f.localIp : f.remoteIp,
        serverIp: client ? f.remoteIp : f.localIp,
        serverPort: client ? f.remotePort : f.localPort,
      };
      const key = flowKey(flow);
      const e = ends.get(key) ?? { flow, client: [0, 0], server: [0, 0] };
      // [client → server, server → client] as this end saw them.
      const view = client ? e.client : e.server;
      view[0] += client ? f.bytesSent : f.bytesReceived;
      view[1] += client ? f.bytesReceived : f.bytesSent;
      ends.set(key, e);
    }
  }
  return [...ends.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, e]) => ({
      ...e.flow,
      bytes: Math.max(e.client[0], e.server[0]) + Math.max(e.client[1], e.server[1]),
    }));
}

/** The pods each cluster's agents described (the reports' `local` objects), by cluster and address. */
export function postedPods(reports: ReportV1[], hubCluster: string): Map<string, Map<string, PostedPod>> {
  const out = new Map<string, Map<string, PostedPod>>();
  for (const report of reports) {
    const cluster = clusterOf(report, hubCluster);
    const pods = out.get(cluster) ?? new Map<string, PostedPod>();
    out.set(cluster, pods);
    for (const f of report.flows) {
      if (f.local?.namespace && f.local.workload && f.local.pod) {
        pods.set(f.localIp, { namespace: f.local.namespace, workload: f.local.workload, pod: f.local.pod });
      }
    }
  }
  return out;
}

/** The namespaces of a cluster's described pods, sorted. */
export function postedNamespaces(pods: Map<string, Map<string, PostedPod>>, cluster: string): string[] {
  return [...new Set([...(pods.get(cluster)?.values() ?? [])].map((p) => p.namespace))].sort();
}

/** A service-map node id, as the hub API names it. */
export function mapNodeId(
  cluster: string,
  pods: Map<string, Map<string, PostedPod>>,
  ip: string,
  level: MapLevel = 'workload'
): string {
  const pod = pods.get(cluster)?.get(ip);
  const key = pod ? `${pod.namespace}/${level === 'pod' ? pod.pod : pod.workload}` : ip;
  return cluster === DEFAULT_CLUSTER ? key : `${cluster}/${key}`;
}

/** The service map's edges the flows draw (client → server), bytes summed per pair; sorted. */
export function postedEdges(
  flows: PostedFlow[],
  pods: Map<string, Map<string, PostedPod>>,
  level: MapLevel = 'workload'
): PostedEdge[] {
  const edges = new Map<string, PostedEdge>();
  for (const f of flows) {
    const source = mapNodeId(f.cluster, pods, f.clientIp, level);
    const target = mapNodeId(f.cluster, pods, f.serverIp, level);
    const key = `${source} → ${target}`;
    const e = edges.get(key) ?? { source, target, bytes: 0 };
    e.bytes += f.bytes;
    edges.set(key, e);
  }
  return [...edges.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, e]) => e);
}
