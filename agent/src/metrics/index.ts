/**
 * Entry for `flowlens-agent node`: serves /metrics when OPEN_METRICS=on (see docs/metrics.md).
 *
 *   const metrics = await startOpenMetrics({ env: process.env, nodeName, metadata, reporterStats: () => sink.stats?.() });
 *   collector.onTick(metrics.onTick);   // every CollectorTick
 *   …
 *   await metrics.close();
 */
import type { TickListener } from '../contracts/flow.js';
import type { MetadataView } from '../contracts/metadata.js';
import type { ReporterStats } from '../contracts/stats.js';
import { EnaPoller } from '../ena/poller.js';
import { openMetricsConfig } from './config.js';
import { Exporter } from './exporter.js';
import { listenMetrics } from './server.js';

export interface StartOpenMetricsOptions {
  env: NodeJS.ProcessEnv;
  nodeName: string;
  metadata: MetadataView;
  reporterStats?: () => ReporterStats | undefined;
  log?: (msg: string) => void;
}

export interface OpenMetricsHandle {
  /** Feed every collector tick here (a no-op when OPEN_METRICS is off). */
  onTick: TickListener;
  /** Where /metrics is served, or null when OPEN_METRICS is off. */
  url: string | null;
  close(): Promise<void>;
}

export async function startOpenMetrics(opts: StartOpenMetricsOptions): Promise<OpenMetricsHandle> {
  const config = openMetricsConfig(opts.env);
  const log = opts.log ?? ((msg: string) => process.stderr.write(`${msg}\n`));
  if (!config.enabled) {
    return { onTick: () => undefined, url: null, close: async () => undefined };
  }

  const ena = config.ena
    ? new EnaPoller({
        ethtool: config.ena.ethtool,
        sysClassNet: config.ena.sysClassNet,
        intervalMs: config.ena.intervalMs,
        log,
      })
    : null;
  const exporter = new Exporter({
    node: opts.nodeName,
    metadata: opts.metadata,
    podGraceMs: config.podGraceMs,
    reporterStats: opts.reporterStats,
    enaSnapshot: ena ? () => ena.snapshot() : undefined,
  });
  await ena?.start();
  let server;
  try {
    server = await listenMetrics({
      address: config.address,
      port: config.port,
      renderer: exporter.renderer,
      ready: () => exporter.ticks > 0,
      log,
    });
  } catch (err) {
    await ena?.close();
    throw new Error(
      `cannot serve OpenMetrics on ${config.address}:${config.port}: ${err instanceof Error ? err.message : String(err)}`
    );
  }
  log(`OpenMetrics on ${server.url}/metrics`);
  const srv = server;
  return {
    onTick: exporter.onTick,
    url: srv.url,
    close: async () => {
      await ena?.close();
      await srv.close();
    },
  };
}

export { Exporter } from './exporter.js';
export { openMetricsConfig } from './config.js';
