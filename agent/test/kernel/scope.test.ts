/**
 * Two nodes on one kernel (as in kind, where every node is a container of one kernel): each node's loader is
 * scoped to its node's cgroup (`--cgroup`), and sees its own node only — in the kernel-global programs too
 * (adoption in every network namespace, listeners, kfree_skb drops), not only in sock_ops (scope.bpf.h).
 *
 *   node A: a cgroup with its own test hosts (network namespaces); its loader is given the cgroup's path (the
 *           scope's depth is known).
 *   node B: the same, its loader sees the cgroup tree through a cgroup namespace rooted at B's cgroup (as a pod of
 *           a kind node does: `--cgroup /sys/fs/cgroup`, depth unknown, the programs search the ancestors).
 *
 * In B: an iptables DROP rule (NETFILTER_DROP = the rule's packet counter), connects to a port nobody listens on
 * (NO_SOCKET, one per SYN), a listener that wants a TCP MD5 signature the client's SYNs lack (TCP_MD5NOTFOUND,
 * dropped after the socket lookup at an untracked listener: = the namespace's TCPMD5NotFound), a peer that resets; in A a clean transfer; in each, a connection opened before both
 * loaders start. B's loader reports every one of B's with exact counts, A's loader none of them (and the other way
 * round); each adopts exactly its own two connection ends.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { BpfLoader } from '../../src/bpf/loader-process.js';
import { bpfArtifacts, findCgroup2Mount } from '../../src/bpf/preflight.js';
import type { FailureStats, KernelFailure, KernelFlow } from '../../src/bpf/protocol.js';
import { bpfArtifactPaths } from '../lib/agent-process.js';
import {
  IPTABLES,
  assertCounted,
  assertDrops,
  failgen,
  missBudget,
  rulePackets,
  type ConnectResult,
  type MissBudget,
} from '../lib/failgen.js';
import { createStar, setNamespaceCgroup, type Star } from '../lib/netns.js';
import { kernelPrerequisiteProblem } from '../lib/privileges.js';
import { parseProcNetCounters } from '../lib/tcp-counters.js';
import { runClient, startHeld, startServer, type HeldPeer, type TrafficServer } from '../lib/traffic.js';
import { requireAgentKernel, need } from '../lib/kernel-test.js';

const BASE = 20000 + Math.floor(Math.random() * 20000);
const P = { held: BASE, drop: BASE + 1, closed: BASE + 2, reset: BASE + 3, clean: BASE + 4, md5: BASE + 5 };
const ATTEMPTS = 2;
const BEFORE = 300_000; // carried by the held connections before the loaders start: never reported
const AFTER = 500_000; // carried after: reported exactly, by the node's own loader only
const CLEAN = 1_000_000;

interface Node {
  name: 'A' | 'B';
  star: Star;
  cgroup: string;
  loader: BpfLoader | null;
  flows: KernelFlow[];
  failures: KernelFailure[];
  /** The last failstats line of the node's loader. */
  failureStats: FailureStats | null;
  held: { server: HeldPeer; client: HeldPeer } | null;
}

let cgroupBase: string | null = null;
let workDir: string | null = null;
const nodes: Node[] = [];
const servers: TrafficServer[] = [];
let results: {
  drop: ConnectResult;
  closed: ConnectResult;
  resetClient: { reset: boolean };
  resetServer: { received: number };
  clean: Record<string, number>;
  dropRule: number;
  md5: ConnectResult;
  /** TcpExt TCPMD5NotFound of B's server namespace over the run: SYNs its MD5 listener dropped. */
  md5NotFound: number;
  adopted: Record<'A' | 'B', number>;
  dropsAttached: boolean;
  /** bpf_stats of each loader's drop and reset programs (every drop of the kernel runs both loaders' hooks). */
  hookCost: Record<string, { runs: number; nsPerRun: number } | null>;
  /** B's drop and reset runs the kernel skipped, and B's lost failure updates, over the traffic. */
  budget: MissBudget;
  /** The same for the flow programs (diagnostic). */
  flowMisses: number;
} | null = null;

