/**
 * POST /api/v1/reports minus the HTTP: decode (gzip with a decompressed-size cap), parse, validate against
 * the report v1 schema, drop duplicates by reportId, enrich, and store with a group commit. A report is
 * acknowledged only after the transaction holding it committed.
 */
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { reportV1Schema, type ReportV1 } from '../contracts/report.js';
import type { FlowStore, StoredReport } from '../store/flow-store.js';
import type { Enricher } from './enrich.js';

const gunzipAsync = promisify(gunzip);

export interface IngestResult {
  status: number;
  body: Record<string, unknown>;
}

export interface IngestOptions {
  /** Largest accepted body, compressed or not (bytes). */
  maxBodyBytes: number;
  /** Reports older than this (by window end, seconds) are refused: their raw rows would already be expired. */
  maxAgeS: number;
  /** How long a commit waits for more reports to share its transaction. */
  commitDelayMs?: number;
  /** A commit starts at once when this many flow rows are waiting. */
  commitRows?: number;
  now?: () => number;
}

export interface IngestCounters {
  accepted: number;
  duplicates: number;
  rejected: number;
  flows: number;
  failedCommits: number;
}

const MAX_FUTURE_MS = 10 * 60_000;

function fail(status: number, error: string): IngestResult {
  return { status, body: { error } };
}

/** Zod issues as `path: message`, so a client sees which field was wrong. */
function describeIssues(issues: Array<{ path: Array<string | number>; message: string }>): string {
  const shown = issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  return shown.join('; ') + (issues.length > 5 ? `; and ${issues.length - 5} more` : '');
}

export class Ingestor {
  readonly counters: IngestCounters = { accepted: 0, duplicates: 0, rejected: 0, flows: 0, failedCommits: 0 };
  private pending: Array<{ report: StoredReport; done: (err?: unknown) => void }> = [];
  private pendingRows = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Map<string, Promise<IngestResult>>();
  private readonly now: () => number;

  constructor(
    private readonly store: FlowStore,
    private readonly enricher: Enricher,
    private readonly opts: IngestOptions
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Decodes a request body. `contentEncoding` is the request header. */
  async handleBody(body: Buffer, contentEncoding: string | undefined): Promise<IngestResult> {
    const result = await this.decodeAndIngest(body, contentEncoding);
    if (result.status >= 400 && result.status < 500) {
      this.counters.rejected++;
    }
    return result;
  }

  private async decodeAndIngest(body: Buffer, contentEncoding: string | undefined): Promise<IngestResult> {
    if (body.length > this.opts.maxBodyBytes) {
      return fail(413, `body larger than ${this.opts.maxBodyBytes} bytes`);
    }
    const enc = (contentEncoding ?? 'identity').trim().toLowerCase();
    let raw = body;
    if (enc === 'gzip' || enc === 'x-gzip') {
      try {
        raw = await gunzipAsync(body, { maxOutputLength: this.opts.maxBodyBytes });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
          return fail(413, `decompressed body larger than ${this.opts.maxBodyBytes} bytes`);
        }
        return fail(400, `body is not valid gzip: ${(err as Error).message}`);
      }
    } else if (enc !== 'identity') {
      return fail(415, `unsupported Content-Encoding '${enc}' (use gzip or none)`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      return fail(400, `malformed JSON: ${(err as Error).message}`);
    }
    return this.ingest(doc);
  }

  /** Validates and stores one parsed report document. */
  async ingest(doc: unknown): Promise<IngestResult> {
    const parsed = reportV1Schema.safeParse(doc);
    if (!parsed.success) {
      return fail(422, `schema violation: ${describeIssues(parsed.error.issues)}`);
    }
    const report = parsed.data;
    const start = Date.parse(report.start);
    const end = Date.parse(report.end);
    if (end < start) {
      return fail(422, 'end: before start');
    }
    const now = this.now();
    if (end < now - this.opts.maxAgeS * 1000) {
      return fail(422, `end: report older than the hub keeps raw flows (${this.opts.maxAgeS} s)`);
    }
    if (start > now + MAX_FUTURE_MS) {
      return fail(422, 'start: more than 10 minutes in the future (clock skew?)');
    }
    if (this.store.hasReport(report.reportId)) {
      this.counters.duplicates++;
      return { status: 200, body: { reportId: report.reportId, duplicate: true } };
    }
    const running = this.inFlight.get(report.reportId);
    if (running) {
      const first = await running;
      if (first.status !== 200) {
        return first;
      }
      this.counters.duplicates++;
      return { status: 200, body: { reportId: report.reportId, duplicate: true } };
    }
    const p = this.store_(report);
    this.inFlight.set(report.reportId, p);
    try {
      return await p;
    } finally {
      this.inFlight.delete(report.reportId);
    }
  }

  private async store_(report: ReportV1): Promise<IngestResult> {
    const stored = this.enricher.enrich(report);
    try {
      await this.enqueue(stored);
    } catch (err) {
      return fail(503, `could not store the report, retry later: ${(err as Error).message}`);
    }
    this.counters.accepted++;
    this.counters.flows += stored.rows.length;
    return { status: 200, body: { reportId: report.reportId, duplicate: false, flows: stored.rows.length } };
  }

  private enqueue(report: StoredReport): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ report, done: (err) => (err ? reject(err) : resolve()) });
      this.pendingRows += report.rows.length + 1;
      if (this.pendingRows >= (this.opts.commitRows ?? 50_000)) {
        this.commit();
      } else {
        this.timer ??= setTimeout(() => this.commit(), this.opts.commitDelayMs ?? 10);
      }
    });
  }

  private commit(): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.pendingRows = 0;
    if (batch.length === 0) {
      return;
    }
    this.store.append(batch.map((b) => b.report)).then(
      () => batch.forEach((b) => b.done()),
      (err: unknown) => {
        this.counters.failedCommits++;
        batch.forEach((b) => b.done(err));
      }
    );
  }

  /** Commits whatever waits and resolves when it is stored. */
  async drain(): Promise<void> {
    const waiting = this.pending.map(
      (b) =>
        new Promise<void>((resolve) => {
          const done = b.done;
          b.done = (err) => {
            done(err);
            resolve();
          };
        })
    );
    this.commit();
    await Promise.all(waiting);
  }
}
