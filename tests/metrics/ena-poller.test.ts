/**
 * The ENA poller against real and stand-in ethtool: a real veth pair in a network namespace of our own (no ENA
 * statistics → nothing), a missing ethtool (disabled with one log line), and a fake driver whose counters rise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parseEthtoolStats, parseEnaAllowances } from '../../agent/src/ena/parse.js';
import { EnaPoller, physicalInterfaces } from '../../agent/src/ena/poller.js';
import { requireBinary, requireKernel } from '../../agent/test/lib/privileges.js';
import { FakeEthtool } from '../lib/fake-ethtool.js';

const run = promisify(execFile);
const ENA_FIXTURES = join(__dirname, '../../agent/src/ena/fixtures');

test('a real veth in our own network namespace has ethtool stats but no ENA series', async (t) => {
  if (!requireKernel(t) || !requireBinary(t, '/usr/sbin/ethtool')) {
    return;
  }
  const ns = `fl-ena-${randomBytes(3).toString('hex')}`;
  await run('ip', ['netns', 'add', ns], { timeout: 10_000 });
  try {
    await run('ip', ['-n', ns, 'link', 'add', 'veth-a', 'type', 'veth', 'peer', 'name', 'veth-b'], { timeout: 10_000 });
    await run('ip', ['-n', ns, 'link', 'set', 'veth-a', 'up'], { timeout: 10_000 });
    await run('ip', ['-n', ns, 'link', 'set', 'veth-b', 'up'], { timeout: 10_000 });
    const { stdout } = await run('ip', ['netns', 'exec', ns, 'ethtool', '-S', 'veth-a'], { timeout: 10_000 });
    assert.ok(parseEthtoolStats(stdout).has('peer_ifindex'), `real veth stats parsed:\n${stdout}`);
    assert.deepEqual(parseEnaAllowances(stdout), {});

    const logs: string[] = [];
    const poller = new EnaPoller({
      ethtool: ['ip', 'netns', 'exec', ns, 'ethtool'],
      listInterfaces: async () => ['veth-a', 'veth-b'],
      log: (m) => logs.push(m),
    });
    await poller.pollOnce();
    assert.equal(poller.polls, 1);
    assert.equal(poller.errors, 0, logs.join('\n'));
    assert.equal(poller.snapshot().size, 0);
  } finally {
    await run('ip', ['netns', 'del', ns], { timeout: 10_000 }).catch(() => undefined);
  }
});

test('only device-backed interfaces are polled (never lo or virtual ones)', async () => {
  const names = await physicalInterfaces('/sys/class/net');
  assert.ok(!names.includes('lo'));
  const fake = await FakeEthtool.create({ ens5: 'NIC statistics:\n     pps_allowance_exceeded: 1\n' }, ['lo', 'veth9']);
  try {
    assert.deepEqual(await physicalInterfaces(fake.sysClassNet), ['ens5']);
  } finally {
    await fake.remove();
  }
});

test('a missing ethtool disables the poller with one log line and no series', async () => {
  const logs: string[] = [];
  const poller = new EnaPoller({
    ethtool: ['/nonexistent/ethtool'],
    listInterfaces: async () => ['eth0', 'eth1'],
    intervalMs: 10,
    log: (m) => logs.push(m),
  });
  await poller.start();
  await new Promise((r) => setTimeout(r, 50));
  await poller.close();
  assert.equal(poller.disabled, true);
  assert.equal(logs.length, 1, logs.join('\n'));
  assert.match(logs[0]!, /not found/);
  assert.equal(poller.snapshot().size, 0);
});

test('rising driver counters show in the next poll; an interface that fails is skipped and logged once', async () => {
  const base = readFileSync(join(ENA_FIXTURES, 'ena-2.8.9-ens5.txt'), 'utf8');
  const fake = await FakeEthtool.create({ ens5: base });
  await fake.set('ens6', 'NIC statistics:\n     pps_allowance_exceeded: 3\n');
  const logs: string[] = [];
  const poller = new EnaPoller({ ethtool: [fake.command], sysClassNet: fake.sysClassNet, log: (m) => logs.push(m) });
  try {
    await poller.pollOnce();
    assert.equal(poller.snapshot().get('ens5')?.pps_allowance_exceeded, 17);
    assert.equal(poller.snapshot().get('ens6')?.pps_allowance_exceeded, 3);
    await fake.set('ens5', base.replace('pps_allowance_exceeded: 17', 'pps_allowance_exceeded: 4017'));
    await fake.set('ens7', ''); // listed as a NIC, then its stats vanish below
    await run('rm', [join(fake.dir, 'stats', 'ens7.txt')]);
    await poller.pollOnce();
    await poller.pollOnce();
    assert.equal(poller.snapshot().get('ens5')?.pps_allowance_exceeded, 4017);
    assert.equal(poller.snapshot().has('ens7'), false);
    assert.equal(poller.errors, 2);
    assert.deepEqual(logs, ['ethtool -S ens7: no stats available']);
  } finally {
    await fake.remove();
  }
});
