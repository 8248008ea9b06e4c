/**
 * Forwarded connections (report `forwards`) at unit level, on the real kernel: a "node" namespace routes between a
 * client and two backends and holds kube-proxy-style rules for a NodePort with externalTrafficPolicy Cluster —
 * DNAT to a random backend, then MASQUERADE (SNAT to the node's address toward the backend). Neither end's socket
 * is in the node namespace, so no flow of the loader shows these connections: only its forward tables do. Run with
 * each translation source: the fentry program where the kernel allows it, and conntrack netlink events (forced by
 * naming a conntrack object that does not exist, as a kernel that refuses fentry would). Ground truth: the
 * connections each backend accepted, and the node's SNAT address on each backend's link.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { BpfLoader } from '../../src/bpf/loader-process.js';
import type { KernelForward } from '../../src/bpf/protocol.js';
import { startTestLoader } from '../lib/kernel-test.js';
import { bpfArtifactPaths } from '../lib/agent-process.js';
import { createStar, type Link } from '../lib/netns.js';
import { requireBinary, requireKernel } from '../lib/privileges.js';
import { runClient, startServer, type TrafficServer } from '../lib/traffic.js';

const IPTABLES = '/usr/sbin/iptables';
const CONNECTIONS = 20;

async function forwardedThroughNode(t: TestContext, source: 'auto' | 'netlink'): Promise<void> {
  if (!requireKernel(t) || ![...bpfArtifactPaths(), IPTABLES].every((p) => requireBinary(t, p))) {
    return;
  }
  const star = await createStar(3);
  const [client, b1, b2] = star.clients as [Link, Link, Link];
  // The "NodePort": the node's own address on the client's link, a port of its own.
  const nodePort = 30000 + (randomBytes(2).readUInt16BE() % 2000);
  const backendPort = 20000 + Math.floor(Math.random() * 10000);
  const servers: TrafficServer[] = [];
  let loader: BpfLoader | null = null;
  try {
    await star.exec(star.server, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const l of [client, b1, b2]) {
      await star.exec(l.ns, ['ip', 'route', 'add', 'default', 'via', l.serverIp]);
    }
    const ipt = (...args: string[]) => star.exec(star.server, [IPTABLES, '-w', '-t', 'nat', ...args]);
    await ipt('-N', 'KUBE-EXT-FLOWLENS');
    const match = ['-d', `${client.serverIp}/32`, '-p', 'tcp', '--dport', String(nodePort)];
    await ipt('-A', 'PREROUTING', ...match, '-j', 'KUBE-EXT-FLOWLENS');
    await ipt('-A', 'KUBE-EXT-FLOWLENS', '-j', 'MARK', '--set-xmark', '0x4000/0x4000');
    const dnat = (b: Link) => ['-p', 'tcp', '-j', 'DNAT', '--to-destination', `${b.clientIp}:${backendPort}`];
    await ipt('-A', 'KUBE-EXT-FLOWLENS', '-m', 'statistic', '--mode', 'random', '--probability', '0.5', ...dnat(b1));
    await ipt('-A', 'KUBE-EXT-FLOWLENS', ...dnat(b2));
    await ipt('-A', 'POSTROUTING', '-m', 'mark', '--mark', '0x4000/0x4000', '-j', 'MASQUERADE');
    for (const b of [b1, b2]) {
      servers.push(await startServer(b.ns, '0.0.0.0', backendPort));
    }

    loader = await startTestLoader({
      netns: star.server,
      ...(source === 'netlink' ? { conntrackObject: '/nonexistent/conntrack.bpf.o' } : {}),
    });
    const first = await loader.collect();
    const used = first.stats.natSource;
    t.diagnostic(`translation source: ${used} (conntrack program ${first.stats.conntrack})`);
    if (source === 'netlink') {
      assert.equal(used, 'netlink', 'the netlink source when the conntrack program cannot load');
    } else {
      assert.notEqual(used, 'none');
    }
    const forwards: KernelForward[] = [...(first.forwards ?? [])];
    // Two ticks while the client runs, so a connection is counted once even when ticks cut through the burst.
    const run = runClient(client.ns, [
      'short',
      '--count',
      String(CONNECTIONS),
      '--bytes',
      '5000',
      '--host',
      client.serverIp,
      '--port',
      String(nodePort),
    ]);
    forwards.push(...((await loader.collect()).forwards ?? []));
    await run;
    await new Promise((res) => setTimeout(res, 300));
    const last = await loader.collect();
    forwards.push(...(last.forwards ?? []));
    t.diagnostic(`forwards: ${JSON.stringify(forwards)}`);
    assert.equal(last.forwardsLost, 0, 'no forward table overflowed');
    assert.ok(
      servers.every((s) => s.received.length > 0),
      'both backends chosen'
    );

    for (const [i, b] of [b1, b2].entries()) {
      const mine = forwards.filter((f) => f.backendIp === b.clientIp);
      assert.ok(mine.length > 0, `forwards to backend ${i + 1}`);
      for (const f of mine) {
        assert.equal(f.clientIp, client.clientIp);
        assert.deepEqual(f.via, { ip: client.serverIp, port: nodePort }, 'via = the node address and NodePort');
        assert.equal(f.backendPort, backendPort);
        assert.equal(f.snatIp, b.serverIp, "SNAT to the node's address on the backend's link");
      }
      assert.equal(
        mine.reduce((n, f) => n + f.connections, 0),
        servers[i]!.received.length,
        `backend ${i + 1}: forwarded connections = connections it accepted`
      );
    }
    assert.equal(
      forwards.reduce((n, f) => n + f.connections, 0),
      CONNECTIONS,
      'every connection counted once, nothing else (the node namespace has no other connections)'
    );
  } finally {
    await loader?.close();
    for (const s of servers) {
      await s.close();
    }
    await star.cleanup();
  }
}

test('NodePort (Cluster) forwarded, SNATed: the node counts each connection once, by backend (fentry where allowed)', (t) =>
  forwardedThroughNode(t, 'auto'));

test('the same from conntrack netlink events (the source on kernels that refuse fentry)', (t) =>
  forwardedThroughNode(t, 'netlink'));
