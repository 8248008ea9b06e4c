/**
 * What a node that has been up for a month needs, against ground truth from the generators and the kernel:
 *  - a connection opened BEFORE the agent starts is adopted: exactly what it carries afterwards is reported, at both
 *    ends, with the server end found from the kernel (its port listens), and nothing of what it carried before;
 *  - an upload and a download held open report their bytes before they close (the receive-only end too);
 *  - an IPv6 transfer is exact;
 *  - TCP Fast Open: data carried in the SYN is counted exactly once on each side;
 *  - loopback flows (127.0.0.1 and ::1) are reported like any other (the hub treats them as the node's own).
 * One agent watches all cases.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test, type TestContext } from 'node:test';
import { kernelPrerequisiteProblem } from '../lib/privileges.js';
import { createStar, type Link, type Star } from '../lib/netns.js';
import { diffCounters, readTcpCounters, type TcpCounters } from '../lib/tcp-counters.js';
import { runClient, startHeld, startServer, statusWhen, type HeldPeer, type TrafficServer } from '../lib/traffic.js';
import { bpfArtifactPaths, startAgent, sumFlows, type AgentHandle, type FlowTotals } from '../lib/agent-process.js';
import type { FlowRecord, ReportV1 } from '../../src/contracts/report.js';
import { requireAgentKernel, need } from '../lib/kernel-test.js';

const TFO = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'tfo.py');
const PORT = 20000 + Math.floor(Math.random() * 20000);
const BEFORE_UP = 1_000_000;
const BEFORE_DOWN = 700_000;
const UPLOAD = 3_000_000;
const DOWNLOAD = 2_000_000;
const V6_BYTES = 3_000_000;
const TFO_CONNS = 6;
const TFO_BYTES = 1000;
const TFO_REPLY = 500;
const LOOPBACK_BYTES = 1_000_000;

let star: Star | null = null;
let agent: AgentHandle | null = null;
const peers: HeldPeer[] = [];
const servers: TrafficServer[] = [];
const children: ChildProcess[] = [];

after(async () => {
  await agent?.stop('SIGKILL');
  for (const p of peers) {
    await p.stop();
  }
  for (const s of servers) {
    await s.close();
  }
  for (const c of children) {
    c.kill('SIGKILL');
  }
  await star?.cleanup();
});

const clientOf = (l: { clientIp: string; serverIp: string }, port: number) => (f: FlowRecord) =>
  f.direction === 'client' && f.localIp === l.clientIp && f.remoteIp === l.serverIp && f.remotePort === port;
const serverOf = (l: { clientIp: string; serverIp: string }, port: number) => (f: FlowRecord) =>
  f.direction === 'server' && f.localIp === l.serverIp && f.remoteIp === l.clientIp && f.localPort === port;

/** Waits until the reports so far sum `pick`'s flows to at least `want` of `field`; returns the sum then. */
async function reportedBy(
  reports: ReportV1[],
  pick: (f: FlowRecord) => boolean,
  field: 'bytesSent' | 'bytesReceived',
  want: number,
  timeoutMs = 15_000
): Promise<FlowTotals | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sum = sumFlows(reports, pick);
    if ((sum && sum[field] >= want) || Date.now() > deadline) {
      return sum;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Results {
  adopt: {
    link: Link;
    uploadBeforeClose: FlowTotals | null;
    downloadBeforeClose: FlowTotals | null;
    uploadClosedBeforeClose: number;
    downloadClosedBeforeClose: number;
  };
  v6: { clientIp: string; serverIp: string; port: number; client: Record<string, number> };
  tfo: {
    link: Link;
    port: number;
    client: { sent: number; received: number };
    counters: TcpCounters;
    srv: TcpCounters;
  };
  loopback: Array<{ ip: string; port: number; sent: number }>;
}
let results: Results | null = null;

function ready(t: TestContext): boolean {
  return requireAgentKernel(t, '/usr/bin/python3');
}

function startTfoServer(ns: string, host: string, port: number): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', TFO, 'server', host, String(port), String(TFO_REPLY)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tfo server did not start')), 10_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('listening')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
  });
}

function runTfoClient(ns: string, host: string, port: number): Promise<{ sent: number; received: number }> {
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, 'python3', TFO, 'client', host, String(port), String(TFO_CONNS), String(TFO_BYTES)],
    { stdio: ['ignore', 'pipe', 'pipe'] }
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(stdout.trim()) as never) : reject(new Error(`tfo client: ${stderr}`))
    )
  );
}

