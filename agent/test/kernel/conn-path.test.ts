/**
 * Which program registers connections, and a Fast Open server child that never leaves SYN_RECV for ESTABLISHED.
 *
 *  - On a kernel with tcp_sock.total_rto (Linux >= 6.7, this machine) the loader loads no sock_ops program at all:
 *    fl_state (inet_sock_set_state) registers and closes every connection. Checked from the kernel's side: of the
 *    programs the agent's processes hold (their fds: bench/lib/bpf-programs.ts), none is a sock_ops program and
 *    none is attached to a cgroup, and the program the agent names is fl_state. Older kernels keep sock_ops
 *    (qemu.test.ts checks the path on 6.1 and 6.12).
 *  - A Fast Open server child, registered by fl_state as it leaves SYN_RECV, whichever way it leaves: the
 *    client's ACKs are dropped (iptables in the client's namespace), so the child stays in SYN_RECV after taking
 *    the SYN's data; then the server either aborts it (SO_LINGER 0: SYN_RECV -> CLOSE) or sends its reply and
 *    closes it (SYN_RECV -> FIN_WAIT1), after which the ACKs are let through and the connection ends cleanly.
 *    Ground truth: the bytes the generators sent and received.
 */
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test, type TestContext } from 'node:test';
import { createStar, type Link, type Star } from '../lib/netns.js';
import { startAgent, sumFlows, type AgentHandle, type FlowTotals } from '../lib/agent-process.js';
import type { FlowRecord, ReportV1 } from '../../src/contracts/report.js';
import { agentKernelReady, need, requireAgentKernel } from '../lib/kernel-test.js';
import { agentPrograms, type ProgramInfo } from '../../bench/lib/bpf-programs.js';

const BPFTOOL = '/usr/sbin/bpftool';
const TFO = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'tfo.py');
const PORT = 20000 + Math.floor(Math.random() * 20000);
const P = { abort: PORT, close: PORT + 1 };
const SYN_DATA = 700; // one segment: all of it rides in the SYN
const REPLY = 1234;

let star: Star | null = null;
let agent: AgentHandle | null = null;
const children: ChildProcess[] = [];

interface ClientResult {
  sent: number;
  received: number;
  reset: boolean;
}

let results: {
  programs: ProgramInfo[];
  abort: { client: ClientResult; serverReceived: number; before: FlowTotals | null };
  close: { client: ClientResult; serverReceived: number; before: FlowTotals | null };
} | null = null;

after(async () => {
  await agent?.stop('SIGKILL');
  for (const c of children) {
    c.kill('SIGKILL');
  }
  await star?.cleanup();
});

function ready(t: TestContext): boolean {
  return requireAgentKernel(t, '/usr/bin/python3', BPFTOOL, '/usr/sbin/iptables');
}

/** total_rto entered struct tcp_sock in Linux 6.7. */
function hasTotalRto(rel: string): boolean {
  const [major = 0, minor = 0] = rel.split(/[.-]/).map(Number);
  return major > 6 || (major === 6 && minor >= 7);
}

