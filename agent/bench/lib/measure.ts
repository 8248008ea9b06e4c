/** Small measuring helpers for bench:agent: medians and ratios (the agent's CPU and memory: proc.ts). */

export const median = (xs: number[]): number => {
  if (xs.length === 0) {
    return NaN;
  }
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Median of the per-round ratios with/without (each round's pair ran back to back). */
export const pairedRatio = (withAgent: number[], without: number[]): number =>
  median(withAgent.map((x, i) => x / without[i]!));

/**
 * The spread of the per-round ratios (interquartile range): how finely this run can tell the agent's effect from
 * the machine's own noise. A ratio 0.01 from 1 means nothing when this is 0.2.
 */
export function ratioSpread(withAgent: number[], without: number[]): number {
  const r = withAgent.map((x, i) => x / without[i]!).sort((a, b) => a - b);
  const q = (p: number) => r[Math.min(r.length - 1, Math.max(0, Math.round(p * (r.length - 1))))]!;
  return q(0.75) - q(0.25);
}

export const round = (x: number, digits: number): number => Number(x.toFixed(digits));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
