/**
 * Exact per-flow numbers from the real kernel: test hosts in network namespaces, loss injected at the receiver's
 * ingress by a tc BPF program, ground truth from the traffic generator and each namespace's own TCP counters.
 * Two cases lose part of the handshake (the client's SYN; everything after the SYN for 1.2 s, so the server's
 * SYN-ACK timer fires): their timeouts count as RTOs like the kernel's TCPTimeouts.
 * One agent watches all cases, which run side by side.
 */
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { createStar, wireSizedSegments, type Star } from '../lib/netns.js';
import { LossInjector } from '../lib/loss.js';
import { diffCounters, readTcpCounters, type TcpCounters } from '../lib/tcp-counters.js';
import { runClient, startServer, type TrafficServer } from '../lib/traffic.js';
import { startAgent, sumFlows, type AgentHandle } from '../lib/agent-process.js';
import type { FlowRecord } from '../../src/contracts/report.js';
import { agentKernelReady, requireAgentKernel, need } from '../lib/kernel-test.js';

const MB8 = 8_000_000;
const PORT = 20000 + Math.floor(Math.random() * 20000);
const REPLY = 500;

let star: Star | null = null;
let agent: AgentHandle | null = null;
let server: TrafficServer | null = null;
const injectors: LossInjector[] = [];

after(async () => {
  await agent?.stop('SIGKILL');
  await server?.close();
  for (const inj of injectors) {
    await inj.close();
  }
  await star?.cleanup();
});

interface CaseResult {
  ns: string;
  clientIp: string;
  serverIp: string;
  before: TcpCounters;
  after: TcpCounters;
  client: Record<string, number>;
}

let cases: Record<'lossy' | 'clean' | 'blackhole' | 'short' | 'synloss' | 'synack', CaseResult> | null = null;
let serverDelta: TcpCounters | null = null;
let lossyInjected: { seen: number; dropped: number } | null = null;

function clientFlow(c: CaseResult) {
  return (f: FlowRecord) =>
    f.direction === 'client' && f.localIp === c.clientIp && f.remoteIp === c.serverIp && f.remotePort === PORT;
}
function serverFlow(c: CaseResult) {
  return (f: FlowRecord) =>
    f.direction === 'server' && f.localIp === c.serverIp && f.remoteIp === c.clientIp && f.localPort === PORT;
}

/** Every test first checks the machine: skipped with the reason on a laptop, a failure under CI=true. */
function ready(t: TestContext): boolean {
  return requireAgentKernel(t);
}

before(async () => {
  if (!agentKernelReady()) {
    return;
  }
  star = await createStar(6);
  const [lossy, clean, blackhole, short, synloss, synack] = star.clients as [
    (typeof star.clients)[0],
    (typeof star.clients)[0],
    (typeof star.clients)[0],
    (typeof star.clients)[0],
    (typeof star.clients)[0],
    (typeof star.clients)[0],
  ];
  server = await startServer(star.server, '0.0.0.0', PORT, REPLY);
  await wireSizedSegments(star, lossy);
  const lossInj = await LossInjector.attach(star.server, lossy.serverDev);
  injectors.push(lossInj);
  await lossInj.set(0.03);
  const holeInj = await LossInjector.attach(star.server, blackhole.serverDev);
  injectors.push(holeInj);
  const synInj = await LossInjector.attach(star.server, synloss.serverDev);
  injectors.push(synInj);
  await synInj.syn(1);
  const synackInj = await LossInjector.attach(star.server, synack.serverDev);
  injectors.push(synackInj);
  await synackInj.syn(0, 1200);

  agent = await startAgent(['--collect-interval', '1', '--report-interval', '1']);

  const srvBefore = await readTcpCounters(star.server);
  const run = async (link: typeof lossy, args: string[], whenConnected?: () => Promise<void>): Promise<CaseResult> => {
    const b = await readTcpCounters(link.ns);
    let during: Promise<void> = Promise.resolve();
    const client = await runClient(
      link.ns,
      [...args, '--host', link.serverIp, '--port', String(PORT)],
      90_000,
      whenConnected ? () => (during = whenConnected()) : undefined
    );
    await during;
    // the socket reaches CLOSE a moment after the client process sees EOF
    await new Promise((r) => setTimeout(r, 300));
    const a = await readTcpCounters(link.ns);
    return { ns: link.ns, clientIp: link.clientIp, serverIp: link.serverIp, before: b, after: a, client };
  };
  const [rLossy, rClean, rHole, rShort, rSynloss, rSynack] = await Promise.all([
    run(lossy, ['upload', '--bytes', String(MB8)]),
    run(clean, ['upload', '--bytes', String(MB8)]),
    run(blackhole, ['upload', '--bytes', '3000000', '--chunk', '50000', '--pace-ms', '20'], async () => {
      await new Promise((r) => setTimeout(r, 300));
      await holeInj.set(0, true);
      await new Promise((r) => setTimeout(r, 1500));
      await holeInj.set(0, false);
    }),
    run(short, ['short', '--count', '50', '--bytes', '1000']),
    run(synloss, ['upload', '--bytes', '200000']),
    run(synack, ['upload', '--bytes', '200000']),
  ]);
  await new Promise((r) => setTimeout(r, 300));
  serverDelta = diffCounters(await readTcpCounters(star.server), srvBefore);
  lossyInjected = await lossInj.stats();
  const code = await agent.stop('SIGTERM');
  assert.equal(code, 0, `agent exit code\n${agent.stderr()}`);
  cases = { lossy: rLossy, clean: rClean, blackhole: rHole, short: rShort, synloss: rSynloss, synack: rSynack };
});

