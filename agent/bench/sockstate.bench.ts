/**
 * `npm run bench:sockstate` (root; about 4 minutes): what keeping per-socket state costs a connection, by where the
 * state lives — the question behind bench:agent's connection-rate floor (docs/agent.md "The whole per-connection
 * bill"). Each arm attaches one program to inet_sock_set_state (agent/bench/native/sockstate.bpf.c) doing the
 * agent's per-socket state work at the agent's transitions, and agent/bench/native/crr.c makes connections through
 * it: connect, 100-byte request, 100-byte response, close, one at a time, between two network namespaces.
 *
 * Arms: none (no program), empty (a program that returns at once), storage (socket-local storage, as the agent),
 * hash (a preallocated hash keyed by the socket's address, entry deleted at close), hashNoPrealloc (the same hash
 * with BPF_F_NO_PREALLOC). Every round runs every arm once, in an order rotated each round; the crr client and
 * server and the loader all run on one CPU as in bench:agent (BENCH_CPU, lib/placement.ts), the bench on the
 * others. Each arm's ratio is the median of its per-round ratios to the round's `none`, with their interquartile
 * range (the run's resolution).
 *
 * Environment: BENCH_ROUNDS (10), BENCH_SECONDS per crr run (3), BENCH_CPU (0), BENCH_NICE (-10). The last line is
 * one JSON object.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createStar, type Star } from '../test/lib/netns.js';
import { kernelPrerequisiteProblem } from '../test/lib/privileges.js';
import { median, pairedRatio, ratioSpread, round, sleep } from './lib/measure.js';
import { buildNativeTool } from './lib/native.js';
import { placementOf } from './lib/placement.js';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const NATIVE = join(HERE, 'native');
const VMLINUX_DIR = resolve(HERE, '..', 'bpf', 'vmlinux', 'x86');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const PLACEMENT = placementOf(process.env.BENCH_CPU, availableParallelism());
const RUN = [...PLACEMENT.pin, 'nice', '-n', String(Number(process.env.BENCH_NICE ?? -10))];
const PORT = 20000 + Math.floor(Math.random() * 20000);
/** Pause before every arm's crr run (after attaching, for the arms with a program). */
const SETTLE_MS = 2000;

/** The arms with a program: their -DARM in sockstate.bpf.c. */
const PROGRAM_ARMS = { empty: 1, storage: 2, hash: 3, hashNoPrealloc: 4 } as const;
type Arm = 'none' | keyof typeof PROGRAM_ARMS;
const ARMS: Arm[] = ['none', 'empty', 'storage', 'hash', 'hashNoPrealloc'];

const log = (msg: string): void => void process.stderr.write(`bench:sockstate ${msg}\n`);

async function buildObjects(dir: string): Promise<Record<keyof typeof PROGRAM_ARMS, string>> {
  const out = {} as Record<keyof typeof PROGRAM_ARMS, string>;
  for (const [arm, n] of Object.entries(PROGRAM_ARMS) as Array<[keyof typeof PROGRAM_ARMS, number]>) {
    const obj = join(dir, `sockstate-${arm}.bpf.o`);
    await run('clang', [
      '-O2',
      '-g',
      '-target',
      'bpf',
      '-D__TARGET_ARCH_x86',
      `-DARM=${n}`,
      '-I',
      VMLINUX_DIR,
      '-c',
      join(NATIVE, 'sockstate.bpf.c'),
      '-o',
      obj,
    ]);
    out[arm] = obj;
  }
  return out;
}