const node = (name: 'A' | 'B'): Node => need(nodes.find((n) => n.name === name));

after(async () => {
  for (const n of nodes) {
    await n.loader?.close().catch(() => undefined);
    await n.held?.client.stop();
    await n.held?.server.stop();
  }
  for (const s of servers) {
    await s.close();
  }
  for (const n of nodes) {
    for (const ns of [n.star.server, ...n.star.clients.map((c) => c.ns)]) {
      setNamespaceCgroup(ns, null);
    }
    await n.star.cleanup();
  }
  if (cgroupBase) {
    // a cgroup goes once its last process has exited: retry briefly
    for (const dir of [...nodes.map((n) => n.cgroup), cgroupBase]) {
      for (let i = 0; i < 50 && existsSync(dir); i++) {
        try {
          rmdirSync(dir);
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }
  if (workDir) {
    rmSync(workDir, { recursive: true, force: true });
  }
});

function ready(t: TestContext): boolean {
  return requireAgentKernel(t, IPTABLES, '/usr/bin/python3', '/usr/bin/unshare');
}

/** A loader wrapper that joins `cgroup`, then runs the loader in a cgroup namespace rooted there, with cgroup2
 * mounted at /sys/fs/cgroup in its own mount namespace: `--cgroup /sys/fs/cgroup` is then the node's cgroup. */
function cgroupNamespaceLoader(dir: string, loader: string, cgroup: string): string {
  const path = join(dir, 'loader-in-cgroupns.sh');
  writeFileSync(
    path,
    [
      '#!/bin/sh',
      `echo $$ > '${cgroup}/cgroup.procs' || exit 1`,
      `exec unshare --cgroup --mount sh -c 'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$0" "$@"' '${loader}' "$@"`,
      '',
    ].join('\n')
  );
  chmodSync(path, 0o755);
  return path;
}

/** TcpExt TCPMD5NotFound of a star's server namespace (the kernel's count of unsigned segments its MD5 sockets dropped). */
async function md5NotFound(star: Star): Promise<number> {
  const netstat = parseProcNetCounters(await star.exec(star.server, ['cat', '/proc/net/netstat']));
  return netstat.TcpExt?.TCPMD5NotFound ?? 0;
}

async function collectAll(): Promise<void> {
  for (const n of nodes) {
    const r = await need(n.loader).collect();
    n.flows.push(...r.flows);
    n.failures.push(...(r.failures ?? []));
    n.failureStats = r.failureStats ?? n.failureStats;
  }
}

before(async () => {
  if (
    kernelPrerequisiteProblem() !== null ||
    !bpfArtifactPaths().every((p) => existsSync(p)) ||
    !existsSync(IPTABLES) ||
    !existsSync('/usr/bin/unshare')
  ) {
    return;
  }
  const root = need(findCgroup2Mount(readFileSync('/proc/mounts', 'utf8')));
  workDir = mkdtempSync(join(tmpdir(), 'flowlens-scope-'));
  cgroupBase = join(root, `flowlens-scope-${process.pid}`);
  mkdirSync(cgroupBase);
  for (const name of ['A', 'B'] as const) {
    const star = await createStar(name === 'A' ? 1 : 2);
    const cgroup = join(cgroupBase, name.toLowerCase());
    mkdirSync(cgroup);
    for (const ns of [star.server, ...star.clients.map((c) => c.ns)]) {
      setNamespaceCgroup(ns, cgroup);
    }
    nodes.push({ name, star, cgroup, loader: null, flows: [], failures: [], failureStats: null, held: null });
  }
  const [a, b] = [node('A'), node('B')];

  // Before the loaders: one connection per node, carrying BEFORE bytes each way.
  for (const n of nodes) {
    const l = n.star.clients[0]!;
    const server = await startHeld(n.star.server, 'server', l.serverIp, P.held);
    const client = await startHeld(l.ns, 'client', l.serverIp, P.held);
    await server.next(); // accepted
    n.held = { server, client };
    await client.command(`send ${BEFORE}`);
    await server.command(`send ${BEFORE}`);
    for (const [peer, want] of [
      [server, BEFORE],
      [client, BEFORE],
    ] as const) {
      for (let i = 0; (await peer.command<{ received: number }>('status')).received < want; i++) {
        assert.ok(i < 100, 'the held connection did not carry its bytes');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  // B's listeners: behind the DROP rule (the rule, not a missing socket, is why its SYNs drop); nobody on P.closed
  const lb = b.star.clients[0]!;
  const la = a.star.clients[0]!;
  servers.push(await startServer(b.star.server, '0.0.0.0', P.drop));
  servers.push(await startServer(a.star.server, '0.0.0.0', P.clean, 0));
  await b.star.exec(b.star.server, [IPTABLES, '-A', 'INPUT', '-p', 'tcp', '--dport', String(P.drop), '-j', 'DROP']);

  const art = bpfArtifacts();
  a.loader = await BpfLoader.start({
    loader: art.loader,
    object: art.object,
    cgroup: a.cgroup,
    maxSockets: 4096,
    maxFlows: 4096,
    bpfStats: true, // the hooks' cost below is a bpf_stats reading
  });
  b.loader = await BpfLoader.start({
    loader: cgroupNamespaceLoader(need(workDir), art.loader, b.cgroup),
    object: art.object,
    cgroup: '/sys/fs/cgroup',
    maxSockets: 4096,
    maxFlows: 4096,
    bpfStats: true, // the hooks' cost below is a bpf_stats reading
  });
  await collectAll();

  let listening: () => void = () => undefined;
  const resetListening = new Promise<void>((r) => (listening = r));
  const resetServer = failgen<{ received: number }>(b.star, b.star.server, ['reset-server', String(P.reset)], (m) => {
    if (m.listening) {
      listening();
    }
  });
  await resetListening;
  let md5Listening: () => void = () => undefined;
  const md5Up = new Promise<void>((r) => (md5Listening = r));
  const md5Server = failgen<{ closed: boolean }>(
    b.star,
    b.star.server,
    ['md5-server', String(P.md5), lb.clientIp, '20'],
    (m) => {
      if (m.listening) {
        md5Listening();
      }
    }
  );
  await md5Up; // it listens 20 s: the connects below start late on a loaded machine (python starting beside the rest)
  const md5Before = await md5NotFound(b.star);
  await collectAll();
  const bBefore = need(b.failureStats);
  const ticking = setInterval(() => void collectAll().catch(() => undefined), 1000);
  try {
    const [drop, closed, resetClient, , clean, md5] = await Promise.all([
      failgen<ConnectResult>(b.star, lb.ns, ['connect', lb.serverIp, String(P.drop), String(ATTEMPTS), '1.5']),
      failgen<ConnectResult>(b.star, lb.ns, ['connect', lb.serverIp, String(P.closed), String(ATTEMPTS), '5']),
      failgen<{ reset: boolean }>(b.star, lb.ns, ['reset-client', lb.serverIp, String(P.reset)]),
      resetServer,
      runClient(la.ns, ['upload', '--bytes', String(CLEAN), '--host', la.serverIp, '--port', String(P.clean)]),
      failgen<ConnectResult>(b.star, lb.ns, ['connect', lb.serverIp, String(P.md5), String(ATTEMPTS), '1.5']),
      ...nodes.map(async (n) => {
        const h = need(n.held);
        await h.client.command(`send ${AFTER}`);
        await h.server.command(`send ${AFTER}`);
        await h.client.command('close');
      }),
    ]);
    await new Promise((r) => setTimeout(r, 500));
    const dropRule = await rulePackets(b.star, b.star.server, P.drop);
    const md5Dropped = (await md5NotFound(b.star)) - md5Before;
    await md5Server;
    clearInterval(ticking);
    await new Promise((r) => setTimeout(r, 1200)); // a tick may still run
    await collectAll();
    const stats = await need(b.loader).collect();
    const statsA = await need(a.loader).collect();
    results = {
      drop,
      closed,
      resetClient,
      resetServer: await resetServer,
      clean,
      dropRule,
      md5,
      md5NotFound: md5Dropped,
      adopted: { A: a.loader.ready.socketsAdopted, B: b.loader.ready.socketsAdopted },
      dropsAttached: stats.failureStats?.dropsAttached ?? false,
      budget: missBudget(bBefore, need(stats.failureStats)),
      flowMisses: need(stats.failureStats).flowMisses - bBefore.flowMisses,
      hookCost: Object.fromEntries(
        [
          ['A', statsA],
          ['B', stats],
        ].map(([name, st]) => {
          const f = (st as typeof stats).failureStats;
          return [
            name as string,
            f?.runCount && f.runTimeNs !== null
              ? { runs: f.runCount, nsPerRun: Math.round(f.runTimeNs / f.runCount) }
              : null,
          ];
        })
      ),
    };
  } finally {
    clearInterval(ticking);
  }
});

/** Sums one node's failure lines of a flow: per drop reason, and the connection counters. */
function failuresOf(n: Node, pick: (f: KernelFailure) => boolean) {
  const drops: Record<string, number> = {};
  let resetsSent = 0;
  let resetsReceived = 0;
  for (const f of n.failures.filter(pick)) {
    if (f.reason) {
      drops[f.reason] = (drops[f.reason] ?? 0) + f.drops;
    }
    resetsSent += f.resetsSent;
    resetsReceived += f.resetsReceived;
  }
  return { drops, resetsSent, resetsReceived };
}

function bytesOf(n: Node, pick: (f: KernelFlow) => boolean) {
  return n.flows
    .filter(pick)
    .reduce((s, f) => ({ sent: s.sent + f.bytesSent, received: s.received + f.bytesReceived, lines: s.lines + 1 }), {
      sent: 0,
      received: 0,
      lines: 0,
    });
}

/** Every address of a node's test hosts. */
function addresses(n: Node): Set<string> {
  return new Set(n.star.clients.flatMap((c) => [c.clientIp, c.serverIp]));
}

const at =
  (n: Node, port: number, direction: 'client' | 'server') =>
  (f: { localIp: string; remoteIp: string; serverPort: number; direction: string }) => {
    const l = n.star.clients[0]!;
    return (
      f.serverPort === port &&
      f.direction === direction &&
      f.localIp === (direction === 'server' ? l.serverIp : l.clientIp) &&
      f.remoteIp === (direction === 'server' ? l.clientIp : l.serverIp)
    );
  };

test('each loader is scoped to its cgroup (B through a cgroup namespace) and the drop hook is attached', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results);
  t.diagnostic(`drop and reset hooks: ${JSON.stringify(r.hookCost)}`);
  assert.equal(r.dropsAttached, true, 'the kfree_skb tracepoint is attached');
});

test('a connection opened before the loaders is adopted by its own node only, and counted from then on', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results);
  t.diagnostic(`adopted: ${JSON.stringify(r.adopted)}`);
  // exactly the two ends of the node's own held connection: not the other node's, nor any other socket of the kernel
  assert.deepEqual(r.adopted, { A: 2, B: 2 });
  for (const n of nodes) {
    const client = bytesOf(n, at(n, P.held, 'client'));
    const server = bytesOf(n, at(n, P.held, 'server'));
    t.diagnostic(`${n.name}: held client ${JSON.stringify(client)} server ${JSON.stringify(server)}`);
    assert.deepEqual([client.sent, client.received], [AFTER, AFTER], `${n.name}: client end, from adoption on`);
    assert.deepEqual([server.sent, server.received], [AFTER, AFTER], `${n.name}: server end, from adoption on`);
  }
});

test("no loader reports a flow, a failure or a drop of the other node's hosts", (t) => {
  if (!ready(t)) {
    return;
  }
  need(results);
  for (const [mine, other] of [
    [node('A'), node('B')],
    [node('B'), node('A')],
  ] as const) {
    const foreign = addresses(other);
    const isForeign = (f: { localIp: string; remoteIp: string }) => foreign.has(f.localIp) || foreign.has(f.remoteIp);
    assert.deepEqual(mine.flows.filter(isForeign), [], `${mine.name} reported flows of ${other.name}`);
    assert.deepEqual(mine.failures.filter(isForeign), [], `${mine.name} reported failures of ${other.name}`);
  }
});

test('in B: NETFILTER_DROP equals the rule counter, NO_SOCKET one per SYN, TCP_MD5NOTFOUND its kernel counter, one reset each way — all in B only', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results);
  const b = node('B');
  assert.equal(r.drop.timeouts, ATTEMPTS, JSON.stringify(r.drop));
  assert.equal(r.closed.refused, ATTEMPTS, JSON.stringify(r.closed));
  assert.equal(r.resetClient.reset, true);
  assert.equal(r.resetServer.received, 1000);
  const dropped = failuresOf(b, at(b, P.drop, 'server'));
  const noSocket = failuresOf(b, at(b, P.closed, 'server'));
  const resetServer = failuresOf(b, at(b, P.reset, 'server'));
  const resetClient = failuresOf(b, at(b, P.reset, 'client'));
  const md5 = failuresOf(b, at(b, P.md5, 'server'));
  t.diagnostic(
    `rule ${r.dropRule}; drop ${JSON.stringify(dropped)}; closed ${JSON.stringify(noSocket)}; reset server ` +
      `${JSON.stringify(resetServer)} client ${JSON.stringify(resetClient)}; md5 listener ${JSON.stringify(md5)} ` +
      `(TCPMD5NotFound ${r.md5NotFound}); B's drop/reset runs skipped ${r.budget.misses}, updates lost ` +
      `${r.budget.lost}, flow program runs skipped ${r.flowMisses}`
  );
  assert.ok(r.dropRule >= ATTEMPTS, `the rule dropped every SYN (${r.dropRule})`);
  // exact unless B's loader says a drop or reset run was skipped or an update lost meanwhile (then within that)
  const budget = r.budget;
  t.diagnostic(assertDrops(dropped.drops, 'NETFILTER_DROP', r.dropRule, budget, 'drop rule'));
  t.diagnostic(assertDrops(noSocket.drops, 'NO_SOCKET', ATTEMPTS, budget, 'closed port'));
  t.diagnostic(assertCounted(resetServer.resetsSent, 1, budget, 'resets sent'));
  t.diagnostic(assertCounted(resetClient.resetsReceived, 1, budget, 'resets received'));
  // dropped after the socket lookup, at a listener the agent does not track (the kernel's rx_sk from 6.11): B's
  // because the listener is in B's cgroup, counted by the packet's headers
  assert.equal(r.md5.timeouts, ATTEMPTS, JSON.stringify(r.md5));
  assert.ok(r.md5NotFound >= ATTEMPTS, `the MD5 listener dropped every SYN (${r.md5NotFound})`);
  t.diagnostic(assertDrops(md5.drops, 'TCP_MD5NOTFOUND', r.md5NotFound, budget, 'md5 listener'));
  // and not one drop of any kind in A: A's only traffic is its clean transfer and its held connection
  const a = node('A');
  const aDrops = a.failures.filter((f) => f.reason && !addresses(a).has(f.localIp));
  assert.deepEqual(aDrops, [], 'A counted drops that are not its own');
});

test("A's own traffic is still exact beside B's", (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results);
  const a = node('A');
  assert.equal(r.clean.sent, CLEAN);
  const client = bytesOf(a, at(a, P.clean, 'client'));
  const server = bytesOf(a, at(a, P.clean, 'server'));
  t.diagnostic(`clean: client ${JSON.stringify(client)} server ${JSON.stringify(server)}`);
  assert.equal(client.sent, CLEAN);
  assert.equal(server.received, CLEAN);
});
