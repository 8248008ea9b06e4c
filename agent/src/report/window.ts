/**
 * Sums collector ticks into one report window, per flow (pure). RTT averages are weighted by their sample
 * counts; min and max are the extremes over the window. Failure counters (contract 1.2) add up like the others.
 */
import type { CollectorTick, FlowDelta, FlowKey } from '../contracts/flow.js';
import { COUNTER_NAMES, emptyCounters, type FailureCounters, type FlowCounters } from '../contracts/report.js';
import { addFailures } from './failures.js';

export interface WindowFlow extends FlowKey, FlowCounters, FailureCounters {
  rttSumUs: number;
  rttSamples: number;
  rttMinUs: number;
  rttMaxUs: number;
}

export function flowKeyString(k: FlowKey): string {
  const via = k.via ? `|${k.via.ip}|${k.via.port}` : '';
  return `${k.direction}|${k.localIp}|${k.remoteIp}|${k.serverPort}${via}`;
}

export class ReportWindow {
  private flows = new Map<string, WindowFlow>();
  private startedAt: Date | null = null;
  private endedAt: Date | null = null;

  /** Adds one tick's deltas. */
  add(tick: CollectorTick): void {
    this.startedAt ??= tick.start;
    this.endedAt = tick.end;
    for (const d of tick.flows) {
      this.addFlow(d);
    }
  }

  private addFlow(d: FlowDelta): void {
    const key = flowKeyString(d);
    let f = this.flows.get(key);
    if (!f) {
      f = {
        localIp: d.localIp,
        remoteIp: d.remoteIp,
        serverPort: d.serverPort,
        direction: d.direction,
        via: d.via ?? null,
        ...emptyCounters(),
        rttSumUs: 0,
        rttSamples: 0,
        rttMinUs: Number.POSITIVE_INFINITY,
        rttMaxUs: 0,
      };
      this.flows.set(key, f);
    }
    for (const name of COUNTER_NAMES) {
      f[name] += d[name];
    }
    addFailures(f, d);
    if (d.rttUs) {
      const samples = d.rttSamples ?? 1;
      f.rttSumUs += d.rttUs.avg * samples;
      f.rttSamples += samples;
      f.rttMinUs = Math.min(f.rttMinUs, d.rttUs.min);
      f.rttMaxUs = Math.max(f.rttMaxUs, d.rttUs.max);
    }
  }

  get start(): Date | null {
    return this.startedAt;
  }

  get end(): Date | null {
    return this.endedAt;
  }

  get size(): number {
    return this.flows.size;
  }

  /** The window's flows; the window starts empty again, its start at the previous end. */
  take(): WindowFlow[] {
    const flows = [...this.flows.values()];
    this.flows = new Map();
    this.startedAt = this.endedAt;
    return flows;
  }
}
