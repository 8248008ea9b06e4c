/**
 * Reads the ENA driver's allowance statistics out of `ethtool -S IFACE` output, by stat name — never by
 * position, since the set and order of statistics change between driver versions.
 */

/** The allowance statistics the metric contract exports, with the driver's stat names. */
export const ENA_ALLOWANCE_STATS = [
  'bw_in_allowance_exceeded',
  'bw_out_allowance_exceeded',
  'pps_allowance_exceeded',
  'conntrack_allowance_exceeded',
  'linklocal_allowance_exceeded',
  'conntrack_allowance_available',
] as const;
export type EnaAllowanceStat = (typeof ENA_ALLOWANCE_STATS)[number];

/** The stats a driver reported; a stat the driver does not know is absent, never 0. */
export type EnaAllowances = Partial<Record<EnaAllowanceStat, number>>;

const STAT_LINE = /^\s*([^\s:][^:]*?)\s*:\s*(\d+)\s*$/;

/** Every `name: value` line of `ethtool -S` output (the "NIC statistics:" header and odd lines are skipped). */
export function parseEthtoolStats(output: string): Map<string, number> {
  const stats = new Map<string, number>();
  for (const line of output.split('\n')) {
    const m = STAT_LINE.exec(line);
    if (!m) {
      continue;
    }
    const value = Number(m[2]);
    if (Number.isSafeInteger(value)) {
      stats.set(m[1]!, value);
    }
  }
  return stats;
}

export function enaAllowances(stats: ReadonlyMap<string, number>): EnaAllowances {
  const out: EnaAllowances = {};
  for (const name of ENA_ALLOWANCE_STATS) {
    const value = stats.get(name);
    if (value !== undefined) {
      out[name] = value;
    }
  }
  return out;
}

export function parseEnaAllowances(ethtoolOutput: string): EnaAllowances {
  return enaAllowances(parseEthtoolStats(ethtoolOutput));
}
