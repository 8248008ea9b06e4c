/**
 * Sends reports to the hub (`flowlens-agent node --hub URL`): gzipped JSON, bearer token, one at a time in
 * order, retried with exponential backoff and jitter until the hub acknowledges. Reports wait in a bounded
 * queue (on disk with `queueDir`, else in memory): at the default 30 s interval the default 2,880 reports
 * are a day of hub outage. The hub is idempotent by reportId, so a retry after a lost response is harmless.
 */
import { gzipSync } from 'node:zlib';
import type { ReportV1 } from '../contracts/report.js';
import type { ReportSink, ReporterStats } from '../contracts/stats.js';
import { backoffDelay } from './backoff.js';
import { DiskQueue, MemoryQueue, type ReportQueue } from './queue.js';

export interface HubReporterOptions {
  /** The hub's base URL (http://hub:7470) or its reports endpoint. */
  url: string;
  token?: string;
  queueDir?: string;
  maxQueued?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  requestTimeoutMs?: number;
  /** How long close() keeps delivering what is queued. */
  closeTimeoutMs?: number;
  log?: (msg: string) => void;
}

/**
 * A 4xx is the hub refusing this report (malformed, too large, an impossible window): sending it again gets the
 * same answer and would block the queue behind it, so it is dropped. The exceptions are the statuses that do
 * not judge the report: 401/403 (the token, fixed by configuration; every report would be refused alike),
 * 408 (timeout) and 429 (busy), retried with backoff like a 5xx.
 */
export function isRefusal(status: number): boolean {
  return status >= 400 && status < 500 && ![401, 403, 408, 429].includes(status);
}

/**
 * The reports endpoint under a hub URL. A URL with user:password@ is refused here, naming neither: fetch would
 * reject it on every attempt with the whole URL, password included, in the message we log.
 */
export function reportsUrl(url: string): string {
  const u = new URL(url);
  if (u.username !== '' || u.password !== '') {
    throw new Error(
      `the hub URL must not carry credentials (user:password@${u.host}); the agent sends FLOWLENS_HUB_INGEST_TOKEN as a bearer token`
    );
  }
  if (!u.pathname.endsWith('/api/v1/reports')) {
    u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/v1/reports`;
  }
  return u.toString();
}

export class HubReporter implements ReportSink {
  private readonly queue: ReportQueue;
  private readonly endpoint: string;
  private readonly counts = { sent: 0, dropped: 0, failures: 0 };
  private pumping: Promise<void> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private attempt = 0;
  private readonly log: (msg: string) => void;

  constructor(private readonly opts: HubReporterOptions) {
    this.endpoint = reportsUrl(opts.url);
    const max = opts.maxQueued ?? 2880;
    this.queue = opts.queueDir ? new DiskQueue(opts.queueDir, max) : new MemoryQueue(max);
    this.log = opts.log ?? ((msg) => process.stderr.write(`flowlens-agent: ${msg}\n`));
    if (this.queue.size > 0) {
      this.kick();
    }
  }

  send(report: ReportV1): void {
    if (this.closed) {
      this.counts.dropped++;
      return;
    }
    const dropped = this.queue.push({ id: report.reportId, body: gzipSync(JSON.stringify(report)) });
    if (dropped > 0) {
      this.counts.dropped += dropped;
      this.log(`hub queue full: dropped ${dropped} oldest report(s)`);
    }
    this.kick();
  }

  stats(): ReporterStats {
    return { queued: this.queue.size, ...this.counts };
  }

  private kick(): void {
    if (this.wake) {
      // A new report while backing off does not cut the wait short: the hub is still down.
      return;
    }
    this.pumping ??= this.pump().finally(() => {
      this.pumping = undefined;
      if (!this.closed && this.queue.size > 0) {
        this.kick();
      }
    });
  }

  private async pump(): Promise<void> {
    for (let item = this.queue.peek(); item && !this.closed; item = this.queue.peek()) {
      const outcome = await this.post(item.body);
      if (outcome === 'ok' || outcome === 'refused') {
        this.queue.shift(item.id);
        this.attempt = 0;
        if (outcome === 'ok') {
          this.counts.sent++;
        } else {
          this.counts.dropped++;
        }
        continue;
      }
      this.counts.failures++;
      const delay = backoffDelay(this.attempt++, this.opts.retryBaseMs ?? 1000, this.opts.retryMaxMs ?? 30_000);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async post(body: Buffer): Promise<'ok' | 'refused' | 'retry'> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' };
    if (this.opts.token) {
      headers.Authorization = `Bearer ${this.opts.token}`;
    }
    try {
      const res = await fetch(this.endpoint, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 15_000),
      });
      const text = await res.text().catch(() => '');
      if (res.ok) {
        return 'ok';
      }
      if (isRefusal(res.status)) {
        this.log(`hub refused a report (${res.status}), dropped, not retried: ${text.slice(0, 300)}`);
        return 'refused';
      }
      if (this.attempt === 0) {
        this.log(`hub answered ${res.status}; retrying with backoff`);
      }
      return 'retry';
    } catch (err) {
      if (this.attempt === 0) {
        this.log(`hub unreachable (${(err as Error).message}); retrying with backoff`);
      }
      return 'retry';
    }
  }

  /** Keeps delivering for up to closeTimeoutMs, then stops; a disk queue keeps what is left for next time. */
  async close(): Promise<void> {
    const deadline = Date.now() + (this.opts.closeTimeoutMs ?? 5000);
    while (this.queue.size > 0 && Date.now() < deadline) {
      this.wake?.();
      this.kick();
      await new Promise((r) => setTimeout(r, 50));
    }
    this.closed = true;
    this.wake?.();
    await this.pumping;
  }
}
