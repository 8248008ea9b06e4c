/**
 * npm run bench:agent — what the node agent costs the traffic it watches, measured with native load generators.
 *
 *  1. Rounds, alternating without the agent, with it, and with it minus its drop and reset hooks (FLOWLENS_BPF_DIR
 *     a copy of agent/bpf without drops.bpf.o, which the loader runs on without: dropHooks* ratios, full agent ÷
 *     agent without the hooks); the order rotates every round; medians of the per-round
 *     ratios, so drift on this shared machine hits every side alike). Each side runs, between two network
 *     namespaces joined by a veth: iperf3 with 1 and with 8 streams (bulk throughput), then
 *     agent/bench/native/crr.c (connect, 100-byte request, 100-byte response, close: netperf TCP_CRR's pattern;
 *     netperf is not in Debian main) for the new-connection rate. Each 1-stream run's placement is recorded (its
 *     client and server on one CPU or on two, from iperf3's own CPU figures: lib/iperf.ts; bulkPlacement1Stream):
 *     on this 2-vCPU machine a run on one CPU is about a quarter slower whatever the agent does.
 *     The agent runs as users run it, without --bpf-stats: the kernel's accounting is off in these windows
 *     (ratioWindowsStatsOnElsewhere counts those in which another process on the machine held it anyway).
 *  2. Kernel bpf_stats (run_cnt, run_time_ns) of every BPF program the agent holds (found from its own fds), read in
 *     a second window of each with-agent side (same agent process, after the ratio window) in
 *     which the bench holds BPF_ENABLE_STATS itself (agent/bench/native/bpfstats.c `hold`, lib/bpf-stats.ts): an idle
 *     window, iperf3 1 and 8 streams of BENCH_STATS_BULK_SECONDS (2), crr of BENCH_SECONDS. Bench-held rather than
 *     a second agent started with --bpf-stats: the same process is measured with the key off and on, and the key is
 *     on for exactly these windows (and the tick-cost and drop-cost phases, which read bpf_stats too). statsNsPerRun:
 *     what the accounting adds to one program run (`bpfstats cost`: a trivial program under BPF_PROG_TEST_RUN, on
 *     and off alternating), statsNsPerConnection that times the per-connection programs' runs per connection, and
 *     connRateRatioStatsOnVsOff the cost window's crr against the ratio window's. Named, per packet during the iperf3 runs (packets = the veth's own counters, GSO segments counted once) and
 *     per connection during the crr runs. bpfNsPerPacket sums the programs that ran during the iperf3 runs, above
 *     their background rate (an idle window just before: the programs see the whole host), more often than
 *     connections could explain (over twice their crr runs-per-connection times the connections iperf3 opened,
 *     + 200), and more often than the kernel dropped packets for a program on skb:kfree_skb (the tracepoint's own
 *     hits in the same windows, counted by agent/bench/native/tpcount.c: bpfNsPerPacketOnKernelDrops): a program
 *     on the data path. Programs reached through an iterator run on each
 *     collection tick (once per socket visited) and are reported apart.
 *  3. Tick cost at 10,000 and 100,000 open TCP sockets, measured first, before crr runs leave TIME_WAIT sockets
 *     a socket iterator would visit too (agent/bench/native/hold.c holds idle connections
 *     between two namespaces; both ends count, checked with `ss -s`): the agent's own collection-duration
 *     histogram and its parts (flowlens_agent_collection_phase_seconds_total: passes, grace period, drain, node) and
 *     CPU per tick with the kernel's bpf_stats off, as users run it, then the per-tick BPF time in a shorter window
 *     with them held.
 *  4. dropCost: the drop hook's bpf_stats per packet dropped while an iptables rule in the server's namespace drops
 *     every 100th packet iperf3 sends it (the rule's own counter is the ground truth).
 *  5. agentRssMb outside Kubernetes (the rounds, FLOWLENS_METADATA=none) and inside (the in-cluster metadata mode:
 *     KUBERNETES_SERVICE_HOST/PORT and a service-account token and CA, against tests/lib/fake-kube-apiserver.ts loaded with a realistic node: 110 pods and their owners, 2,000
 *     pods on 20 other nodes), each the peak of the agent's process tree over its whole life (each process's
 *     VmHWM, summed: lib/proc.ts) through the same traffic. agentCpuPctOfCore: the agent's processes' own CPU
 *     (utime + stime, with their reaped children's) over exactly the with-agent sides' measured runs.
 *
 * Floors (docs/agent.md "Benchmark"): throughputRatio ≥ 0.99, connRateRatio ≥ 0.97, bpfNsPerPacket = 0,
 * tickCostMs ≤ 50 at 100,000 sockets, agentRssMb.insideKubernetes ≤ 80. Last line: one JSON object.
 * The rounds' agent collects at the product's default interval (5 s) and reports at the same interval; each measured run
 * spans whole intervals, so it holds the same number of ticks whatever their phase. The tick-cost phase ticks every
 * second (its figure is per tick).
 * Environment: BENCH_ROUNDS (6: each order of the three sides once), BENCH_COLLECT_S (the agent's default, 5), BENCH_SECONDS per iperf3/crr run (whole
 * collection intervals, at least 2 s: 5; iperf3 adds 1 s of slow start it omits),
 * BENCH_TICK_SOCKETS ("10000,100000"), BENCH_NICE (-10), BENCH_CPU (0: the CPU every generator, server and the
 * rounds' agent runs on, the bench itself on the others, lib/placement.ts; `none`: the scheduler places them),
 * BENCH_AFTER_FIRST_REPORT (default on: the with-agent ratio windows begin after the agent's first report, past its
 * start-up tail, and every side waits an interval more; 0: right after start-up), BENCH_TICK_ONLY=1
 * (part 3 alone, about a minute: its JSON line with tickCostMs and its parts, tickCpuMs, tickBpfMs, the BPF time per
 * tick-iterator run and the namespaces each `tcp` tick passed with their passes' wall times, then stop).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { agentBpfDir, BUILT_CLI, CLI } from '../test/lib/agent-process.js';
import { createStar, type Star } from '../test/lib/netns.js';
import { kernelPrerequisiteProblem } from '../test/lib/privileges.js';
import { DEFAULT_COLLECT_INTERVAL_S } from '../src/node/options.js';
import { bpfDirWithout, startBuiltAgent, type RunningAgent } from './lib/agent.js';
import { agentPrograms, programStats, statsDelta, type ProgramInfo, type ProgramStats } from './lib/bpf-programs.js';
import { bpfStatsCost, bpfStatsOn, holdBpfStats, type StatsHold } from './lib/bpf-stats.js';
import { BENCH_NODE, inClusterEnv, PODS_ON_NODE, startFakeCluster } from './lib/kube-node.js';
import { median, pairedRatio, ratioSpread, round, sleep } from './lib/measure.js';
import { buildNativeTools, type NativeTools } from './lib/native.js';
import { CpuWindows, cpuSecondsBetween, cpuSecondsByCommand, rssMb } from './lib/proc.js';
import { parseIperf, sharedOneCpu, type IperfResult } from './lib/iperf.js';
import { placementOf } from './lib/placement.js';
import { parseTickTrace, summarizePasses, type TracedTick } from './lib/tick-trace.js';
import { TracepointCounter } from './lib/tracepoint-count.js';
import { TreeMeter } from './lib/tree-meter.js';

const run = promisify(execFile);
/** Rounds: by default each of the six orders of the three sides (ORDERS, below) once. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
/**
 * The rounds run the agent as users do: collecting at the product's default interval (BENCH_COLLECT_S to change
 * it), reporting as often as that allows (every tick's interval, six times the default, so each measured run holds
 * a report's work too).
 */
