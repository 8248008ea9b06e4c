/**
 * Samples the agent's process tree (node process, loader, anything they spawn) from /proc: CPU totals for a
 * window's two ends, and the tree's peak resident memory from each process's VmHWM (proc.ts says why both are
 * exact). A meter samples every 200 ms while it runs, so a short-lived child's peak is kept too; the node
 * process and the loader live as long as the agent, and their VmHWM covers their whole life whenever it is read.
 */
import { readFileSync } from 'node:fs';
import { processTree } from './bpf-programs.js';
import {
  addPeaks,
  parseStat,
  parseStatusMemory,
  peakMb,
  peakMbByCommand,
  type Peaks,
  type ProcSample,
} from './proc.js';

/** The live processes of the tree under `pid` (a process that exits while it is read is left out). */
export function sampleTree(pid: number): ProcSample[] {
  const out: ProcSample[] = [];
  for (const p of new Set(processTree(pid))) {
    try {
      const stat = parseStat(readFileSync(`/proc/${p}/stat`, 'utf8'));
      out.push({ ...stat, ...parseStatusMemory(readFileSync(`/proc/${p}/status`, 'utf8')) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH') {
        throw err;
      }
    }
  }
  return out;
}

export class TreeMeter {
  private readonly peaks: Peaks = new Map();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 200);
    this.timer.unref();
  }

  /** Samples now (also raising the peaks) and returns the sample: a CPU window's end. */
  sample(): ProcSample[] {
    const s = sampleTree(this.pid);
    addPeaks(this.peaks, s);
    return s;
  }

  /** The tree's peak resident memory so far (MB), sampling once more first. */
  peakMb(): number {
    this.sample();
    return peakMb(this.peaks);
  }

  /** The peaks per command name (MB): which process the memory is in. */
  peakMbByCommand(): Record<string, number> {
    return peakMbByCommand(this.peaks);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
