/**
 * The collector: every tick it drains the kernel's flow map (through the loader) and hands a CollectorTick to
 * its listeners (report window, OpenMetrics exporter). A listener that throws is logged, never fatal.
 */
import type { CollectorTick, TickListener } from '../contracts/flow.js';
import type { CollectResult } from '../bpf/protocol.js';
import { toTick, type MapCapacity } from './tick.js';

export interface FlowSource {
  collect(): Promise<CollectResult>;
}

export class Collector {
  private readonly listeners: TickListener[] = [];
  private last: Date;

  constructor(
    private readonly source: FlowSource,
    private readonly capacity: MapCapacity,
    private readonly log: (msg: string) => void = (msg) => process.stderr.write(`${msg}\n`),
    private readonly now: () => Date = () => new Date()
  ) {
    this.last = now();
  }

  onTick(listener: TickListener): void {
    this.listeners.push(listener);
  }

  /** Collects once and notifies every listener. */
  async tick(): Promise<CollectorTick> {
    const started = performance.now();
    const result = await this.source.collect();
    const end = this.now();
    const tick = toTick(result, this.last, end, (performance.now() - started) / 1000, this.capacity);
    this.last = end;
    for (const listener of this.listeners) {
      try {
        listener(tick);
      } catch (err) {
        this.log(`flowlens-agent: tick listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return tick;
  }
}
