/**
 * The kernel's bpf_stats switch, seen from outside the agent (agent/bench/native/bpfstats.c does the bpf(2) calls).
 *
 * BPF_ENABLE_STATS is one kernel-wide static key: while any process holds its fd (or kernel.bpf_stats_enabled is
 * 1), every BPF program on the node is timed. Who holds it is visible in /proc: the fd is an anonymous inode named
 * `bpf-stats`. Whether the accounting is on right now is visible in a program's own run_cnt (`probe`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The link an fd holding BPF_ENABLE_STATS shows in /proc/PID/fd. */
export const BPF_STATS_FD = 'anon_inode:bpf-stats';

/** Processes holding a BPF_ENABLE_STATS fd (each pid once). */
export function bpfStatsHolders(): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited, or not ours to read
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === BPF_STATS_FD) {
          out.push(Number(pid));
          break;
        }
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return out;
}

/** kernel.bpf_stats_enabled: the sysctl turns the same accounting on for everyone (nobody's fd needed). */
export function bpfStatsSysctl(): boolean {
  try {
    return readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim() !== '0';
  } catch {
    return false;
  }
}

/** Whether the kernel times BPF programs right now: a trivial program's run_cnt after one test run. */
export async function bpfStatsOn(tool: string): Promise<boolean> {
  const { stdout } = await run(tool, ['probe']);
  const r = JSON.parse(stdout) as { statsOn?: boolean; error?: string };
  if (r.error !== undefined || typeof r.statsOn !== 'boolean') {
    throw new Error(`bpfstats probe: ${stdout.trim()}`);
  }
  return r.statsOn;
}

export interface StatsCost {
  /** ns the accounting adds to one program run: median of the paired on − off differences. */
  statsNsPerRun: number;
  medianOffNs: number;
  medianOnNs: number;
  /** The same difference from the kernel's own test-run duration (whole ns). */
  kernelDurationDiffNs: number;
  pairs: number;
  repeat: number;
  /** false: someone else held stats during an "off" batch; the figure is then meaningless. */
  offValid: boolean;
}

/** What bpf_stats cost per program run on this kernel (BPF_PROG_TEST_RUN of a trivial program, on/off alternating). */
export async function bpfStatsCost(tool: string, pairs = 20, repeat = 200_000): Promise<StatsCost> {
  const { stdout } = await run(tool, ['cost', String(pairs), String(repeat)], { timeout: 120_000 });
  const r = JSON.parse(stdout) as StatsCost & { error?: string };
  if (r.error !== undefined) {
    throw new Error(`bpfstats cost: ${r.error}`);
  }
  return r;
}

export interface StatsHold {
  pid: number;
  /** Closes the fd (the holder exits) and waits for it. */
  release(): Promise<void>;
}

/** Holds BPF_ENABLE_STATS in a child process until release() (or until we die: its stdin closes). */
export async function holdBpfStats(tool: string): Promise<StatsHold> {
  const child: ChildProcess = spawn(tool, ['hold'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const first = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout! }).once('line', res);
    child.once('error', rej);
    void exited.then(() => rej(new Error('bpfstats hold exited before enabling stats')));
  });
  if (first !== 'on') {
    child.kill('SIGKILL');
    throw new Error(`bpfstats hold: ${first}`);
  }
  return {
    pid: child.pid!,
    release: async () => {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
