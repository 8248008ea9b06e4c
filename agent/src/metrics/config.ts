/** The exporter's settings, from the environment (OPEN_METRICS* are the AWS NFM agent's variable names). */

export interface OpenMetricsConfig {
  enabled: boolean;
  address: string;
  port: number;
  /** How long a gone pod's series stays exported. */
  podGraceMs: number;
  /** ENA polling: null when turned off. */
  ena: { intervalMs: number; ethtool: string[]; sysClassNet: string } | null;
}

export const DEFAULT_ADDRESS = '127.0.0.1';
export const DEFAULT_PORT = 9109;
export const DEFAULT_POD_GRACE_SECONDS = 300;
export const DEFAULT_ENA_POLL_SECONDS = 15;

function flag(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw.trim() === '') {
    return fallback;
  }
  const v = raw.trim().toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(v)) {
    return true;
  }
  if (['off', 'false', '0', 'no'].includes(v)) {
    return false;
  }
  throw new Error(`${name} must be on or off, got '${raw}'`);
}

function seconds(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined || raw.trim() === '') {
    return fallback;
  }
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) {
    throw new Error(`${name} must be a number of seconds ≥ ${min}, got '${raw}'`);
  }
  return v;
}

export function openMetricsConfig(env: NodeJS.ProcessEnv): OpenMetricsConfig {
  const enabled = flag('OPEN_METRICS', env.OPEN_METRICS, false);
  const address = env.OPEN_METRICS_ADDRESS?.trim() || DEFAULT_ADDRESS;
  const rawPort = env.OPEN_METRICS_PORT?.trim();
  const port = rawPort ? Number(rawPort) : DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`OPEN_METRICS_PORT must be a port number (0-65535), got '${rawPort}'`);
  }
  const podGraceMs =
    seconds('FLOWLENS_POD_SERIES_GRACE_SECONDS', env.FLOWLENS_POD_SERIES_GRACE_SECONDS, DEFAULT_POD_GRACE_SECONDS, 0) *
    1000;
  const enaOn = flag('FLOWLENS_ENA_STATS', env.FLOWLENS_ENA_STATS, true);
  const ethtool = (env.FLOWLENS_ETHTOOL?.trim() || 'ethtool').split(/\s+/);
  const ena = enaOn
    ? {
        intervalMs:
          seconds('FLOWLENS_ENA_POLL_SECONDS', env.FLOWLENS_ENA_POLL_SECONDS, DEFAULT_ENA_POLL_SECONDS, 0.1) * 1000,
        ethtool,
        sysClassNet: env.FLOWLENS_SYS_CLASS_NET?.trim() || '/sys/class/net',
      }
    : null;
  return { enabled, address, port, podGraceMs, ena };
}
