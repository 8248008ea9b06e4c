/** The per-pod counters of the metric contract, fed one collector tick at a time. */
import { Counter, Gauge } from './prom-client.js';
import type { CollectorTick } from '../contracts/flow.js';
import type { MetadataView } from '../contracts/metadata.js';
import type { FailureCounters } from '../contracts/report.js';
import type { FlowlensRegistry as Registry, MetricsRenderer } from './render.js';
import {
  aggregateTick,
  POD_INCREMENT_NAMES,
  SeriesLifecycle,
  seriesKey,
  type PodIncrements,
  type PodLabels,
} from './pod-traffic.js';

const POD_LABELS = ['namespace', 'pod', 'workload', 'node'] as const;
type PodLabelName = (typeof POD_LABELS)[number];

export const POD_METRICS: Record<keyof PodIncrements, { name: string; help: string }> = {
  ingressFlows: { name: 'flowlens_pod_ingress_flows_total', help: 'TCP connections the pod accepted.' },
  egressFlows: { name: 'flowlens_pod_egress_flows_total', help: 'TCP connections the pod initiated.' },
  ingressPackets: { name: 'flowlens_pod_ingress_packets_total', help: 'TCP segments the pod received.' },
  egressPackets: { name: 'flowlens_pod_egress_packets_total', help: 'TCP segments the pod sent.' },
  ingressBytes: { name: 'flowlens_pod_ingress_bytes_total', help: 'TCP payload bytes the pod received.' },
  egressBytes: { name: 'flowlens_pod_egress_bytes_total', help: 'TCP payload bytes the pod sent (acknowledged).' },
  retransmits: { name: 'flowlens_pod_tcp_retransmits_total', help: 'TCP segments the pod retransmitted.' },
  rtos: { name: 'flowlens_pod_tcp_rtos_total', help: 'TCP retransmission timeouts on the pod’s connections.' },
};

/** Why the pod's packets and connections failed (report contract 1.2 summed per pod). */
export const POD_FAILURE_METRICS = {
  drops: {
    name: 'flowlens_pod_drops_total',
    help: 'Packets of the pod’s TCP flows the node’s kernel dropped, by the kernel’s drop reason (enum skb_drop_reason).',
  },
  connectFailures: {
    name: 'flowlens_pod_tcp_connect_failures_total',
    help: 'TCP connections the pod tried to open that never established (no answer, or refused).',
  },
  resets: {
    name: 'flowlens_pod_tcp_resets_total',
    help: 'TCP resets on the pod’s established connections, sent or received.',
  },
} as const;

export interface PodMetricsOptions {
  node: string;
  metadata: MetadataView;
  /** How long a gone pod's series stays exported (ms). */
  graceMs: number;
  now?: () => number;
}

export class PodMetrics {
  private readonly counters: Record<keyof PodIncrements, Counter<PodLabelName>>;
  private readonly unattributed: Counter<'direction'>;
  private readonly drops: Counter<PodLabelName | 'reason'>;
  private readonly connectFailures: Counter<PodLabelName>;
  private readonly resets: Counter<PodLabelName | 'direction'>;
  /** Drop reasons exported per pod series, to remove them with the pod (reasons are a closed set per kernel). */
  private readonly dropReasons = new Map<string, Set<string>>();
  private readonly lifecycle: SeriesLifecycle;
  private readonly now: () => number;

  constructor(
    registry: Registry,
    renderer: MetricsRenderer,
    private readonly opts: PodMetricsOptions
  ) {
    this.now = opts.now ?? Date.now;
    this.lifecycle = new SeriesLifecycle(opts.graceMs);
    const counters = {} as Record<keyof PodIncrements, Counter<PodLabelName>>;
    for (const key of POD_INCREMENT_NAMES) {
      const { name, help } = POD_METRICS[key];
      counters[key] = new Counter({ name, help, labelNames: POD_LABELS, registers: [registry] });
      renderer.trackCounter(counters[key], name);
    }
    this.counters = counters;
    const { drops, connectFailures, resets } = POD_FAILURE_METRICS;
    this.drops = new Counter({ ...drops, labelNames: [...POD_LABELS, 'reason'], registers: [registry] });
    renderer.trackCounter(this.drops, drops.name);
    this.connectFailures = new Counter({ ...connectFailures, labelNames: POD_LABELS, registers: [registry] });
    renderer.trackCounter(this.connectFailures, connectFailures.name);
    this.resets = new Counter({ ...resets, labelNames: [...POD_LABELS, 'direction'], registers: [registry] });
    renderer.trackCounter(this.resets, resets.name);
    this.unattributed = new Counter({
      name: 'flowlens_agent_unattributed_bytes_total',
      help: 'TCP payload bytes of flows whose local IP is no pod (host network, node addresses, unknown IPs).',
      labelNames: ['direction'],
      registers: [registry],
    });
    renderer.trackCounter(this.unattributed, 'flowlens_agent_unattributed_bytes_total');
    const lifecycle = this.lifecycle;
    new Gauge({
      name: 'flowlens_agent_pod_series',
      help: 'Pods with exported flowlens_pod_* series (bounded: gone pods are dropped after the grace period).',
      registers: [registry],
      collect() {
        this.set(lifecycle.size);
      },
    });
  }

  onTick(tick: CollectorTick): void {
    const { pods, unattributed } = aggregateTick(tick.flows, this.opts.metadata, this.opts.node);
    for (const [key, { labels, ips, increments, failures }] of pods) {
      this.lifecycle.touch(key, labels, ips);
      for (const name of POD_INCREMENT_NAMES) {
        this.counters[name].inc(labels, increments[name]);
      }
      this.onFailures(key, labels, failures);
    }
    this.unattributed.inc({ direction: 'ingress' }, unattributed.ingressBytes);
    this.unattributed.inc({ direction: 'egress' }, unattributed.egressBytes);
    this.sweep();
  }

  private onFailures(key: string, labels: PodLabels, failures: FailureCounters): void {
    // every pod with traffic gets the failure series at 0 (a rate() over a new series starts at its first sample)
    this.connectFailures.inc(labels, failures.connectFailures ?? 0);
    this.resets.inc({ ...labels, direction: 'sent' }, failures.resetsSent ?? 0);
    this.resets.inc({ ...labels, direction: 'received' }, failures.resetsReceived ?? 0);
    for (const [reason, n] of Object.entries(failures.drops ?? {})) {
      let reasons = this.dropReasons.get(key);
      if (!reasons) {
        reasons = new Set();
        this.dropReasons.set(key, reasons);
      }
      reasons.add(reason);
      this.drops.inc({ ...labels, reason }, n);
    }
  }

  /** Drops the series of pods gone longer than the grace period. */
  sweep(): PodLabels[] {
    const removed = this.lifecycle.sweep(this.now(), this.opts.metadata);
    for (const labels of removed) {
      for (const name of POD_INCREMENT_NAMES) {
        this.counters[name].remove(labels);
      }
      this.connectFailures.remove(labels);
      this.resets.remove({ ...labels, direction: 'sent' });
      this.resets.remove({ ...labels, direction: 'received' });
      const key = seriesKey(labels);
      for (const reason of this.dropReasons.get(key) ?? []) {
        this.drops.remove({ ...labels, reason });
      }
      this.dropReasons.delete(key);
    }
    return removed;
  }

  get seriesCount(): number {
    return this.lifecycle.size;
  }

  /** Exposed for tests: the key a label set is tracked under. */
  static keyOf(labels: PodLabels): string {
    return seriesKey(labels);
  }
}
