/**
 * Loss toggle for a pod of the kind cluster: finds the node container running the pod (Docker API,
 * dockerode), the pod's network namespace (crictl inside that node) and sets netem on its eth0.
 */
import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import {
  inspectPodCommand,
  isNothingToDelete,
  KIND_CLUSTER_LABEL,
  listPodsCommand,
  netemCommand,
  netnsPathFromInspect,
} from './plan.js';

interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function execIn(container: Docker.Container, cmd: string[], timeoutMs = 30_000): Promise<ExecResult> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  container.modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error(`${cmd.join(' ')}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  const info = await exec.inspect();
  return { code: info.ExitCode ?? -1, stdout, stderr };
}

export interface KindPodTarget {
  node: string;
  podId: string;
  netnsPath: string;
}

export async function findPod(docker: Docker, cluster: string, pod: string, namespace: string): Promise<KindPodTarget> {
  const nodes = await docker
    .listContainers({ filters: { label: [`${KIND_CLUSTER_LABEL}=${cluster}`] } })
    .catch((err: unknown) => {
      throw new Error(`cannot reach the Docker engine (${err instanceof Error ? err.message : String(err)})`);
    });
  if (nodes.length === 0) {
    throw new Error(`no running kind cluster '${cluster}' (no container labelled ${KIND_CLUSTER_LABEL}=${cluster})`);
  }
  const found: Array<{ node: string; podId: string; container: Docker.Container }> = [];
  for (const n of nodes) {
    const container = docker.getContainer(n.Id);
    const res = await execIn(container, listPodsCommand(pod, namespace));
    if (res.code !== 0) {
      throw new Error(`crictl pods on ${n.Names[0]}: ${res.stderr.trim()}`);
    }
    for (const id of res.stdout.split('\n').filter((l) => l.trim() !== '')) {
      found.push({ node: (n.Names[0] ?? n.Id).replace(/^\//, ''), podId: id.trim(), container });
    }
  }
  if (found.length !== 1) {
    throw new Error(
      found.length === 0
        ? `no ready pod '${pod}*' in namespace ${namespace}`
        : `'${pod}' matches ${found.length} pods (on ${found.map((f) => f.node).join(', ')}): name one`
    );
  }
  const target = found[0]!;
  const inspect = await execIn(target.container, inspectPodCommand(target.podId));
  if (inspect.code !== 0) {
    throw new Error(`crictl inspectp: ${inspect.stderr.trim()}`);
  }
  return { node: target.node, podId: target.podId, netnsPath: netnsPathFromInspect(inspect.stdout) };
}

export async function toggleKindPodLoss(
  action: 'on' | 'off',
  req: { cluster: string; pod: string; namespace: string; percent: number },
  docker: Docker = new Docker()
): Promise<string> {
  const target = await findPod(docker, req.cluster, req.pod, req.namespace);
  const res = await execIn(docker.getContainer(target.node), netemCommand(action, target.netnsPath, req.percent));
  if (res.code !== 0 && !(action === 'off' && isNothingToDelete(res.stderr))) {
    throw new Error(`tc on ${target.node}: ${res.stderr.trim()} (is sch_netem available in the Docker host's kernel?)`);
  }
  return action === 'on'
    ? `loss on: ${req.percent}% of what pod ${req.pod}* sends (node ${target.node})`
    : `loss off: pod ${req.pod}* (node ${target.node})`;
}