const COLLECT_INTERVAL_S = Number(process.env.BENCH_COLLECT_S ?? DEFAULT_COLLECT_INTERVAL_S);
/**
 * Each measured iperf3 and crr run spans whole collection intervals (at least 2 s), so it holds the same number of
 * ticks whatever the tick's phase: a shorter run would hold a tick in some rounds and none in others, and the
 * median of the rounds would drop the tick's cost.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? COLLECT_INTERVAL_S * Math.ceil(2 / COLLECT_INTERVAL_S));
const TICK_SOCKETS = (process.env.BENCH_TICK_SOCKETS ?? '10000,100000').split(',').map(Number);
/** The tick-cost phase ticks every second: its figure is per tick, and ten ticks take ten seconds. */
const TICK_PHASE_INTERVAL_S = 1;
/** Measure the tick cost alone (part 3) and stop: for quick A/B runs of the tick. */
const TICK_ONLY = process.env.BENCH_TICK_ONLY === '1';
const SETTLE_MS = 1000;
/**
 * The with-agent sides wait for the agent's first report (its first tick done) before their pause and ratio window,
 * so the window holds the agent's steady state rather than its start-up tail (the node process did 50–70 wakeups and
 * 16–34 ms of CPU in the 6.5 s after 1.5 s past ready, 0–2 and 0–2 ms in 6.5 s twenty seconds later with a tick in
 * it: docs/agent.md "Where iperf3 runs"; and right after a program is attached the next second runs slower, even
 * for a program that returns at once: "Placement"). Default on since the agent shares the measured CPU;
 * BENCH_AFTER_FIRST_REPORT=0 for the windows right after start-up, as before 2 December.
 */
const AFTER_FIRST_REPORT = process.env.BENCH_AFTER_FIRST_REPORT !== '0';

/** Unless BENCH_AFTER_FIRST_REPORT=0, waits until the agent has written its first report (at most 3 intervals). */
async function settledAgent(agent: RunningAgent): Promise<RunningAgent> {
  const deadline = Date.now() + 3 * COLLECT_INTERVAL_S * 1000;
  while (AFTER_FIRST_REPORT && agent.reports < 1 && Date.now() < deadline) {
    await sleep(50);
  }
  if (AFTER_FIRST_REPORT && agent.reports < 1) {
    throw new Error(`the agent wrote no report within ${3 * COLLECT_INTERVAL_S} s:\n${agent.stderr().slice(-2000)}`);
  }
  return agent;
}
/**
 * iperf3 seconds per run in the BPF-cost windows (bench-held bpf_stats): runs per packet need no long run, and the
 * rounds stay within the bench's time (BENCH_STATS_BULK_SECONDS, default 2; the crr run keeps SECONDS, for its
 * conn/s beside the ratio window's).
 */
const STATS_BULK_SECONDS = Number(process.env.BENCH_STATS_BULK_SECONDS ?? 2);
/**
 * Niceness of the traffic generators, their servers and the agent alike: it shields the measurement from other
 * work on a shared machine without favouring either side (BENCH_NICE, default -10).
 */
const NICE = ['nice', '-n', String(Number(process.env.BENCH_NICE ?? -10))];
/** Where the ratio windows run (BENCH_CPU, lib/placement.ts): by default generators, servers and agent on CPU 0. */
const PLACEMENT = placementOf(process.env.BENCH_CPU, availableParallelism());
/** The prefix of every generator, server and ratio-side agent: placed, then at NICE. */
const RUN = [...PLACEMENT.pin, ...NICE];
const BASE_PORT = 20000 + Math.floor(Math.random() * 20000);
const IPERF_PORT = BASE_PORT;
const CRR_PORT = BASE_PORT + 1;
const HOLD_PORT = BASE_PORT + 10;
/** Connections per hold.c process: each end is a descriptor, and the hard RLIMIT_NOFILE here is 20,000. */
const HOLD_PER_PROCESS = 15_000;
const METRICS_PORT = BASE_PORT + 20;
const log = (msg: string) => process.stderr.write(`${msg}\n`);
/** Connections a with-agent side's iperf3 runs open: a control connection per run, and 1 + 8 data streams. */
const IPERF_CONNECTIONS = 2 + 1 + 8;
/** drops.bpf.o's programs: the drop hook (fl_drop, or fl_drop_rx on kernels >= 6.11) and the reset hooks. */
const DROP_HOOK = /^fl_(drop|rst_)/;
/** drops.bpf.o's program on skb:kfree_skb (fl_drop, or fl_drop_rx): it runs once per packet the kernel drops. */
const KFREE_HOOK = /^fl_drop/;
/** The drop-cost phase drops every DROP_EVERY-th packet to the iperf3 server (an iptables rule in its namespace). */
const DROP_EVERY = 100;

/** The three sides of a round; each round runs them in one of these orders, in turn (each arm first, middle, last). */
type Arm = 'without' | 'with' | 'noHooks';
const ORDERS: Arm[][] = [
  ['without', 'with', 'noHooks'],
  ['noHooks', 'with', 'without'],
  ['with', 'noHooks', 'without'],
  ['without', 'noHooks', 'with'],
  ['noHooks', 'without', 'with'],
  ['with', 'without', 'noHooks'],
];

interface Side {
  gbps1: number[];
  gbps8: number[];
  cps: number[];
  /** Per 1-stream run: whether iperf3's client and server shared one CPU (lib/iperf.ts); null: not reported. */
  shared1: Array<boolean | null>;
}

/** Runs one side's 1-stream iperf3 and records its throughput and placement. */
function record1(side: Side, r: IperfResult): void {
  side.gbps1.push(r.gbps);
  side.shared1.push(sharedOneCpu(r));
}

interface TickLevel {
  /** Established sockets held (both ends). */
  sockets: number;
  /** Every TCP socket in the bench's namespaces, TIME_WAIT from the crr runs included. */
  tcpSocketsInBenchNamespaces: number;
  ticks: number;
  tickCostMs: number;
  tickCpuMs: number;
  /** Another process held bpf_stats during the tickCostMs window: it ran with the accounting on after all. */
  tickStatsOnElsewhere: boolean;
  /** The tick's wall time in the window with bpf_stats held (the one tickBpfMs is read in), beside tickCostMs. */
  tickCostMsStatsOn: number;
  /** BPF time per tick, in the bpf_stats window. */
  tickBpfMs: number;
  /** BPF time per run of the tick iterator programs (one run per socket visited). */
  tickBpfNsPerRun: number;
  /**
   * `tcp` tick only: network namespaces the tick passed, per tick of the window (the loader's trace,
   * FLOWLENS_LOADER_TICK_TRACE); null for the storage tick or a loader without the trace.
   */
  tickPassesPerTick: number | null;
  /**
   * tickCostMs in its parts, ms per tick (the agent's flowlens_agent_collection_phase_seconds_total, collector/tick.ts
   * tickPhases): tickIterMs the namespaces' passes, tickSyncMs the RCU grace period still waited for after the passes, tickDrainMs
   * reading the retired flow set and printing it, tickLoaderOtherMs the rest of the loader's answer, tickNodeMs the
   * pipes and the node process's parsing (and waiting for a CPU). null from an agent that does not time them.
   */
  tickIterMs: number | null;
  tickSyncMs: number | null;
  tickDrainMs: number | null;
  tickLoaderOtherMs: number | null;
  tickNodeMs: number | null;
  /**
   * `tcp` tick: per tick, the longest namespace pass and the passes' sum (ms, the loader's trace): the passes run on
   * up to one thread per CPU, so tickIterMs lies between the two. null without the trace's pass times.
   */
  tickLongestPassMs: number | null;
  tickPassSumMs: number | null;
}