test('8 MB upload over 3% loss: exact bytes on both ends, retransmits equal the namespace TcpRetransSegs', (t) => {
  if (!ready(t)) {
    return;
  }
  const c = need(cases).lossy;
  const injected = need(lossyInjected);
  const reports = need(agent).reports;
  const cf = need(sumFlows(reports, clientFlow(c)));
  const sf = need(sumFlows(reports, serverFlow(c)));
  const nsDelta = diffCounters(c.after, c.before);
  t.diagnostic(
    `lossy: injector ${JSON.stringify(injected)} agent ${JSON.stringify(cf)} namespace ${JSON.stringify(nsDelta)}`
  );
  // the loss applies to wire-sized segments (8 MB is ~5,500 of them), not to a hundred GSO super-packets
  assert.ok(injected.seen >= 5000, `the injector saw ${injected.seen} TCP packets: segmentation offloads still on?`);
  assert.ok(injected.dropped >= injected.seen * 0.01, `the injector dropped ${injected.dropped} of ${injected.seen}`);
  assert.equal(c.client.sent, MB8);
  assert.equal(c.client.received, REPLY);
  assert.equal(cf.bytesSent, MB8);
  assert.equal(cf.bytesReceived, REPLY);
  assert.equal(sf.bytesReceived, MB8);
  assert.equal(sf.bytesSent, REPLY);
  assert.ok(nsDelta.retransSegs > 0, `3% loss must cause retransmits (namespace counted ${nsDelta.retransSegs})`);
  assert.equal(cf.retransmits, nsDelta.retransSegs);
  assert.equal(cf.rtos, nsDelta.timeouts);
  assert.equal(cf.connectionsOpened, 1);
  assert.equal(cf.connectionsClosed, 1);
  assert.equal(sf.connectionsOpened, 1);
  assert.equal(sf.connectionsClosed, 1);
  assert.equal(cf.localPort, 0);
  assert.equal(sf.remotePort, 0);
});

test('a clean 8 MB upload beside it matches its own namespace counters (spurious retransmits counted)', (t) => {
  if (!ready(t)) {
    return;
  }
  const c = need(cases).clean;
  const reports = need(agent).reports;
  const cf = need(sumFlows(reports, clientFlow(c)));
  const sf = need(sumFlows(reports, serverFlow(c)));
  const nsDelta = diffCounters(c.after, c.before);
  t.diagnostic(
    `clean: agent retransmits ${cf.retransmits} rtos ${cf.rtos}, namespace ${nsDelta.retransSegs} / ${nsDelta.timeouts}`
  );
  assert.equal(cf.bytesSent, MB8);
  assert.equal(sf.bytesReceived, MB8);
  assert.equal(cf.retransmits, nsDelta.retransSegs);
  assert.equal(cf.rtos, nsDelta.timeouts);
});

test('a paced upload through a 1.5 s blackhole: rtos equal the namespace TCPTimeouts (at least 1)', (t) => {
  if (!ready(t)) {
    return;
  }
  const c = need(cases).blackhole;
  const reports = need(agent).reports;
  const cf = need(sumFlows(reports, clientFlow(c)));
  const sf = need(sumFlows(reports, serverFlow(c)));
  const nsDelta = diffCounters(c.after, c.before);
  t.diagnostic(
    `blackhole: agent rtos ${cf.rtos} retransmits ${cf.retransmits}, namespace ${nsDelta.timeouts} / ${nsDelta.retransSegs}`
  );
  assert.ok(nsDelta.timeouts >= 1, `the blackhole must cause a timeout (namespace counted ${nsDelta.timeouts})`);
  assert.equal(cf.rtos, nsDelta.timeouts);
  assert.equal(cf.retransmits, nsDelta.retransSegs);
  assert.equal(cf.bytesSent, 3_000_000);
  assert.equal(sf.bytesReceived, 3_000_000);
});

