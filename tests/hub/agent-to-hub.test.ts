/**
 * End to end through the real kernel collector: `flowlens-agent node --hub URL` (real eBPF) watches uploads
 * between two network namespaces while the hub is stopped for a while and started again. The hub's merged
 * bytes for the flow must equal exactly what the client sent plus what the server answered, every
 * connection counted once although both ends were reported.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { CLI as AGENT_CLI, bpfArtifactPaths } from '../../agent/test/lib/agent-process.js';
import { createStar } from '../../agent/test/lib/netns.js';
import { requireBinary, requireKernel } from '../../agent/test/lib/privileges.js';
import { runClient, startServer } from '../../agent/test/lib/traffic.js';
import { REPO_ROOT, restartHubProcess, startHubProcess, type HubProcess } from '../lib/hub-process';

const PORT = 7811;
const REPLY = 4321;
const REPORT_S = 1;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(200);
  }
}

test('agent → hub through the real collector, across a hub outage: totals equal the traffic', async (t) => {
  if (!requireKernel(t) || !bpfArtifactPaths().every((p) => requireBinary(t, p))) {
    return;
  }
  const t0 = Date.now();
  const star = await createStar(1);
  let hub: HubProcess | undefined;
  const server = await startServer(star.server, '0.0.0.0', PORT, REPLY);
  const agent = { stderr: '', exited: Promise.resolve<number | null>(null), kill: (_s: NodeJS.Signals) => {} };
  try {
    hub = await startHubProcess();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        AGENT_CLI,
        'node',
        '--hub',
        hub.url,
        '--report-interval',
        String(REPORT_S),
        '--collect-interval',
        '1',
        '--node-name',
        'e2e-node',
      ],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, FLOWLENS_HUB_INGEST_TOKEN: hub.ingestToken },
      }
    );
    agent.exited = new Promise((r) => child.on('exit', (code) => r(code)));
    agent.kill = (s) => child.kill(s);
    child.stderr!.on('data', (d: Buffer) => (agent.stderr += d.toString()));
    await until('the agent to attach', async () => {
      if (child.exitCode !== null) {
        throw new Error(`agent exited:\n${agent.stderr}`);
      }
      return /(sock_ops|state) program \d+ attached/.test(agent.stderr);
    });

    const link = star.clients[0]!;
    const upload = (bytes: number) =>
      runClient<{ sent: number; received: number }>(link.ns, [
        'upload',
        '--bytes',
        String(bytes),
        '--host',
        link.serverIp,
        '--port',
        String(PORT),
      ]);
    let sent = 0;
    let received = 0;
    const add = (r: { sent: number; received: number }) => {
      sent += r.sent;
      received += r.received;
    };

    add(await upload(2_000_000));
    await until('a first report at the hub', async () => (await hub!.get('/api/v1/health')).body.reports.accepted > 0);

    await hub.stop(); // outage: the agent keeps collecting and queues its reports
    add(await upload(3_000_000));
    add(await upload(500_000));
    await sleep(4 * REPORT_S * 1000);

    hub = await restartHubProcess(hub);
    await until('the queued reports', async () => (await hub!.get('/api/v1/health')).body.reports.accepted >= 3);
    add(await upload(1_000_000));
    await sleep(3 * REPORT_S * 1000 + 500); // the last tick and report
    agent.kill('SIGTERM');
    assert.equal(await agent.exited, 0, `agent exit code\n${agent.stderr}`);

    assert.equal(sent, 6_500_000);
    assert.equal(received, 4 * REPLY);
    const res = await hub.get(`/api/v1/top-contributors?from=${t0 - 60_000}&to=${Date.now() + 60_000}&limit=500`);
    assert.equal(res.status, 200);
    const rows = (
      res.body.rows as Array<{ local: { ip: string }; remote: { ip: string }; serverPort: number; bytes: number }>
    ).filter((r) => r.local.ip === link.clientIp && r.remote.ip === link.serverIp && r.serverPort === PORT);
    assert.equal(rows.length, 1, 'one flow, though both ends were reported');
    assert.equal(rows[0]!.bytes, sent + received, 'bytes both ways, each counted once, nothing lost in the outage');
  } finally {
    agent.kill('SIGKILL');
    await agent.exited;
    await server.close();
    await star.cleanup();
    await hub?.cleanup();
  }
});