const TICK_PHASES = ['passes', 'sync', 'drain', 'loader', 'node'] as const;

/** The `tcp` tick's trace (lib/tick-trace.ts), oldest tick first; none when the loader wrote none. */
function tickPasses(path: string): TracedTick[] {
  return existsSync(path) ? parseTickTrace(readFileSync(path, 'utf8')) : [];
}

/**
 * A program's runs, and the packets, connections and seconds of the windows it was held in: only those (a program
 * missing from one agent's list must not have its runs divided by another round's connections too).
 */
interface ProgramTotals {
  info: ProgramInfo;
  /** Windows (with-agent sides) the program was counted in. */
  windows: number;
  packets: number;
  bulkSeconds: number;
  bulkConnections: number;
  crrConnections: number;
  seconds: number;
  /** The kernel's skb:kfree_skb hits during its iperf3 runs (each a packet the kernel dropped; tpcount). */
  kernelDrops: number;
  bulk: ProgramStats;
  /** What the program ran in an idle window just before, scaled to the iperf3 runs' duration. */
  background: ProgramStats;
  crr: ProgramStats;
  all: ProgramStats;
}

const roundAll = (o: Record<string, number>, digits: number): Record<string, number> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v, digits)]));

async function requireTool(name: string, hint: string): Promise<void> {
  try {
    await run('sh', ['-c', `command -v ${name}`]);
  } catch {
    throw new Error(`bench:agent needs ${name} (${hint})`);
  }
}

async function iperf(star: Star, streams: number, seconds = SECONDS): Promise<IperfResult> {
  const c = star.clients[0]!;
  const out = await star.exec(
    c.ns,
    [
      // placed and at NICE like every generator, server and the agent (until 2 December the iperf3 client alone ran at 0)
      ...RUN,
      'iperf3',
      '-c',
      c.serverIp,
      '-p',
      String(IPERF_PORT),
      '-t',
      String(seconds),
      '-O',
      '1',
      '-P',
      String(streams),
      '-J',
    ],
    (seconds + 30) * 1000
  );
  return parseIperf(out);
}

async function crrRate(star: Star, tools: NativeTools): Promise<{ cps: number; connections: number }> {
  const c = star.clients[1]!;
  const out = await star.exec(
    c.ns,
    [...RUN, tools.crr, 'client', c.serverIp, String(CRR_PORT), String(SECONDS), '100', '100', '1'],
    (SECONDS + 30) * 1000
  );
  const r = JSON.parse(out) as { connections: number; seconds: number; errors: number };
  if (r.errors > r.connections / 100) {
    throw new Error(`crr: ${r.errors} failed connections of ${r.connections}`);
  }
  return { cps: r.connections / r.seconds, connections: r.connections };
}

async function vethPackets(star: Star): Promise<number> {
  const c = star.clients[0]!;
  const stat = (name: string) =>
    star.exec(c.ns, ['cat', `/sys/class/net/${c.clientDev}/statistics/${name}`]).then((s) => Number(s.trim()));
  return (await stat('tx_packets')) + (await stat('rx_packets'));
}

/**
 * TCP sockets in a namespace, from the kernel: established ones (`ss -s`, from the namespace's own SNMP counter)
 * and all of them in use plus TIME_WAIT (/proc/net/sockstat `inuse` + `tw`, both per namespace; its `alloc` is
 * host-wide, and so is the total `ss -s` prints).
 */
async function tcpSockets(star: Star, ns: string): Promise<{ established: number; all: number }> {
  const out = await star.exec(ns, ['ss', '-s']);
  const sockstat = await star.exec(ns, ['cat', '/proc/net/sockstat']);
  const m = /^TCP: inuse (\d+) orphan \d+ tw (\d+)/m.exec(sockstat);
  return {
    established: Number(/estab (\d+)/.exec(out)?.[1] ?? 0),
    all: m ? Number(m[1]) + Number(m[2]) : NaN,
  };
}

function spawnLine(star: Star, ns: string, argv: string[]): { child: ChildProcess; line: Promise<string> } {
  const child = star.spawnIn(ns, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const line = new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout! }).once('line', res);
    child.once('exit', (code) => rej(new Error(`${argv[0]} exited (${code}): ${err}`)));
  });
  return { child, line };
}

/** Packets the first DROP rule of the namespace's INPUT chain dropped (the kernel's own rule counter). */
async function ruleDrops(star: Star, ns: string): Promise<number> {
  const out = await star.exec(ns, ['iptables', '-w', '-n', '-v', '-x', '-L', 'INPUT']);
  const m = /^\s*(\d+)\s+\d+\s+DROP\b/m.exec(out);
  if (!m) {
    throw new Error(`no DROP rule counter in:\n${out}`);
  }
  return Number(m[1]);
}

/** The agent holds drops.bpf.o's programs exactly when it should: else the arms compare nothing. */
function checkDropHooks(progs: ProgramInfo[], expected: boolean, agent: RunningAgent): void {
  if (progs.some((p) => DROP_HOOK.test(p.name)) !== expected) {
    throw new Error(
      `the agent ${expected ? 'lacks' : 'holds'} the drop hooks (${progs.map((p) => p.name).join(', ')}): ` +
        agent.stderr().split('\n').slice(-5).join(' | ')
    );
  }
}

/**
 * One scrape of the agent's metrics, on a connection closed at once: a keep-alive connection (undici keeps one about
 * 4 s) is a tracked open socket in the agent's own namespace, which the `tcp` tick would then pass too (loader.c
 * "Which namespaces a tick visits"), one pass more than the measured sockets need. docs/agent.md gives the cost of
 * that pass.
 */
