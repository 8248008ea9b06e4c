/**
 * Traffic generator, run inside a namespace: `ip netns exec NS node --import tsx traffic-gen.ts MODE ...`.
 * Every mode prints JSON lines on stdout; the last one is the result. Exact byte counts are the ground truth.
 *
 *   server --host IP --port P [--reply N]     accept connections; read each to EOF, answer N bytes, close.
 *                                            Prints {"listening":true} then {"conn":i,"received":n} per connection;
 *                                            exits when stdin closes.
 *   upload --host IP --port P --bytes N [--chunk C --pace-ms T]
 *                                            one connection: send N bytes (C bytes every T ms when paced), half-close,
 *                                            read the reply to EOF. Prints {"connected":true} once connected, then
 *                                            {"sent":N,"received":M,"ms":…}.
 *   short --host IP --port P --count K --bytes N
 *                                            K connections one after another, connection i sends N+i bytes.
 *                                            Prints {"connections":K,"sent":…,"received":…,"ms":…}.
 *   rate --host IP --port P --seconds S --bytes N
 *                                            as many short connections as fit in S seconds. Prints {"connections":…}.
 *   hold-server --host IP --port P / hold-client --host IP --port P
 *                                            one long-lived connection driven by stdin commands, one JSON answer each:
 *                                            `send N` ({"sent":N} once written), `status` ({"received":n}),
 *                                            `close` (half-close, wait for the peer's close: {"closed":true,"received":n}).
 *                                            Prints {"listening":true} / {"connected":true} first (the server also
 *                                            {"accepted":true} per connection; commands go to the latest one).
 */
import { createServer, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    reply: { type: 'string', default: '0' },
    bytes: { type: 'string', default: '0' },
    chunk: { type: 'string', default: '65536' },
    'pace-ms': { type: 'string', default: '0' },
    count: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '1' },
  },
});
const mode = positionals[0];
const host = values.host ?? '0.0.0.0';
const port = Number(values.port ?? 0);
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const pattern = Buffer.alloc(1 << 20, 0x5a);

function writeAll(sock: Socket, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = n;
    const pump = () => {
      while (left > 0) {
        const len = Math.min(left, pattern.length);
        left -= len;
        if (!sock.write(pattern.subarray(0, len))) {
          sock.once('drain', pump);
          return;
        }
      }
      resolve();
    };
    sock.once('error', reject);
    pump();
  });
}

async function writePaced(sock: Socket, n: number, chunk: number, paceMs: number): Promise<void> {
  let left = n;
  while (left > 0) {
    const len = Math.min(left, chunk);
    await writeAll(sock, len);
    left -= len;
    await new Promise((r) => setTimeout(r, paceMs));
  }
}

/** Sends `bytes`, half-closes, reads to EOF; resolves with the bytes received. */
function exchange(bytes: number, chunk = 0, paceMs = 0, announce = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: values.host!, port });
    let received = 0;
    sock.on('data', (d) => (received += d.length));
    sock.on('error', reject);
    sock.on('end', () => {
      sock.end();
    });
    sock.on('close', () => resolve(received));
    sock.once('connect', () => {
      if (announce) {
        out({ connected: true });
      }
      const send = paceMs > 0 ? writePaced(sock, bytes, chunk, paceMs) : writeAll(sock, bytes);
      send.then(() => sock.end(), reject);
    });
  });
}

/** Serves the hold-* commands for one connection (the latest one, for the server). */
function driveHeld(current: () => Socket | null, received: () => number): void {
  const rl = createInterface({ input: process.stdin });
  rl.on('close', () => process.exit(0));
  rl.on('line', (line) => {
    const [cmd, arg] = line.trim().split(' ');
    const sock = current();
    if (cmd === 'status') {
      out({ received: received() });
    } else if (cmd === 'send' && sock) {
      writeAll(sock, Number(arg)).then(
        () => out({ sent: Number(arg) }),
        (err: Error) => out({ error: err.message })
      );
    } else if (cmd === 'close' && sock) {
      sock.once('close', () => out({ closed: true, received: received() }));
      sock.end();
    } else {
      out({ error: `bad command '${line}'` });
    }
  });
}

async function main(): Promise<void> {
  const bytes = Number(values.bytes);
  if (mode === 'hold-server') {
    let latest: Socket | null = null;
    let received = 0;
    const server = createServer((sock) => {
      latest = sock;
      sock.on('data', (d) => (received += d.length));
      sock.on('error', () => undefined);
      sock.on('end', () => sock.end());
      out({ accepted: true });
    });
    server.listen(port, host, () => out({ listening: true }));
    driveHeld(
      () => latest,
      () => received
    );
    return;
  }
  if (mode === 'hold-client') {
    let received = 0;
    const sock = connect({ host: values.host!, port });
    sock.on('data', (d) => (received += d.length));
    sock.on('error', (err) => out({ error: err.message }));
    sock.on('end', () => sock.end());
    sock.once('connect', () => out({ connected: true }));
    driveHeld(
      () => sock,
      () => received
    );
    return;
  }
  if (mode === 'server') {
    const reply = Number(values.reply);
    let conns = 0;
    const server = createServer((sock) => {
      const id = conns++;
      let received = 0;
      sock.on('data', (d) => (received += d.length));
      sock.on('error', () => undefined);
      sock.on('end', () => {
        writeAll(sock, reply).then(
          () => sock.end(),
          () => sock.destroy()
        );
        out({ conn: id, received });
      });
    });
    server.listen(port, host, () => out({ listening: true }));
    process.stdin.resume();
    process.stdin.on('end', () => {
      server.close();
      process.exit(0);
    });
    return;
  }
  const started = performance.now();
  if (mode === 'upload') {
    const received = await exchange(bytes, Number(values.chunk), Number(values['pace-ms']), true);
    out({ sent: bytes, received, ms: performance.now() - started });
  } else if (mode === 'short') {
    const count = Number(values.count);
    let sent = 0;
    let received = 0;
    for (let i = 0; i < count; i++) {
      received += await exchange(bytes + i);
      sent += bytes + i;
    }
    out({ connections: count, sent, received, ms: performance.now() - started });
  } else if (mode === 'rate') {
    const until = started + Number(values.seconds) * 1000;
    let connections = 0;
    while (performance.now() < until) {
      await exchange(bytes);
      connections++;
    }
    out({ connections, ms: performance.now() - started });
  } else {
    throw new Error(`unknown mode '${mode}'`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`traffic-gen: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
