/**
 * The real node agent (`flowlens-agent node --hub URL --stdout`, from source through tsx) on one node of a
 * tests/lib/kube-node.ts cluster: host network and cgroup of that node, its own pods in a static metadata
 * file (the node-scoped watch), NODE_NAME and FLOWLENS_ZONE as the DaemonSet sets them. The reports it
 * prints are kept (parsed, not validated: the test asserts on what the hub makes of them).
 */
import { type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { REPO_ROOT } from './hub-process.js';
import {
  signalNodeProcess,
  startNodeProcess,
  writeMetadataFile,
  type KubeCluster,
  type KubeNode,
} from './kube-node.js';
import { forwardIntoNamespace, type NamespaceForward } from './ns-forward.js';

const CLI = join(REPO_ROOT, 'agent/src/cli.ts');

export interface NodeAgent {
  node: string;
  reports: Array<Record<string, unknown>>;
  stderr(): string;
  /** SIGTERM (the agent flushes its last report), SIGKILL after the timeout; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export async function startNodeAgent(
  node: KubeNode,
  opts: { hubUrl: string; ingestToken: string; metadataFile: string; reportIntervalS: number; collectIntervalS: number }
): Promise<NodeAgent> {
  const child: ChildProcess = startNodeProcess(
    node,
    [
      process.execPath,
      '--import',
      'tsx',
      CLI,
      'node',
      '--stdout',
      '--hub',
      opts.hubUrl,
      '--report-interval',
      String(opts.reportIntervalS),
      '--collect-interval',
      String(opts.collectIntervalS),
    ],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        NODE_NAME: node.name,
        FLOWLENS_ZONE: node.zone,
        FLOWLENS_METADATA: 'file',
        FLOWLENS_METADATA_FILE: opts.metadataFile,
        FLOWLENS_HUB_INGEST_TOKEN: opts.ingestToken,
      },
    }
  );
  const reports: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      reports.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      stderr += `(stdout) ${line}\n`;
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = async (timeoutMs = 15_000): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) {
      signalNodeProcess(child, 'SIGTERM');
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  // Running = attached and still alive a moment later (a missing sink fails right after attaching).
  const attached = await new Promise<boolean>((resolve) => {
    const deadline = Date.now() + 40_000;
    let attachedAt = 0;
    const timer = setInterval(() => {
      if (attachedAt === 0 && /(sock_ops|state) program \d+ attached/.test(stderr)) {
        attachedAt = Date.now();
      }
      if (attachedAt > 0 && Date.now() - attachedAt > 1500) {
        clearInterval(timer);
        resolve(true);
      } else if (Date.now() > deadline) {
        clearInterval(timer);
        resolve(false);
      }
    }, 100);
    void exited.then(() => {
      clearInterval(timer);
      resolve(false);
    });
  });
  if (!attached) {
    await stop();
    throw new Error(`flowlens-agent node on ${node.name} did not start:\n${stderr}`);
  }
  return { node: node.name, reports, stderr: () => stderr, stop };
}

export interface ClusterAgents {
  agents: NodeAgent[];
  /** Stops every agent (each flushes its last report), then the hub forwarders; resolves with the agents' exit codes. */
  stop(): Promise<Array<number | null>>;
}

/**
 * One agent per node of `cluster`, each reporting to `hub` (on the root namespace's loopback) through a
 * forwarder at 127.0.0.1:7470 inside its node — the hub as the node sees it. Metadata files go to `workDir`.
 */
export async function startClusterAgents(
  cluster: KubeCluster,
  hub: { url: string; ingestToken: string },
  workDir: string,
  opts: { reportIntervalS: number; collectIntervalS: number }
): Promise<ClusterAgents> {
  const forwards: NamespaceForward[] = [];
  const agents: NodeAgent[] = [];
  let stopped: Promise<Array<number | null>> | undefined;
  const stop = (): Promise<Array<number | null>> =>
    (stopped ??= (async () => {
      const codes = await Promise.all(agents.map((a) => a.stop()));
      await Promise.all(forwards.map((f) => f.close()));
      return codes;
    })());
  try {
    await Promise.all(
      cluster.nodes.map(async (node) => {
        const fwd = await forwardIntoNamespace(node.ns, { listenHost: '127.0.0.1', listenPort: 7470, target: hub.url });
        forwards.push(fwd);
        const metadataFile = writeMetadataFile(
          join(workDir, `${node.name}-metadata.json`),
          cluster.nodeMetadata(node.name)
        );
        agents.push(
          await startNodeAgent(node, { hubUrl: fwd.url, ingestToken: hub.ingestToken, metadataFile, ...opts })
        );
      })
    );
  } catch (err) {
    await stop();
    throw err;
  }
  agents.sort((a, b) => a.node.localeCompare(b.node));
  return { agents, stop };
}
