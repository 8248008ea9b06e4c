/**
 * Shared by the field tests (tests/field/*.test.ts): their prerequisites and hub, and the check of what a node agent
 * may report on the stand-in cluster, where every node shares one kernel: only its own node's sockets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { bpfArtifactPaths } from '../../agent/test/lib/agent-process.js';
import { requireBinary, requireKernel } from '../../agent/test/lib/privileges.js';
import { startHubProcess, type HubProcess } from '../lib/hub-process.js';
import { writeMetadataFile, type KubeCluster } from '../lib/kube-node.js';
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

/** Whether this machine can run a field test (root, BPF, the built objects, iptables-restore and conntrack); a
 * missing piece skips the test with its reason, or fails it under CI=true. */
export function fieldReady(t: TestContext): boolean {
  if (!requireKernel(t)) {
    return false;
  }
  return [...bpfArtifactPaths(), '/usr/sbin/iptables-restore', '/usr/sbin/conntrack'].every((path) =>
    requireBinary(t, path)
  );
}

/** A work directory and a hub whose metadata is the cluster's (the hub sees every node), both removed by `cleanups`. */
export async function startFieldHub(
  cluster: KubeCluster,
  cleanups: Array<() => Promise<unknown>>
): Promise<{ hub: HubProcess; work: string }> {
  const work = mkdtempSync(join(tmpdir(), 'flowlens-field-'));
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
  const hub = await startHubProcess({
    metadataFile: writeMetadataFile(join(work, 'hub-metadata.json'), cluster.hubMetadata()),
  });
  cleanups.push(() => hub.cleanup());
  return { hub, work };
}
