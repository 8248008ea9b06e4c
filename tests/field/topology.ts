/**
 * Checks shared by the field tests (tests/field/*.test.ts) about what a node agent may report on the stand-in
 * cluster, where every node shares one kernel: only its own node's sockets.
 */
import type { KubeCluster } from '../lib/kube-node.js';
import type { NodeAgent } from '../lib/node-agent.js';

/** A flow of a report as the field tests read it (reports are not validated there: the hub's answers are). */
export interface ReportedFlow {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  direction: 'client' | 'server';
  bytesSent: number;
  bytesReceived: number;
  connectionsOpened: number;
  via?: { ip: string; port: number } | null;
}

/** Every flow an agent reported, over all its reports. */
export function flowsOf(agent: NodeAgent): ReportedFlow[] {
  return agent.reports.flatMap((r) => (r.flows as ReportedFlow[] | undefined) ?? []);
}

/** The flows `agent` reported whose local end is not on its node (its address, its pods, its gateway, loopback). */
export function foreignFlows(cluster: KubeCluster, agent: NodeAgent): ReportedFlow[] {
  const node = cluster.node(agent.node);
  const own = new Set([
    node.ip,
    node.gatewayIp,
    '127.0.0.1',
    ...cluster.pods.filter((p) => p.node === agent.node).map((p) => p.ip),
  ]);
  return flowsOf(agent).filter((f) => !own.has(f.localIp));
}
