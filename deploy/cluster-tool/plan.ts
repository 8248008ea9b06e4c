/**
 * What `cluster-tool up` must do, decided from what exists (pure). Each step is one command of the
 * real tools (kind, kubectl, helm) or an action the tool performs itself; the driver runs them.
 */
export interface ToolPaths {
  deployDir: string;
  demoDir: string;
  stateDir: string;
}

export interface ClusterState {
  /** kind node containers of the cluster: name → running? */
  nodes: Record<string, boolean>;
  /** Image ids now in Docker, and the ids loaded into kind by the last run (from the state dir). */
  images: Record<string, string>;
  loadedImages: Record<string, string>;
}

export type Step =
  | { kind: 'run'; why: string; argv: string[]; stdinFrom?: 'token-secret' }
  | { kind: 'start-node'; why: string; node: string }
  | { kind: 'write-state'; why: string };

export const IMAGES = ['flowlens/agent:dev', 'flowlens/demo:dev'] as const;

export interface UpOptions {
  /** The chart's agent.bpfStats (compose: FLOWLENS_BPF_STATS=on): kernel bpf_stats on every node, off by default. */
  bpfStats?: boolean;
}

export function planUp(cluster: string, state: ClusterState, paths: ToolPaths, options: UpOptions = {}): Step[] {
  const steps: Step[] = [];
  const kubeconfig = `${paths.stateDir}/kubeconfig-internal`;
  const nodeNames = Object.keys(state.nodes);
  if (nodeNames.length === 0) {
    steps.push({
      kind: 'run',
      why: 'create the two-zone kind cluster',
      argv: [
        'kind',
        'create',
        'cluster',
        '--name',
        cluster,
        '--config',
        `${paths.deployDir}/kind/cluster.yaml`,
        '--wait',
        '180s',
      ],
    });
  } else {
    for (const node of nodeNames.filter((n) => !state.nodes[n])) {
      steps.push({ kind: 'start-node', why: 'the cluster exists but this node is stopped', node });
    }
  }
  // The tool runs on the kind nodes' Docker network (flowlens-kind): it reaches the API server by the control plane's name.
  steps.push({
    kind: 'run',
    why: 'kubeconfig for the kind network',
    argv: ['kind', 'export', 'kubeconfig', '--name', cluster, '--internal', '--kubeconfig', kubeconfig],
  });
  const changed = IMAGES.filter((img) => !state.images[img] || state.images[img] !== state.loadedImages[img]);
  const fresh = nodeNames.length === 0;
  if (fresh || changed.length > 0) {
    steps.push({
      kind: 'run',
      why: 'load the images built by compose into the kind nodes',
      argv: ['kind', 'load', 'docker-image', '--name', cluster, ...IMAGES],
    });
  }
  const kubectl = (...args: string[]): string[] => ['kubectl', '--kubeconfig', kubeconfig, ...args];
  steps.push({
    kind: 'run',
    why: 'namespace for Flowlens',
    argv: kubectl('apply', '-f', `${paths.deployDir}/kustomize/base/namespace.yaml`),
  });
  steps.push({
    kind: 'run',
    why: 'hub tokens as a Secret (from the state volume, never from a file in the repo)',
    argv: kubectl('apply', '-f', '-'),
    stdinFrom: 'token-secret',
  });
  steps.push({
    kind: 'run',
    why: 'install or upgrade the Flowlens chart',
    argv: [
      'helm',
      'upgrade',
      '--install',
      'flowlens',
      `${paths.deployDir}/helm/flowlens`,
      '--kubeconfig',
      kubeconfig,
      '--namespace',
      'flowlens',
      '--values',
      `${paths.deployDir}/compose/helm-values.yaml`,
      '--set-file',
      `hub.ipRangesOverride=${paths.deployDir}/compose/ip-ranges.json`,
      ...(options.bpfStats ? ['--set', 'agent.bpfStats=true'] : []),
      '--wait',
      '--timeout',
      '5m',
    ],
  });
  steps.push({ kind: 'run', why: 'the demo app', argv: kubectl('apply', '-f', `${paths.demoDir}/k8s/demo.yaml`) });
  if (!fresh && changed.length > 0) {
    // Same tag, new image: pods keep the old one until restarted (imagePullPolicy Never).
    if (changed.includes('flowlens/agent:dev')) {
      steps.push({
        kind: 'run',
        why: 'a rebuilt agent image',
        argv: kubectl('-n', 'flowlens', 'rollout', 'restart', 'daemonset/flowlens-agent', 'deployment/flowlens-hub'),
      });
    }
    if (changed.includes('flowlens/demo:dev')) {
      steps.push({
        kind: 'run',
        why: 'a rebuilt demo image',
        argv: kubectl('-n', 'demo', 'rollout', 'restart', 'deployment'),
      });
    }
  }
  steps.push({
    kind: 'run',
    why: 'wait for the demo app',
    argv: kubectl('-n', 'demo', 'wait', '--for=condition=Available', 'deployment', '--all', '--timeout=180s'),
  });
  steps.push({ kind: 'write-state', why: 'remember the loaded image ids' });
  return steps;
}

export function planDown(cluster: string): Step[] {
  return [{ kind: 'run', why: 'delete the kind cluster', argv: ['kind', 'delete', 'cluster', '--name', cluster] }];
}

/** The Secret the chart's tokens.existingSecret names (values are base64 of the token files). */
export function tokenSecret(ingestToken: string, queryToken: string): object {
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'flowlens-hub-tokens', namespace: 'flowlens' },
    type: 'Opaque',
    data: { 'ingest-token': b64(ingestToken), 'query-token': b64(queryToken) },
  };
}
