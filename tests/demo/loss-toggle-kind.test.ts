/**
 * demo/loss-toggle against a kind cluster, through dockerode and the Docker Engine API stand-in
 * (tests/lib/fake-docker-engine.ts): it finds the one node whose containerd runs the pod, enters
 * that pod's network namespace there and sets or removes netem; wrong targets fail clearly.
 */
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { test } from 'node:test';
import { toggleKindPodLoss } from '../../demo/src/loss/kind-pod.js';
import { startFakeDocker, type ExecOutcome, type FakeContainer } from '../lib/fake-docker-engine.js';

const kindNode = (name: string, cluster = 'flowlens'): FakeContainer => ({
  id: `id-${name}`,
  name,
  labels: {
    'io.x-k8s.kind.cluster': cluster,
    'io.x-k8s.kind.role': name.includes('control') ? 'control-plane' : 'worker',
  },
  state: 'running',
});
const NODES = [
  kindNode('flowlens-control-plane'),
  kindNode('flowlens-worker'),
  kindNode('flowlens-worker2'),
  kindNode('other-worker', 'other'),
];
const NETNS = '/var/run/netns/cni-0b1c2d3e-aaaa-bbbb-cccc-ddddeeeeffff';

/** containerd on each node: catalog-zone-b runs on flowlens-worker2. */
function crictl(pods: Record<string, string[]>, tc: ExecOutcome = {}) {
  return (c: FakeContainer, cmd: string[]): ExecOutcome => {
    if (cmd[0] === 'crictl' && cmd[1] === 'pods') {
      const prefix = cmd[cmd.indexOf('--name') + 1]!.replace(/^\^/, '');
      return {
        stdout: (pods[c.name] ?? [])
          .filter((p) => p.startsWith(prefix))
          .map((p) => `sandbox-${p}\n`)
          .join(''),
      };
    }
    if (cmd[0] === 'crictl' && cmd[1] === 'inspectp') {
      return {
        stdout: JSON.stringify({
          status: { id: cmd[2], state: 'SANDBOX_READY' },
          info: { runtimeSpec: { linux: { namespaces: [{ type: 'pid' }, { type: 'network', path: NETNS }] } } },
        }),
      };
    }
    if (cmd[0] === 'nsenter') {
      return tc;
    }
    return { code: 127, stderr: `${cmd[0]}: not found` };
  };
}

test('on: netem in the pod’s netns on the node that runs it; off: removed; off twice: fine', async () => {
  const pods = { 'flowlens-worker': ['catalog-zone-a-5f7-abcde'], 'flowlens-worker2': ['catalog-zone-b-5f7-xyz12'] };
  let qdisc = false;
  const engine = await startFakeDocker(NODES, (c, cmd) => {
    if (cmd[0] === 'nsenter') {
      assert.equal(c.name, 'flowlens-worker2');
      if (cmd.includes('replace')) {
        qdisc = true;
        return {};
      }
      if (!qdisc) {
        return { code: 2, stderr: 'Error: Cannot delete qdisc with handle of zero.\n' };
      }
      qdisc = false;
      return {};
    }
    return crictl(pods)(c, cmd);
  });
  try {
    const docker = new Docker({ socketPath: engine.socketPath });
    const req = { cluster: 'flowlens', pod: 'catalog-zone-b', namespace: 'demo', percent: 3 };
    assert.equal(
      await toggleKindPodLoss('on', req, docker),
      'loss on: 3% of what pod catalog-zone-b* sends (node flowlens-worker2)'
    );
    assert.equal(qdisc, true);
    const netem = engine.execs.find((e) => e.cmd[0] === 'nsenter')!;
    assert.deepEqual(netem, {
      container: 'flowlens-worker2',
      cmd: ['nsenter', `--net=${NETNS}`, 'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'loss', '3%'],
    });
    // Only the cluster's own nodes were asked; the other cluster's node never.
    assert.ok(!engine.execs.some((e) => e.container === 'other-worker'));
    assert.equal(await toggleKindPodLoss('off', req, docker), 'loss off: pod catalog-zone-b* (node flowlens-worker2)');
    assert.equal(qdisc, false);
    assert.equal(await toggleKindPodLoss('off', req, docker), 'loss off: pod catalog-zone-b* (node flowlens-worker2)');
  } finally {
    await engine.close();
  }
});

test('no such pod, an ambiguous name, no cluster, and a tc failure are clear errors', async () => {
  const pods = { 'flowlens-worker': ['catalog-zone-a-1'], 'flowlens-worker2': ['catalog-zone-b-1'] };
  const engine = await startFakeDocker(
    NODES,
    crictl(pods, { code: 2, stderr: 'Error: Specified qdisc kind is unknown.\n' })
  );
  try {
    const docker = new Docker({ socketPath: engine.socketPath });
    const base = { cluster: 'flowlens', namespace: 'demo', percent: 3 };
    await assert.rejects(
      toggleKindPodLoss('on', { ...base, pod: 'cart' }, docker),
      /no ready pod 'cart\*' in namespace demo/
    );
    await assert.rejects(
      toggleKindPodLoss('on', { ...base, pod: 'catalog' }, docker),
      /'catalog' matches 2 pods \(on flowlens-worker, flowlens-worker2\)/
    );
    await assert.rejects(
      toggleKindPodLoss('on', { ...base, cluster: 'nope', pod: 'catalog-zone-b' }, docker),
      /no running kind cluster 'nope'/
    );
    await assert.rejects(
      toggleKindPodLoss('on', { ...base, pod: 'catalog-zone-b' }, docker),
      /qdisc kind is unknown.*sch_netem/
    );
  } finally {
    await engine.close();
  }
});
