/**
 * Pure reading of /proc figures for bench:agent: a process's CPU time and peak resident memory, and the arithmetic
 * that turns samples of a process tree into a CPU share over a window and a peak. No I/O here (tree-meter.ts reads
 * /proc), so every rule is unit-tested beside it (proc.test.ts).
 *
 * CPU: a process's own utime + stime plus cutime + cstime, the times of its children it has already waited for.
 * Summed over every live process of the agent's tree, that total only grows: a child that exits moves its time
 * into its parent's cutime/cstime when the parent reaps it (the agent's node process reaps its loader), so a
 * window's CPU is the difference of two totals, and it can never be negative. Summing only utime + stime of the
 * processes alive at each end (as the bench did) loses a child's whole time when it exits in between.
 *
 * Memory: VmHWM, the kernel's own peak resident set of a process (it cannot be missed between samples). The tree's
 * peak is the sum of each process's VmHWM, each process counted once (keyed by pid and start time, so a reused
 * pid is another process). The processes may peak at different moments, so the sum bounds from above the peak
 * the tree held at any one moment; shared file pages (libc) are counted in each process, as RSS does.
 */

export interface ProcStat {
  pid: number;
  /** The command name (field 2, without its parentheses). */
  comm: string;
  ppid: number;
  /** utime + stime, clock ticks. */
  ownTicks: number;
  /** cutime + cstime: children waited for, clock ticks. */
  childTicks: number;
  /** Start time after boot, clock ticks: with the pid, names a process uniquely. */
  starttime: number;
}

export interface ProcMemory {
  /** Peak resident set (VmHWM), kB. */
  hwmKb: number;
  /** Resident set now (VmRSS), kB. */
  rssKb: number;
}

/** One process of a tree at one moment. */
export interface ProcSample extends ProcStat, ProcMemory {}

/** `/proc/PID/stat`. The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'. */
export function parseStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  const pid = Number(text.slice(0, text.indexOf('(')).trim());
  const f =
    close < 0
      ? []
      : text
          .slice(close + 2)
          .trim()
          .split(' ');
  // f[0] is field 3 (state): field n is f[n - 3]
  const num = (field: number) => Number(f[field - 3]);
  const stat = {
    pid,
    comm: text.slice(text.indexOf('(') + 1, close),
    ppid: num(4),
    ownTicks: num(14) + num(15),
    childTicks: num(16) + num(17),
    starttime: num(22),
  };
  if (
    f.length < 20 ||
    !Number.isInteger(pid) ||
    Object.values(stat).some((v) => typeof v === 'number' && !Number.isFinite(v))
  ) {
    throw new Error(`not a /proc/PID/stat line: ${JSON.stringify(text.slice(0, 200))}`);
  }
  return stat;
}

/**
 * `/proc/PID/status`: VmHWM and VmRSS. A zombie or a kernel thread has neither (no memory map): 0, it holds none.
 */
export function parseStatusMemory(text: string): ProcMemory {
  const kb = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  if (!/^Name:/m.test(text)) {
    throw new Error(`not a /proc/PID/status file: ${JSON.stringify(text.slice(0, 200))}`);
  }
  return { hwmKb: kb('VmHWM'), rssKb: kb('VmRSS') };
}

/** The key that names one process for its whole life (a pid may be reused by a later process). */
export const processKey = (p: Pick<ProcStat, 'pid' | 'starttime'>): string => `${p.pid}@${p.starttime}`;

/** CPU of a tree at one moment: its live processes' own and reaped children's time, clock ticks. */
export function treeTicks(sample: readonly ProcSample[]): number {
  return sample.reduce((n, p) => n + p.ownTicks + p.childTicks, 0);
}

/** CPU seconds between two samples of the same tree; a negative difference is a bug in what was sampled. */
export function cpuSecondsBetween(start: readonly ProcSample[], end: readonly ProcSample[], clkTck: number): number {
  const d = treeTicks(end) - treeTicks(start);
  if (d < 0) {
    throw new Error(
      `the agent's CPU total fell by ${-d} ticks between two samples (start ${start.map(processKey).join(',')}, ` +
        `end ${end.map(processKey).join(',')}): a process left the tree without its time reaching a parent in it`
    );
  }
  return d / clkTck;
}

/**
 * CPU seconds between two samples per command name (`node`, `flowlens-loader`), of the processes alive at both
 * ends (their own time and their reaped children's): where the tree's CPU went.
 */
export function cpuSecondsByCommand(
  start: readonly ProcSample[],
  end: readonly ProcSample[],
  clkTck: number
): Record<string, number> {
  const before = new Map(start.map((p) => [processKey(p), p.ownTicks + p.childTicks]));
  const out: Record<string, number> = {};
  for (const p of end) {
    const b = before.get(processKey(p));
    if (b !== undefined) {
      out[p.comm] = (out[p.comm] ?? 0) + (p.ownTicks + p.childTicks - b) / clkTck;
    }
  }
  return out;
}

/** Per process (processKey), the highest VmHWM seen; a sample adds processes and raises peaks, never lowers them. */
export type Peaks = Map<string, { comm: string; hwmKb: number }>;

export function addPeaks(peaks: Peaks, sample: readonly ProcSample[]): Peaks {
  for (const p of sample) {
    const k = processKey(p);
    peaks.set(k, { comm: p.comm, hwmKb: Math.max(peaks.get(k)?.hwmKb ?? 0, p.hwmKb) });
  }
  return peaks;
}

/** The tree's peak (MB): every process's own peak, each counted once. */
export function peakMb(peaks: Peaks): number {
  let kb = 0;
  for (const v of peaks.values()) {
    kb += v.hwmKb;
  }
  return kb / 1024;
}

/** The peaks (MB) per command name: which process the memory is in. */
export function peakMbByCommand(peaks: Peaks): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of peaks.values()) {
    out[v.comm] = (out[v.comm] ?? 0) + v.hwmKb / 1024;
  }
  return out;
}

/** Resident memory of the tree at the moment of the sample (MB). */
export function rssMb(sample: readonly ProcSample[]): number {
  return sample.reduce((n, p) => n + p.rssKb, 0) / 1024;
}

/**
 * CPU windows added up: the share of one core the agent used over exactly the windows measured (its CPU seconds
 * over their wall seconds, each window's CPU and wall taken from the same two instants).
 */
export class CpuWindows {
  cpuSeconds = 0;
  wallSeconds = 0;

  add(cpuSeconds: number, wallSeconds: number): void {
    if (!(wallSeconds > 0) || !(cpuSeconds >= 0)) {
      throw new Error(`bad CPU window: ${cpuSeconds} s of CPU over ${wallSeconds} s`);
    }
    this.cpuSeconds += cpuSeconds;
    this.wallSeconds += wallSeconds;
  }

  /** Percent of one core; NaN before any window. */
  pctOfCore(): number {
    return this.wallSeconds ? (100 * this.cpuSeconds) / this.wallSeconds : NaN;
  }
}
