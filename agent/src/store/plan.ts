/**
 * Which roll-up buckets answer a time range. Ranges are aligned outward to the finest roll-up step that
 * still holds data for the range's start, then covered greedily by the coarsest aligned buckets, so a
 * long range reads few rows: an hour aligned to 5 minutes is at most 2 + 3 + 2 + 3 buckets, never 12.
 * Parts a coarse tier has not built yet fall to the finer tiers, so no part of the range is left out.
 */

export interface Tier {
  /** Bucket width in seconds. */
  stepS: number;
  /** Oldest bucket start (epoch seconds) the tier still holds; older buckets were dropped by retention. */
  oldestS: number;
  /** Buckets at or after this start are not built yet (coarse tiers are built once their window closed). */
  builtUntilS?: number;
}

export interface Segment {
  stepS: number;
  /** Bucket starts in [fromS, toS) are read from this tier. */
  fromS: number;
  toS: number;
}

export interface Plan {
  fromS: number;
  toS: number;
  segments: Segment[];
}

export const floorTo = (t: number, step: number): number => Math.floor(t / step) * step;
export const ceilTo = (t: number, step: number): number => Math.ceil(t / step) * step;

/**
 * Plans [fromS, toS). Tiers must be given finest first, each step a multiple of the previous one.
 * The answered range is [plan.fromS, plan.toS) ⊇ [fromS, toS).
 */
export function planRange(fromS: number, toS: number, tiers: Tier[]): Plan {
  if (tiers.length === 0) {
    throw new Error('no tiers');
  }
  // The finest tier that still holds the range's start sets the alignment.
  let base = tiers.findIndex((t) => t.oldestS <= floorTo(fromS, t.stepS));
  if (base < 0) {
    base = tiers.length - 1;
  }
  const step = tiers[base]!.stepS;
  const a = floorTo(fromS, step);
  const b = Math.max(ceilTo(toS, step), a);
  const segments: Segment[] = [];
  // Every tier takes part: what a coarse tier has not built yet (the newest hour of a range that starts past
  // the finer tiers' retention) is read from the finer tiers, which hold recent buckets.
  cover(a, b, tiers.length - 1, tiers, segments);
  segments.sort((x, y) => x.fromS - y.fromS);
  return { fromS: a, toS: b, segments };
}

function cover(a: number, b: number, level: number, tiers: Tier[], out: Segment[]): void {
  if (a >= b) {
    return;
  }
  const step = tiers[level]!.stepS;
  if (level === 0) {
    out.push({ stepS: step, fromS: a, toS: b });
    return;
  }
  const A = ceilTo(a, step);
  const B = Math.min(floorTo(b, step), floorTo(tiers[level]!.builtUntilS ?? Infinity, step));
  if (A >= B) {
    cover(a, b, level - 1, tiers, out);
    return;
  }
  cover(a, A, level - 1, tiers, out);
  out.push({ stepS: step, fromS: A, toS: B });
  cover(B, b, level - 1, tiers, out);
}
