/**
 * Test hosts in network namespaces. `createStar` builds one server namespace and N client namespaces, each
 * client joined to the server by its own veth pair and /30 subnet (random, so parallel test runs and other
 * people's agents never see the same addresses). `cleanup()` deletes everything, and is safe to call twice.
 *
 *   const net = await createStar(2);
 *   try { await net.exec(net.clients[0].ns, ['ping', '-c1', net.clients[0].serverIp]); } finally { await net.cleanup(); }
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Link {
  /** The client's namespace. */
  ns: string;
  clientIp: string;
  serverIp: string;
  /** Interface names: the client's end (in ns) and the server's end (in the server namespace). */
  clientDev: string;
  serverDev: string;
}

export interface Star {
  id: string;
  server: string;
  clients: Link[];
  exec(ns: string, argv: string[], timeoutMs?: number): Promise<string>;
  spawnIn(ns: string, argv: string[], opts?: SpawnOptions): ChildProcess;
  cleanup(): Promise<void>;
}

export async function ip(args: string[], timeoutMs = 10_000): Promise<string> {
  const { stdout } = await run('ip', args, { timeout: timeoutMs });
  return stdout;
}

const cgroupOfNs = new Map<string, string>();

/**
 * Every process execIn/spawnIn start in `ns` from now on first joins the cgroup-v2 directory `dir` (null: no
 * longer). A Kubernetes node's pods and host processes all live under the node's cgroup, which is what a node
 * agent's sock_ops program is attached to (tests/lib/kube-node.ts).
 */
export function setNamespaceCgroup(ns: string, dir: string | null): void {
  if (dir === null) {
    cgroupOfNs.delete(ns);
  } else {
    cgroupOfNs.set(ns, dir);
  }
}

/** The command line that runs argv in ns (and in its cgroup, when one is set). */
function inNamespace(ns: string, argv: string[]): string[] {
  const base = ['ip', 'netns', 'exec', ns, ...argv];
  const cgroup = cgroupOfNs.get(ns);
  return cgroup === undefined ? base : ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...base];
}

export async function execIn(ns: string, argv: string[], timeoutMs = 30_000): Promise<string> {
  const [cmd, ...args] = inNamespace(ns, argv);
  const { stdout } = await run(cmd!, args, { timeout: timeoutMs, maxBuffer: 16 << 20 });
  return stdout;
}

export function spawnIn(ns: string, argv: string[], opts: SpawnOptions = {}): ChildProcess {
  const [cmd, ...args] = inNamespace(ns, argv);
  return spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
}

/**
 * Switch a link's segmentation offloads off at both ends, so the client's kernel sends wire-sized segments (as a
 * NIC's TSO would put on the wire) and the server's end never merges them again. A loss injector on the link then
 * drops a share of ~5,500 segments of an 8 MB transfer, not of its ~125 GSO super-packets: with those, 3% loss
 * drops none at all in about one run in 40 (0.97^125), and each drop loses ~45 segments at once.
 */
export async function wireSizedSegments(star: Star, link: Link): Promise<void> {
  const off = ['tso', 'off', 'gso', 'off', 'gro', 'off'];
  await execIn(link.ns, ['ethtool', '-K', link.clientDev, ...off]);
  await execIn(star.server, ['ethtool', '-K', link.serverDev, ...off]);
}

/** A random 10.x.y.0/24 block: link i uses 10.x.y.(4i)/30. */
function randomBlock(): [number, number] {
  const b = randomBytes(2);
  return [64 + (b[0]! % 128), b[1]!];
}

export async function createStar(clients: number, opts: { mtu?: number } = {}): Promise<Star> {
  if (clients < 1 || clients > 60) {
    throw new Error('createStar: 1 to 60 clients');
  }
  const id = randomBytes(3).toString('hex');
  const server = `fl-${id}-srv`;
  const created: string[] = [];
  const star: Star = {
    id,
    server,
    clients: [],
    exec: (ns, argv, timeoutMs) => execIn(ns, argv, timeoutMs),
    spawnIn: (ns, argv, o) => spawnIn(ns, argv, o),
    cleanup: async () => {
      for (const ns of created.splice(0).reverse()) {
        await ip(['netns', 'del', ns]).catch(() => undefined);
      }
    },
  };
  try {
    await ip(['netns', 'add', server]);
    created.push(server);
    await execIn(server, ['ip', 'link', 'set', 'lo', 'up']);
    const [x, y] = randomBlock();
    for (let i = 0; i < clients; i++) {
      const ns = `fl-${id}-c${i}`;
      await ip(['netns', 'add', ns]);
      created.push(ns);
      const clientDev = `fl${id}c${i}`;
      const serverDev = `fl${id}s${i}`;
      await ip(['link', 'add', clientDev, 'netns', ns, 'type', 'veth', 'peer', 'name', serverDev, 'netns', server]);
      const base = 4 * i;
      const serverIp = `10.${x}.${y}.${base + 1}`;
      const clientIp = `10.${x}.${y}.${base + 2}`;
      await execIn(server, ['ip', 'addr', 'add', `${serverIp}/30`, 'dev', serverDev]);
      await execIn(ns, ['ip', 'addr', 'add', `${clientIp}/30`, 'dev', clientDev]);
      if (opts.mtu) {
        await execIn(server, ['ip', 'link', 'set', serverDev, 'mtu', String(opts.mtu)]);
        await execIn(ns, ['ip', 'link', 'set', clientDev, 'mtu', String(opts.mtu)]);
      }
      await execIn(server, ['ip', 'link', 'set', serverDev, 'up']);
      await execIn(ns, ['ip', 'link', 'set', clientDev, 'up']);
      await execIn(ns, ['ip', 'link', 'set', 'lo', 'up']);
      star.clients.push({ ns, clientIp, serverIp, clientDev, serverDev });
    }
  } catch (err) {
    await star.cleanup();
    throw err;
  }
  return star;
}
