/**
 * A local stand-in for a ClickHouse server: an HTTP endpoint that speaks enough of ClickHouse's HTTP interface
 * for `@clickhouse/client` to run unchanged, and hands every statement to the real ClickHouse engine embedded
 * by chdb (a development dependency only; the product never carries it). No server recent enough is in Debian.
 *
 *   const ch = await startClickHouseStandin({ dir });   // dir: the engine's data directory (kept on stop)
 *   ... `clickhouse://${ch.user}:${ch.password}@127.0.0.1:${ch.port}/flowlens` ...
 *   await ch.stop();
 *
 * Speaks: GET /ping and /; POST (or GET) with the query in the body and/or the `query` parameter (with both,
 * the parameter is the statement and the body its data: an INSERT … FORMAT with rows); `database`;
 * `param_NAME` query parameters; any other parameter is a setting applied to that statement only;
 * FORMAT taken from the statement's end (default TabSeparated); basic auth or X-ClickHouse-User/Key;
 * X-ClickHouse-Query-Id, -Format, -Summary (with the engine's `elapsed_ns` for queries, as a server's) and
 * -Server-Display-Name headers; errors as ClickHouse sends them
 * (`Code: N. DB::Exception: …`, X-ClickHouse-Exception-Code, status 500, 401 for bad credentials, 400 for
 * syntax errors). Inserts with rows run side by side (their settings travel with each call); every other
 * statement runs one at a time (one engine session, whose settings are set around each statement). It cannot
 * show replication or Distributed tables across shards (docs/hub.md "ClickHouse").
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chdbSession } from './chdb.js';

export interface StandinOptions {
  /** The engine's data directory (the store survives a stand-in restart on the same directory). */
  dir: string;
  user?: string;
  password?: string;
  /**
   * Answers inserts with rows at once without storing them (every other statement still runs): the hub
   * benchmark's `--clickhouse-sink`, which measures the hub's own ingest path with a store that keeps up.
   */
  discardInserts?: boolean;
}

export interface ClickHouseStandin {
  url: string;
  port: number;
  user: string;
  password: string;
  /** A `--store` value for this endpoint and database. */
  storeSpec(database: string): string;
  /** Statements served (for tests that check the client path was used). */
  statements(): number;
  /** Lets the process exit while the endpoint still listens (a test process that shares it among hubs). */
  unref(): void;
  stop(): Promise<void>;
}

/** URL parameters of the HTTP interface that are not settings. */
const NOT_SETTINGS = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'session_id',
  'session_timeout',
  'session_check',
  'compress',
  'decompress',
  'user',
  'password',
  'quota_key',
  'buffer_size',
  'wait_end_of_query',
  'enable_http_compression',
  'http_headers_progress_interval_ms',
  'send_progress_in_http_headers',
  'role',
]);

/**
 * A server's defaults where the embedded engine's differ: a ClickHouse server quotes 64-bit integers in JSON
 * (clickhouse-local, and so chdb, does not), which is what a client reading counts over HTTP must expect.
 */
const SERVER_DEFAULTS: Record<string, string> = { output_format_json_quote_64bit_integers: '1' };

const INSERT_FORMATS = new Set(['JSONEachRow', 'JSONCompactEachRow', 'CSV', 'CSVWithNames', 'TSV', 'TabSeparated']);

