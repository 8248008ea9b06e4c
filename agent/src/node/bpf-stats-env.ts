/**
 * FLOWLENS_BPF_STATS, read in one place by the agent (`--bpf-stats`) and the compose cluster tool (the chart's
 * `agent.bpfStats`): on/off (true/false, 1/0 too, any case); unset or empty is off; anything else is refused.
 * Dependency-free so the cluster tool's image can import it.
 */
export function parseBpfStatsEnv(value: string | undefined): boolean {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'off' || v === 'false' || v === '0') {
    return false;
  }
  if (v === 'on' || v === 'true' || v === '1') {
    return true;
  }
  throw new Error(`FLOWLENS_BPF_STATS must be on or off, got '${String(value).slice(0, 100)}'`);
}
