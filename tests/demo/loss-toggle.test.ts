/**
 * demo/loss-toggle, pure part: its command line and the commands it runs inside a kind node.
 * The crictl JSON below has the shape `crictl inspectp` prints for a containerd pod sandbox
 * (only the fields the tool reads are kept).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isNothingToDelete,
  listPodsCommand,
  LossUsageError,
  netemCommand,
  netnsPathFromInspect,
  parseLossArgs,
} from '../../demo/src/loss/plan.js';

test('command line: on/off need a pod, hold needs a namespace and a device; bad values are refused', () => {
  assert.deepEqual(parseLossArgs(['on', '--pod', 'catalog-zone-b']), {
    action: 'on',
    pod: 'catalog-zone-b',
    namespace: 'demo',
    cluster: 'flowlens',
    percent: 3,
  });
  assert.deepEqual(parseLossArgs(['hold', '--netns', 'fl-1', '--dev', 'veth0', '--percent', '5']), {
    action: 'hold',
    netns: 'fl-1',
    dev: 'veth0',
    percent: 5,
  });
  assert.throws(() => parseLossArgs(['on']), /on needs --pod/);
  assert.throws(() => parseLossArgs(['hold', '--netns', 'x']), /hold needs --netns and --dev/);
  assert.throws(() => parseLossArgs(['on', '--pod', 'a', '--percent', '0']), /--percent/);
  assert.throws(() => parseLossArgs(['on', '--pod', 'a;rm -rf /']), /not a Kubernetes name/);
  assert.throws(() => parseLossArgs(['flip', '--pod', 'a']), /unknown action 'flip'/);
  assert.throws(() => parseLossArgs(['on', '--pod', 'a', '--bogus']), LossUsageError);
});

test('kind commands: find the ready pod, enter its netns, netem on eth0 (idempotent on, tolerant off)', () => {
  assert.deepEqual(listPodsCommand('catalog-zone-b', 'demo'), [
    'crictl',
    'pods',
    '--namespace',
    'demo',
    '--name',
    '^catalog-zone-b',
    '--state',
    'ready',
    '-q',
  ]);
  const inspect = JSON.stringify({
    status: { id: 'a1b2', metadata: { name: 'catalog-zone-b-7d9f8-x2k4q', namespace: 'demo' }, state: 'SANDBOX_READY' },
    info: {
      runtimeSpec: {
        linux: {
          namespaces: [
            { type: 'pid' },
            { type: 'ipc', path: '/proc/4242/ns/ipc' },
            { type: 'network', path: '/var/run/netns/cni-6f0c2d1e-1111-2222-3333-444455556666' },
          ],
        },
      },
    },
  });
  const path = netnsPathFromInspect(inspect);
  assert.equal(path, '/var/run/netns/cni-6f0c2d1e-1111-2222-3333-444455556666');
  assert.deepEqual(netemCommand('on', path, 3), [
    'nsenter',
    `--net=${path}`,
    'tc',
    'qdisc',
    'replace',
    'dev',
    'eth0',
    'root',
    'netem',
    'loss',
    '3%',
  ]);
  assert.deepEqual(netemCommand('off', path, 3), [
    'nsenter',
    `--net=${path}`,
    'tc',
    'qdisc',
    'del',
    'dev',
    'eth0',
    'root',
  ]);
  assert.throws(
    () => netnsPathFromInspect('{"info":{"runtimeSpec":{"linux":{"namespaces":[{"type":"pid"}]}}}}'),
    /hostNetwork/
  );
  assert.throws(() => netnsPathFromInspect('not json'), /did not print JSON/);
  assert.equal(isNothingToDelete('Error: Cannot delete qdisc with handle of zero.'), true);
  assert.equal(isNothingToDelete('RTNETLINK answers: Operation not permitted'), false);
});
