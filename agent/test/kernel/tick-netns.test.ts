/**
 * The collection tick meets network namespaces that come and go while the agent runs (a pod starts, a pod is
 * deleted). Where the kernel refuses map iterators the loader ticks with iter/tcp in each namespace where tracked
 * sockets live (loader.c tick_namespaces: scope_netns, paths found by walking /proc only when a new one appears);
 * elsewhere it ticks over the socket storage. Either way:
 *  - a connection in namespaces created after the agent started reports exactly the bytes the generator sent,
 *    while it is still open (only the tick can have counted them: nothing closed),
 *  - deleting those namespaces while the agent runs is no error, and the loader holds no descriptor of a deleted
 *    namespace (holding one would keep it, its devices and its veths' peers alive).
 * Two rounds: the second round's namespaces appear after the first round's were deleted.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { after, test, type TestContext } from 'node:test';
import { createStar, type Star } from '../lib/netns.js';
import { startHeld, statusWhen, type HeldPeer } from '../lib/traffic.js';
import { startAgent, sumFlows, type AgentHandle } from '../lib/agent-process.js';
import type { FlowRecord } from '../../src/contracts/report.js';
import { requireAgentKernel } from '../lib/kernel-test.js';

const UP = 1_234_567;
const DOWN = 765_431;

let agent: AgentHandle | null = null;
const stars: Star[] = [];
const peers: HeldPeer[] = [];

after(async () => {
  for (const p of peers) {
    await p.stop();
  }
  await agent?.stop('SIGKILL');
  for (const s of stars) {
    await s.cleanup();
  }
});

function ready(t: TestContext): boolean {
  return requireAgentKernel(t);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The agent's flowlens-loader child (its parent pid is the agent's). */
function loaderPid(agentPid: number): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === agentPid && stat.includes('(flowlens-loader)')) {
        return Number(name);
      }
    } catch {
      // the process exited meanwhile
    }
  }
  throw new Error(`no flowlens-loader child of ${agentPid}`);
}

/** Inodes of the network namespaces a process holds descriptors of. */
function netnsFds(pid: number): number[] {
  const out: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) {
        out.push(Number(m[1]));
      }
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

test('namespaces created after start are ticked exactly; deleted ones leave no error and no descriptor', async (t) => {
  if (!ready(t)) {
    return;
  }
  agent = await startAgent(['--collect-interval', '1', '--report-interval', '1']);
  const loader = loaderPid(agent.child.pid!);
  const deleted: number[] = [];

  for (let round = 0; round < 2; round++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const star = await createStar(1);
    stars.push(star);
    const link = star.clients[0]!;
    const inodes = [star.server, link.ns].map((ns) => statSync(`/run/netns/${ns}`).ino);
    const srv = await startHeld(star.server, 'server', link.serverIp, port);
    peers.push(srv);
    const cli = await startHeld(link.ns, 'client', link.serverIp, port);
    peers.push(cli);
    await srv.next(); // accepted
    await cli.command(`send ${UP}`);
    await srv.command(`send ${DOWN}`);
    assert.equal((await statusWhen<{ received: number }>(srv, (s) => s.received === UP)).received, UP);
    assert.equal((await statusWhen<{ received: number }>(cli, (s) => s.received === DOWN)).received, DOWN);

    const clientFlow = (f: FlowRecord) =>
      f.direction === 'client' && f.localIp === link.clientIp && f.remoteIp === link.serverIp && f.remotePort === port;
    const serverFlow = (f: FlowRecord) =>
      f.direction === 'server' && f.localIp === link.serverIp && f.remoteIp === link.clientIp && f.localPort === port;
    const complete = () => {
      const c = sumFlows(agent!.reports, clientFlow);
      const s = sumFlows(agent!.reports, serverFlow);
      return c?.bytesSent === UP && c.bytesReceived === DOWN && s?.bytesSent === DOWN && s.bytesReceived === UP;
    };
    const deadline = Date.now() + 15_000;
    while (!complete() && Date.now() < deadline) {
      await sleep(200);
    }
    await sleep(2500); // two more ticks: nothing counted twice
    const c = sumFlows(agent.reports, clientFlow);
    const s = sumFlows(agent.reports, serverFlow);
    assert.deepEqual(
      { up: c?.bytesSent, down: c?.bytesReceived, closed: c?.connectionsClosed },
      { up: UP, down: DOWN, closed: 0 },
      `round ${round}: client side, still open (the tick counted it)\n${agent.stderr()}`
    );
    assert.deepEqual(
      { up: s?.bytesReceived, down: s?.bytesSent, closed: s?.connectionsClosed },
      { up: UP, down: DOWN, closed: 0 },
      `round ${round}: server side, still open (the tick counted it)\n${agent.stderr()}`
    );

    // the pod goes away: its processes end, its namespaces are deleted, while the agent ticks on
    await cli.stop();
    await srv.stop();
    await star.cleanup();
    deleted.push(...inodes);
    await sleep(3000);
    for (let i = 0; i < 3; i++) {
      const held = netnsFds(loader).filter((ino) => deleted.includes(ino));
      assert.deepEqual(held, [], `round ${round}: the loader holds no descriptor of a deleted namespace`);
      await sleep(400);
    }
  }
  assert.equal(agent.child.exitCode, null, `agent still running:\n${agent.stderr()}`);
  assert.doesNotMatch(agent.stderr(), /error|iterating TCP sockets/i, 'no error while namespaces came and went');
});
