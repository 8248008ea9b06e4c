/**
 * The loader's `tcp` tick trace (FLOWLENS_LOADER_TICK_TRACE, loader.c trace_tick), parsed without I/O: one
 * `tick GEN INODE...` line per tick naming the namespaces it passed, then one `pass GEN INODE NS` line per pass
 * with its wall time (none from an older loader).
 */

export interface TracedTick {
  /** Namespaces the tick passed. */
  passes: number;
  /** Wall time of each pass, ns; empty from a loader without `pass` lines. */
  passNs: number[];
}

/** The ticks of a trace, oldest first. */
export function parseTickTrace(text: string): TracedTick[] {
  const ticks: TracedTick[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'tick' && f.length >= 2) {
      ticks.push({ passes: f.length - 2, passNs: [] });
    } else if (f[0] === 'pass' && f.length >= 4 && ticks.length > 0) {
      const ns = Number(f[3]);
      if (Number.isFinite(ns)) {
        ticks.at(-1)!.passNs.push(ns);
      }
    }
  }
  return ticks;
}

export interface TickPassSummary {
  /** Namespaces passed per tick; null for no ticks. */
  passesPerTick: number | null;
  /** Per tick, the longest pass and the sum of the passes (ms); null without pass times. */
  longestPassMs: number | null;
  passSumMs: number | null;
}

/** Means over the ticks of a window (only ticks with pass times count for the times). */
export function summarizePasses(ticks: TracedTick[]): TickPassSummary {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const timed = ticks.filter((t) => t.passNs.length > 0);
  return {
    passesPerTick: ticks.length ? mean(ticks.map((t) => t.passes)) : null,
    longestPassMs: timed.length ? mean(timed.map((t) => Math.max(...t.passNs))) / 1e6 : null,
    passSumMs: timed.length ? mean(timed.map((t) => t.passNs.reduce((a, b) => a + b, 0))) / 1e6 : null,
  };
}
