/** flowlens_agent_* : the agent watching itself (collector stats from each tick, reporter stats at scrape time). */
import { Counter, Histogram } from './prom-client.js';
import type { CollectorTick } from '../contracts/flow.js';
import type { CollectorStats, ReporterStats } from '../contracts/stats.js';
import { mirroredCounter, mirroredGauge, type Reading } from './mirror.js';
import type { FlowlensRegistry as Registry, MetricsRenderer } from './render.js';

const none: Reading<never> = [];

function single(value: number | undefined): Reading<never> {
  return value === undefined ? none : [{ labels: {}, value }];
}

export class SelfMetrics {
  private stats: CollectorStats | undefined;
  private readonly duration: Histogram;
  private readonly ticks: Counter;
  private readonly phases: Counter;

  constructor(registry: Registry, renderer: MetricsRenderer, reporterStats: () => ReporterStats | undefined) {
    const latest = (): CollectorStats | undefined => this.stats;
    mirroredGauge(
      registry,
      'flowlens_agent_map_fill_ratio',
      'Entries used / capacity of each BPF map (1 means full: new sockets are sampled out).',
      ['map'],
      () =>
        Object.entries(latest()?.maps ?? {})
          .filter(([, m]) => m.max > 0)
          .map(([map, m]) => ({ labels: { map }, value: m.used / m.max }))
    );
    mirroredCounter(
      registry,
      renderer,
      'flowlens_agent_sockets_sampled_out_total',
      'Sockets not tracked because the socket map was full.',
      [],
      () => single(latest()?.socketsSampledOut)
    );
    mirroredCounter(
      registry,
      renderer,
      'flowlens_agent_bpf_run_time_seconds_total',
      'Kernel time spent in the agent’s BPF programs (bpf_stats); absent unless the agent runs with --bpf-stats.',
      [],
      () => {
        const ns = latest()?.bpfRunTimeNs;
        return single(ns === undefined ? undefined : ns / 1e9);
      }
    );
    mirroredCounter(
      registry,
      renderer,
      'flowlens_agent_bpf_runs_total',
      'Runs of the agent’s BPF programs (bpf_stats); absent unless the agent runs with --bpf-stats.',
      [],
      () => single(latest()?.bpfRunCount)
    );
    mirroredCounter(
      registry,
      renderer,
      'flowlens_agent_sockets_adopted_total',
      'Sockets established before the agent started, adopted (counted from the agent start on).',
      [],
      () => single(latest()?.socketsAdopted)
    );
    mirroredCounter(
      registry,
      renderer,
      'flowlens_agent_sockets_translated_total',
      'Sockets whose peer the node translated (Service DNAT/SNAT), reported with the real peer and via.',
      [],
      () => single(latest()?.socketsTranslated)
    );
    mirroredGauge(
      registry,
      'flowlens_agent_conntrack_attached',
      "Service translation: 1 while the node's translations are read (conntrack program, or conntrack netlink events where the kernel refuses it), 0 while waiting for nf_conntrack or with neither.",
      [],
      () => {
        const { conntrack, natSource } = latest() ?? {};
        if (conntrack === undefined && natSource === undefined) {
          return single(undefined);
        }
        return single(conntrack === 'attached' || natSource === 'fentry' || natSource === 'netlink' ? 1 : 0);
      }
    );
    mirroredGauge(
      registry,
      'flowlens_agent_drops_attached',
      'Drops by kernel reason: 1 while the kfree_skb hook is attached, 0 where the kernel refuses it (no drops are counted).',
      [],
      () => {
        const attached = latest()?.dropsAttached;
        return single(attached === undefined ? undefined : attached ? 1 : 0);
      }
    );
    mirroredGauge(
      registry,
      'flowlens_agent_resets_attached',
      'TCP resets: 1 while the tcp_send_reset/tcp_receive_reset hooks are attached, 0 where the kernel refuses them (received resets are then counted at close, sent ones not).',
      [],
      () => {
        const attached = latest()?.resetsAttached;
        return single(attached === undefined ? undefined : attached ? 1 : 0);
      }
    );
    mirroredCounter(
      registry,
      renderer,
      'flowlens_agent_failures_lost_total',
      'Drop, reset and connect-failure updates lost because a tick’s failure table was full.',
      [],
      () => single(latest()?.failuresLost)
    );
    mirroredCounter(
      registry,
      renderer,
      'flowlens_agent_bpf_recursion_misses_total',
      'Runs the kernel skipped because the same BPF program already ran on that CPU (bpf_prog_info.recursion_misses): programs="failures" are drops and resets not counted, programs="flows" are socket state changes not seen.',
      ['programs'],
      () => {
        const s = latest();
        if (s?.dropMisses === undefined) {
          return [];
        }
        return [
          { labels: { programs: 'failures' }, value: s.dropMisses },
          { labels: { programs: 'flows' }, value: s.flowMisses ?? 0 },
        ];
      }
    );
    mirroredGauge(registry, 'flowlens_agent_active_flows', 'Flows with activity in the last collection tick.', [], () =>
      single(latest()?.activeFlows)
    );
    mirroredGauge(registry, 'flowlens_agent_reports_queued', 'Reports waiting to be delivered.', [], () =>
      single(reporterStats()?.queued)
    );
    mirroredCounter(registry, renderer, 'flowlens_agent_reports_sent_total', 'Reports delivered.', [], () =>
      single(reporterStats()?.sent)
    );
    mirroredCounter(
      registry,
      renderer,
      'flowlens_agent_reports_dropped_total',
      'Reports given up on (queue overflow).',
      [],
      () => single(reporterStats()?.dropped)
    );
    mirroredCounter(
      registry,
      renderer,
      'flowlens_agent_report_failures_total',
      'Failed report delivery attempts.',
      [],
      () => single(reporterStats()?.failures)
    );
    this.duration = new Histogram({
      name: 'flowlens_agent_collection_duration_seconds',
      help: 'Wall time of one collection tick (reading and aggregating the BPF maps).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.ticks = new Counter({
      name: 'flowlens_agent_collection_ticks_total',
      help: 'Collection ticks seen by the exporter.',
      registers: [registry],
    });
    renderer.trackCounter(this.ticks, 'flowlens_agent_collection_ticks_total');
    this.phases = new Counter({
      name: 'flowlens_agent_collection_phase_seconds_total',
      help: 'Wall time of the collection ticks by part (passes, sync, drain, loader, node): the parts of flowlens_agent_collection_duration_seconds_sum.',
      labelNames: ['phase'],
      registers: [registry],
    });
    renderer.trackCounter(this.phases, 'flowlens_agent_collection_phase_seconds_total');
  }

  onTick(tick: CollectorTick): void {
    this.ticks.inc();
    if (!tick.stats) {
      return;
    }
    this.stats = tick.stats;
    if (Number.isFinite(tick.stats.lastTickSeconds) && tick.stats.lastTickSeconds >= 0) {
      this.duration.observe(tick.stats.lastTickSeconds);
      for (const [phase, seconds] of Object.entries(tick.stats.tickPhaseSeconds ?? {})) {
        this.phases.inc({ phase }, seconds);
      }
    }
  }
}
