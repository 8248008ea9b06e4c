/**
 * A stand-in for the Docker Engine API on a unix socket (or loopback TCP), for code that drives containers
 * through dockerode (no engine runs here). It answers the calls the Flowlens tools make, in the engine's
 * wire format: GET /containers/json (label filter, `all`), GET /containers/{id}/json, GET /events (a held-open
 * stream of JSON lines, `type` filter), POST /containers/{id}/exec, POST /exec/{id}/start (hijacked connection,
 * multiplexed stdout/stderr frames), GET /exec/{id}/json. What a command prints is up to the test's `run`
 * function; every exec is recorded. `containers` is live: a test adds or removes entries (or changes `state`)
 * and then `emit`s the events the engine would send.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  state: 'running' | 'exited';
  /** This container's entry in GET /containers/json, served verbatim (else a minimal one is made from the fields above). */
  summary?: Record<string, unknown>;
  /** GET /containers/{id}/json, served verbatim (404 without it). */
  inspect?: Record<string, unknown>;
}

export interface ExecOutcome {
  stdout?: string;
  stderr?: string;
  code?: number;
}

export interface FakeDocker {
  /** The unix socket ('' when listening on TCP). */
  socketPath: string;
  /** What DOCKER_HOST would say: unix:///path or tcp://127.0.0.1:port. */
  dockerHost: string;
  execs: Array<{ container: string; cmd: string[] }>;
  /** Every request, in order: 'GET /containers/json' (API version prefix removed). */
  requests: string[];
  /** Writes one event (the engine's JSON object) to every open /events stream whose `type` filter admits it. */
  emit(event: { Type: string } & Record<string, unknown>): void;
  /** How many /events streams are open now. */
  eventStreams(): number;
  close(): Promise<void>;
}

export interface FakeDockerOptions {
  /** Listen on this unix socket path (its directory must exist; close() removes only the socket). */
  socketPath?: string;
  /** Listen on 127.0.0.1 with a free port instead of a unix socket. */
  tcp?: boolean;
}

/** One frame of Docker's multiplexed stream: [type, 0, 0, 0, size (big-endian u32)] + payload. */
function frame(type: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export async function startFakeDocker(
  containers: FakeContainer[],
  run: (container: FakeContainer, cmd: string[]) => ExecOutcome = () => ({
    stderr: 'fake docker: no exec\n',
    code: 126,
  }),
  options: FakeDockerOptions = {}
): Promise<FakeDocker> {
  const dir = options.socketPath || options.tcp ? undefined : mkdtempSync(join(tmpdir(), 'flowlens-docker-'));
  const socketPath = options.tcp ? '' : (options.socketPath ?? join(dir!, 'docker.sock'));
  const execs: FakeDocker['execs'] = [];
  const requests: string[] = [];
  const streams = new Set<{ res: ServerResponse; types: string[] }>();
  const pending = new Map<string, { container: FakeContainer; cmd: string[]; exitCode: number | null }>();
  let nextExec = 1;

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => resolve(body));
    });
  const byRef = (ref: string): FakeContainer | undefined =>
    containers.find((c) => c.id === ref || c.name === ref || `/${c.name}` === ref);

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    const path = url.pathname.replace(/^\/v[\d.]+/, '');
    requests.push(`${req.method} ${path}`);
    if (req.method === 'GET' && path === '/events') {
      const filters = JSON.parse(url.searchParams.get('filters') ?? '{}') as { type?: string[] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      const stream = { res, types: filters.type ?? [] };
      streams.add(stream);
      res.on('close', () => streams.delete(stream));
      return;
    }
    const inspect = /^\/containers\/([^/]+)\/json$/.exec(path);
    if (req.method === 'GET' && inspect) {
      const c = byRef(decodeURIComponent(inspect[1]!));
      if (c?.inspect) {
        json(res, 200, c.inspect);
      } else {
        json(res, 404, { message: `No such container: ${inspect[1]}` });
      }
      return;
    }
    if (req.method === 'GET' && path === '/containers/json') {
      const filters = JSON.parse(url.searchParams.get('filters') ?? '{}') as { label?: string[] };
      const all = url.searchParams.get('all') === 'true' || url.searchParams.get('all') === '1';
      const list = containers.filter(
        (c) =>
          (all || c.state === 'running') &&
          (filters.label ?? []).every((l) => {
            const [k, v] = l.split('=');
            return v === undefined ? k! in c.labels : c.labels[k!] === v;
          })
      );
      json(
        res,
        200,
        list.map((c) => c.summary ?? { Id: c.id, Names: [`/${c.name}`], Labels: c.labels, State: c.state })
      );
      return;
    }
    const execCreate = /^\/containers\/([^/]+)\/exec$/.exec(path);
    if (req.method === 'POST' && execCreate) {
      const container = byRef(decodeURIComponent(execCreate[1]!));
      const body = JSON.parse(await readBody(req)) as { Cmd: string[] };
      if (!container) {
        json(res, 404, { message: 'No such container' });
        return;
      }
      const id = `exec${nextExec++}`;
      pending.set(id, { container, cmd: body.Cmd, exitCode: null });
      json(res, 201, { Id: id });
      return;
    }
    const execInspect = /^\/exec\/([^/]+)\/json$/.exec(path);
    if (req.method === 'GET' && execInspect) {
      const e = pending.get(execInspect[1]!);
      json(
        res,
        e ? 200 : 404,
        e ? { ID: execInspect[1], Running: false, ExitCode: e.exitCode } : { message: 'No such exec' }
      );
      return;
    }
    json(res, 404, { message: `fake docker: no route ${req.method} ${path}` });
  });

  // POST /exec/{id}/start with Connection: Upgrade — the engine answers 101 and streams frames.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const path = new URL(req.url ?? '/', 'http://docker').pathname.replace(/^\/v[\d.]+/, '');
    const m = /^\/exec\/([^/]+)\/start$/.exec(path);
    const e = m ? pending.get(m[1]!) : undefined;
    req.resume();
    if (!e) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    execs.push({ container: e.container.name, cmd: e.cmd });
    const outcome = run(e.container, e.cmd);
    e.exitCode = outcome.code ?? 0;
    socket.write(
      'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n'
    );
    if (outcome.stdout) {
      socket.write(frame(1, outcome.stdout));
    }
    if (outcome.stderr) {
      socket.write(frame(2, outcome.stderr));
    }
    socket.end();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (options.tcp) {
      server.listen(0, '127.0.0.1', () => resolve());
    } else {
      server.listen(socketPath, () => resolve());
    }
  });
  const address = server.address();
  const dockerHost =
    typeof address === 'object' && address ? `tcp://127.0.0.1:${address.port}` : `unix://${socketPath}`;
  return {
    socketPath,
    dockerHost,
    execs,
    requests,
    emit: (event) => {
      for (const s of streams) {
        if (s.types.length === 0 || s.types.includes(event.Type)) {
          s.res.write(`${JSON.stringify(event)}\n`);
        }
      }
    },
    eventStreams: () => streams.size,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (dir) {
        rmSync(dir, { recursive: true, force: true });
      } else if (socketPath) {
        rmSync(socketPath, { force: true });
      }
    },
  };
}
