/**
 * Starts a long-running binary for a test (Prometheus, Alertmanager …), waits until an HTTP
 * readiness URL answers 200, and stops it again (SIGTERM, then SIGKILL after a grace period).
 * Keeps the tail of its output so a failing test can show why the daemon misbehaved.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const KEEP_OUTPUT_CHARS = 64 * 1024;

export class Daemon {
  private output = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exitPromise: Promise<void>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-KEEP_OUTPUT_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve();
      });
    });
  }

  static start(name: string, path: string, args: string[], cwd?: string): Daemon {
    const child = spawn(path, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    return new Daemon(name, child);
  }

  /** The last lines the daemon printed. */
  logs(): string {
    return this.output;
  }

  /** Polls `url` until it answers 200; fails early if the daemon exits. */
  async waitReady(url: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) {
        throw new Error(
          `${this.name} exited (${this.exited.code ?? this.exited.signal}) before it was ready:\n${this.output}`
        );
      }
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) {
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${this.name} not ready at ${url} within ${timeoutMs} ms:\n${this.output}`);
  }

  async stop(graceMs = 5_000): Promise<void> {
    if (this.exited) {
      return;
    }
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }
}