class ChError extends Error {
  constructor(
    readonly code: number,
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

/** Serialises statements: one engine session, and per-statement settings are applied around each one. */
class Queue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function credentials(req: IncomingMessage, params: URLSearchParams): { user: string; password: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const text = Buffer.from(auth.slice(6), 'base64').toString();
    const i = text.indexOf(':');
    return { user: text.slice(0, i), password: text.slice(i + 1) };
  }
  return {
    user: String(req.headers['x-clickhouse-user'] ?? params.get('user') ?? 'default'),
    password: String(req.headers['x-clickhouse-key'] ?? params.get('password') ?? ''),
  };
}

/** A setting value as SQL: numbers bare, anything else a quoted string. */
function settingLiteral(v: string): string {
  return /^-?\d+(\.\d+)?$/.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export async function startClickHouseStandin(opts: StandinOptions): Promise<ClickHouseStandin> {
  const user = opts.user ?? 'flowlens';
  const password = opts.password ?? randomBytes(9).toString('hex');
  const session = chdbSession(opts.dir);
  const queue = new Queue();
  let database = 'default';
  /** Settings this session currently has away from their defaults, with their values (reset when not given). */
  const changed = new Map<string, string>();
  let served = 0;

  const setup = async (params: URLSearchParams): Promise<Record<string, string>> => {
    const db = params.get('database') ?? 'default';
    if (db !== database) {
      await session.queryAsync(`USE ${db.replace(/[^A-Za-z0-9_]/g, '')}`);
      database = db;
    }
    const settings: Record<string, string> = {};
    for (const [k, v] of params) {
      if (!NOT_SETTINGS.has(k) && !k.startsWith('param_')) {
        settings[k] = v;
      }
    }
    return settings;
  };

  const applySettings = async (given: Record<string, string>): Promise<void> => {
    const settings = { ...SERVER_DEFAULTS, ...given };
    for (const name of [...changed.keys()]) {
      if (!(name in settings)) {
        await session.queryAsync(`SET ${name} = DEFAULT`);
        changed.delete(name);
      }
    }
    const assignments = Object.entries(settings).filter(([k, v]) => changed.get(k) !== v);
    if (assignments.length > 0) {
      await session.queryAsync(`SET ${assignments.map(([k, v]) => `${k} = ${settingLiteral(v)}`).join(', ')}`);
      for (const [k, v] of assignments) {
        changed.set(k, v);
      }
    }
  };

  /** An INSERT … FORMAT with its rows in the body, or null. */
  const insertOf = (params: URLSearchParams, body: Buffer): RegExpExecArray | null => {
    const paramQuery = params.get('query');
    return paramQuery && body.length > 0
      ? /^\s*INSERT\s+INTO\s+([A-Za-z0-9_.`]+)\s*(?:\(([^)]*)\))?\s*FORMAT\s+(\w+)\s*$/is.exec(paramQuery)
      : null;
  };

  /**
   * An insert with its rows: its settings go with the call (not the session), and the table is named with its
   * database, so inserts run side by side as a server's do (asynchronous inserts then share a flush), not
   * through the statement queue.
   */
  const executeInsert = async (
    params: URLSearchParams,
    body: Buffer,
    insert: RegExpExecArray
  ): Promise<{ text: string; format: string; summary: Record<string, string> }> => {
    const settings: Record<string, string> = {};
    for (const [k, v] of params) {
      if (!NOT_SETTINGS.has(k) && !k.startsWith('param_')) {
        settings[k] = v;
      }
    }
    const db = (params.get('database') ?? 'default').replace(/[^A-Za-z0-9_]/g, '');
    {
      const [, table, cols, format] = insert;
      if (!INSERT_FORMATS.has(format!)) {
        throw new ChError(73, 400, `Unknown format ${format} (UNKNOWN_FORMAT)`);
      }
      if (opts.discardInserts) {
        return { text: '', format: format!, summary: { written_rows: '0', written_bytes: '0' } };
      }
      const name = table!.replace(/`/g, '');
      const r = await session.insert({
        table: name.includes('.') ? name : `${db}.${name}`,
        values: body,
        format: format as 'JSONEachRow',
        columns: cols
          ?.split(',')
          .map((c) => c.trim().replace(/`/g, ''))
          .filter(Boolean),
        settings,
      });
      return {
        text: '',
        format: format!,
        summary: { written_rows: String(r.rowsWritten), written_bytes: String(r.bytesWritten) },
      };
    }
  };

  const execute = async (
    params: URLSearchParams,
    body: Buffer
  ): Promise<{ text: string; format: string; summary: Record<string, string> }> => {
    const settings = await setup(params);
    const paramQuery = params.get('query');
    let sql = paramQuery ? `${paramQuery}\n${body.toString()}` : body.toString();
    const m = /\bFORMAT\s+(\w+)\s*;?\s*$/i.exec(sql);
    const format = m ? m[1]! : (params.get('default_format') ?? 'TabSeparated');
    if (m) {
      sql = sql.slice(0, m.index);
    }
    await applySettings(settings);
    const bind: Record<string, string> = {};
    for (const [k, v] of params) {
      if (k.startsWith('param_')) {
        bind[k.slice('param_'.length)] = v;
      }
    }
    const r =
      Object.keys(bind).length > 0
        ? await session.queryBindAsync(sql, bind, { format })
        : await session.queryAsync(sql, { format });
    return {
      text: r.text(),
      format,
      // As a server's summary: the engine's own time (the stand-in's HTTP and queue are apart from it).
      summary: {
        read_rows: String(r.rowsRead),
        read_bytes: String(r.bytesRead),
        elapsed_ns: String(Math.round(r.elapsed * 1e9)),
      },
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://standin');
    if (
      req.method === 'GET' &&
      (url.pathname === '/ping' || (url.pathname === '/' && !url.searchParams.has('query')))
    ) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    const queryId = url.searchParams.get('query_id') ?? randomUUID();
    const headers = { 'X-ClickHouse-Query-Id': queryId, 'X-ClickHouse-Server-Display-Name': 'flowlens-standin' };
    const fail = (e: ChError): void => {
      res
        .writeHead(e.status, {
          ...headers,
          'Content-Type': 'text/plain; charset=UTF-8',
          'X-ClickHouse-Exception-Code': String(e.code),
        })
        .end(`Code: ${e.code}. DB::Exception: ${e.message}\n`);
    };
    const who = credentials(req, url.searchParams);
    if (who.user !== user || who.password !== password) {
      const reqBody = await readBody(req);
      void reqBody;
      fail(
        new ChError(
          516,
          401,
          `${who.user}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)`
        )
      );
      return;
    }
    const body = await readBody(req);
    try {
      const insert = insertOf(url.searchParams, body);
      const out = insert
        ? await executeInsert(url.searchParams, body, insert)
        : await queue.run(() => execute(url.searchParams, body));
      served++;
      res
        .writeHead(200, {
          ...headers,
          'Content-Type': /JSON/.test(out.format) ? 'application/json; charset=UTF-8' : 'text/plain; charset=UTF-8',
          'X-ClickHouse-Format': out.format,
          'X-ClickHouse-Summary': JSON.stringify(out.summary),
        })
        .end(out.text);
    } catch (err) {
      if (err instanceof ChError) {
        fail(err);
        return;
      }
      const e = err as Error & { clickhouseCode?: number };
      const text = e.message.replace(/^Code: \d+\. DB::Exception: /, '');
      const code = e.clickhouseCode ?? Number(/^Code: (\d+)/.exec(e.message)?.[1] ?? 1000);
      fail(new ChError(code, code === 62 ? 400 : 500, text));
    }
  };

  // A server reads URIs up to 1 MiB (http_max_uri_size); Node's default header limit (16 KiB) refused the hub's
  // batched report-id lookups (`param_ids` of a few hundred ids) with a bare 431 at 1,000 nodes.
  const server: Server = createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500).end(`Code: 1000. DB::Exception: ${(err as Error).message}\n`);
      }
    });
  });
  // A server's keep-alive (ClickHouse: keep_alive_timeout 10 s), longer than the client's idle-socket TTL (2.5 s),
  // so the client never reuses a connection the endpoint is closing (Node's 5 s default races it under load).
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    user,
    password,
    storeSpec: (db) => `clickhouse://${user}:${password}@127.0.0.1:${port}/${db}`,
    statements: () => served,
    unref: () => void server.unref(),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue.run(async () => session.close());
    },
  };
}
