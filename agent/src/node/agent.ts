/**
 * The node agent's loop: a collection tick every collect interval, a report every report interval (at the first
 * tick on or after it is due), and on stop one last tick and report so nothing collected is lost. A failed
 * collect ends the loop with its error, after a report of the ticks collected before it.
 */
import type { TickListener } from '../contracts/flow.js';
import type { LocalWorkload, ReportV1 } from '../contracts/report.js';
import type { ReportSink } from '../contracts/stats.js';
import { Collector, type FlowSource } from '../collector/collector.js';
import type { MapCapacity } from '../collector/tick.js';
import { buildReport } from '../report/build.js';
import { ForwardWindow, forwardedThrough } from '../report/forwards.js';
import { ReportWindow } from '../report/window.js';

export interface NodeAgentConfig {
  nodeName: string;
  zone: string | null;
  /** The cluster every report names (report contract 1.1 `cluster`); absent: reports carry none. */
  cluster?: string;
  collectIntervalS: number;
  reportIntervalS: number;
  topN: number;
  capacity: MapCapacity;
}

export interface NodeAgentParts {
  source: FlowSource;
  sinks: ReportSink[];
  /** Extra consumers of every tick (e.g. the OpenMetrics exporter). */
  listeners: TickListener[];
  localOf: (ip: string) => LocalWorkload;
  /** True for this node's own addresses and pods (default: what localOf names); forwards between two others are reported. */
  isLocal?: (ip: string) => boolean;
  log: (msg: string) => void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function runNodeAgent(config: NodeAgentConfig, parts: NodeAgentParts, stop: AbortSignal): Promise<void> {
  const collector = new Collector(parts.source, config.capacity, parts.log);
  const window = new ReportWindow();
  collector.onTick((tick) => window.add(tick));
  const forwards = new ForwardWindow();
  collector.onTick((tick) => forwards.add(tick.forwards ?? []));
  const isLocal = parts.isLocal ?? ((ip: string) => parts.localOf(ip) !== null);
  for (const listener of parts.listeners) {
    collector.onTick(listener);
  }

  const emit = () => {
    const start = window.start;
    const end = window.end;
    if (!start || !end) {
      return;
    }
    const report: ReportV1 = buildReport({
      node: config.nodeName,
      zone: config.zone,
      ...(config.cluster !== undefined ? { cluster: config.cluster } : {}),
      start,
      end,
      flows: window.take(),
      topN: config.topN,
      localOf: parts.localOf,
      forwards: forwardedThrough(forwards.take(), isLocal),
    });
    for (const sink of parts.sinks) {
      try {
        sink.send(report);
      } catch (err) {
        parts.log(`flowlens-agent: report sink failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };

  const collectMs = config.collectIntervalS * 1000;
  const reportMs = config.reportIntervalS * 1000;
  let nextTick = Date.now() + collectMs;
  let reportDue = Date.now() + reportMs;
  try {
    while (!stop.aborted) {
      await sleep(nextTick - Date.now(), stop);
      if (stop.aborted) {
        break;
      }
      await collector.tick();
      const now = Date.now();
      nextTick += collectMs;
      if (nextTick <= now) {
        nextTick = now + collectMs; // we fell behind: skip, never burst
      }
      if (now >= reportDue - collectMs / 2) {
        emit();
        reportDue += reportMs;
        if (reportDue <= now) {
          reportDue = now + reportMs;
        }
      }
    }
    await collector.tick();
  } finally {
    // also when a collect fails (the loader died): the ticks already summed still make a report
    emit();
  }
}