/** A Python generator in `ns`; resolves with its stdout lines as they come. */
function python(ns: string, args: string[]): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = need(star).spawnIn(ns, ['python3', TFO, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { child, lines };
}

async function nextJson<T>(it: AsyncIterator<string>, what: string): Promise<T> {
  const timer = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what}: no output`)), 30_000));
  const r = await Promise.race([it.next(), timer]);
  assert.ok(!r.done, `${what} ended without output`);
  return JSON.parse(r.value) as T;
}

const serverOf = (l: Link, port: number) => (f: FlowRecord) =>
  f.direction === 'server' && f.localIp === l.serverIp && f.remoteIp === l.clientIp && f.localPort === port;
const clientOf = (l: Link, port: number) => (f: FlowRecord) =>
  f.direction === 'client' && f.localIp === l.clientIp && f.remoteIp === l.serverIp && f.remotePort === port;

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One Fast Open connection whose server child leaves SYN_RECV by `mode` while the client's ACKs are dropped. */
async function synRecvCase(link: Link, port: number, mode: 'abort' | 'close', reports: ReportV1[]) {
  const s = need(star);
  const srv = python(s.server, ['server-once', link.serverIp, String(port), String(REPLY), mode]);
  await nextJson(srv.lines, 'tfo server');
  // everything the client sends to this port but its SYN is dropped: the server child stays in SYN_RECV
  const rule = ['OUTPUT', '-p', 'tcp', '--dport', String(port), '--tcp-flags', 'SYN', 'NONE', '-j', 'DROP'];
  await s.exec(link.ns, ['iptables', '-A', ...rule]);
  const cli = python(link.ns, ['client-once', link.serverIp, String(port), String(SYN_DATA)]);
  const { received } = await nextJson<{ received: number }>(srv.lines, 'tfo server');
  // the child's opening and the SYN's data are reported before it could ever have become ESTABLISHED
  await until(() => (sumFlows(reports, serverOf(link, port))?.bytesReceived ?? 0) >= SYN_DATA);
  const before = sumFlows(reports, serverOf(link, port));
  await s.exec(link.ns, ['iptables', '-D', ...rule]);
  const client = await nextJson<ClientResult>(cli.lines, 'tfo client');
  srv.child.stdin?.end();
  return { client, serverReceived: received, before };
}

before(async () => {
  if (!agentKernelReady()) {
    return;
  }
  star = await createStar(1);
  const link = star.clients[0]!;
  // Fast Open without cookies: the first SYN carries data (client 0x1|0x4, server 0x2|0x200)
  for (const ns of [star.server, link.ns]) {
    await star.exec(ns, ['sysctl', '-qw', 'net.ipv4.tcp_fastopen=519']);
  }
  agent = await startAgent(['--collect-interval', '1', '--report-interval', '1']);
  const programs = await agentPrograms(need(agent.child.pid));
  const abort = await synRecvCase(link, P.abort, 'abort', agent.reports);
  const close = await synRecvCase(link, P.close, 'close', agent.reports);
  // the second connection's end (the server's FIN retransmitted once the ACKs pass) and two more ticks
  await until(() => (sumFlows(agent!.reports, serverOf(link, P.close))?.connectionsClosed ?? 0) >= 1);
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(await agent.stop('SIGTERM'), 0, agent.stderr());
  results = { programs, abort, close };
});

test('a kernel with tcp_sock.total_rto: no sock_ops program loaded, fl_state registers connections', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results);
  const a = need(agent);
  const ours = r.programs;
  t.diagnostic(
    `kernel ${release()}; path ${a.connPath}; our programs ${ours.map((p) => `${p.type}:${p.name}[${p.links}]`)}`
  );
  assert.ok(
    ours.some((p) => p.name === 'fl_state'),
    'the agent holds its programs (found from its fds)'
  );
  const expectState = hasTotalRto(release());
  assert.equal(a.connPath, expectState ? 'state' : 'sockops');
  const sockOps = ours.filter((p) => p.type === 'sock_ops' || p.links.includes('cgroup'));
  assert.equal(
    sockOps.length,
    expectState ? 0 : 1,
    expectState ? 'no sock_ops program where total_rto exists' : 'sock_ops where total_rto is missing'
  );
  const named = ours.find((p) => p.id === a.progId);
  assert.equal(named?.name, expectState ? 'fl_state' : 'fl_sockops', 'the program the agent names is that path');
});

test('a Fast Open server child aborted in SYN_RECV (-> CLOSE): opened, closed and its SYN data exact', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results).abort;
  const link = need(star).clients[0]!;
  const reports = need(agent).reports;
  const srv = sumFlows(reports, serverOf(link, P.abort));
  const cli = sumFlows(reports, clientOf(link, P.abort));
  assert.ok(srv, "the server child's flow is reported");
  assert.ok(cli, "the client's flow is reported");
  t.diagnostic(
    `client ${JSON.stringify(r.client)}; server flow ${JSON.stringify(srv)}; client flow ${JSON.stringify(cli)}`
  );
  assert.equal(r.client.sent, SYN_DATA);
  assert.equal(r.serverReceived, SYN_DATA);
  assert.equal(r.client.reset, true, 'the abort reached the client as a reset');
  assert.equal(srv.bytesReceived, SYN_DATA);
  assert.equal(srv.bytesSent, 0);
  assert.equal(srv.connectionsOpened, 1);
  assert.equal(srv.connectionsClosed, 1);
  assert.equal(cli.bytesSent, SYN_DATA, "the SYN-ACK acknowledged the SYN's data");
  assert.equal(cli.connectionsOpened, 1);
  assert.equal(cli.connectionsClosed, 1);
});

test('a Fast Open server child that replies and closes in SYN_RECV (-> FIN_WAIT1): counted before and after', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results).close;
  const link = need(star).clients[0]!;
  const reports = need(agent).reports;
  const srv = sumFlows(reports, serverOf(link, P.close));
  const cli = sumFlows(reports, clientOf(link, P.close));
  assert.ok(srv, "the server child's flow is reported");
  assert.ok(cli, "the client's flow is reported");
  t.diagnostic(
    `client ${JSON.stringify(r.client)}; server flow before the ACKs ${JSON.stringify(r.before)}, at the end ${JSON.stringify(srv)}`
  );
  assert.equal(r.serverReceived, SYN_DATA);
  assert.equal(r.client.received, REPLY);
  assert.equal(r.client.reset, false);
  // while the child was still in SYN_RECV (FIN_WAIT1 from there): registered, its SYN's data counted
  assert.equal(r.before?.connectionsOpened, 1);
  assert.equal(r.before?.bytesReceived, SYN_DATA);
  assert.equal(r.before?.connectionsClosed, 0);
  assert.equal(srv.bytesReceived, SYN_DATA);
  assert.equal(srv.bytesSent, REPLY, 'the reply sent in SYN_RECV, acknowledged once the ACKs passed');
  assert.equal(srv.connectionsOpened, 1);
  assert.equal(srv.connectionsClosed, 1);
  assert.equal(cli.bytesReceived, REPLY);
  assert.equal(cli.bytesSent, SYN_DATA);
  assert.equal(cli.connectionsClosed, 1);
});
