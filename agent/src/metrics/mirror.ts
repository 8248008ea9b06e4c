/**
 * Counters whose value is kept elsewhere as a running total (kernel bpf_stats, the reporter, the ENA driver):
 * each scrape re-reads the source and exposes exactly its values, so a series exists only while the source
 * reports it (no invented zeros).
 */
import { Counter, Gauge } from './prom-client.js';
import type { FlowlensRegistry as Registry, MetricsRenderer } from './render.js';

export type LabelValues<L extends string> = Record<L, string>;
export type Reading<L extends string> = Array<{ labels: LabelValues<L>; value: number }>;

/** Drops the 0 sample prom-client's reset() gives a metric without labels (a reading adds it back). */
function unlabelled(metric: { remove(): void }, labelNames: readonly string[]): void {
  if (labelNames.length === 0) {
    metric.remove();
  }
}

export function mirroredCounter<L extends string>(
  registry: Registry,
  renderer: MetricsRenderer,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Reading<L>
): Counter<L> {
  const counter: Counter<L> = new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      counter.reset();
      // prom-client resets a label-less metric to a 0 sample: the source reporting nothing must show nothing
      unlabelled(counter, labelNames);
      for (const { labels, value } of read()) {
        if (Number.isFinite(value) && value >= 0) {
          counter.inc(labels as never, value);
        }
      }
    },
  });
  renderer.trackCounter(counter, name);
  return counter;
}

export function mirroredGauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Reading<L>
): Gauge<L> {
  const gauge: Gauge<L> = new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      gauge.reset();
      unlabelled(gauge, labelNames);
      for (const { labels, value } of read()) {
        if (Number.isFinite(value)) {
          gauge.set(labels as never, value);
        }
      }
    },
  });
  return gauge;
}
