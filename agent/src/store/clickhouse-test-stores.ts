/**
 * The stores the store tests (and `npm run bench:hub`) run against (one conformance suite, two engines): DuckDB in a temp directory, and
 * ClickHouse through `@clickhouse/client` against tests/lib/clickhouse-standin.ts (the real engine, from chdb),
 * in this process for the tests and in a process of its own for the benchmark.
 * FLOWLENS_TEST_STORE=duckdb|clickhouse runs one; by default both run. Test-only: not part of the build.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { parseStoreSpec, type ClickHouseConfig } from './clickhouse-config.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { DuckDbStore } from './duckdb-store.js';
import type { FlowStore } from './flow-store.js';

export type StoreKind = 'duckdb' | 'clickhouse';

/** A plain client on a test store's database, for tests and the benchmark to look inside it. */
export function databaseClient(config: ClickHouseConfig): ClickHouseClient {
  return createClient({
    url: config.url,
    username: config.username,
    password: config.password,
    database: config.database,
  });
}

export function testStoreKinds(): StoreKind[] {
  const only = process.env.FLOWLENS_TEST_STORE;
  if (only === 'duckdb' || only === 'clickhouse') {
    return [only];
  }
  if (only && only !== 'all') {
    throw new Error(`FLOWLENS_TEST_STORE: expected duckdb, clickhouse or all, got '${only}'`);
  }
  return ['duckdb', 'clickhouse'];
}

interface Standin {
  storeSpec(database: string): string;
  stop(): Promise<void>;
}

/** One stand-in per test process (one embedded engine), started on first use and stopped at exit. */
let standin: Promise<{ s: Standin; dir: string }> | undefined;
let databases = 0;

async function sharedStandin(): Promise<Standin> {
  standin ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowlens-chdb-'));
    // A path the agent's TypeScript project does not follow (tests/ is its own project).
    const file = resolve(fileURLToPath(import.meta.url), '../../../../tests/lib/clickhouse-standin.ts');
    const mod = (await import(file)) as {
      startClickHouseStandin(o: { dir: string }): Promise<Standin>;
    };
    return { s: await mod.startClickHouseStandin({ dir }), dir };
  })();
  return (await standin).s;
}

/** Stops the shared stand-in (call from an `after` hook) and removes its data. */
export async function stopTestStandin(): Promise<void> {
  if (standin) {
    const { s, dir } = await standin;
    standin = undefined;
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export interface StandinProcess {
  pid: number;
  storeSpec(database: string): string;
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The stand-in in a process of its own on `dir` (for the hub benchmark: the engine's CPU apart from the hub
 * path's, as with a server). The caller stops it; its data stays in `dir`. `discardInserts`: inserts are answered
 * and not stored (clickhouse-standin.ts).
 */
export async function startTestStandinProcess(
  dir: string,
  opts: { discardInserts?: boolean } = {}
): Promise<StandinProcess> {
  const file = resolve(fileURLToPath(import.meta.url), '../../../../tests/lib/clickhouse-standin-process.ts');
  const mod = (await import(file)) as {
    startStandinProcess(o: { dir: string; discardInserts?: boolean }): Promise<StandinProcess>;
  };
  return mod.startStandinProcess({ dir, ...opts });
}

export interface TestStore {
  kind: StoreKind;
  store: FlowStore;
  /** Another store object on the same data (a restarted hub, or a second hub sharing it). */
  another(): Promise<FlowStore>;
  /** ClickHouse: the connection the stores use. */
  clickhouse?: ClickHouseConfig;
}

/** Runs fn with a fresh, empty store of `kind`; closes it and removes its data afterwards. */
export async function withTestStore(kind: StoreKind, fn: (t: TestStore) => Promise<void>): Promise<void> {
  if (kind === 'duckdb') {
    const dir = await mkdtemp(join(tmpdir(), 'flowlens-store-'));
    const make = async (): Promise<FlowStore> => {
      const s = new DuckDbStore({ dataDir: dir, threads: 2 });
      await s.open();
      return s;
    };
    const store = await make();
    try {
      await fn({ kind, store, another: make });
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
    return;
  }
  const s = await sharedStandin();
  const spec = parseStoreSpec(s.storeSpec(`t${process.pid}_${++databases}`));
  if (spec.kind !== 'clickhouse') {
    throw new Error('unreachable');
  }
  const opened: FlowStore[] = [];
  const make = async (): Promise<FlowStore> => {
    const st = new ClickHouseStore({ config: spec.config });
    await st.open();
    opened.push(st);
    return st;
  };
  const store = await make();
  try {
    await fn({ kind, store, another: make, clickhouse: spec.config });
  } finally {
    for (const st of opened) {
      await st.close();
    }
  }
}
