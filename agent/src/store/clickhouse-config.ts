/**
 * The `--store` flag: `duckdb:PATH` (the embedded default) or `clickhouse://USER[:PASSWORD]@HOST:PORT/DB?cluster=NAME`
 * (the HTTP interface; `clickhouses://` for TLS). Pure parsing, so the rules are tested by themselves. The
 * password may also come from FLOWLENS_CLICKHOUSE_PASSWORD (a flag is visible in `ps`); it never reaches a log
 * line: `describeStore` prints the URL without it.
 */

export interface ClickHouseConfig {
  /** http(s)://host:port of the HTTP interface. */
  url: string;
  username: string;
  password: string;
  database: string;
  /** A ClickHouse cluster name (`remote_servers`): ON CLUSTER DDL, Replicated tables and Distributed tables. */
  cluster: string | null;
}

export type StoreSpec = { kind: 'duckdb'; dataDir: string } | { kind: 'clickhouse'; config: ClickHouseConfig };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class StoreSpecError extends Error {}

/** Parses a `--store` value. `env` supplies FLOWLENS_CLICKHOUSE_PASSWORD when the URL carries none. */
export function parseStoreSpec(text: string, env: NodeJS.ProcessEnv = {}): StoreSpec {
  if (text.startsWith('duckdb:')) {
    const dataDir = text.slice('duckdb:'.length);
    if (dataDir === '') {
      throw new StoreSpecError(`--store: expected duckdb:PATH, got '${text}'`);
    }
    return { kind: 'duckdb', dataDir };
  }
  if (!/^clickhouses?:\/\//.test(text)) {
    throw new StoreSpecError(
      `--store: expected duckdb:PATH or clickhouse://USER@HOST:PORT/DB[?cluster=NAME], got '${redact(text)}'`
    );
  }
  let u: URL;
  try {
    u = new URL(text.replace(/^clickhouse/, 'http'));
  } catch {
    throw new StoreSpecError(`--store: not a URL: '${redact(text)}'`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'flowlens';
  if (!NAME.test(database)) {
    throw new StoreSpecError(`--store: database name '${database}' must match ${NAME.source}`);
  }
  const cluster = u.searchParams.get('cluster');
  if (cluster !== null && !NAME.test(cluster)) {
    throw new StoreSpecError(`--store: cluster name '${cluster}' must match ${NAME.source}`);
  }
  for (const key of u.searchParams.keys()) {
    if (key !== 'cluster') {
      throw new StoreSpecError(`--store: unknown parameter '${key}' (only cluster=NAME)`);
    }
  }
  const port = u.port || (u.protocol === 'https:' ? '8443' : '8123');
  return {
    kind: 'clickhouse',
    config: {
      // WHATWG URL keeps an IPv6 host in its brackets ([fd00::1]).
      url: `${u.protocol}//${u.hostname}:${port}`,
      username: decodeURIComponent(u.username) || 'default',
      password: u.password ? decodeURIComponent(u.password) : (env.FLOWLENS_CLICKHOUSE_PASSWORD ?? ''),
      database,
      cluster: cluster || null,
    },
  };
}

/** The store for log lines: never the password. */
export function describeStore(spec: StoreSpec): string {
  if (spec.kind === 'duckdb') {
    return `duckdb:${spec.dataDir}`;
  }
  const c = spec.config;
  const cluster = c.cluster ? `?cluster=${c.cluster}` : '';
  return `${c.url.replace(/^http/, 'clickhouse')}/${c.database}${cluster} (user ${c.username})`;
}

/** A `--store` text with any password replaced, for error messages. */
function redact(text: string): string {
  return text.replace(/(\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}
