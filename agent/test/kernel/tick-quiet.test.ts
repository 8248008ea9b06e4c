/**
 * The `tcp` tick visits only the network namespaces that may hold a tracked open socket (loader.c "Which namespaces
 * a tick visits"): a namespace whose connections all closed goes quiet (no pass at all), and must be ticked again,
 * exactly, as soon as a connection opens in it. The loader run directly, ticked by the test; its trace
 * (FLOWLENS_LOADER_TICK_TRACE) names the namespaces each tick passed. Ground truth: the bytes the generator's peers
 * received.
 *  - star A holds a connection opened before the loader started (adopted) and left idle: A's namespaces are passed
 *    at every tick (an idle tracked socket keeps its namespace visited), and bytes it carries later are reported
 *    while it is open, exactly;
 *  - star B carries a connection that closes: B's namespaces go quiet (passed by no tick, though a listener stays
 *    open there); then a new connection in B (the client's namespace active, the server's passive, accepted by
 *    that listener) reports exactly what each end sent, while open;
 *    left idle for several ticks B stays visited, and a receive-only step is reported while open, exactly.
 * Where the kernel allows map iterators the tick goes over the socket storage (no namespaces, no trace): the
 * exactness assertions still hold.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { BpfLoader } from '../../src/bpf/loader-process.js';
import type { CollectResult, KernelFlow } from '../../src/bpf/protocol.js';
import { bpfArtifactPaths } from '../lib/agent-process.js';
import { startTestLoader } from '../lib/kernel-test.js';
import { createStar, type Link, type Star } from '../lib/netns.js';
import { requireBinary, requireKernel } from '../lib/privileges.js';
import { startHeld, statusWhen, type HeldPeer } from '../lib/traffic.js';

const BASE = 20000 + Math.floor(Math.random() * 20000);
const PORT_A = BASE;
const PORT_C = BASE + 1;
const PORT_D = BASE + 2;
const A_UP = 654_321;
const A_DOWN = 123_457;
const D_UP = 1_234_567;
const D_DOWN = 765_431;
const D_LATER = 400_003;
const TRACE = join(tmpdir(), `flowlens-tick-trace-${process.pid}`);

let loader: BpfLoader | null = null;
const stars: Star[] = [];
const peers: HeldPeer[] = [];

after(async () => {
  for (const p of peers) {
    await p.stop();
  }
  await loader?.close();
  for (const s of stars) {
    await s.cleanup();
  }
  rmSync(TRACE, { force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ino = (ns: string) => statSync(`/run/netns/${ns}`).ino;
const clientOf = (l: Link, port: number) => (f: KernelFlow) =>
  f.direction === 'client' && f.localIp === l.clientIp && f.remoteIp === l.serverIp && f.serverPort === port;
const serverOf = (l: Link, port: number) => (f: KernelFlow) =>
  f.direction === 'server' && f.localIp === l.serverIp && f.remoteIp === l.clientIp && f.serverPort === port;

interface Sum {
  sent: number;
  received: number;
  closed: number;
}

function sum(results: CollectResult[], pick: (f: KernelFlow) => boolean): Sum {
  const s: Sum = { sent: 0, received: 0, closed: 0 };
  for (const r of results) {
    for (const f of r.flows.filter(pick)) {
      s.sent += f.bytesSent;
      s.received += f.bytesReceived;
      s.closed += f.connectionsClosed;
    }
  }
  return s;
}

/** The namespaces each traced tick passed, oldest first. */
function traced(): number[][] {
  if (!existsSync(TRACE)) {
    return [];
  }
  return readFileSync(TRACE, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('tick '))
    .map((l) => l.split(' ').slice(2).map(Number));
}

async function listen(star: Star, link: Link, port: number): Promise<HeldPeer> {
  const srv = await startHeld(star.server, 'server', link.serverIp, port);
  peers.push(srv);
  return srv;
}

async function connect(
  star: Star,
  link: Link,
  port: number,
  listening?: HeldPeer
): Promise<{ srv: HeldPeer; cli: HeldPeer }> {
  const srv = listening ?? (await listen(star, link, port));
  const cli = await startHeld(link.ns, 'client', link.serverIp, port);
  peers.push(cli);
  await srv.next(); // accepted
  return { srv, cli };
}

async function transfer(from: HeldPeer, to: HeldPeer, bytes: number, before: number): Promise<void> {
  await from.command(`send ${bytes}`);
  const got = await statusWhen<{ received: number }>(to, (s) => s.received === before + bytes);
  assert.equal(got.received, before + bytes, 'the peer received what was sent');
}

