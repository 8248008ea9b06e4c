/**
 * chdb (ClickHouse as a library), the engine behind tests/lib/clickhouse-standin.ts. It is about 550 MB with its
 * engine, so it is not a workspace dependency: scripts/install-chdb.sh installs a pinned version into
 * `.cache/chdb` (the test command runs it), which neither the product, its image nor a plain `npm ci` carry.
 * Only the calls the stand-in makes are typed here.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHDB_PREFIX = process.env.FLOWLENS_CHDB_DIR ?? join(ROOT, '.cache', 'chdb');

export interface ChdbResult {
  text(): string;
  rowsRead: number | bigint;
  bytesRead: number | bigint;
  /** The engine's own time for the statement, in seconds. */
  elapsed: number;
}

export interface ChdbSession {
  queryAsync(sql: string, opts?: { format: string }): Promise<ChdbResult>;
  queryBindAsync(sql: string, bind: Record<string, string>, opts: { format: string }): Promise<ChdbResult>;
  insert(o: {
    table: string;
    values: Buffer;
    format: 'JSONEachRow';
    columns?: string[];
    settings?: Record<string, string>;
  }): Promise<{ rowsWritten: number | bigint; bytesWritten: number | bigint }>;
  close(): void | Promise<void>;
}

/** A chdb session on `dir`; a clear error naming the install script when chdb is not installed. */
export function chdbSession(dir: string): ChdbSession {
  const pkg = join(CHDB_PREFIX, 'node_modules', 'chdb', 'package.json');
  if (!existsSync(pkg)) {
    throw new Error(`chdb is not installed in ${CHDB_PREFIX}: run scripts/install-chdb.sh (the test command does)`);
  }
  const chdb = createRequire(pkg)('chdb') as { Session: new (dir: string) => ChdbSession };
  return new chdb.Session(dir);
}
