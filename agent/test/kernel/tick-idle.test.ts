/**
 * The `tcp` tick skips a socket that stayed idle since its namespace's last complete pass, before looking up its
 * storage (flowlens.bpf.c fl_tick_tcp, loader.c tick_pass: its tcp_mstamp is older than that pass's start). What
 * wakes a socket must still be counted in the tick it happened, not at the next traffic or at close. One held
 * connection, idle for several ticks before each step:
 *  - a receive-only step: the client only receives 400,000 bytes; the client flow reports them while still open;
 *  - an RTO-only interval: everything the client sends is dropped at the server's ingress (no ACK comes back, so
 *    nothing but the client's retransmission timer moves the socket); its flow reports rtos and retransmits while
 *    the blackhole still holds;
 *  - after the blackhole and the close: rtos and retransmits equal the client namespace's TCPTimeouts and
 *    RetransSegs deltas, bytes equal what the generator sent.
 * On kernels that allow map iterators the tick goes over the socket storage instead (no skip); the same holds.
 */
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { createStar, type Link, type Star } from '../lib/netns.js';
import { LossInjector } from '../lib/loss.js';
import { diffCounters, readTcpCounters, type TcpCounters } from '../lib/tcp-counters.js';
import { startHeld, statusWhen, type HeldPeer } from '../lib/traffic.js';
import { agentKernelReady, requireAgentKernel, need } from '../lib/kernel-test.js';
import { startAgent, sumFlows, type AgentHandle, type FlowTotals } from '../lib/agent-process.js';
import type { FlowRecord, ReportV1 } from '../../src/contracts/report.js';

const PORT = 20000 + Math.floor(Math.random() * 20000);
const FIRST = 100_000;
const DOWN = 400_000;
const HOLED = 30_000;
/** Ticks (1 s each) the connection stays idle before each step, so that the tick skips it. */
const IDLE_MS = 3500;
/** How long the blackhole holds: the client's retransmission timer fires at about 0.2, 0.6, 1.4 and 3 s. */
const HOLE_MS = 4000;

let star: Star | null = null;
let agent: AgentHandle | null = null;
let inj: LossInjector | null = null;
const peers: HeldPeer[] = [];

after(async () => {
  await agent?.stop('SIGKILL');
  await inj?.close();
  for (const p of peers) {
    await p.stop();
  }
  await star?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const clientOf = (l: Link) => (f: FlowRecord) =>
  f.direction === 'client' && f.localIp === l.clientIp && f.remoteIp === l.serverIp && f.remotePort === PORT;
const serverOf = (l: Link) => (f: FlowRecord) =>
  f.direction === 'server' && f.localIp === l.serverIp && f.remoteIp === l.clientIp && f.localPort === PORT;

/** Waits until the reports so far satisfy `done` (or a timeout); returns the flow's sum then. */
async function reported(
  reports: ReportV1[],
  pick: (f: FlowRecord) => boolean,
  done: (s: FlowTotals) => boolean,
  timeoutMs: number
): Promise<FlowTotals | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sum = sumFlows(reports, pick);
    if ((sum && done(sum)) || Date.now() > deadline) {
      return sum;
    }
    await sleep(100);
  }
}

interface Results {
  link: Link;
  receiveOnly: FlowTotals | null;
  inHole: FlowTotals | null;
  holeStillOn: boolean;
  counters: TcpCounters;
}
let results: Results | null = null;

before(async () => {
  if (!agentKernelReady()) {
    return;
  }
  star = await createStar(1);
  const link = star.clients[0]!;
  agent = await startAgent(['--collect-interval', '1', '--report-interval', '1']);
  const srv = await startHeld(star.server, 'server', link.serverIp, PORT);
  peers.push(srv);
  const cli = await startHeld(link.ns, 'client', link.serverIp, PORT);
  peers.push(cli);
  await srv.next(); // accepted
  const before = await readTcpCounters(link.ns);
  await cli.command(`send ${FIRST}`);
  await statusWhen<{ received: number }>(srv, (s) => s.received === FIRST);
  await reported(agent.reports, serverOf(link), (s) => s.bytesReceived >= FIRST, 15_000);

  // idle, then the client only receives
  await sleep(IDLE_MS);
  await srv.command(`send ${DOWN}`);
  await statusWhen<{ received: number }>(cli, (s) => s.received === DOWN);
  const receiveOnly = await reported(agent.reports, clientOf(link), (s) => s.bytesReceived >= DOWN, 5_000);

  // idle, then an interval where only the client's retransmission timer moves its socket
  await sleep(IDLE_MS);
  inj = await LossInjector.attach(star.server, link.serverDev);
  await inj.set(0, true);
  const holeStart = Date.now();
  await cli.command(`send ${HOLED}`);
  const inHole = await reported(agent.reports, clientOf(link), (s) => s.rtos >= 2, HOLE_MS - 500);
  const holeStillOn = Date.now() - holeStart < HOLE_MS;
  await sleep(Math.max(0, HOLE_MS - (Date.now() - holeStart)));
  await inj.set(0);
  await statusWhen<{ received: number }>(srv, (s) => s.received === FIRST + HOLED);
  await cli.command('close');
  await sleep(2500);
  const counters = diffCounters(await readTcpCounters(link.ns), before);
  const code = await agent.stop('SIGTERM');
  assert.equal(code, 0, `agent exit code\n${agent.stderr()}`);
  results = { link, receiveOnly, inHole, holeStillOn, counters };
});

function ready(t: TestContext): boolean {
  return requireAgentKernel(t);
}

test('after idle ticks, a receive-only socket reports its bytes while still open', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results);
  t.diagnostic(`client flow before close: ${JSON.stringify(r.receiveOnly)}`);
  assert.equal(r.receiveOnly?.bytesReceived, DOWN, 'the bytes received, reported before any close');
  assert.equal(r.receiveOnly?.connectionsClosed, 0);
});

test('after idle ticks, an interval with only retransmission timeouts is reported while it lasts', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results);
  t.diagnostic(`client flow inside the blackhole: ${JSON.stringify(r.inHole)}`);
  assert.ok(r.holeStillOn, 'the reports were read while the blackhole held');
  assert.ok((r.inHole?.rtos ?? 0) >= 2, `rtos reported inside the blackhole: ${r.inHole?.rtos}`);
  assert.ok((r.inHole?.retransmits ?? 0) >= 2, `retransmits reported inside the blackhole: ${r.inHole?.retransmits}`);
  assert.equal(r.inHole?.bytesSent, FIRST, 'nothing of the held bytes was acknowledged yet');
});

test('in the end: rtos and retransmits equal the namespace counters, bytes the generator', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results);
  const reports = need(agent).reports;
  const cf = need(sumFlows(reports, clientOf(r.link)));
  const sf = need(sumFlows(reports, serverOf(r.link)));
  t.diagnostic(
    `client ${JSON.stringify(cf)}; namespace timeouts ${r.counters.timeouts} retransSegs ${r.counters.retransSegs}`
  );
  assert.ok(r.counters.timeouts >= 2, `the blackhole must cause timeouts (namespace counted ${r.counters.timeouts})`);
  assert.equal(cf.rtos, r.counters.timeouts);
  assert.equal(cf.retransmits, r.counters.retransSegs);
  assert.equal(cf.bytesSent, FIRST + HOLED);
  assert.equal(sf.bytesReceived, FIRST + HOLED);
  assert.equal(cf.bytesReceived, DOWN);
  assert.equal(sf.bytesSent, DOWN);
});
