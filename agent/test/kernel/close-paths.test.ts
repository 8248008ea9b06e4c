/**
 * The close paths of a tracked socket (sock_ops STATE_CB; fl_state for adopted sockets), here without drops.bpf.o
 * (its reset tracepoints not attached), so a reset received
 * on an established connection can only be counted at its close, from sk_err (ECONNRESET), and a refused connect()
 * only at SYN_SENT -> CLOSE. Ground truth: what failgen.py did (a reset the client saw, refused attempts) and the
 * bytes the generators sent.
 *
 *   SO_LINGER 0 close at the server   the client's connection ends by a reset: one reset received at the client
 *   no listener                       every attempt refused at SYN_SENT -> CLOSE
 *   clean short upload beside it      exact bytes, one opening and one close
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test, type TestContext } from 'node:test';
import { createStar, type Star } from '../lib/netns.js';
import { failgen as runFailgen, type ConnectResult } from '../lib/failgen.js';
import { runClient, startServer, type TrafficServer } from '../lib/traffic.js';
import { agentBpfDir, startAgent, sumFailures, sumFlows, type AgentHandle } from '../lib/agent-process.js';
import { bpfDirWithout } from '../../bench/lib/agent.js';
import type { FlowRecord } from '../../src/contracts/report.js';
import { agentKernelReady, requireAgentKernel, need } from '../lib/kernel-test.js';

const BASE = 20000 + Math.floor(Math.random() * 20000);
const P = { closed: BASE, reset: BASE + 1, clean: BASE + 2 };
const ATTEMPTS = 3;
const CLEAN_BYTES = 200_000;
const REPLY = 300;

let star: Star | null = null;
let agent: AgentHandle | null = null;
let bpfDir: string | null = null;
const servers: TrafficServer[] = [];
let results: {
  closed: ConnectResult;
  resetClient: { reset: boolean };
  resetServer: { received: number };
  clean: Record<string, number>;
} | null = null;

after(async () => {
  await agent?.stop('SIGKILL');
  for (const s of servers) {
    await s.close();
  }
  await star?.cleanup();
  if (bpfDir) {
    rmSync(bpfDir, { recursive: true, force: true });
  }
});

function ready(t: TestContext): boolean {
  return requireAgentKernel(t, '/usr/bin/python3');
}

before(async () => {
  if (!agentKernelReady()) {
    return;
  }
  star = await createStar(1);
  const link = star.clients[0]!;
  const srv = star.server;
  servers.push(await startServer(srv, '0.0.0.0', P.clean, REPLY));
  // the agent without drops.bpf.o: no reset tracepoints, no drop hook
  bpfDir = bpfDirWithout(agentBpfDir(), ['drops.bpf.o']);
  agent = await startAgent(['--collect-interval', '1', '--report-interval', '1'], {
    FLOWLENS_BPF_DIR: bpfDir,
    FLOWLENS_ENA_STATS: 'off',
  });
  let listening: () => void = () => undefined;
  const resetListening = new Promise<void>((r) => (listening = r));
  const resetServer = runFailgen<{ received: number }>(star, srv, ['reset-server', String(P.reset)], (m) => {
    if (m.listening) {
      listening();
    }
  });
  await resetListening;
  const [closed, resetClient, , clean] = await Promise.all([
    runFailgen<ConnectResult>(star, link.ns, ['connect', link.serverIp, String(P.closed), String(ATTEMPTS), '5']),
    runFailgen<{ reset: boolean }>(star, link.ns, ['reset-client', link.serverIp, String(P.reset)]),
    resetServer,
    runClient(link.ns, ['upload', '--bytes', String(CLEAN_BYTES), '--host', link.serverIp, '--port', String(P.clean)]),
  ]);
  // two more ticks and reports after the last close
  await new Promise((r) => setTimeout(r, 2500));
  const code = await agent.stop('SIGTERM');
  assert.equal(code, 0, `agent exit code\n${agent.stderr()}`);
  results = { closed, resetClient, resetServer: await resetServer, clean };
});

const clientOf = (port: number) => (f: FlowRecord) => {
  const l = need(star).clients[0]!;
  return f.direction === 'client' && f.localIp === l.clientIp && f.remoteIp === l.serverIp && f.remotePort === port;
};
const serverOf = (port: number) => (f: FlowRecord) => {
  const l = need(star).clients[0]!;
  return f.direction === 'server' && f.localIp === l.serverIp && f.remoteIp === l.clientIp && f.localPort === port;
};

test('a connection ended by a reset it received: counted at its close from sk_err, once, and its bytes exact', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results);
  assert.equal(r.resetClient.reset, true);
  assert.equal(r.resetServer.received, 1000);
  const reports = need(agent).reports;
  const client = sumFailures(reports, clientOf(P.reset));
  const server = sumFailures(reports, serverOf(P.reset));
  t.diagnostic(`server ${JSON.stringify(server)}; client ${JSON.stringify(client)}`);
  assert.equal(client.resetsReceived, 1);
  assert.equal(server.resetsReceived, undefined, 'the server sent the reset');
  // without the reset tracepoints a reset sent is not seen: proof that only the close path counted
  assert.equal(server.resetsSent, undefined);
  assert.equal(client.connectAttempts, 1);
  assert.equal(client.connectFailures, undefined);
  const c = need(sumFlows(reports, clientOf(P.reset)));
  assert.equal(c.bytesSent, 1000);
  assert.equal(c.connectionsOpened, 1);
  assert.equal(c.connectionsClosed, 1);
  assert.equal(need(sumFlows(reports, serverOf(P.reset))).bytesReceived, 1000);
});

test('a port with no listener: every attempt refused, seen at SYN_SENT -> CLOSE', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results);
  assert.equal(r.closed.refused, ATTEMPTS, JSON.stringify(r.closed));
  const client = sumFailures(need(agent).reports, clientOf(P.closed));
  t.diagnostic(`client ${JSON.stringify(client)}`);
  assert.equal(client.connectAttempts, ATTEMPTS);
  assert.equal(client.connectFailures, ATTEMPTS);
  assert.equal(client.connectRefused, ATTEMPTS);
});

test('a clean upload beside them: exact bytes, opened and closed once at each end', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results);
  const reports = need(agent).reports;
  const c = need(sumFlows(reports, clientOf(P.clean)));
  const s = need(sumFlows(reports, serverOf(P.clean)));
  assert.equal(c.bytesSent, CLEAN_BYTES, JSON.stringify(r.clean));
  assert.equal(c.bytesReceived, REPLY);
  assert.equal(s.bytesReceived, CLEAN_BYTES);
  assert.equal(s.bytesSent, REPLY);
  for (const f of [c, s]) {
    assert.equal(f.connectionsOpened, 1);
    assert.equal(f.connectionsClosed, 1);
  }
});