async function metricsSample(): Promise<{ sum: number; count: number; phases: Record<string, number> }> {
  const res = await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`, { headers: { connection: 'close' } });
  const text = await res.text();
  const get = (name: string) => Number(new RegExp(`^${name}(?:\\{\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  const phases: Record<string, number> = {};
  for (const phase of TICK_PHASES) {
    const m = new RegExp(`^flowlens_agent_collection_phase_seconds_total\\{phase="${phase}"\\} (\\S+)`, 'm').exec(text);
    if (m) {
      phases[phase] = Number(m[1]);
    }
  }
  return {
    sum: get('flowlens_agent_collection_duration_seconds_sum'),
    count: get('flowlens_agent_collection_duration_seconds_count'),
    phases,
  };
}

const agentArgs = ['--collect-interval', String(COLLECT_INTERVAL_S), '--report-interval', String(COLLECT_INTERVAL_S)];
const tickPhaseArgs = ['--collect-interval', String(TICK_PHASE_INTERVAL_S), '--report-interval', '2'];

async function main(): Promise<void> {
  const problem = kernelPrerequisiteProblem();
  if (problem) {
    throw new Error(`bench:agent needs the kernel: ${problem}`);
  }
  await requireTool('iperf3', 'apt-get install iperf3; listed in scripts/apt-packages.txt');
  await requireTool('bpftool', 'apt-get install bpftool');
  await requireTool(process.env.CC ?? 'cc', 'apt-get install gcc');
  const entry = process.env.FLOWLENS_BENCH_AGENT ?? (existsSync(BUILT_CLI) ? BUILT_CLI : CLI);
  log(
    `agent: ${entry}${entry === CLI ? ' (from source through tsx: memory is overstated; build the agent first)' : ''}`
  );
  const started = performance.now();
  const clk = Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
  const tools = await buildNativeTools();
  const star = await createStar(2);
  // the kernel's own count of dropped packets (skb:kfree_skb, every CPU): the drop hook's ground truth
  const kfree = await TracepointCounter.start(tools.tpcount, 'skb', 'kfree_skb');
  const servers: ChildProcess[] = [];
  let agent: RunningAgent | null = null;
  const baseEnv = { FLOWLENS_BPF_DIR: process.env.FLOWLENS_BPF_DIR ?? agentBpfDir(), FLOWLENS_METADATA: 'none' };
  // the agent without the drop and reset hooks: the same directory without drops.bpf.o (the loader runs on without it)
  const noHooksDir = bpfDirWithout(baseEnv.FLOWLENS_BPF_DIR, ['drops.bpf.o']);
  const noHooksEnv = { ...baseEnv, FLOWLENS_BPF_DIR: noHooksDir };
  /** bpf_stats holds of the bench (released where taken; also at the end, should a phase throw). */
  const holds: StatsHold[] = [];
  const holdStats = async (): Promise<StatsHold> => {
    const h = await holdBpfStats(tools.bpfstats);
    holds.push(h);
    return h;
  };
  try {
    // What the kernel's accounting adds to every BPF program run while anyone holds the key (a trivial program
    // under BPF_PROG_TEST_RUN, on and off alternating): the price --bpf-stats would put on the node's programs.
    // Measured again at the end when another process held the key during an "off" batch (offValid false).
    let statsCost = await bpfStatsCost(tools.bpfstats);
    log(`bpf_stats cost: ${JSON.stringify(statsCost)}`);
    for (const c of star.clients) {
      // Short connections leave TIME_WAIT behind on the client; reuse keeps the rate about the agent.
      await star.exec(c.ns, [
        'sysctl',
        '-q',
        '-w',
        'net.ipv4.tcp_tw_reuse=1',
        'net.ipv4.ip_local_port_range=1024 65000',
      ]);
    }
    await star.exec(star.server, ['sysctl', '-q', '-w', 'net.core.somaxconn=65535']);
    servers.push(star.spawnIn(star.server, [...RUN, 'iperf3', '-s', '-p', String(IPERF_PORT)], { stdio: 'ignore' }));
    const crrServer = spawnLine(star, star.server, [...RUN, tools.crr, 'server', String(CRR_PORT), '100', '1']);
    servers.push(crrServer.child);
    await crrServer.line;
    // 1. tick cost at many open sockets (idle connections between the namespaces, held by client/server pairs of
    // hold.c: one process may hold only so many descriptors here). First, while no TIME_WAIT from crr runs is
    // about for a socket iterator to visit; hold.c closes with RST, so nothing lingers after it either.
    const tickCost: TickLevel[] = [];
    let rssAtMostSockets = 0;
    let rssNowAtMostSockets = 0;
    const tickTrace = join(tmpdir(), `flowlens-bench-tick-trace-${process.pid}`);
    rmSync(tickTrace, { force: true });
    {
      agent = await startBuiltAgent(
        NICE,
        entry,
        [...tickPhaseArgs, '--max-sockets', '262144', '--max-flows', '65536'],
        {
          ...baseEnv,
          OPEN_METRICS: 'on',
          OPEN_METRICS_PORT: String(METRICS_PORT),
          FLOWLENS_LOADER_TICK_TRACE: tickTrace,
        }
      );
      const meter = new TreeMeter(agent.pid);
      const progs = await agentPrograms(agent.pid);
      const tickIds = progs.filter((p) => p.perTick).map((p) => p.id);
      const holders: ChildProcess[] = [];
      let connections = 0;
      let pair = 0;
      const c = star.clients[0]!;
      try {
        for (const target of TICK_SOCKETS) {
          while (2 * connections < target) {
            const n = Math.min(HOLD_PER_PROCESS, Math.ceil((target - 2 * connections) / 2));
            const port = String(HOLD_PORT + pair++);
            const server = spawnLine(star, star.server, [tools.hold, 'server', port, '1']);
            holders.push(server.child);
            await server.line;
            const client = spawnLine(star, c.ns, [tools.hold, 'client', c.serverIp, port, '1', String(n)]);
            holders.push(client.child);
            const got = (JSON.parse(await client.line) as { connected: number }).connected;
            connections += got;
            if (got < n) {
              break; // the machine holds no more
            }
          }
          const counts = await Promise.all(
            [star.server, ...star.clients.map((l) => l.ns)].map((ns) => tcpSockets(star, ns))
          );
          const sockets = counts[0]!.established + counts[1]!.established;
          const allSockets = counts.reduce((n, x) => n + x.all, 0);
          await sleep(3 * TICK_PHASE_INTERVAL_S * 1000); // adoption, and the first ticks over the new sockets
          // the wall, CPU and parts of a tick as users run the agent: the kernel's bpf_stats off (unless another
          // process on the machine holds them: tickStatsOnElsewhere)
          let statsOnElsewhere = await bpfStatsOn(tools.bpfstats);
          const m0 = await metricsSample();
          const u0 = meter.sample();
          const p0 = tickPasses(tickTrace).length;
          await sleep(10 * TICK_PHASE_INTERVAL_S * 1000);
          const m1 = await metricsSample();
          const u1 = meter.sample();
          const passes = summarizePasses(tickPasses(tickTrace).slice(p0));
          statsOnElsewhere ||= await bpfStatsOn(tools.bpfstats);
          // then the BPF time per tick, a bpf_stats reading: the bench holds the key for this window alone (the
          // accounting adds its cost to every program run, here to every socket a pass visits)
          const statsHold = await holdStats();
          const m2 = await metricsSample();
          const b0 = await programStats(tickIds);
          await sleep(5 * TICK_PHASE_INTERVAL_S * 1000);
          const m3 = await metricsSample();
          const b1 = await programStats(tickIds);
          await statsHold.release();
          const statsTicks = m3.count - m2.count;
          const ticks = m1.count - m0.count;
          const phaseMs = (phase: string): number | null => {
            const a = m0.phases[phase];
            const b = m1.phases[phase];
            return a === undefined || b === undefined ? null : round(((b - a) / ticks) * 1000, 3);
          };
          let bpfNs = 0;
          let bpfRuns = 0;
          for (const s of statsDelta(b0, b1).values()) {
            bpfNs += s.runTimeNs;
            bpfRuns += s.runCnt;
          }
          rssAtMostSockets = meter.peakMb();
          rssNowAtMostSockets = rssMb(u1);
          tickCost.push({
            sockets,
            tcpSocketsInBenchNamespaces: allSockets,
            ticks,
            tickCostMs: round(((m1.sum - m0.sum) / ticks) * 1000, 2),
            tickCpuMs: round((cpuSecondsBetween(u0, u1, clk) * 1000) / ticks, 2),
            tickStatsOnElsewhere: statsOnElsewhere,
            tickCostMsStatsOn: round(((m3.sum - m2.sum) / statsTicks) * 1000, 2),
            tickBpfMs: round(bpfNs / statsTicks / 1e6, 3),
            tickBpfNsPerRun: round(bpfRuns ? bpfNs / bpfRuns : 0, 1),
            tickPassesPerTick: passes.passesPerTick === null ? null : round(passes.passesPerTick, 2),
            tickIterMs: phaseMs('passes'),
            tickSyncMs: phaseMs('sync'),
            tickDrainMs: phaseMs('drain'),
            tickLoaderOtherMs: phaseMs('loader'),
            tickNodeMs: phaseMs('node'),
            tickLongestPassMs: passes.longestPassMs === null ? null : round(passes.longestPassMs, 2),
            tickPassSumMs: passes.passSumMs === null ? null : round(passes.passSumMs, 2),
          });
          log(`tick cost at ${sockets} sockets: ${JSON.stringify(tickCost.at(-1))}`);
          if (sockets < target * 0.98) {
            log(`this machine held ${sockets} sockets, fewer than ${target}: stopping there`);
            break;
          }
        }
      } finally {
        meter.stop();
        await agent.stop();
        agent = null;
        rmSync(tickTrace, { force: true });
        for (const h of holders) {
          h.stdin?.end();
          h.kill('SIGTERM');
        }
      }
    }

    if (TICK_ONLY) {
      const level = (n: number) => tickCost.find((l) => l.sockets >= n * 0.98) ?? null;
      process.stdout.write(
        `${JSON.stringify({
          tickOnly: true,
          tickCostMs: {
            at10kSockets: level(10_000)?.tickCostMs ?? null,
            at100kSockets: level(100_000)?.tickCostMs ?? null,
          },
          levels: tickCost,
          agentRssMbAtMostSockets: round(rssAtMostSockets, 1),
          collectIntervalS: TICK_PHASE_INTERVAL_S,
          agentBuild: entry === CLI ? 'tsx' : 'built',
        })}\n`
      );
      return;
    }

    // From here on the bench's own process (its timers, /proc reads, bpf_stats reads) keeps off the CPU the
    // measured processes run on (lib/placement.ts); the tick phase above ran with every CPU, as a node's agent does.
    if (PLACEMENT.benchCpus !== null) {
      await run('taskset', ['-a', '-p', '-c', PLACEMENT.benchCpus, String(process.pid)]);
    }
    log(`placement: ${PLACEMENT.description}`);
    await sleep(300);
    await iperf(star, 1); // warm-up
    await crrRate(star, tools);

    // 2. alternating rounds
    const without: Side = { gbps1: [], gbps8: [], cps: [], shared1: [] };
    const withAgent: Side = { gbps1: [], gbps8: [], cps: [], shared1: [] };
    const noHooks: Side = { gbps1: [], gbps8: [], cps: [], shared1: [] };
    /** The with-agent sides' crr in their BPF-cost window (bench-held bpf_stats on): conn/s with the key on. */
    const withStats: Pick<Side, 'cps'> = { cps: [] };
    /** Ratio windows during which the kernel timed programs anyway (another process held the key). */
    let ratioWindowsStatsOnElsewhere = 0;
    const programs = new Map<string, ProgramTotals>();
    let bulkPackets = 0;
    let totalKernelDrops = 0;
    let crrConnections = 0;
    let rssOutside = 0;
    let rssOutsideNow = 0;
    let rssOutsideByProcess: Record<string, number> = {};
    /** The agent's CPU over each with-agent side's iperf3 and crr runs, and over its iperf3 runs alone. */
    const cpuAll = new CpuWindows();
    const cpuBulk = new CpuWindows();
    /** CPU seconds per agent process (command name) over the iperf3 runs. */
    const cpuBulkByCommand: Record<string, number> = {};
    const zero = (): ProgramStats => ({ runCnt: 0, runTimeNs: 0 });
    const add = (a: ProgramStats, b: ProgramStats) => {
      a.runCnt += b.runCnt;
      a.runTimeNs += b.runTimeNs;
    };
    for (let r = 0; r < ROUNDS; r++) {
      for (const arm of ORDERS[r % ORDERS.length]!) {
        // Every side starts after the same pause, so the previous side's crr aftermath (TIME_WAIT reaping,
        // softirq backlog) has settled alike; the agent's start-up happens before its pause.
        if (arm === 'without') {
          // with BENCH_AFTER_FIRST_REPORT the agent sides wait about an interval more for it: so does this one
          await sleep(SETTLE_MS + (AFTER_FIRST_REPORT ? COLLECT_INTERVAL_S * 1000 : 0));
          record1(without, await iperf(star, 1));
          without.gbps8.push((await iperf(star, 8)).gbps);
          without.cps.push((await crrRate(star, tools)).cps);
          continue;
        }
        if (arm === 'noHooks') {
          agent = await settledAgent(await startBuiltAgent(RUN, entry, agentArgs, noHooksEnv));
          await sleep(SETTLE_MS / 2);
          checkDropHooks(await agentPrograms(agent.pid), false, agent);
          await sleep(SETTLE_MS);
          record1(noHooks, await iperf(star, 1));
          noHooks.gbps8.push((await iperf(star, 8)).gbps);
          noHooks.cps.push((await crrRate(star, tools)).cps);
          await agent.stop();
          agent = null;
          continue;
        }
        const side = withAgent;
        // The agent as users run it: without --bpf-stats (the kernel's accounting off) for the ratio window; the
        // BPF cost comes from a second window of the same agent in which the bench holds BPF_ENABLE_STATS itself
        // (bpfstats hold), after the ratio window.
        agent = await startBuiltAgent(RUN, entry, agentArgs, baseEnv);
        const meter = new TreeMeter(agent.pid);
        await settledAgent(agent);
        await sleep(SETTLE_MS / 2); // start-up work (adoption of existing sockets) is not what we measure
        const progs = await agentPrograms(agent.pid);
        checkDropHooks(progs, true, agent);
        const ids = progs.map((p) => p.id);
        const ratioWindow = async (): Promise<void> => {
          await sleep(SETTLE_MS);
          // another process on this shared machine holding the key would time our programs in this window too
          if (await bpfStatsOn(tools.bpfstats)) {
            ratioWindowsStatsOnElsewhere++;
          }
          // each CPU window's ends: the agent's CPU total and the clock read together
          const u0 = meter.sample();
          const t0 = performance.now();
          record1(side, await iperf(star, 1));
          side.gbps8.push((await iperf(star, 8)).gbps);
          const uBulk = meter.sample();
          const tBulk = performance.now();
          side.cps.push((await crrRate(star, tools)).cps);
          const u1 = meter.sample();
          const t1 = performance.now();
          cpuAll.add(cpuSecondsBetween(u0, u1, clk), (t1 - t0) / 1000);
          cpuBulk.add(cpuSecondsBetween(u0, uBulk, clk), (tBulk - t0) / 1000);
          for (const [comm, sec] of Object.entries(cpuSecondsByCommand(u0, uBulk, clk))) {
            cpuBulkByCommand[comm] = (cpuBulkByCommand[comm] ?? 0) + sec;
          }
        };
        const costWindow = async () => {
          const hold = await holdBpfStats(tools.bpfstats);
          try {
            // The settle pause doubles as a background window: the programs see the whole host, and what they run
            // while the bench sends nothing (other people's connections, TIME_WAIT expiring) is not the bench's.
            const sIdle = await programStats(ids);
            const tIdle = performance.now();
            await sleep(SETTLE_MS);
            const s0 = await programStats(ids);
            const k0 = await kfree.read();
            const idleSeconds = (performance.now() - tIdle) / 1000;
            const p0 = await vethPackets(star);
            const t0 = performance.now();
            await iperf(star, 1, STATS_BULK_SECONDS);
            await iperf(star, 8, STATS_BULK_SECONDS);
            const p1 = await vethPackets(star);
            const s1 = await programStats(ids);
            const k1 = await kfree.read();
            const bulkSeconds = (performance.now() - t0) / 1000;
            const crr = await crrRate(star, tools);
            withStats.cps.push(crr.cps);
            const s2 = await programStats(ids);
            const seconds = (performance.now() - t0) / 1000;
            return { sIdle, s0, s1, s2, k0, k1, p0, p1, idleSeconds, bulkSeconds, seconds, crr };
          } finally {
            await hold.release();
          }
        };
        // The ratio window first, as every with-agent side measured before: the agent just started, after the same
        // pause as the other sides. (Alternating put the ratio window after the cost window's crr and its TIME_WAIT,
        // which the tcp tick walks, in half the rounds; agentCpuPctOfCore stayed about 2 % against 1.3 without it,
        // so that was not the whole cause: docs/agent.md "bpf_stats: off by default".)
        await ratioWindow();
        const w = await costWindow();
        const { sIdle, s0, s1, s2, k0, k1, p0, p1, idleSeconds, bulkSeconds, seconds, crr } = w;
        if (meter.peakMb() > rssOutside) {
          rssOutside = meter.peakMb();
          rssOutsideByProcess = meter.peakMbByCommand();
        }
        rssOutsideNow = Math.max(rssOutsideNow, rssMb(meter.sample()));
        meter.stop();
        // a program the agent attached after the list above was taken would be missing from these windows
        const after = await agentPrograms(agent.pid);
        if (after.map((p) => p.id).join() !== ids.join()) {
          log(`the agent's programs changed during the round: ${ids.join()} -> ${after.map((p) => p.id).join()}`);
        }
        bulkPackets += p1 - p0;
        totalKernelDrops += k1 - k0;
        crrConnections += crr.connections;
        const bulk = statsDelta(s0, s1);
        const idle = statsDelta(sIdle, s0);
        const crrStats = statsDelta(s1, s2);
        const counted = new Set<string>();
        for (const p of progs) {
          const key = `${p.name}/${p.type}`;
          const t = programs.get(key) ?? {
            info: p,
            windows: 0,
            packets: 0,
            bulkSeconds: 0,
            bulkConnections: 0,
            crrConnections: 0,
            seconds: 0,
            kernelDrops: 0,
            bulk: zero(),
            background: zero(),
            crr: zero(),
            all: zero(),
          };
          if (!counted.has(key)) {
            // the window once per program name (two programs of one name and type add their runs over it)
            counted.add(key);
            t.windows++;
            t.packets += p1 - p0;
            t.bulkSeconds += bulkSeconds;
            t.bulkConnections += IPERF_CONNECTIONS;
            t.crrConnections += crr.connections;
            t.seconds += seconds;
            t.kernelDrops += k1 - k0;
          }
          add(t.bulk, bulk.get(p.id)!);
          const i = idle.get(p.id)!;
          const scale = bulkSeconds / idleSeconds;
          add(t.background, { runCnt: i.runCnt * scale, runTimeNs: i.runTimeNs * scale });
          add(t.crr, crrStats.get(p.id)!);
          add(t.all, statsDelta(s0, s2).get(p.id)!);
          programs.set(key, t);
        }
        await agent.stop();
        agent = null;
      }
      log(
        `round ${r + 1}/${ROUNDS}: without ${without.gbps1.at(-1)!.toFixed(2)}/${without.gbps8.at(-1)!.toFixed(2)} Gbit/s ` +
          `${without.cps.at(-1)!.toFixed(0)} conn/s; with ${withAgent.gbps1.at(-1)!.toFixed(2)}/` +
          `${withAgent.gbps8.at(-1)!.toFixed(2)} Gbit/s ${withAgent.cps.at(-1)!.toFixed(0)} conn/s ` +
          `(${withStats.cps.at(-1)!.toFixed(0)} with bpf_stats on); ` +
          `without drop hooks ${noHooks.gbps1.at(-1)!.toFixed(2)}/${noHooks.gbps8.at(-1)!.toFixed(2)} Gbit/s ` +
          `${noHooks.cps.at(-1)!.toFixed(0)} conn/s; ` +
          `1-stream ends on one CPU (without/with/without hooks): ` +
          [without, withAgent, noHooks].map((x) => String(x.shared1.at(-1))).join('/')
      );
    }
    const roundsSeconds = (performance.now() - started) / 1000;

    // 3. per-program accounting
    let nsPerPacket = 0;
    let nsPerPacketOnDrops = 0;
    let nsPerConnection = 0;
    /** Runs per connection of the per-connection programs: each pays statsNsPerRun while anyone holds the key. */
    let runsPerConnection = 0;
    const programReport = [...programs.values()].map((t) => {
      // What a program that runs only on connection events would have done during the iperf3 runs: its rate per
      // connection (measured in the crr runs) times the connections iperf3 opened, twice over, plus slack for
      // connections other work on this machine opened meanwhile (a cgroup program sees the whole host).
      // Each figure is over the windows the program was held in (t.windows of them), never the whole run's.
      const perConnection = t.crr.runCnt / t.crrConnections;
      const connectionBound = 2 * perConnection * t.bulkConnections + 200;
      const bulkRunsAboveBackground = Math.max(0, t.bulk.runCnt - t.background.runCnt);
      // A drop hook runs once per kfree_skb the kernel makes: its runs are bounded by the tracepoint's own hits over
      // the same windows (slack: the two counts are read one after the other, not at one instant). The drops here
      // are the kernel's, e.g. duplicate segments a spurious retransmission delivered (TCP_OLD_DATA): a drop hook
      // within that bound runs per drop, not per packet; one past it would run on something else, on the data path.
      const perDrop =
        !t.info.perTick && KFREE_HOOK.test(t.info.name) && t.bulk.runCnt <= t.kernelDrops * 1.02 + 20 * t.windows;
      const onDataPath = !t.info.perTick && !perDrop && bulkRunsAboveBackground > connectionBound;
      const bulkNsPerPacket = Math.max(0, t.bulk.runTimeNs - t.background.runTimeNs) / t.packets;
      if (onDataPath) {
        nsPerPacket += bulkNsPerPacket;
      } else if (perDrop) {
        nsPerPacketOnDrops += bulkNsPerPacket;
      }
      if (!t.info.perTick) {
        nsPerConnection += t.crr.runTimeNs / t.crrConnections;
        runsPerConnection += t.crr.runCnt / t.crrConnections;
      }
      return {
        name: t.info.name,
        type: t.info.type,
        links: t.info.links,
        runsOn: t.info.perTick
          ? 'tick'
          : onDataPath
            ? 'packet'
            : perDrop && bulkRunsAboveBackground > connectionBound
              ? 'drop'
              : 'connection',
        windows: t.windows,
        bulkRuns: t.bulk.runCnt,
        bulkRunsAboveBackground: Math.round(bulkRunsAboveBackground),
        backgroundRunsPerSecond: Math.round(t.background.runCnt / Math.max(1e-9, t.bulkSeconds)),
        // a tick program's runs follow the sockets it visits each tick, not the packets or connections
        runsPerPacket: t.info.perTick ? null : Number((t.bulk.runCnt / t.packets).toPrecision(3)),
        // the drop hook: the kernel's skb:kfree_skb hits during its iperf3 runs, which bound its runs there
        kernelDropsInBulk: KFREE_HOOK.test(t.info.name) ? t.kernelDrops : null,
        runsPerConnection: t.info.perTick ? null : Number((t.crr.runCnt / t.crrConnections).toPrecision(3)),
        runsPerSecond: Math.round(t.all.runCnt / t.seconds),
        nsPerRun: t.all.runCnt ? Math.round(t.all.runTimeNs / t.all.runCnt) : null,
      };
    });

    // 4. what a drop costs: the full agent while an iptables rule in the server's namespace drops every
    // DROP_EVERY-th packet iperf3 sends it (a known number: the rule's own counter). The drop program's bpf_stats
    // above its background rate (an idle window just before, as in the rounds), per packet dropped.
    let dropCost: Record<string, number | string | null>;
    {
      const dropStats = await holdStats(); // the drop program's run time is a bpf_stats reading
      agent = await startBuiltAgent(RUN, entry, agentArgs, baseEnv);
      await sleep(SETTLE_MS / 2);
      const progs = await agentPrograms(agent.pid);
      checkDropHooks(progs, true, agent);
      const drop = progs.find((p) => /^fl_drop/.test(p.name))!;
      const rule = [
        'INPUT',
        '-p',
        'tcp',
        '--dport',
        String(IPERF_PORT),
        '-m',
        'statistic',
        '--mode',
        'nth',
        '--every',
        String(DROP_EVERY),
        '--packet',
        '0',
        '-j',
        'DROP',
      ];
      await star.exec(star.server, ['iptables', '-w', '-I', ...rule]);
      try {
        const sIdle = await programStats([drop.id]);
        const tIdle = performance.now();
        await sleep(SETTLE_MS);
        const s0 = await programStats([drop.id]);
        const idleSeconds = (performance.now() - tIdle) / 1000;
        const d0 = await ruleDrops(star, star.server);
        const t0 = performance.now();
        const gbps = (await iperf(star, 1)).gbps;
        const s1 = await programStats([drop.id]);
        const seconds = (performance.now() - t0) / 1000;
        const dropped = (await ruleDrops(star, star.server)) - d0;
        const idle = statsDelta(sIdle, s0).get(drop.id)!;
        const busy = statsDelta(s0, s1).get(drop.id)!;
        const scale = seconds / idleSeconds;
        const runs = Math.max(0, busy.runCnt - idle.runCnt * scale);
        const ns = Math.max(0, busy.runTimeNs - idle.runTimeNs * scale);
        dropCost = {
          program: drop.name,
          packetsDropped: dropped,
          dropEvery: DROP_EVERY,
          runsPerDrop: dropped ? round(runs / dropped, 3) : null,
          nsPerDrop: dropped ? Math.round(ns / dropped) : null,
          nsPerRun: busy.runCnt ? Math.round(busy.runTimeNs / busy.runCnt) : null,
          backgroundRunsPerSecond: Math.round(idle.runCnt / idleSeconds),
          gbps1WhileDropping: round(gbps, 3),
        };
        log(`drop cost: ${JSON.stringify(dropCost)}`);
      } finally {
        await star.exec(star.server, ['iptables', '-w', '-D', ...rule]);
      }
      await agent.stop();
      agent = null;
      await dropStats.release();
    }

    // 5. memory inside Kubernetes: the in-cluster metadata mode against the fake API server
    let rssInside: number | null = null;
    let rssInsideNow: number | null = null;
    let rssInsideByProcess: Record<string, number> = {};
    let insideError: string | null = null;
    let podsWatched = 0;
    {
      const api = await startFakeCluster();
      try {
        agent = await startBuiltAgent(RUN, entry, agentArgs, {
          ...baseEnv,
          FLOWLENS_METADATA: 'kubernetes',
          ...inClusterEnv(api, tools.dir),
          NODE_NAME: BENCH_NODE,
        });
        const meter = new TreeMeter(agent.pid);
        const owners = () => api.requests.filter((q) => /\/(replicasets|jobs)\//.test(q.path)).length;
        for (let i = 0; i < 300 && owners() < 40; i++) {
          await sleep(100);
        }
        podsWatched = api.requests.filter((q) => q.path === '/api/v1/pods' && q.watch).length;
        await iperf(star, 8);
        await crrRate(star, tools);
        await sleep(2000);
        const peak = meter.peakMb();
        const now = rssMb(meter.sample());
        meter.stop();
        if (owners() < 40 || podsWatched === 0) {
          // reported, not thrown: the other measurements stand (an older agent may lack the in-cluster options)
          insideError = `the agent did not sync with the fake API server: ${agent.stderr().split('\n').slice(-3).join(' | ')}`;
          log(insideError);
        } else {
          rssInside = peak;
          rssInsideByProcess = meter.peakMbByCommand();
          rssInsideNow = now;
        }
        await agent.stop();
        agent = null;
      } finally {
        await api.close();
      }
    }

    if (!statsCost.offValid) {
      statsCost = await bpfStatsCost(tools.bpfstats);
      log(`bpf_stats cost, measured again: ${JSON.stringify(statsCost)}`);
    }
    // a difference against "off" batches that someone else's key timed too is no cost: not reported
    const statsNsPerRun = statsCost.offValid ? statsCost.statsNsPerRun : null;
    const ratio1 = pairedRatio(withAgent.gbps1, without.gbps1);
    const ratio8 = pairedRatio(withAgent.gbps8, without.gbps8);
    const hooks1 = pairedRatio(withAgent.gbps1, noHooks.gbps1);
    const hooks8 = pairedRatio(withAgent.gbps8, noHooks.gbps8);
    // rounds whose 1-stream runs had client and server on two CPUs in both sides (lib/iperf.ts): like with like
    const twoCpus = without.shared1.map((x, i) => x === false && withAgent.shared1[i] === false);
    const onTwoCpus = (xs: number[]) => xs.filter((_, i) => twoCpus[i]);
    const ratio1TwoCpus = twoCpus.some(Boolean)
      ? round(pairedRatio(onTwoCpus(withAgent.gbps1), onTwoCpus(without.gbps1)), 4)
      : null;
    const sharedRuns = (x: Side) => x.shared1.filter((v) => v === true).length;
    const at = (n: number) => tickCost.find((t) => t.sockets >= n * 0.98);
    const most = tickCost.at(-1);
    const result = {
      // the floor is held to the worse of the two stream counts
      throughputRatio: round(Math.min(ratio1, ratio8), 4),
      throughputRatioUsed: ratio1 <= ratio8 ? '1 stream (the lower)' : '8 streams (the lower)',
      throughputRatio1Stream: round(ratio1, 4),
      throughputRatio8Streams: round(ratio8, 4),
      connRateRatio: round(pairedRatio(withAgent.cps, without.cps), 4),
      // interquartile range of the per-round ratios: the resolution this run had on this machine
      ratioSpread: {
        gbps1: round(ratioSpread(withAgent.gbps1, without.gbps1), 3),
        gbps8: round(ratioSpread(withAgent.gbps8, without.gbps8), 3),
        connRate: round(ratioSpread(withAgent.cps, without.cps), 3),
        // the with-agent sides' crr with bpf_stats on ÷ off (connRateRatioStatsOnVsOff)
        connRateStatsOnVsOff: round(ratioSpread(withStats.cps, withAgent.cps), 3),
      },
      // the drop and reset hooks (drops.bpf.o): the full agent against the agent without them, same rounds
      dropHooksThroughputRatio: round(Math.min(hooks1, hooks8), 4),
      dropHooksThroughputRatio1Stream: round(hooks1, 4),
      dropHooksThroughputRatio8Streams: round(hooks8, 4),
      dropHooksConnRateRatio: round(pairedRatio(withAgent.cps, noHooks.cps), 4),
      dropHooksRatioSpread: {
        gbps1: round(ratioSpread(withAgent.gbps1, noHooks.gbps1), 3),
        gbps8: round(ratioSpread(withAgent.gbps8, noHooks.gbps8), 3),
        connRate: round(ratioSpread(withAgent.cps, noHooks.cps), 3),
      },
      dropHooksPrograms: programReport
        .filter((p) => DROP_HOOK.test(p.name))
        .map((p) => ({
          name: p.name,
          runsOn: p.runsOn,
          runsPerPacket: p.runsPerPacket,
          runsPerConnection: p.runsPerConnection,
          nsPerRun: p.nsPerRun,
        })),
      dropCost,
      bpfNsPerPacket: round(nsPerPacket, 3),
      // the drop hook's time during the iperf3 runs, per packet: the kernel's own drops there (kfree_skb hits, below)
      // times what each cost; zero where nothing drops
      bpfNsPerPacketOnKernelDrops: round(nsPerPacketOnDrops, 3),
      kernelDropsInBulk: totalKernelDrops,
      kernelDropsPerBulkPacket: Number((totalKernelDrops / Math.max(1, bulkPackets)).toPrecision(3)),
      bpfNsPerConnection: round(nsPerConnection, 1),
      // The kernel's bpf_stats: off in the ratio windows (the agent runs without --bpf-stats, as users run it); the
      // BPF figures above come from windows where the bench held BPF_ENABLE_STATS itself (same agent process)
      bpfStatsDuringRatios: 'off',
      bpfCostWindows: `bench-held BPF_ENABLE_STATS: idle ${SETTLE_MS / 1000} s, iperf3 ${STATS_BULK_SECONDS} s x 2, crr ${SECONDS} s per with-agent side`,
      // ratio windows in which the kernel timed programs anyway (another process on this machine held the key)
      ratioWindowsStatsOnElsewhere,
      // what the accounting adds to one program run (trivial program, BPF_PROG_TEST_RUN, on/off alternating)
      statsNsPerRun: statsNsPerRun === null ? null : round(statsNsPerRun, 2),
      statsCost: {
        medianOffNs: statsCost.medianOffNs,
        medianOnNs: statsCost.medianOnNs,
        kernelDurationDiffNs: statsCost.kernelDurationDiffNs,
        pairs: statsCost.pairs,
        repeat: statsCost.repeat,
        // false: another process held BPF_ENABLE_STATS during an "off" batch, twice (start and end): statsNsPerRun null
        offValid: statsCost.offValid,
      },
      // per connection: the runs of the per-connection programs times statsNsPerRun (the price --bpf-stats adds to
      // each connection, on top of bpfNsPerConnection, which the accounting also inflates a little)
      bpfRunsPerConnection: round(runsPerConnection, 2),
      statsNsPerConnection: statsNsPerRun === null ? null : round(runsPerConnection * statsNsPerRun, 1),
      // the with-agent sides' crr in the cost window (stats on) against their ratio window (stats off), per round; the
      // cost window comes second, after the ratio window's crr left its TIME_WAIT: if anything, against stats on
      connRateRatioStatsOnVsOff: round(pairedRatio(withStats.cps, withAgent.cps), 4),
      bpfPrograms: programReport,
      packetsMeasured: bulkPackets,
      connectionsMeasured: crrConnections,
      tickCostMs: {
        at10kSockets: at(10_000)?.tickCostMs ?? null,
        at100kSockets: at(100_000)?.tickCostMs ?? null,
        mostSocketsHeld: most?.sockets ?? null,
        atMostSockets: most?.tickCostMs ?? null,
        levels: tickCost,
      },
      agentRssMb: {
        outsideKubernetes: round(rssOutside, 1),
        insideKubernetes: rssInside === null ? null : round(rssInside, 1),
        insideKubernetesError: insideError,
        atMostSockets: round(rssAtMostSockets, 1),
        measure: 'peak: the sum of each agent process’s VmHWM (node process, loader), start-up included',
        // resident at the end of the measured traffic (VmRSS), beside the peak
        nowOutsideKubernetes: round(rssOutsideNow, 1),
        nowInsideKubernetes: rssInsideNow === null ? null : round(rssInsideNow, 1),
        nowAtMostSockets: round(rssNowAtMostSockets, 1),
        peakByProcessOutside: roundAll(rssOutsideByProcess, 1),
        peakByProcessInside: roundAll(rssInsideByProcess, 1),
        kubernetesPodsOnNode: PODS_ON_NODE,
      },
      // the agent's processes' own utime + stime (+ their reaped children's) over the with-agent sides' iperf3 and
      // crr runs; and over the iperf3 runs alone, where each % of a core is taken from the traffic
      agentCpuPctOfCore: round(cpuAll.pctOfCore(), 2),
      agentCpuPctOfCoreBulk: round(cpuBulk.pctOfCore(), 2),
      agentCpuPctOfCoreBulkByProcess: roundAll(
        Object.fromEntries(Object.entries(cpuBulkByCommand).map(([c, sec]) => [c, (100 * sec) / cpuBulk.wallSeconds])),
        2
      ),
      agentCpuSecondsMeasured: round(cpuAll.wallSeconds, 1),
      medianGbps1: {
        without: round(median(without.gbps1), 3),
        with: round(median(withAgent.gbps1), 3),
        withoutDropHooks: round(median(noHooks.gbps1), 3),
      },
      // Where each 1-stream run's iperf3 client and server ran: on one CPU a run is about a quarter slower whatever
      // the agent does (docs/agent.md "Benchmark", placement). sharedCpuRuns per side out of `runs`; the ratio over
      // the rounds in which both the with and the without side ran on two CPUs, and how many rounds that was.
      // null when the bench placed them (BENCH_CPU, `placement`): every run then shares the one CPU by design
      bulkPlacement1Stream:
        PLACEMENT.pin.length > 0
          ? null
          : {
              runs: without.shared1.length,
              sharedCpuRuns: {
                without: sharedRuns(without),
                with: sharedRuns(withAgent),
                withoutDropHooks: sharedRuns(noHooks),
              },
              ratioRoundsOnTwoCpus: ratio1TwoCpus,
              roundsOnTwoCpus: twoCpus.filter(Boolean).length,
            },
      medianGbps8: {
        without: round(median(without.gbps8), 3),
        with: round(median(withAgent.gbps8), 3),
        withoutDropHooks: round(median(noHooks.gbps8), 3),
      },
      medianConnPerSec: {
        without: Math.round(median(without.cps)),
        with: Math.round(median(withAgent.cps)),
        withBpfStatsOn: Math.round(median(withStats.cps)),
        withoutDropHooks: Math.round(median(noHooks.cps)),
      },
      rounds: ROUNDS,
      // BENCH_AFTER_FIRST_REPORT: the with-agent ratio windows began after the agent's first report
      ratioWindowsAfterFirstReport: AFTER_FIRST_REPORT,
      roundsNote:
        'each round runs without the agent, with it, and with it minus drops.bpf.o back to back, the order rotating every round; ratios are medians of the per-round ratios',
      niceness: Number(NICE[2]),
      placement: PLACEMENT.description,
      secondsPerRun: SECONDS,
      collectIntervalS: COLLECT_INTERVAL_S,
      reportIntervalS: COLLECT_INTERVAL_S,
      tickPhaseCollectIntervalS: TICK_PHASE_INTERVAL_S,
      roundsSeconds: Math.round(roundsSeconds),
      totalSeconds: Math.round((performance.now() - started) / 1000),
      agentBuild: entry === CLI ? 'tsx' : 'built',
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await agent?.stop();
    for (const h of holds) {
      await h.release();
    }
    kfree.stop();
    for (const s of servers) {
      s.kill('SIGTERM');
    }
    await star.cleanup();
    rmSync(tools.dir, { recursive: true, force: true });
    rmSync(noHooksDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:agent: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
