/**
 * The few Kubernetes API calls the metadata providers make — GET one object, GET a list, and a watch stream —
 * over node:http(s), with TLS and credentials from a KubeConnection. JSON in, JSON out; a non-2xx answer
 * becomes an ApiError carrying the status code (404 is how callers learn an object is gone).
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConnection } from './connection.js';

export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string
  ) {
    super(message);
  }
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchHandle {
  /** Resolves when the server ends the stream, rejects when the connection fails. */
  done: Promise<void>;
  abort(): void;
}

const LIST_TIMEOUT_MS = 60_000;
/**
 * Connections kept to the API server: the watches hold one each, GETs share the rest. Without a bound, a node's
 * start-up (one owner GET per ReplicaSet or Job, ~40 on a full node) opens that many TLS connections at once.
 */
const MAX_CONNECTIONS = 6;

export class KubeApi {
  private readonly https = new HttpsAgent({ keepAlive: true, maxSockets: MAX_CONNECTIONS });
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: MAX_CONNECTIONS });

  constructor(private readonly connection: KubeConnection) {}

  /** Closes idle kept-alive connections (open watches are aborted by their owners). */
  close(): void {
    this.https.destroy();
    this.http.destroy();
  }

  private async open(path: string, query: Record<string, string | undefined>): Promise<ClientRequest> {
    const server = this.connection.getCurrentCluster()?.server;
    if (!server) {
      throw new Error('no current cluster in the Kubernetes configuration');
    }
    const url = new URL(server);
    const base = url.pathname.replace(/\/$/, '');
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined) {
        params.set(k, v);
      }
    }
    const qs = params.toString();
    const opts: RequestOptions = {
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || undefined,
      path: `${base}${path}${qs ? `?${qs}` : ''}`,
      method: 'GET',
      headers: { Accept: 'application/json' },
      agent: url.protocol === 'http:' ? this.http : this.https,
    };
    await this.connection.applyToHTTPSOptions(opts);
    return (url.protocol === 'http:' ? httpRequest : httpsRequest)(opts);
  }

  private static async failure(res: IncomingMessage): Promise<ApiError> {
    let body = '';
    for await (const chunk of res) {
      body += String(chunk);
      if (body.length > 4096) {
        break;
      }
    }
    let message = body;
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      /* not a Status */
    }
    return new ApiError(res.statusCode ?? 0, `HTTP ${res.statusCode}: ${message.slice(0, 300)}`);
  }

  /** GET a JSON document (an object or a list). */
  async get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    const req = await this.open(path, query);
    return new Promise<T>((resolve, reject) => {
      req.setTimeout(LIST_TIMEOUT_MS, () => req.destroy(new Error(`GET ${path}: no answer in ${LIST_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.on('response', (res) => {
        if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
          void KubeApi.failure(res).then(reject, reject);
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      });
      req.end();
    });
  }

  /**
   * A watch: resolves once the server has answered (the stream is open), then delivers one JSON event per line
   * until the server ends the stream (`done` resolves) or the connection breaks (`done` rejects). `idleMs` bounds
   * the silence on a stream (bookmarks keep a healthy one talking).
   */
  async watch<T>(
    path: string,
    query: Record<string, string | undefined>,
    onEvent: (e: WatchEvent<T>) => void,
    idleMs: number
  ): Promise<WatchHandle> {
    const req = await this.open(path, { ...query, watch: 'true' });
    let aborted = false;
    const abort = () => {
      aborted = true;
      req.destroy();
    };
    return new Promise<WatchHandle>((opened, failed) => {
      let settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
      const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
      const end = (err?: Error) => (err && !aborted ? settle!.reject(err) : settle!.resolve());
      req.setTimeout(idleMs, () => req.destroy(new Error(`watch ${path}: silent for ${idleMs} ms`)));
      req.on('error', (err) => {
        failed(err); // before the answer: the watch did not open
        end(err);
      });
      req.on('response', (res) => {
        if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
          void KubeApi.failure(res).then(failed, failed);
          return;
        }
        res.on('error', (err) => end(err));
        const lines = createInterface({ input: res, crlfDelay: Infinity });
        // readline re-emits the response's errors; they are handled above
        lines.on('error', () => undefined);
        lines.on('line', (line) => {
          if (line.trim() === '') {
            return;
          }
          try {
            onEvent(JSON.parse(line) as WatchEvent<T>);
          } catch (err) {
            req.destroy(err instanceof Error ? err : new Error(String(err)));
          }
        });
        lines.on('close', () => end(res.complete ? undefined : new Error(`watch ${path}: connection cut`)));
        opened({ done, abort });
      });
      req.end();
    });
  }
}
