/**
 * npm run bench:agent — what the node agent costs the traffic it watches.
 *
 * Bulk uploads and short connections between network namespaces, alternating runs without and with the agent
 * (the machine is shared, so medians of alternating runs, never one run against another). Reports kernel
 * bpf_stats for our sock_ops program, and the agent's RSS and CPU (node process + loader). Last line: one JSON
 * object. Floors (a benchmark, not a test): throughputRatio ≥ 0.97, connRateRatio ≥ 0.95, bpfNsPerCallback ≤ 500,
 * agentRssMb ≤ 120.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createStar, type Star } from '../test/lib/netns.js';
import { runClient, setTrafficNiceness, startServer, type TrafficServer } from '../test/lib/traffic.js';
import { agentBpfDir, BUILT_CLI, CLI, startAgent, type AgentHandle } from '../test/lib/agent-process.js';
import { kernelPrerequisiteProblem } from '../test/lib/privileges.js';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const BULK_BYTES = Number(process.env.BENCH_BULK_BYTES ?? 400_000_000);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 1.5);
const PORT = 30000 + Math.floor(Math.random() * 20000);
const log = (msg: string) => process.stderr.write(`${msg}\n`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function childPids(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return kids ? kids.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

/**
 * RSS (MB) and CPU ticks of the agent: its node process and the flowlens-loader child. (When run from source,
 * tsx's esbuild helper process is a child too; it is not part of a deployed agent and is left out.)
 */
function usage(pid: number): { rssMb: number; cpuTicks: number } {
  let rssKb = 0;
  let cpu = 0;
  const loader = childPids(pid).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim().startsWith('flowlens-loade');
    } catch {
      return false;
    }
  });
  for (const p of [pid, ...loader]) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      rssKb += m ? Number(m[1]) : 0;
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu += Number(f[11]) + Number(f[12]); // utime + stime
    } catch {
      /* exited */
    }
  }
  return { rssMb: rssKb / 1024, cpuTicks: cpu };
}

async function progStats(id: number): Promise<{ runTimeNs: number; runCnt: number }> {
  const { stdout } = await run('bpftool', ['-j', 'prog', 'show', 'id', String(id)]);
  const p = JSON.parse(stdout) as { run_time_ns?: number; run_cnt?: number };
  return { runTimeNs: p.run_time_ns ?? 0, runCnt: p.run_cnt ?? 0 };
}

async function bulk(star: Star): Promise<number> {
  const c = star.clients[0]!;
  const r = await runClient<{ sent: number; ms: number }>(c.ns, [
    'upload',
    '--bytes',
    String(BULK_BYTES),
    '--host',
    c.serverIp,
    '--port',
    String(PORT),
  ]);
  return (r.sent * 8) / (r.ms / 1000) / 1e9; // Gbit/s
}

async function connRate(star: Star): Promise<number> {
  const c = star.clients[1]!;
  const r = await runClient<{ connections: number; ms: number }>(c.ns, [
    'rate',
    '--seconds',
    String(RATE_SECONDS),
    '--bytes',
    '100',
    '--host',
    c.serverIp,
    '--port',
    String(PORT),
  ]);
  return r.connections / (r.ms / 1000);
}