before(async () => {
  if (
    kernelPrerequisiteProblem() !== null ||
    !bpfArtifactPaths().every((p) => existsSync(p)) ||
    !existsSync('/usr/bin/python3')
  ) {
    return;
  }
  star = await createStar(3);
  const [held, v6link, tfoLink] = star.clients as [Link, Link, Link];

  // 1. a connection that exists before the agent, already carrying data both ways
  const srv = await startHeld(star.server, 'server', held.serverIp, PORT);
  peers.push(srv);
  const cli = await startHeld(held.ns, 'client', held.serverIp, PORT);
  peers.push(cli);
  await srv.next(); // accepted
  await cli.command(`send ${BEFORE_UP}`);
  await srv.command(`send ${BEFORE_DOWN}`);
  await statusWhen<{ received: number }>(srv, (s) => s.received === BEFORE_UP);
  await statusWhen<{ received: number }>(cli, (s) => s.received === BEFORE_DOWN);

  // IPv6 and Fast Open set-up (inside the namespaces only)
  const [v6srv, v6cli] = [
    `fd${PORT.toString(16).slice(-2)}:${PORT.toString(16)}::1`,
    `fd${PORT.toString(16).slice(-2)}:${PORT.toString(16)}::2`,
  ];
  await star.exec(star.server, ['ip', '-6', 'addr', 'add', `${v6srv}/64`, 'dev', v6link.serverDev, 'nodad']);
  await star.exec(v6link.ns, ['ip', '-6', 'addr', 'add', `${v6cli}/64`, 'dev', v6link.clientDev, 'nodad']);
  for (const ns of [star.server, tfoLink.ns]) {
    await star.exec(ns, ['sysctl', '-qw', 'net.ipv4.tcp_fastopen=3']);
  }
  const v6server = await startServer(star.server, '::', PORT + 1, 0);
  servers.push(v6server);
  await startTfoServer(star.server, tfoLink.serverIp, PORT + 2);
  for (const [i, ip] of ['127.0.0.1', '::1'].entries()) {
    servers.push(await startServer(star.server, ip, PORT + 3 + i, 0));
  }

  agent = await startAgent(['--collect-interval', '1', '--report-interval', '1']);

  // 2. after the agent started: an upload held open, then a download held open, then close
  await cli.command(`send ${UPLOAD}`);
  await statusWhen<{ received: number }>(srv, (s) => s.received === BEFORE_UP + UPLOAD);
  const uploadBeforeClose = await reportedBy(agent.reports, serverOf(held, PORT), 'bytesReceived', UPLOAD);
  const uploadClosedBeforeClose = sumFlows(agent.reports, serverOf(held, PORT))?.connectionsClosed ?? -1;
  await srv.command(`send ${DOWNLOAD}`);
  await statusWhen<{ received: number }>(cli, (s) => s.received === BEFORE_DOWN + DOWNLOAD);
  const downloadBeforeClose = await reportedBy(agent.reports, clientOf(held, PORT), 'bytesReceived', DOWNLOAD);
  const downloadClosedBeforeClose = sumFlows(agent.reports, clientOf(held, PORT))?.connectionsClosed ?? -1;
  await cli.command('close');

  // 3. IPv6 and Fast Open transfers
  const v6 = await runClient(v6link.ns, [
    'upload',
    '--bytes',
    String(V6_BYTES),
    '--host',
    v6srv,
    '--port',
    String(PORT + 1),
  ]);
  const tfoBefore = await readTcpCounters(tfoLink.ns);
  const srvBefore = await readTcpCounters(star.server);
  const tfoClient = await runTfoClient(tfoLink.ns, tfoLink.serverIp, PORT + 2);
  await new Promise((r) => setTimeout(r, 1500));
  const counters = diffCounters(await readTcpCounters(tfoLink.ns), tfoBefore);
  const srvCounters = diffCounters(await readTcpCounters(star.server), srvBefore);

  const loopback: Results['loopback'] = [];
  for (const [i, ip] of ['127.0.0.1', '::1'].entries()) {
    const r = await runClient(star.server, [
      'upload',
      '--bytes',
      String(LOOPBACK_BYTES),
      '--host',
      ip,
      '--port',
      String(PORT + 3 + i),
    ]);
    loopback.push({ ip, port: PORT + 3 + i, sent: r.sent! });
  }
  await new Promise((r) => setTimeout(r, 1500));

  const code = await agent.stop('SIGTERM');
  assert.equal(code, 0, `agent exit code\n${agent.stderr()}`);
  results = {
    adopt: { link: held, uploadBeforeClose, downloadBeforeClose, uploadClosedBeforeClose, downloadClosedBeforeClose },
    v6: { clientIp: v6cli, serverIp: v6srv, port: PORT + 1, client: v6 },
    tfo: { link: tfoLink, port: PORT + 2, client: tfoClient, counters, srv: srvCounters },
    loopback,
  };
});

