/**
 * Service translation at unit level, on the real kernel: a "node" namespace routes between a client pod and two
 * backend pods and holds kube-proxy-style iptables rules (ClusterIP -> two backends, `statistic` random choice,
 * DNAT in PREROUTING). The client's sockets talk to the ClusterIP; the loader's conntrack program records each
 * translation, so every client flow is keyed by the backend that really served it, with via = the ClusterIP.
 * The loader runs in the node namespace, as a node's agent does in the host network: it records only that
 * namespace's translations. Its source is the fentry program where the kernel allows it, otherwise conntrack
 * netlink events (this project's sandbox refuses fentry): either way every connection must be translated, and the
 * stats say which source did it. Ground truth: the bytes each backend received. (tests/ builds the full
 * multi-node topology.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { BpfLoader } from '../../src/bpf/loader-process.js';
import type { KernelFlow } from '../../src/bpf/protocol.js';
import { startTestLoader } from '../lib/kernel-test.js';
import { bpfArtifactPaths } from '../lib/agent-process.js';
import { createStar, type Link } from '../lib/netns.js';
import { requireBinary, requireKernel } from '../lib/privileges.js';
import { runClient, startServer, type TrafficServer } from '../lib/traffic.js';

const IPTABLES = '/usr/sbin/iptables';
const CONNECTIONS = 24;
const BYTES = 20_000;
const REPLY = 300;

test('ClusterIP with two backends (iptables DNAT, random): each backend flow carries exactly its bytes, via = the ClusterIP', async (t) => {
  if (!requireKernel(t) || ![...bpfArtifactPaths(), IPTABLES].every((p) => requireBinary(t, p))) {
    return;
  }
  const star = await createStar(3);
  const [client, b1, b2] = star.clients as [Link, Link, Link];
  const r = randomBytes(2);
  const clusterIp = `10.96.${r[0]! % 250}.${1 + (r[1]! % 250)}`;
  const servicePort = 80;
  const backendPort = 20000 + Math.floor(Math.random() * 20000);
  const servers: TrafficServer[] = [];
  let loader: BpfLoader | null = null;
  try {
    // the node routes; pods send everything through it
    await star.exec(star.server, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const l of [client, b1, b2]) {
      await star.exec(l.ns, ['ip', 'route', 'add', 'default', 'via', l.serverIp]);
    }
    const ipt = (...args: string[]) => star.exec(star.server, [IPTABLES, '-w', '-t', 'nat', ...args]);
    await ipt('-N', 'KUBE-SVC-FLOWLENS');
    await ipt(
      '-A',
      'PREROUTING',
      '-d',
      `${clusterIp}/32`,
      '-p',
      'tcp',
      '--dport',
      String(servicePort),
      '-j',
      'KUBE-SVC-FLOWLENS'
    );
    await ipt(
      '-A',
      'KUBE-SVC-FLOWLENS',
      '-p',
      'tcp',
      '-m',
      'statistic',
      '--mode',
      'random',
      '--probability',
      '0.5',
      '-j',
      'DNAT',
      '--to-destination',
      `${b1.clientIp}:${backendPort}`
    );
    await ipt(
      '-A',
      'KUBE-SVC-FLOWLENS',
      '-p',
      'tcp',
      '-j',
      'DNAT',
      '--to-destination',
      `${b2.clientIp}:${backendPort}`
    );
    for (const b of [b1, b2]) {
      servers.push(await startServer(b.ns, '0.0.0.0', backendPort, REPLY));
    }

    loader = await startTestLoader({ netns: star.server });
    // nf_conntrack is in use now (the rules above): a source is chosen at the latest on this tick
    const first = await loader.collect();
    const source = first.stats.natSource;
    t.diagnostic(`translation source: ${source} (conntrack program ${first.stats.conntrack})`);
    assert.notEqual(first.stats.conntrack, 'waiting', 'nf_conntrack is in use: the program is attached or refused');
    assert.equal(
      source,
      first.stats.conntrack === 'attached' ? 'fentry' : 'netlink',
      'fentry when attached, netlink events when refused'
    );
    const flows: KernelFlow[] = [];
    const sent = await runClient(client.ns, [
      'short',
      '--count',
      String(CONNECTIONS),
      '--bytes',
      String(BYTES),
      '--host',
      clusterIp,
      '--port',
      String(servicePort),
    ]);
    await new Promise((res) => setTimeout(res, 300));
    const last = await loader.collect();
    flows.push(...last.flows);
    t.diagnostic(`stats ${JSON.stringify(last.stats)}`);

    const [s1, s2] = servers as [TrafficServer, TrafficServer];
    const truth = [s1.received.reduce((a, b) => a + b, 0), s2.received.reduce((a, b) => a + b, 0)];
    assert.equal(truth[0]! + truth[1]!, sent.sent, 'every byte reached a backend');
    assert.ok(
      s1.received.length > 0 && s2.received.length > 0,
      `both backends chosen (${s1.received.length}/${s2.received.length})`
    );
    const sum = (pick: (f: KernelFlow) => boolean, k: 'bytesSent' | 'bytesReceived' | 'connectionsOpened') =>
      flows.filter(pick).reduce((n, f) => n + f[k], 0);
    // every connection recorded once by the source in use (the node namespace has no other TCP connections)
    const recorded = source === 'fentry' ? last.stats.natRecorded : last.stats.natNetlink;
    assert.equal(recorded, CONNECTIONS, `${source}: one translation per connection`);
    assert.equal(last.stats.natNetlinkOverruns, 0, 'no conntrack event dropped');
    for (const [i, b] of [b1, b2].entries()) {
      const toBackend = (f: KernelFlow) =>
        f.direction === 'client' && f.localIp === client.clientIp && f.remoteIp === b.clientIp;
      assert.equal(sum(toBackend, 'bytesSent'), truth[i], `client flow to backend ${i + 1} carries its bytes`);
      assert.equal(sum(toBackend, 'connectionsOpened'), servers[i]!.received.length);
      for (const f of flows.filter(toBackend)) {
        assert.equal(f.serverPort, backendPort, 'keyed by the backend port');
        assert.deepEqual(f.via, { ip: clusterIp, port: servicePort }, 'via = the ClusterIP');
      }
      const served = (f: KernelFlow) =>
        f.direction === 'server' && f.localIp === b.clientIp && f.remoteIp === client.clientIp;
      assert.equal(sum(served, 'bytesReceived'), truth[i], `backend ${i + 1}'s own flow`);
      for (const f of flows.filter(served)) {
        // the backend is on the translating node: its end carries the via too (the hub's merge key)
        assert.deepEqual(f.via, { ip: clusterIp, port: servicePort }, 'server end via = the ClusterIP');
      }
    }
    assert.deepEqual(
      flows.filter((f) => f.remoteIp === clusterIp),
      [],
      'no flow keyed by the ClusterIP'
    );
  } finally {
    await loader?.close();
    for (const s of servers) {
      await s.close();
    }
    await star.cleanup();
  }
});
