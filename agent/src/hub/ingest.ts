/**
 * POST /api/v1/reports minus the HTTP: decode (gzip with a decompressed-size cap), parse, validate against
 * the report v1 schema, drop duplicates by reportId, enrich, and store with a group commit. A report is
 * acknowledged only after the transaction holding it committed.
 */
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { checkReport } from '../contracts/report-check.js';
import type { FlowStore, PreparedReport } from '../store/flow-store.js';
import type { Enricher } from './enrich.js';
import { parseJsonBody } from './json-body.js';

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

/**
 * Report windows the hub can store: nothing a real agent sends falls outside these, and a window outside them
 * (a clock at 1969, a window of days) would poison the group commit it joins. Checked before the store.
 */
export const WINDOW_LIMITS = {
  /** Earliest accepted start (2000-01-01T00:00:00Z). */
  minStartMs: Date.UTC(2000, 0, 1),
  /** Longest window: an agent reports every 30 s by default; an hour leaves room for any setting. */
  maxSpanMs: 3600_000,
  /** How far the window's end may lie in the future (clock skew). */
  maxFutureMs: 5 * 60_000,
} as const;

/** Why a report window cannot be stored, or null when it can. Pure, so the rule is tested by itself. */
export function windowProblem(startMs: number, endMs: number, nowMs: number, maxAgeS: number): string | null {
  if (startMs < WINDOW_LIMITS.minStartMs) {
    return 'start: before 2000-01-01 (agent clock not set?)';
  }
  if (endMs < startMs) {
    return 'end: before start';
  }
  if (endMs - startMs > WINDOW_LIMITS.maxSpanMs) {
    return `end: window longer than ${WINDOW_LIMITS.maxSpanMs / 60_000} minutes`;
  }
  if (endMs > nowMs + WINDOW_LIMITS.maxFutureMs) {
    return `end: more than ${WINDOW_LIMITS.maxFutureMs / 60_000} minutes in the future (clock skew?)`;
  }
  if (endMs < nowMs - maxAgeS * 1000) {
    return `end: report older than the hub keeps raw flows (${maxAgeS} s)`;
  }
  return null;
}

function fail(status: number, error: string): IngestResult {
  return { status, body: { error } };
}

/** Zod issues as `path: message`, so a client sees which field was wrong. */
function describeIssues(issues: Array<{ path: Array<string | number>; message: string }>): string {
  const shown = issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  return shown.join('; ') + (issues.length > 5 ? `; and ${issues.length - 5} more` : '');
}

/** A report waiting for its group commit, in the store's own insert form (FlowStore.prepare). */
interface Pending {
  item: PreparedReport;
  done: (err?: unknown) => void;
}

export class Ingestor {
  readonly counters: IngestCounters = { accepted: 0, duplicates: 0, rejected: 0, flows: 0, failedCommits: 0 };
  private pending: Pending[] = [];
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
      // In pieces below V8's large-object size (json-body.ts): the same value and errors as JSON.parse.
      doc = parseJsonBody(raw);
    } catch (err) {
      return fail(400, `malformed JSON: ${(err as Error).message}`);
    }
    return this.ingest(doc);
  }

  /**
   * Validates and stores one parsed report document: validation, the duplicate check, enrichment into the store's
   * insert form, then the group commit. Registers the report as in flight in the same turn as it checked that none
   * was. Returns the commit's promise rather than awaiting it, so this frame (the parsed document, the enriched
   * rows) is gone while the report waits for its commit: only the prepared form waits.
   */
  async ingest(doc: unknown): Promise<IngestResult> {
    const parsed = checkReport(doc);
    if (!parsed.success) {
      return fail(422, `schema violation: ${describeIssues(parsed.issues)}`);
    }
    const report = parsed.data;
    const id = report.reportId;
    const problem = windowProblem(Date.parse(report.start), Date.parse(report.end), this.now(), this.opts.maxAgeS);
    if (problem !== null) {
      return fail(422, problem);
    }
    let stored: boolean;
    try {
      // In memory for DuckDB; a query for a shared store (ClickHouse), where another hub may have stored it.
      stored = await this.store.hasReport(id);
    } catch (err) {
      return fail(503, `could not check the report id, retry later: ${(err as Error).message}`);
    }
    if (stored) {
      return this.duplicate(id);
    }
    const running = this.inFlight.get(id);
    if (running) {
      return running.then((first) => (first.status !== 200 ? first : this.duplicate(id)));
    }
    const enriched = this.enricher.enrich(report);
    let item: PreparedReport;
    try {
      item = this.store.prepare(enriched);
    } catch (err) {
      return fail(503, `could not store the report, retry later: ${(err as Error).message}`);
    }
    const outcome = this.commitOne(item);
    this.inFlight.set(id, outcome);
    const forget = (): void => void this.inFlight.delete(id);
    outcome.then(forget, forget);
    return outcome;
  }

  private duplicate(reportId: string): IngestResult {
    this.counters.duplicates++;
    return { status: 200, body: { reportId, duplicate: true } };
  }

  private async commitOne(item: PreparedReport): Promise<IngestResult> {
    const { reportId, flows } = item;
    try {
      await this.enqueue(item, flows);
    } catch (err) {
      return fail(503, `could not store the report, retry later: ${(err as Error).message}`);
    }
    this.counters.accepted++;
    this.counters.flows += flows;
    return { status: 200, body: { reportId, duplicate: false, flows } };
  }

  private enqueue(item: PreparedReport, flows: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, done: (err) => (err ? reject(err) : resolve()) });
      this.pendingRows += flows + 1;
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
    void this.appendIsolated(batch);
  }

  /**
   * Stores a group in one transaction; when that fails, each report is retried in a transaction of its own,
   * so one report the store cannot take fails alone and never the valid reports committed beside it.
   */
  private async appendIsolated(batch: Pending[]): Promise<void> {
    try {
      await this.store.appendPrepared(batch.map((b) => b.item));
      batch.forEach((b) => b.done());
      return;
    } catch (err) {
      if (batch.length === 1) {
        this.counters.failedCommits++;
        batch[0]!.done(err);
        return;
      }
    }
    for (const b of batch) {
      try {
        await this.store.appendPrepared([b.item]);
        b.done();
      } catch (err) {
        this.counters.failedCommits++;
        b.done(err);
      }
    }
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
