/** flowlens_ena_* (labels node, interface): the ENA driver's allowance statistics, exactly as last polled. */
import type { EnaAllowances, EnaAllowanceStat } from '../ena/parse.js';
import { mirroredCounter, mirroredGauge, type Reading } from './mirror.js';
import type { FlowlensRegistry as Registry, MetricsRenderer } from './render.js';

export const ENA_METRICS: Record<EnaAllowanceStat, { name: string; help: string; type: 'counter' | 'gauge' }> = {
  bw_in_allowance_exceeded: {
    name: 'flowlens_ena_bw_in_allowance_exceeded_total',
    help: 'Packets queued or dropped because inbound aggregate bandwidth exceeded the instance allowance.',
    type: 'counter',
  },
  bw_out_allowance_exceeded: {
    name: 'flowlens_ena_bw_out_allowance_exceeded_total',
    help: 'Packets queued or dropped because outbound aggregate bandwidth exceeded the instance allowance.',
    type: 'counter',
  },
  pps_allowance_exceeded: {
    name: 'flowlens_ena_pps_allowance_exceeded_total',
    help: 'Packets queued or dropped because bidirectional packets per second exceeded the instance allowance.',
    type: 'counter',
  },
  conntrack_allowance_exceeded: {
    name: 'flowlens_ena_conntrack_allowance_exceeded_total',
    help: 'Packets dropped because connection tracking exceeded the instance allowance (no new connections).',
    type: 'counter',
  },
  linklocal_allowance_exceeded: {
    name: 'flowlens_ena_linklocal_allowance_exceeded_total',
    help: 'Packets dropped because traffic to link-local services (DNS, IMDS, NTP) exceeded the PPS allowance.',
    type: 'counter',
  },
  conntrack_allowance_available: {
    name: 'flowlens_ena_conntrack_allowance_available',
    help: 'Tracked connections the instance can still establish before reaching its conntrack allowance.',
    type: 'gauge',
  },
};

export function registerEnaMetrics(
  registry: Registry,
  renderer: MetricsRenderer,
  node: string,
  snapshot: () => ReadonlyMap<string, EnaAllowances>
): void {
  for (const stat of Object.keys(ENA_METRICS) as EnaAllowanceStat[]) {
    const { name, help, type } = ENA_METRICS[stat];
    const read = (): Reading<'node' | 'interface'> => {
      const out: Reading<'node' | 'interface'> = [];
      for (const [iface, stats] of snapshot()) {
        const value = stats[stat];
        if (value !== undefined) {
          out.push({ labels: { node, interface: iface }, value });
        }
      }
      return out;
    };
    if (type === 'counter') {
      mirroredCounter(registry, renderer, name, help, ['node', 'interface'], read);
    } else {
      mirroredGauge(registry, name, help, ['node', 'interface'], read);
    }
  }
}