test('50 short connections: connectionsOpened 50 and their exact bytes', (t) => {
  if (!ready(t)) {
    return;
  }
  const c = need(cases).short;
  const reports = need(agent).reports;
  const cf = need(sumFlows(reports, clientFlow(c)));
  const sf = need(sumFlows(reports, serverFlow(c)));
  const expectedSent = 50 * 1000 + (49 * 50) / 2;
  assert.equal(c.client.sent, expectedSent);
  assert.equal(cf.connectionsOpened, 50);
  assert.equal(cf.connectionsClosed, 50);
  assert.equal(sf.connectionsOpened, 50);
  assert.equal(sf.connectionsClosed, 50);
  assert.equal(cf.bytesSent, expectedSent);
  assert.equal(cf.bytesReceived, 50 * REPLY);
  assert.equal(sf.bytesReceived, expectedSent);
  assert.equal(sf.bytesSent, 50 * REPLY);
  assert.equal(cf.retransmits, diffCounters(c.after, c.before).retransSegs);
});

test("the client's first SYN lost: its timeout and retransmit counted, equal to the client namespace's (at least 1)", (t) => {
  if (!ready(t)) {
    return;
  }
  const c = need(cases).synloss;
  const reports = need(agent).reports;
  const cf = need(sumFlows(reports, clientFlow(c)));
  const sf = need(sumFlows(reports, serverFlow(c)));
  const nsDelta = diffCounters(c.after, c.before);
  t.diagnostic(
    `synloss: agent rtos ${cf.rtos} retransmits ${cf.retransmits}, namespace ${nsDelta.timeouts} / ${nsDelta.retransSegs}`
  );
  assert.ok(nsDelta.timeouts >= 1, `the lost SYN must time out (namespace counted ${nsDelta.timeouts})`);
  assert.equal(cf.rtos, nsDelta.timeouts);
  assert.equal(cf.retransmits, nsDelta.retransSegs);
  assert.equal(cf.bytesSent, 200_000);
  assert.equal(sf.bytesReceived, 200_000);
});

test("the handshake's last ACK lost: the server's SYN-ACK timeout counted on its flow, the client's RTOs equal its namespace's", (t) => {
  if (!ready(t)) {
    return;
  }
  const c = need(cases).synack;
  const reports = need(agent).reports;
  const cf = need(sumFlows(reports, clientFlow(c)));
  const sf = need(sumFlows(reports, serverFlow(c)));
  const nsDelta = diffCounters(c.after, c.before);
  t.diagnostic(
    `synack: server flow rtos ${sf.rtos} retransmits ${sf.retransmits}; client agent ${cf.rtos} / ${cf.retransmits}, ` +
      `namespace ${nsDelta.timeouts} / ${nsDelta.retransSegs}`
  );
  // the server namespace is shared by every case: its total is checked below, with every server flow
  assert.ok(sf.rtos >= 1, `the SYN-ACK timer must fire and count (server flow rtos ${sf.rtos})`);
  assert.ok(sf.retransmits >= 1, `the SYN-ACK must be retransmitted (server flow retransmits ${sf.retransmits})`);
  assert.equal(cf.rtos, nsDelta.timeouts);
  assert.equal(cf.retransmits, nsDelta.retransSegs);
  assert.equal(cf.bytesSent, 200_000);
  assert.equal(sf.bytesReceived, 200_000);
});

test("the server's flows together retransmit exactly what the server namespace counted", (t) => {
  if (!ready(t)) {
    return;
  }
  const all = need(cases);
  const reports = need(agent).reports;
  const delta = need(serverDelta);
  let retrans = 0;
  let rtos = 0;
  for (const c of Object.values(all)) {
    const sf = sumFlows(reports, serverFlow(c));
    retrans += sf?.retransmits ?? 0;
    rtos += sf?.rtos ?? 0;
  }
  t.diagnostic(`server side: agent ${retrans} / ${rtos}, namespace ${delta.retransSegs} / ${delta.timeouts}`);
  assert.equal(retrans, delta.retransSegs);
  assert.equal(rtos, delta.timeouts);
});

test('every report is valid v1 and the reports tile time without gaps', (t) => {
  if (!ready(t)) {
    return;
  }
  const reports = need(agent).reports;
  assert.ok(reports.length >= 2);
  for (let i = 1; i < reports.length; i++) {
    assert.equal(reports[i]!.start, reports[i - 1]!.end);
  }
});
