/**
 * Starts a real `flowlens-agent hub` process (from source, through tsx) on a free loopback port, for
 * integration tests. Usage:
 *
 *   const hub = await startHubProcess({ metadataFile: fixture('metadata/three-nodes.json') });
 *   try {
 *     await hub.postReport(report);                       // ingest token
 *     const top = await hub.get('/api/v1/top-contributors?from=0'); // query token
 *   } finally {
 *     await hub.stop();                                   // SIGTERM, waits for exit
 *     await hub.cleanup();                                // removes the data dir it created
 *   }
 *
 * `restartHubProcess(hub)` stops it and starts a new one on the same port and data directory (or store).
 *
 * The store: DuckDB in the data directory by default; with `store: 'clickhouse'` (or FLOWLENS_TEST_STORE=clickhouse
 * in the environment, as tests/hub/*.clickhouse.test.ts set it) a database of its own on a ClickHouse stand-in
 * (clickhouse-standin.ts) shared by the test process; `storeSpec` passes any `--store` value (hubs sharing one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startClickHouseStandin, type ClickHouseStandin } from './clickhouse-standin';

/** The repository root (tests/ compiles as CommonJS, so __dirname is this file's folder). */
export const REPO_ROOT = resolve(__dirname, '../..');
const CLI = join(REPO_ROOT, 'agent/src/cli.ts');

/** Absolute path of a file under tests/fixtures/. */
export function fixture(relative: string): string {
  return join(REPO_ROOT, 'tests/fixtures', relative);
}

export interface HubProcessOptions {
  dataDir?: string;
  /** Which store: default FLOWLENS_TEST_STORE (clickhouse), else duckdb. */
  store?: 'duckdb' | 'clickhouse';
  /** A `--store` value (set for a ClickHouse hub; give another hub the same one to share its store). */
  storeSpec?: string;
  metadataFile?: string;
  ipRangesFile?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  ingestToken?: string;
  queryToken?: string;
  /** Extra command-line flags. */
  args?: string[];
  startTimeoutMs?: number;
}

export interface HubProcess {
  url: string;
  port: number;
  dataDir: string;
  ingestToken: string;
  queryToken: string;
  options: HubProcessOptions;
  process: ChildProcess;
  /** Everything the hub wrote to stderr (its JSON log lines). */
  logs(): string;
  /** POST a report (object or raw body); `gzip` compresses it. Returns status and parsed JSON body. */
  postReport(body: unknown, opts?: { gzip?: boolean; token?: string | null }): Promise<HubResponse>;
  /** GET with the query token (or `token`, or none with null). */
  get(pathAndQuery: string, opts?: { token?: string | null }): Promise<HubResponse>;
  stop(): Promise<void>;
  /** Removes the data directory if this helper created it. */
  cleanup(): Promise<void>;
}

export interface HubResponse {
  status: number;
  body: any;
}

async function call(url: string, init: RequestInit): Promise<HubResponse> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body };
}

let standin: Promise<ClickHouseStandin> | undefined;
let databases = 0;

/** The test process's ClickHouse stand-in (one embedded engine), started on first use. */
export function sharedClickHouseStandin(): Promise<ClickHouseStandin> {
  standin ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowlens-chdb-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const s = await startClickHouseStandin({ dir });
    s.unref();
    return s;
  })();
  return standin;
}

/** A `--store` value naming a new, empty database on the shared stand-in. */
export async function newClickHouseStore(): Promise<string> {
  return (await sharedClickHouseStandin()).storeSpec(`hub_${process.pid}_${++databases}`);
}

export async function startHubProcess(options: HubProcessOptions = {}): Promise<HubProcess> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'flowlens-hub-')));
  const ingestToken = options.ingestToken ?? `ingest-${randomBytes(12).toString('hex')}`;
  const queryToken = options.queryToken ?? `query-${randomBytes(12).toString('hex')}`;
  const kind = options.store ?? (process.env.FLOWLENS_TEST_STORE === 'clickhouse' ? 'clickhouse' : 'duckdb');
  const storeSpec = options.storeSpec ?? (kind === 'clickhouse' ? await newClickHouseStore() : undefined);
  const args = ['--import', 'tsx', CLI, 'hub', '--listen', `127.0.0.1:${options.port ?? 0}`];
  args.push(...(storeSpec ? ['--store', storeSpec] : ['--data-dir', dataDir]));
  if (options.metadataFile) {
    args.push('--metadata-file', options.metadataFile);
  }
  if (options.ipRangesFile) {
    args.push('--ip-ranges-file', options.ipRangesFile);
  }
  args.push(...(options.args ?? []));
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, FLOWLENS_HUB_INGEST_TOKEN: ingestToken, FLOWLENS_HUB_QUERY_TOKEN: queryToken },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hub did not start within ${options.startTimeoutMs ?? 30_000} ms:\n${stderr}`));
    }, options.startTimeoutMs ?? 30_000);
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /"msg":"hub listening","url":"([^"]+)"/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code} before listening:\n${stderr}${stdout}`));
    });
  });
  const port = Number(new URL(url).port);
  const hub: HubProcess = {
    url,
    port,
    dataDir,
    ingestToken,
    queryToken,
    options: { ...options, dataDir, storeSpec, ingestToken, queryToken },
    process: child,
    logs: () => stderr,
    postReport(body, opts = {}) {
      const raw = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      const token = opts.token === undefined ? ingestToken : opts.token;
      if (token !== null) {
        headers.Authorization = `Bearer ${token}`;
      }
      if (opts.gzip) {
        headers['Content-Encoding'] = 'gzip';
      }
      return call(`${url}/api/v1/reports`, {
        method: 'POST',
        headers,
        body: opts.gzip ? gzipSync(raw) : raw,
      });
    },
    get(pathAndQuery, opts = {}) {
      const token = opts.token === undefined ? queryToken : opts.token;
      return call(`${url}${pathAndQuery}`, { headers: token === null ? {} : { Authorization: `Bearer ${token}` } });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) {
        return;
      }
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
    async cleanup() {
      await hub.stop();
      if (ownDir) {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
  return hub;
}

/** Stops `hub` and starts a new process on the same port and data directory. */
export async function restartHubProcess(hub: HubProcess): Promise<HubProcess> {
  await hub.stop();
  const next = await startHubProcess({ ...hub.options, port: hub.port });
  const cleanupOld = hub.cleanup;
  next.cleanup = async () => {
    await next.stop();
    await cleanupOld();
  };
  return next;
}