async function buildRunner(dir: string): Promise<string> {
  const out = join(dir, 'sockstate-run');
  const libs = await run('pkg-config', ['--libs', 'libbpf']).then(
    (r) => r.stdout.trim().split(/\s+/),
    () => ['-lbpf', '-lelf', '-lz']
  );
  await run(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', out, join(NATIVE, 'sockstate-run.c'), ...libs]);
  return out;
}

/** Starts the runner with one object and waits for its "ready" (program attached). */
async function attach(runner: string, obj: string): Promise<ChildProcess> {
  const child = spawn(RUN[0]!, [...RUN.slice(1), runner, obj], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((res, rej) => {
    createInterface({ input: child.stdout! }).once('line', () => res());
    child.once('exit', (code) => rej(new Error(`sockstate-run exited (${code}): ${err}`)));
  });
  return child;
}

async function detach(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  await exited;
}

async function crrRate(star: Star, crr: string): Promise<number> {
  const c = star.clients[0]!;
  const out = await star.exec(
    c.ns,
    [...RUN, crr, 'client', c.serverIp, String(PORT), String(SECONDS), '100', '100', '1'],
    (SECONDS + 30) * 1000
  );
  const r = JSON.parse(out) as { connections: number; seconds: number; errors: number };
  if (r.errors > r.connections / 100) {
    throw new Error(`crr: ${r.errors} failed connections of ${r.connections}`);
  }
  return r.connections / r.seconds;
}

async function main(): Promise<void> {
  const problem = kernelPrerequisiteProblem();
  if (problem) {
    throw new Error(`bench:sockstate needs the kernel: ${problem}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'flowlens-sockstate-'));
  const objects = await buildObjects(dir);
  const runner = await buildRunner(dir);
  const crr = await buildNativeTool(dir, 'crr');
  const star = await createStar(1);
  let server: ChildProcess | null = null;
  let attached: ChildProcess | null = null;
  try {
    const c = star.clients[0]!;
    await star.exec(c.ns, ['sysctl', '-q', '-w', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.ip_local_port_range=1024 65000']);
    await star.exec(star.server, ['sysctl', '-q', '-w', 'net.core.somaxconn=65535']);
    server = star.spawnIn(star.server, [...RUN, crr, 'server', String(PORT), '100', '1'], { stdio: 'ignore' });
    if (PLACEMENT.benchCpus !== null) {
      await run('taskset', ['-a', '-p', '-c', PLACEMENT.benchCpus, String(process.pid)]);
    }
    log(`placement: ${PLACEMENT.description}`);
    await sleep(300);
    await crrRate(star, crr); // warm-up
    const cps: Record<Arm, number[]> = { none: [], empty: [], storage: [], hash: [], hashNoPrealloc: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const order = ARMS.map((_, i) => ARMS[(i + r) % ARMS.length]!);
      for (const arm of order) {
        if (arm !== 'none') {
          attached = await attach(runner, objects[arm]);
        }
        // every arm after the same pause: the second after a program is attached runs slower whatever the program
        // (docs/agent.md, BENCH_AFTER_FIRST_REPORT), and the pause lets that pass
        await sleep(SETTLE_MS);
        cps[arm].push(await crrRate(star, crr));
        if (attached) {
          await detach(attached);
          attached = null;
        }
      }
      log(`round ${r + 1}/${ROUNDS}: ${ARMS.map((a) => `${a} ${Math.round(cps[a].at(-1)!)}`).join(', ')} conn/s`);
    }
    const arms = Object.fromEntries(
      ARMS.filter((a) => a !== 'none').map((a) => [
        a,
        {
          ratio: round(pairedRatio(cps[a], cps.none), 4),
          spread: round(ratioSpread(cps[a], cps.none), 3),
          medianConnPerSec: Math.round(median(cps[a])),
        },
      ])
    );
    const result = {
      noneMedianConnPerSec: Math.round(median(cps.none)),
      arms,
      rounds: ROUNDS,
      secondsPerRun: SECONDS,
      placement: PLACEMENT.description,
      roundsNote:
        'each round runs every arm once, the order rotated each round; ratio: median of the per-round ratios to none; spread: their interquartile range',
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    if (attached) {
      await detach(attached);
    }
    server?.kill('SIGKILL');
    await star.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:sockstate: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
