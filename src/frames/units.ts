// Grafana unit ids used on every numeric field, so each number shows what it counts.
import type { Metric } from '../datasource/hubTypes';

export const UNITS = {
  bytes: 'decbytes',
  count: 'short',
  /** Identifiers such as port numbers: shown as is. */
  none: 'none',
  rttUs: 'µs',
  ratio: 'percentunit',
  bytesPerSecond: 'Bps',
  packetsPerSecond: 'pps',
  perSecond: 'cps',
} as const;

export function metricUnit(metric: Metric): string {
  switch (metric) {
    case 'bytes':
      return UNITS.bytes;
    case 'rtt':
      return UNITS.rttUs;
    default:
      return UNITS.count;
  }
}

export const METRIC_LABELS: Record<Metric, string> = {
  bytes: 'Data transferred',
  retransmits: 'Retransmits',
  rtos: 'Retransmission timeouts',
  rtt: 'Round-trip time',
  failures: 'Failures',
};
