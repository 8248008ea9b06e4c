/** One registry with every Flowlens series: per-pod counters, ENA allowances and the agent's self-metrics. */
import { Registry, type RegistryContentType } from './prom-client.js';
import type { CollectorTick } from '../contracts/flow.js';
import type { MetadataView } from '../contracts/metadata.js';
import type { ReporterStats } from '../contracts/stats.js';
import type { EnaAllowances } from '../ena/parse.js';
import { registerEnaMetrics } from './ena-metrics.js';
import { PodMetrics } from './pod-metrics.js';
import { MetricsRenderer, type ExpositionFormat, type FlowlensRegistry } from './render.js';
import { SelfMetrics } from './self-metrics.js';

export interface ExporterOptions {
  node: string;
  metadata: MetadataView;
  podGraceMs: number;
  reporterStats?: () => ReporterStats | undefined;
  enaSnapshot?: () => ReadonlyMap<string, EnaAllowances>;
  now?: () => number;
}

export class Exporter {
  readonly registry: FlowlensRegistry = new Registry<RegistryContentType>();
  readonly renderer = new MetricsRenderer(this.registry);
  readonly pods: PodMetrics;
  private readonly self: SelfMetrics;
  ticks = 0;

  constructor(opts: ExporterOptions) {
    this.pods = new PodMetrics(this.registry, this.renderer, {
      node: opts.node,
      metadata: opts.metadata,
      graceMs: opts.podGraceMs,
      now: opts.now,
    });
    this.self = new SelfMetrics(this.registry, this.renderer, opts.reporterStats ?? (() => undefined));
    const empty = new Map<string, EnaAllowances>();
    registerEnaMetrics(this.registry, this.renderer, opts.node, opts.enaSnapshot ?? (() => empty));
  }

  readonly onTick = (tick: CollectorTick): void => {
    this.ticks++;
    this.pods.onTick(tick);
    this.self.onTick(tick);
  };

  render(format: ExpositionFormat = 'openmetrics'): Promise<string> {
    return this.renderer.render(format);
  }
}
