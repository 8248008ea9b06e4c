/**
 * Makes a TCP service of the test process (on the root namespace's loopback) reachable from inside a
 * network namespace at `listenHost:listenPort`, without a route or a firewall rule in the root namespace:
 * a forwarder in the namespace pipes each connection through a Unix socket (file-system sockets cross
 * network namespaces) to this process, which pipes it on to `target`.
 *
 *   const fwd = await forwardIntoNamespace(node.ns, { listenHost: '127.0.0.1', listenPort: 7470, target: hub.url });
 *   … the node's agent reports to http://127.0.0.1:7470 …
 *   await fwd.close();
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnIn } from '../../agent/test/lib/netns.js';

const CHILD = join(__dirname, 'ns-forward-child.ts');

export interface NamespaceForward {
  /** http://listenHost:listenPort, as seen from inside the namespace. */
  url: string;
  close(): Promise<void>;
}

export async function forwardIntoNamespace(
  ns: string,
  opts: { listenHost: string; listenPort: number; target: string }
): Promise<NamespaceForward> {
  const target = new URL(opts.target);
  const dir = mkdtempSync(join(tmpdir(), 'flowlens-fwd-'));
  const path = join(dir, 'fwd.sock');
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect({ host: target.hostname, port: Number(target.port) });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const child = spawnIn(ns, [
    process.execPath,
    '--import',
    'tsx',
    CHILD,
    opts.listenHost,
    String(opts.listenPort),
    path,
  ]);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    for (const s of sockets) {
      s.destroy();
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`forwarder in ${ns} did not start:\n${stderr}`)), 20_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.includes('"listening":true')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`forwarder in ${ns} exited:\n${stderr}`));
      });
    });
  } catch (err) {
    await close();
    throw err;
  }
  return { url: `http://${opts.listenHost}:${opts.listenPort}`, close };
}
