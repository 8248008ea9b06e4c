/**
 * The compose cluster tool's plan (deploy/cluster-tool/plan.ts): a fresh `up` creates and loads
 * everything, a second `up` with nothing changed only re-applies (idempotent), a rebuilt image is
 * loaded and its pods restarted, stopped nodes are started, and `down` deletes the cluster.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { planDown, planUp, tokenSecret, type ClusterState, type Step } from '../../deploy/cluster-tool/plan.js';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';
import { validateK8sObject, type K8sObject } from '../lib/k8s-validate.js';

const paths = { deployDir: '/flowlens/deploy', demoDir: '/flowlens/demo', stateDir: '/state' };
const images = { 'flowlens/agent:dev': 'sha256:a1', 'flowlens/demo:dev': 'sha256:d1' };
const argv = (steps: Step[]): string[] =>
  steps.filter((s) => s.kind === 'run').map((s) => (s as { argv: string[] }).argv.join(' '));

test('fresh up: create, kubeconfig, load, secret, helm, demo, wait', () => {
  const state: ClusterState = { nodes: {}, images, loadedImages: {} };
  const cmds = argv(planUp('flowlens', state, paths));
  assert.match(cmds[0]!, /^kind create cluster --name flowlens --config \/flowlens\/deploy\/kind\/cluster.yaml/);
  assert.match(cmds[1]!, /^kind export kubeconfig --name flowlens --internal/);
  assert.equal(cmds[2], 'kind load docker-image --name flowlens flowlens/agent:dev flowlens/demo:dev');
  assert.ok(cmds.some((c) => c.startsWith('helm upgrade --install flowlens /flowlens/deploy/helm/flowlens')));
  const helm = cmds.find((c) => c.startsWith('helm'))!;
  assert.match(helm, /--values \/flowlens\/deploy\/compose\/helm-values.yaml/);
  assert.match(helm, /--set-file hub.ipRangesOverride=\/flowlens\/deploy\/compose\/ip-ranges.json/);
  assert.ok(cmds.some((c) => c.endsWith('apply -f /flowlens/demo/k8s/demo.yaml')));
  assert.ok(!cmds.some((c) => c.includes('rollout restart')), 'nothing to restart on a fresh cluster');
  const steps = planUp('flowlens', state, paths);
  assert.equal(steps.at(-1)!.kind, 'write-state');
  assert.equal(steps.filter((s) => s.kind === 'run' && s.stdinFrom === 'token-secret').length, 1);
});

test('second up with nothing changed: no create, no load, no restart', () => {
  const state: ClusterState = {
    nodes: { 'flowlens-control-plane': true, 'flowlens-worker': true, 'flowlens-worker2': true },
    images,
    loadedImages: { ...images },
  };
  const cmds = argv(planUp('flowlens', state, paths));
  assert.ok(
    !cmds.some((c) => c.startsWith('kind create') || c.startsWith('kind load') || c.includes('rollout restart'))
  );
  assert.ok(
    cmds.some((c) => c.startsWith('helm upgrade --install')),
    'helm upgrade is itself idempotent'
  );
});

test('a rebuilt demo image is loaded and only the demo restarted; stopped nodes are started', () => {
  const state: ClusterState = {
    nodes: { 'flowlens-control-plane': true, 'flowlens-worker': false, 'flowlens-worker2': true },
    images: { ...images, 'flowlens/demo:dev': 'sha256:d2' },
    loadedImages: { ...images },
  };
  const steps = planUp('flowlens', state, paths);
  assert.deepEqual(
    steps.filter((s) => s.kind === 'start-node').map((s) => (s as { node: string }).node),
    ['flowlens-worker']
  );
  const cmds = argv(steps);
  assert.ok(cmds.some((c) => c.startsWith('kind load docker-image')));
  assert.ok(cmds.some((c) => c.endsWith('-n demo rollout restart deployment')));
  assert.ok(!cmds.some((c) => c.includes('daemonset/flowlens-agent')));
});

test('down deletes the cluster', () => {
  assert.deepEqual(argv(planDown('flowlens')), ['kind delete cluster --name flowlens']);
});

test('the token Secret is the one the chart references, and valid', async () => {
  const secret = tokenSecret('ingest-abc', 'query-xyz') as K8sObject & { data: Record<string, string> };
  assert.deepEqual(await validateK8sObject(secret), []);
  assert.equal(secret.metadata?.name, 'flowlens-hub-tokens');
  assert.equal(Buffer.from(secret.data['ingest-token']!, 'base64').toString(), 'ingest-abc');
  assert.equal(Buffer.from(secret.data['query-token']!, 'base64').toString(), 'query-xyz');
});

test('every file the plan refers to exists in the repository (mounted at /flowlens)', () => {
  const state: ClusterState = { nodes: {}, images, loadedImages: {} };
  const files = argv(planUp('flowlens', state, paths))
    .join(' ')
    .split(/[ =]/)
    .filter((w) => w.startsWith('/flowlens/'));
  assert.ok(files.length >= 5);
  for (const f of files) {
    const inRepo = f
      .replace('/flowlens/deploy', join(REPO_ROOT, 'deploy'))
      .replace('/flowlens/demo', join(REPO_ROOT, 'demo'));
    assert.ok(existsSync(inRepo), `${f} → ${inRepo} missing`);
  }
});

test('`cluster-tool tokens` (the compose tokens service) writes the three secrets once and keeps them', async () => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const state = mkdtempSync(join(tmpdir(), 'flowlens-state-'));
  try {
    const run = () =>
      execFileSync(
        process.execPath,
        ['--import', 'tsx', join(REPO_ROOT, 'deploy/cluster-tool/cluster-tool.ts'), 'tokens'],
        {
          env: { ...process.env, FLOWLENS_STATE_DIR: state, DOCKER_HOST: 'unix:///nonexistent.sock' },
          encoding: 'utf8',
        }
      );
    assert.match(run(), /secrets ready/);
    const read = () =>
      ['hub-ingest-token', 'hub-query-token', 'grafana-admin-password'].map((n) =>
        readFileSync(join(state, n), 'utf8')
      );
    const first = read();
    for (const v of first) {
      assert.match(v, /^[0-9a-f]{64}$/);
    }
    assert.equal(new Set(first).size, 3);
    run();
    assert.deepEqual(read(), first, 'a second start keeps the tokens the hub and Grafana already use');
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('FLOWLENS_BPF_STATS=on reaches the chart as agent.bpfStats=true; off (the default) sets nothing', () => {
  const state: ClusterState = { nodes: {}, images, loadedImages: {} };
  const helm = (opts?: { bpfStats?: boolean }) =>
    argv(planUp('flowlens', state, paths, opts)).find((c) => c.startsWith('helm'))!;
  assert.doesNotMatch(helm(), /bpfStats/);
  assert.doesNotMatch(helm({ bpfStats: false }), /bpfStats/);
  assert.match(helm({ bpfStats: true }), / --set agent\.bpfStats=true /);
});