async function main(): Promise<void> {
  const problem = kernelPrerequisiteProblem();
  if (problem) {
    throw new Error(`bench:agent needs the kernel: ${problem}`);
  }
  // FLOWLENS_BENCH_AGENT: another built cli.js to measure (e.g. a tsc output outside agent/dist)
  const entry = process.env.FLOWLENS_BENCH_AGENT ?? (existsSync(BUILT_CLI) ? BUILT_CLI : CLI);
  log(
    `agent: ${entry}${entry === CLI ? ' (from source through tsx: memory is overstated; build the agent first)' : ''}`
  );
  setTrafficNiceness(Number(process.env.BENCH_NICE ?? -20));
  const star = await createStar(2);
  let server: TrafficServer | null = null;
  let agent: AgentHandle | null = null;
  try {
    // Short connections leave TIME_WAIT sockets behind; without reuse the client runs out of ports mid-run and
    // the connection rate collapses for reasons that have nothing to do with the agent.
    for (const c of star.clients) {
      await star.exec(c.ns, [
        'sysctl',
        '-q',
        '-w',
        'net.ipv4.tcp_tw_reuse=1',
        'net.ipv4.ip_local_port_range=1024 65000',
      ]);
    }
    server = await startServer(star.server, '0.0.0.0', PORT, 100);
    const without = { gbps: [] as number[], cps: [] as number[] };
    const withAgent = { gbps: [] as number[], cps: [] as number[] };
    let bpfNs = 0;
    let bpfCnt = 0;
    let rssMax = 0;
    let cpuTicks = 0;
    let withSeconds = 0;
    const flows = new Set<string>();
    await bulk(star); // warm up
    for (let round = 0; round < ROUNDS; round++) {
      // the order flips every round so drift on the shared machine hits both sides alike
      const order = round % 2 === 0 ? [false, true] : [true, false];
      for (const on of order) {
        if (!on) {
          without.gbps.push(await bulk(star));
          without.cps.push(await connRate(star));
          continue;
        }
        agent = await startAgent(
          ['--collect-interval', '1', '--report-interval', '2'],
          { FLOWLENS_BPF_DIR: agentBpfDir() },
          entry
        );
        await new Promise((r) => setTimeout(r, 500)); // let start-up work finish before measuring
        const pid = agent.child.pid!;
        const before = await progStats(agent.progId);
        const u0 = usage(pid);
        const t0 = performance.now();
        withAgent.gbps.push(await bulk(star));
        withAgent.cps.push(await connRate(star));
        const u1 = usage(pid);
        withSeconds += (performance.now() - t0) / 1000;
        cpuTicks += u1.cpuTicks - u0.cpuTicks;
        rssMax = Math.max(rssMax, u1.rssMb);
        const after = await progStats(agent.progId);
        bpfNs += after.runTimeNs - before.runTimeNs;
        bpfCnt += after.runCnt - before.runCnt;
        await agent.stop('SIGTERM');
        for (const r of agent.reports) {
          for (const f of r.flows) {
            flows.add(`${f.direction}|${f.localIp}|${f.remoteIp}|${f.localPort}|${f.remotePort}`);
          }
        }
        agent = null;
      }
      log(
        `round ${round + 1}/${ROUNDS}: without ${without.gbps.at(-1)!.toFixed(2)} Gbit/s ${without.cps.at(-1)!.toFixed(0)} conn/s; ` +
          `with ${withAgent.gbps.at(-1)!.toFixed(2)} Gbit/s ${withAgent.cps.at(-1)!.toFixed(0)} conn/s`
      );
    }
    const clk = Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
    // each round pairs a run with the agent and one without, back to back: the median of the paired ratios is
    // robust to the load other people put on this machine drifting during the benchmark
    const paired = (a: number[], b: number[]) => median(a.map((x, i) => x / b[i]!));
    const result = {
      throughputRatio: Number(paired(withAgent.gbps, without.gbps).toFixed(4)),
      connRateRatio: Number(paired(withAgent.cps, without.cps).toFixed(4)),
      bpfNsPerCallback: bpfCnt ? Math.round(bpfNs / bpfCnt) : null,
      bpfCallbacks: bpfCnt,
      agentRssMb: Number(rssMax.toFixed(1)),
      agentCpuPctOfCore: Number(((100 * cpuTicks) / clk / withSeconds).toFixed(2)),
      flows: flows.size,
      medianGbpsWithout: Number(median(without.gbps).toFixed(3)),
      medianGbpsWith: Number(median(withAgent.gbps).toFixed(3)),
      medianConnPerSecWithout: Math.round(median(without.cps)),
      medianConnPerSecWith: Math.round(median(withAgent.cps)),
      rounds: ROUNDS,
      agentBuild: entry === CLI ? 'tsx' : 'built',
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await agent?.stop('SIGKILL');
    await server?.close();
    await star.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:agent: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
