/**
 * The kernel's own count of a tracepoint's hits on every CPU (agent/bench/native/tpcount.c: perf_event_open, as
 * `perf stat -a -e GROUP:NAME` counts), read at the moments the bench chooses. bench:agent uses skb:kfree_skb as
 * the ground truth for the drop hook: a program attached there runs once per packet the kernel drops, so its runs
 * in a window are at most the tracepoint's hits in that window.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';

export class TracepointCounter {
  private readonly waiting: Array<(line: string) => void> = [];

  private constructor(
    private readonly child: ChildProcess,
    lines: Interface
  ) {
    lines.on('line', (line) => this.waiting.shift()?.(line));
  }

  /** Starts counting `group:name` (the tpcount binary built by buildNativeTools). */
  static async start(tpcount: string, group: string, name: string): Promise<TracepointCounter> {
    const child = spawn(tpcount, [group, name], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const lines = createInterface({ input: child.stdout! });
    const counter = new TracepointCounter(child, lines);
    await new Promise<void>((resolve, reject) => {
      counter.waiting.push((line) =>
        line === 'ready' ? resolve() : reject(new Error(`tpcount ${group}:${name}: ${line}`))
      );
      child.once('close', (code) => reject(new Error(`tpcount ${group}:${name} exited (${code}): ${err.trim()}`)));
    });
    return counter;
  }

  /** Hits since the counter started. */
  read(): Promise<number> {
    return new Promise((resolve) => {
      this.waiting.push((line) => resolve(Number(line)));
      this.child.stdin!.write('\n');
    });
  }

  stop(): void {
    this.child.stdin!.end();
  }
}
