/**
 * The agent stays out of the way: by default it does not switch on the kernel's bpf_stats (BPF_ENABLE_STATS is one
 * kernel-wide static key: while anyone holds it, every BPF program on the node is timed, the CNI's per-packet
 * programs too). `--bpf-stats` switches them on for exactly as long as the agent runs. Observed from outside:
 *  - who holds the key: an fd of the agent's process tree whose /proc link is `anon_inode:bpf-stats`;
 *  - whether the kernel times programs now: a trivial program of our own, run once with BPF_PROG_TEST_RUN, and its
 *    run_cnt read back (agent/bench/native/bpfstats.c `probe`); judged only when nobody else on the machine holds
 *    the key (other sessions' agents may), said so otherwise;
 *  - what the agent exports: flowlens_agent_bpf_run_time_seconds_total / _runs_total absent by default (not 0),
 *    present and growing with --bpf-stats.
 * Traffic: connections over loopback (the agent's sock_ops program is on the cgroup-v2 root and sees them).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { startAgent, type AgentHandle } from '../lib/agent-process.js';
import { agentKernelReady, need, requireAgentKernel } from '../lib/kernel-test.js';
import { processTree } from '../../bench/lib/bpf-programs.js';
import { bpfStatsHolders, bpfStatsOn, bpfStatsSysctl } from '../../bench/lib/bpf-stats.js';
import { buildNativeTool } from '../../bench/lib/native.js';

const PORT = 20000 + Math.floor(Math.random() * 20000);
const METRICS_PORT = PORT + 1;
const CONNECTIONS = 30;

let dir: string | null = null;
let tool: string | null = null;
let server: Server | null = null;
const agents: AgentHandle[] = [];

before(async () => {
  if (!agentKernelReady()) {
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'flowlens-bpfstats-'));
  tool = await buildNativeTool(dir, 'bpfstats');
  server = createServer((s) => s.on('data', () => s.end('pong')));
  await new Promise<void>((res) => server!.listen(PORT, '127.0.0.1', res));
});

after(async () => {
  for (const a of agents) {
    await a.stop('SIGKILL');
  }
  await new Promise((res) => (server ? server.close(res) : res(undefined)));
  if (dir) {
    rmSync(dir, { recursive: true, force: true });
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Short connections over loopback: each runs the agent's per-connection programs. */
async function traffic(): Promise<void> {
  for (let i = 0; i < CONNECTIONS; i++) {
    await new Promise<void>((res, rej) => {
      const c = createConnection({ host: '127.0.0.1', port: PORT }, () => c.write('ping'));
      c.on('data', () => c.end());
      c.on('close', () => res());
      c.on('error', rej);
    });
  }
}

async function metric(name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{\\})? (\\S+)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Waits until the agent's exporter has seen at least `n` collection ticks. */
async function ticks(n: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    // the exporter listens a little after the loader attached: a refused connection is "not yet"
    const seen = await metric('flowlens_agent_collection_ticks_total').catch(() => undefined);
    if ((seen ?? 0) >= n) {
      return;
    }
    await sleep(100);
  }
  assert.fail(`the agent did not tick ${n} times within 10 s`);
}

async function start(args: string[]): Promise<AgentHandle> {
  const agent = await startAgent(['--collect-interval', '1', '--report-interval', '1', ...args], {
    FLOWLENS_METADATA: 'none',
    OPEN_METRICS: 'on',
    OPEN_METRICS_PORT: String(METRICS_PORT),
  });
  agents.push(agent);
  return agent;
}

/** Holders of the key outside `tree` (other sessions on this machine), and the sysctl: these make the probe moot. */
function othersHoldingStats(tree: number[]): string | null {
  const others = bpfStatsHolders().filter((p) => !tree.includes(p));
  if (bpfStatsSysctl()) {
    return 'kernel.bpf_stats_enabled is 1';
  }
  return others.length ? `process(es) ${others.join(', ')} hold BPF_ENABLE_STATS` : null;
}

test("by default the agent leaves the kernel's bpf_stats off and exports no BPF run time (absent, not 0)", async (t: TestContext) => {
  if (!requireAgentKernel(t)) {
    return;
  }
  const agent = await start([]);
  await traffic();
  await ticks(2);
  const tree = processTree(agent.child.pid!);
  assert.ok(tree.length >= 2, `the agent runs its loader (process tree ${tree.join(', ')})`);
  const holders = bpfStatsHolders().filter((p) => tree.includes(p));
  assert.deepEqual(holders, [], 'no process of the agent holds an anon_inode:bpf-stats fd');
  const others = othersHoldingStats(tree);
  if (others === null) {
    assert.equal(await bpfStatsOn(need(tool)), false, 'the kernel times no program while the agent runs');
  } else {
    t.diagnostic(`kernel-wide probe not judged: ${others} (the fd check above stands)`);
  }
  assert.equal(await metric('flowlens_agent_bpf_run_time_seconds_total'), undefined);
  assert.equal(await metric('flowlens_agent_bpf_runs_total'), undefined);
  // the other self-metrics are there: the absence above is about the run time only
  assert.notEqual(await metric('flowlens_agent_active_flows'), undefined);
  assert.match(agent.stderr(), /BPF run time not measured/);
  assert.equal(await agent.stop(), 0);
});

test('--bpf-stats switches them on while the agent runs (and off with it), and exports its BPF run time', async (t: TestContext) => {
  if (!requireAgentKernel(t)) {
    return;
  }
  const agent = await start(['--bpf-stats']);
  await traffic();
  await ticks(2);
  const tree = processTree(agent.child.pid!);
  const holders = bpfStatsHolders().filter((p) => tree.includes(p));
  assert.equal(holders.length, 1, `one process of the agent (its loader) holds the key: ${holders.join(', ')}`);
  assert.notEqual(holders[0], agent.child.pid, 'the loader holds it, not the node process');
  assert.equal(await bpfStatsOn(need(tool)), true, 'the kernel times programs while the agent runs');
  const runs0 = need(await metric('flowlens_agent_bpf_runs_total'));
  const seconds0 = need(await metric('flowlens_agent_bpf_run_time_seconds_total'));
  assert.ok(runs0 >= CONNECTIONS, `at least a run per connection: ${runs0}`);
  assert.ok(seconds0 > 0, `run time measured: ${seconds0} s`);
  await traffic();
  const before = await metric('flowlens_agent_collection_ticks_total');
  await ticks(need(before) + 2);
  assert.ok(need(await metric('flowlens_agent_bpf_runs_total')) >= runs0 + CONNECTIONS, 'the runs grow with traffic');
  assert.match(agent.stderr(), /bpf_stats on \(--bpf-stats/);
  assert.equal(await agent.stop(), 0);
  const others = othersHoldingStats([]);
  if (others === null) {
    assert.equal(await bpfStatsOn(need(tool)), false, 'off again once the agent has stopped');
  } else {
    t.diagnostic(`probe after stop not judged: ${others}`);
  }
  assert.deepEqual(
    bpfStatsHolders().filter((p) => tree.includes(p)),
    [],
    'nothing of the agent holds the key after stop'
  );
});