test('a connection opened before the agent: exactly what it carries afterwards, at both ends, server end from the kernel', (t) => {
  if (!ready(t)) {
    return;
  }
  const { link } = need(results).adopt;
  const reports = need(agent).reports;
  const mine = reports.flatMap((r) =>
    r.flows.filter((f) => [f.localIp, f.remoteIp].includes(link.clientIp)).map((f) => ({ end: r.end, ...f }))
  );
  t.diagnostic(`flows of this connection: ${JSON.stringify(mine)}`);
  const cf = need(sumFlows(reports, clientOf(link, PORT)));
  const sf = need(sumFlows(reports, serverOf(link, PORT)));
  t.diagnostic(`client ${JSON.stringify(cf)} server ${JSON.stringify(sf)}`);
  assert.equal(cf.bytesSent, UPLOAD, 'client sent (nothing of the bytes before the agent)');
  assert.equal(sf.bytesReceived, UPLOAD, 'server received');
  assert.equal(sf.bytesSent, DOWNLOAD);
  assert.equal(cf.bytesReceived, DOWNLOAD);
  assert.equal(cf.connectionsOpened, 0, 'opened before the agent: not a new connection');
  assert.equal(sf.connectionsOpened, 0);
  assert.equal(cf.connectionsClosed, 1);
  assert.equal(sf.connectionsClosed, 1);
  // no flow of this connection with the directions swapped (the server end is found from its listening port)
  assert.equal(
    sumFlows(reports, (f) => f.localIp === link.serverIp && f.remoteIp === link.clientIp && f.direction === 'client'),
    null
  );
});

test('an upload and a download held open report their bytes before they close', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results).adopt;
  assert.equal(r.uploadBeforeClose?.bytesReceived, UPLOAD, 'receive-only server end reported while open');
  assert.equal(r.uploadClosedBeforeClose, 0);
  assert.equal(r.downloadBeforeClose?.bytesReceived, DOWNLOAD, 'receive-only client end reported while open');
  assert.equal(r.downloadClosedBeforeClose, 0);
});

test('an IPv6 transfer is exact on both ends', (t) => {
  if (!ready(t)) {
    return;
  }
  const v6 = need(results).v6;
  assert.equal(v6.client.sent, V6_BYTES);
  const reports = need(agent).reports;
  const cf = need(sumFlows(reports, clientOf(v6, v6.port)));
  const sf = need(sumFlows(reports, serverOf(v6, v6.port)));
  assert.equal(cf.bytesSent, V6_BYTES);
  assert.equal(sf.bytesReceived, V6_BYTES);
  assert.equal(cf.connectionsOpened, 1);
  assert.equal(cf.connectionsClosed, 1);
  assert.equal(sf.connectionsOpened, 1);
});

test('TCP Fast Open: the data carried in SYNs is counted exactly once on each side', (t) => {
  if (!ready(t)) {
    return;
  }
  const r = need(results).tfo;
  t.diagnostic(`client namespace ${JSON.stringify(r.counters)} server namespace ${JSON.stringify(r.srv)}`);
  assert.equal(r.client.sent, TFO_CONNS * TFO_BYTES);
  assert.equal(r.client.received, TFO_CONNS * TFO_REPLY);
  // the first connection fetches the cookie; the others carry their data in the SYN
  assert.ok(r.counters.fastOpenActive >= TFO_CONNS - 1, `TCPFastOpenActive ${r.counters.fastOpenActive}`);
  const reports = need(agent).reports;
  const cf = need(sumFlows(reports, clientOf(r.link, r.port)));
  const sf = need(sumFlows(reports, serverOf(r.link, r.port)));
  assert.equal(cf.bytesSent, TFO_CONNS * TFO_BYTES);
  assert.equal(cf.bytesReceived, TFO_CONNS * TFO_REPLY);
  assert.equal(sf.bytesReceived, TFO_CONNS * TFO_BYTES);
  assert.equal(sf.bytesSent, TFO_CONNS * TFO_REPLY);
  assert.equal(cf.connectionsOpened, TFO_CONNS);
  assert.equal(sf.connectionsClosed, TFO_CONNS);
});

test('loopback flows (127.0.0.1 and ::1) are reported exactly, at both ends', (t) => {
  if (!ready(t)) {
    return;
  }
  const reports = need(agent).reports;
  for (const l of need(results).loopback) {
    assert.equal(l.sent, LOOPBACK_BYTES);
    const link = { clientIp: l.ip, serverIp: l.ip };
    const cf = need(sumFlows(reports, clientOf(link, l.port)));
    const sf = need(sumFlows(reports, serverOf(link, l.port)));
    assert.equal(cf.bytesSent, LOOPBACK_BYTES, `${l.ip} client`);
    assert.equal(sf.bytesReceived, LOOPBACK_BYTES, `${l.ip} server`);
    assert.equal(cf.connectionsOpened, 1);
    assert.equal(sf.connectionsClosed, 1);
  }
});
