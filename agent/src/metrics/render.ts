/**
 * Renders one prom-client registry as OpenMetrics (the default) or as Prometheus text 0.0.4 when the scraper's
 * Accept header prefers it.
 *
 * prom-client renames counters in place when it writes OpenMetrics (it strips `_total` from `metric.name` and
 * appends it to each sample), which would leave the Prometheus text form without the suffix. The renderer
 * therefore serialises renders and gives each counter its full `_total` name back before a text render.
 */
import { Registry, type Metric, type RegistryContentType } from './prom-client.js';

/** A registry that can be rendered in either format. */
export type FlowlensRegistry = Registry<RegistryContentType>;

export type ExpositionFormat = 'openmetrics' | 'prometheus';

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  openmetrics: Registry.OPENMETRICS_CONTENT_TYPE,
  prometheus: Registry.PROMETHEUS_CONTENT_TYPE,
};

/**
 * Picks the exposition format from an Accept header: OpenMetrics unless the client weighs `text/plain` higher
 * (or only accepts it). No header or `*\/*` means OpenMetrics.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) {
    return 'openmetrics';
  }
  let om = -1;
  let text = -1;
  let any = -1;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    let q = 1;
    for (const p of params) {
      const m = /^q=([0-9.]+)$/.exec(p);
      if (m) {
        q = Number(m[1]);
      }
    }
    if (!Number.isFinite(q)) {
      continue;
    }
    if (type === 'application/openmetrics-text') {
      om = Math.max(om, q);
    } else if (type === 'text/plain') {
      text = Math.max(text, q);
    } else if (type === '*/*' || type === 'text/*' || type === 'application/*') {
      any = Math.max(any, q);
    }
  }
  if (om < 0) {
    om = any;
  }
  if (text > 0 && text > om) {
    return 'prometheus';
  }
  return 'openmetrics';
}

export class MetricsRenderer {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly counterNames = new Map<Metric, string>();

  constructor(private readonly registry: FlowlensRegistry) {
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  }

  /** Remember a counter's full name (ending in `_total`) so the text form keeps it. */
  trackCounter(metric: Metric, fullName: string): void {
    if (!fullName.endsWith('_total')) {
      throw new Error(`counter ${fullName} must end in _total`);
    }
    this.counterNames.set(metric, fullName);
  }

  render(format: ExpositionFormat): Promise<string> {
    const next = this.queue.then(() => this.renderNow(format));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async renderNow(format: ExpositionFormat): Promise<string> {
    if (format === 'openmetrics') {
      this.registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      return this.registry.metrics();
    }
    for (const [metric, name] of this.counterNames) {
      (metric as unknown as { name: string }).name = name;
    }
    this.registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE);
    try {
      return await this.registry.metrics();
    } finally {
      this.registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    }
  }
}
