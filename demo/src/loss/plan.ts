/**
 * Loss toggle, pure part: the command line, and the commands run inside a kind node container to
 * find a pod's network namespace and add or remove netem loss on the pod's eth0.
 */
import { parseArgs } from 'node:util';

export const LOSS_USAGE = `Usage:
  loss-toggle on  --pod NAME [--namespace demo] [--cluster flowlens] [--percent 3]
  loss-toggle off --pod NAME [--namespace demo] [--cluster flowlens]
      kind: netem loss on the pod's eth0 (what the pod sends), set from inside the node container
      that runs the pod, through the Docker API. NAME may be a prefix (catalog-zone-b).
  loss-toggle hold --netns NS --dev DEV [--percent 3]
      local network namespaces: tc-BPF loss at DEV's ingress (agent/bpf/lossy.bpf.o) until
      SIGTERM, SIGINT or end of input; prints "loss on" once active and "loss off" when removed.
`;

export class LossUsageError extends Error {}

export type LossRequest =
  | { action: 'on' | 'off'; pod: string; namespace: string; cluster: string; percent: number }
  | { action: 'hold'; netns: string; dev: string; percent: number };

export function parseLossArgs(argv: string[]): LossRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        pod: { type: 'string' },
        namespace: { type: 'string', default: 'demo' },
        cluster: { type: 'string', default: 'flowlens' },
        percent: { type: 'string', default: '3' },
        netns: { type: 'string' },
        dev: { type: 'string' },
      },
    });
  } catch (err) {
    throw new LossUsageError((err as Error).message);
  }
  const [action, ...extra] = parsed.positionals;
  if (extra.length > 0) {
    throw new LossUsageError(`unexpected argument '${extra[0]}'`);
  }
  const v = parsed.values;
  const percent = Number(v.percent);
  if (!Number.isFinite(percent) || percent <= 0 || percent > 100) {
    throw new LossUsageError(`--percent must be in (0, 100], got '${v.percent}'`);
  }
  const safe = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
  if (action === 'on' || action === 'off') {
    if (!v.pod) {
      throw new LossUsageError(`${action} needs --pod`);
    }
    for (const [name, value] of [
      ['--pod', v.pod],
      ['--namespace', v.namespace],
      ['--cluster', v.cluster],
    ] as const) {
      if (!safe.test(value ?? '')) {
        throw new LossUsageError(`${name} '${value}' is not a Kubernetes name`);
      }
    }
    return { action, pod: v.pod, namespace: v.namespace!, cluster: v.cluster!, percent };
  }
  if (action === 'hold') {
    if (!v.netns || !v.dev) {
      throw new LossUsageError('hold needs --netns and --dev');
    }
    return { action, netns: v.netns, dev: v.dev, percent };
  }
  throw new LossUsageError(action === undefined ? 'missing action (on, off or hold)' : `unknown action '${action}'`);
}

/** Label Docker puts on every container of a kind cluster. */
export const KIND_CLUSTER_LABEL = 'io.x-k8s.kind.cluster';

/** Ready pod sandboxes in the namespace whose name starts with the given name (crictl filters by regex). */
export function listPodsCommand(pod: string, namespace: string): string[] {
  return ['crictl', 'pods', '--namespace', namespace, '--name', `^${pod}`, '--state', 'ready', '-q'];
}

export function inspectPodCommand(podId: string): string[] {
  return ['crictl', 'inspectp', podId];
}

/** The network namespace path of a pod sandbox, from `crictl inspectp` JSON. */
export function netnsPathFromInspect(json: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error('crictl inspectp did not print JSON');
  }
  const namespaces = (
    parsed as { info?: { runtimeSpec?: { linux?: { namespaces?: Array<{ type?: string; path?: string }> } } } }
  ).info?.runtimeSpec?.linux?.namespaces;
  const net = namespaces?.find((n) => n.type === 'network');
  if (!net?.path) {
    throw new Error('crictl inspectp: the pod has no network namespace path (hostNetwork pod?)');
  }
  return net.path;
}

/** netem on the pod's eth0: `replace` makes "on" idempotent; "off" deletes the root qdisc. */
export function netemCommand(action: 'on' | 'off', netnsPath: string, percent: number): string[] {
  const tc = ['nsenter', `--net=${netnsPath}`, 'tc', 'qdisc'];
  return action === 'on'
    ? [...tc, 'replace', 'dev', 'eth0', 'root', 'netem', 'loss', `${percent}%`]
    : [...tc, 'del', 'dev', 'eth0', 'root'];
}

/** Deleting a qdisc that is not there is not an error for "off". */
export function isNothingToDelete(stderr: string): boolean {
  return /Cannot delete qdisc with handle of zero|No such file or directory|Invalid handle/i.test(stderr);
}
