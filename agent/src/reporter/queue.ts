/**
 * Bounded FIFO queues of encoded (gzipped JSON) reports waiting for the hub. The disk queue keeps one file per
 * report, so reports queued during a hub outage survive an agent restart too. Past `max`, the oldest go.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface QueuedReport {
  id: string;
  body: Buffer;
}

export interface ReportQueue {
  /** Adds at the tail; returns how many old reports were dropped to make room. */
  push(item: QueuedReport): number;
  peek(): QueuedReport | undefined;
  /** Removes the head if it is `id`. */
  shift(id: string): void;
  readonly size: number;
}

export class MemoryQueue implements ReportQueue {
  private readonly items: QueuedReport[] = [];
  constructor(private readonly max: number) {}

  push(item: QueuedReport): number {
    this.items.push(item);
    let dropped = 0;
    while (this.items.length > this.max) {
      this.items.shift();
      dropped++;
    }
    return dropped;
  }
  peek(): QueuedReport | undefined {
    return this.items[0];
  }
  shift(id: string): void {
    if (this.items[0]?.id === id) {
      this.items.shift();
    }
  }
  get size(): number {
    return this.items.length;
  }
}

const FILE = /^(\d{16})-([0-9a-zA-Z-]+)\.json\.gz$/;

export class DiskQueue implements ReportQueue {
  /** File names, oldest first. */
  private readonly files: string[] = [];
  private seq = 0;

  constructor(
    private readonly dir: string,
    private readonly max: number
  ) {
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir).sort()) {
      const m = FILE.exec(f);
      if (m) {
        this.files.push(f);
        this.seq = Math.max(this.seq, Number(m[1]));
      } else if (f.endsWith('.tmp')) {
        unlinkSync(join(dir, f)); // an interrupted write
      }
    }
  }

  push(item: QueuedReport): number {
    const name = `${String(++this.seq).padStart(16, '0')}-${item.id.replace(/[^0-9a-zA-Z-]/g, '')}.json.gz`;
    const tmp = join(this.dir, `${name}.tmp`);
    writeFileSync(tmp, item.body);
    renameSync(tmp, join(this.dir, name));
    this.files.push(name);
    let dropped = 0;
    while (this.files.length > this.max) {
      const old = this.files.shift()!;
      unlinkSync(join(this.dir, old));
      dropped++;
    }
    return dropped;
  }

  peek(): QueuedReport | undefined {
    const f = this.files[0];
    if (f === undefined) {
      return undefined;
    }
    return { id: FILE.exec(f)![2]!, body: readFileSync(join(this.dir, f)) };
  }

  shift(id: string): void {
    const f = this.files[0];
    if (f === undefined || FILE.exec(f)![2] !== id) {
      return;
    }
    this.files.shift();
    try {
      unlinkSync(join(this.dir, f));
    } catch {
      /* already gone */
    }
  }

  get size(): number {
    return this.files.length;
  }
}