test('a quiet namespace is passed by no tick, and ticked again exactly once a connection opens in it', async (t) => {
  if (!requireKernel(t) || !bpfArtifactPaths().every((p) => requireBinary(t, p))) {
    return;
  }
  rmSync(TRACE, { force: true });
  process.env.FLOWLENS_LOADER_TICK_TRACE = TRACE;

  const a = await createStar(1);
  stars.push(a);
  const la = a.clients[0]!;
  const connA = await connect(a, la, PORT_A); // before the loader: adopted at its start
  const b = await createStar(1);
  stars.push(b);
  const lb = b.clients[0]!;
  const aIno = [ino(a.server), ino(la.ns)];
  const bIno = [ino(b.server), ino(lb.ns)];

  loader = await startTestLoader();
  delete process.env.FLOWLENS_LOADER_TICK_TRACE;
  const tcp = loader.ready.tickMode === 'tcp';
  const results: CollectResult[] = [];
  const tick = async () => {
    results.push(await loader!.collect());
    await sleep(20); // ticks apart by more than the idle skip's 1 ms margin
  };
  /** Ticks until both ends of a connection read `up` / `down` (at most 15 ticks), once more (nothing counted
   * twice), then asserts both ends exactly, the connection still open. */
  const tickUntilExact = async (
    client: (f: KernelFlow) => boolean,
    server: (f: KernelFlow) => boolean,
    up: number,
    down: number,
    message: string
  ) => {
    for (let i = 0; i < 15; i++) {
      const c = sum(results, client);
      const s = sum(results, server);
      if (c.sent === up && c.received === down && s.sent === down && s.received === up) {
        break;
      }
      await tick();
    }
    await tick();
    assert.deepEqual(
      { client: sum(results, client), server: sum(results, server) },
      { client: { sent: up, received: down, closed: 0 }, server: { sent: down, received: up, closed: 0 } },
      message
    );
  };
  const passed = (inodes: number[], line: number[] | undefined) => inodes.every((i) => line?.includes(i));
  const skipped = (inodes: number[], line: number[] | undefined) => inodes.every((i) => !line?.includes(i));

  // B carries a connection that closes: B's namespaces are noted, passed, then quiet. D's server listens all along
  // (a listener is no tracked socket): D's accepted end is then noted only by its own establishment.
  const listenerD = await listen(b, lb, PORT_D);
  const connC = await connect(b, lb, PORT_C);
  await transfer(connC.cli, connC.srv, 1000, 0);
  await tick();
  await connC.cli.stop();
  await connC.srv.stop();
  let quietAt = -1;
  for (let i = 0; i < 10 && quietAt < 0; i++) {
    await tick();
    const lines = traced();
    if (lines.length >= 2 && skipped(bIno, lines.at(-1)) && skipped(bIno, lines.at(-2))) {
      quietAt = lines.length;
    }
  }
  const closedC = sum(results, clientOf(lb, PORT_C));
  assert.deepEqual(closedC, { sent: 1000, received: 0, closed: 1 }, 'the closed connection was counted once');
  if (tcp) {
    const lines = traced();
    assert.ok(
      lines.some((l) => passed(bIno, l)),
      `B's namespaces were passed while their connection was open: ${JSON.stringify(lines)}`
    );
    assert.ok(quietAt > 0, `B's namespaces went quiet after their connection closed: ${JSON.stringify(lines)}`);
    assert.ok(
      lines.every((l) => passed(aIno, l)),
      `A's namespaces (an idle adopted socket) were passed at every tick: ${JSON.stringify(lines)}`
    );
  }

  // a new connection in the quiet namespaces: active in B's client namespace, passive in its server's
  const connD = await connect(b, lb, PORT_D, listenerD);
  await transfer(connD.cli, connD.srv, D_UP, 0);
  await transfer(connD.srv, connD.cli, D_DOWN, 0);
  const dClient = clientOf(lb, PORT_D);
  const dServer = serverOf(lb, PORT_D);
  const ticksBeforeD = traced().length;
  await tickUntilExact(
    dClient,
    dServer,
    D_UP,
    D_DOWN,
    'the new connection in a quiet namespace is reported exactly while open'
  );
  if (tcp) {
    const first = traced()[ticksBeforeD];
    assert.ok(passed(bIno, first), `the first tick after it opened passed B's namespaces: ${JSON.stringify(first)}`);
  }

  // D idle for several ticks keeps B visited; then a receive-only step at the client is reported while open
  const idleFrom = traced().length;
  for (let i = 0; i < 4; i++) {
    await tick();
  }
  if (tcp) {
    const lines = traced().slice(idleFrom);
    assert.ok(
      lines.length === 4 && lines.every((l) => passed(bIno, l)),
      `an idle tracked connection keeps its namespaces passed: ${JSON.stringify(lines)}`
    );
  }
  await transfer(connD.srv, connD.cli, D_LATER, D_DOWN);
  await tickUntilExact(
    dClient,
    dServer,
    D_UP,
    D_DOWN + D_LATER,
    'after idle ticks, a receive-only step is reported while open'
  );

  // the adopted connection, idle since the loader started, carries data: reported exactly while open
  await transfer(connA.cli, connA.srv, A_UP, 0);
  await transfer(connA.srv, connA.cli, A_DOWN, 0);
  const aClient = clientOf(la, PORT_A);
  const aServer = serverOf(la, PORT_A);
  await tickUntilExact(
    aClient,
    aServer,
    A_UP,
    A_DOWN,
    'the adopted connection, idle for every tick so far, is reported exactly while open'
  );
  if (tcp) {
    const lines = traced();
    assert.ok(
      lines.every((l) => passed(aIno, l)),
      `A's namespaces were passed at every tick: ${JSON.stringify(lines)}`
    );
  }
  assert.ok(loader.ready.socketsAdopted >= 2, 'both ends of A were adopted');
});
