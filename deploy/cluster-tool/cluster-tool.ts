#!/usr/bin/env node
/**
 * The compose one-shot "cluster" service: `up` (create or reuse the kind cluster, load images,
 * install the chart and the demo app), `down` (delete the cluster), `status`, and `loss-toggle …`
 * (demo/loss-toggle, from inside this container). Docker is driven through dockerode; kind, kubectl
 * and helm are the real command-line tools baked into the image.
 */
import Docker from 'dockerode';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lossToggleMain } from '../../demo/src/loss-toggle.js';
import { KIND_CLUSTER_LABEL } from '../../demo/src/loss/plan.js';
import { parseBpfStatsEnv } from '../../agent/src/node/bpf-stats-env.js';
import { IMAGES, planDown, planUp, tokenSecret, type ClusterState, type Step, type ToolPaths } from './plan.js';

const USAGE = `Usage: cluster-tool tokens | up | down | status | loss-toggle <args>
Environment: FLOWLENS_CLUSTER_NAME (flowlens), FLOWLENS_STATE_DIR (/state),
FLOWLENS_DEPLOY_DIR (/flowlens/deploy), FLOWLENS_DEMO_DIR (/flowlens/demo).
`;

function log(message: string): void {
  process.stdout.write(`[cluster-tool] ${message}\n`);
}

function run(argv: string[], stdin?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'inherit', 'inherit'],
    });
    if (stdin !== undefined) {
      child.stdin!.end(stdin);
    }
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${argv.slice(0, 3).join(' ')} … exited ${code}`))
    );
  });
}

/** The secrets compose shares through the state volume: the hub's two tokens and Grafana's admin password. */
const STATE_SECRETS = ['hub-ingest-token', 'hub-query-token', 'grafana-admin-password'] as const;

/** Reads a token file, creating it with 32 random bytes (hex) the first time. */
function token(stateDir: string, name: string): string {
  const file = join(stateDir, name);
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o644 });
  }
  return readFileSync(file, 'utf8').trim();
}

async function clusterState(docker: Docker, cluster: string, stateDir: string): Promise<ClusterState> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${KIND_CLUSTER_LABEL}=${cluster}`] },
  });
  const nodes = Object.fromEntries(
    containers.map((c) => [(c.Names[0] ?? c.Id).replace(/^\//, ''), c.State === 'running'])
  );
  const images: Record<string, string> = {};
  for (const img of IMAGES) {
    images[img] = await docker
      .getImage(img)
      .inspect()
      .then((i) => i.Id)
      .catch(() => '');
  }
  const loadedFile = join(stateDir, 'loaded-images.json');
  const loadedImages = existsSync(loadedFile)
    ? (JSON.parse(readFileSync(loadedFile, 'utf8')) as Record<string, string>)
    : {};
  return { nodes, images, loadedImages };
}

async function execute(steps: Step[], docker: Docker, state: ClusterState | null, stateDir: string): Promise<void> {
  for (const step of steps) {
    log(step.why);
    if (step.kind === 'start-node') {
      await docker.getContainer(step.node).start();
    } else if (step.kind === 'write-state') {
      writeFileSync(join(stateDir, 'loaded-images.json'), JSON.stringify(state?.images ?? {}, null, 2));
    } else {
      const stdin =
        step.stdinFrom === 'token-secret'
          ? JSON.stringify(tokenSecret(token(stateDir, 'hub-ingest-token'), token(stateDir, 'hub-query-token')))
          : undefined;
      await run(step.argv, stdin);
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const cluster = process.env.FLOWLENS_CLUSTER_NAME || 'flowlens';
  const paths: ToolPaths = {
    stateDir: process.env.FLOWLENS_STATE_DIR || '/state',
    deployDir: process.env.FLOWLENS_DEPLOY_DIR || '/flowlens/deploy',
    demoDir: process.env.FLOWLENS_DEMO_DIR || '/flowlens/demo',
  };
  if (command === 'loss-toggle') {
    return lossToggleMain(rest);
  }
  if (command === 'tokens') {
    // Its own one-shot service, so Grafana gets its tokens even when creating the cluster fails.
    mkdirSync(paths.stateDir, { recursive: true });
    STATE_SECRETS.forEach((name) => token(paths.stateDir, name));
    log(`secrets ready in ${paths.stateDir}`);
    return 0;
  }
  const docker = new Docker();
  if (command === 'up') {
    mkdirSync(paths.stateDir, { recursive: true });
    STATE_SECRETS.forEach((name) => token(paths.stateDir, name));
    const state = await clusterState(docker, cluster, paths.stateDir);
    const bpfStats = parseBpfStatsEnv(process.env.FLOWLENS_BPF_STATS);
    await execute(planUp(cluster, state, paths, { bpfStats }), docker, state, paths.stateDir);
    log('ready: Grafana http://localhost:3000, Prometheus http://localhost:9090');
    return 0;
  }
  if (command === 'down') {
    await execute(planDown(cluster), docker, null, paths.stateDir);
    return 0;
  }
  if (command === 'status') {
    const state = await clusterState(docker, cluster, paths.stateDir);
    process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(USAGE);
  return command === undefined || command === '--help' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`cluster-tool: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
);
