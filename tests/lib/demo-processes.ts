/**
 * Runs the demo services (demo/src/service.ts) as real processes, optionally inside a network
 * namespace (and the cgroup of the node that namespace belongs to, see tests/lib/kube-node.ts), and
 * stops them. A service started with PORT=0 reports the port it got on stdout.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnIn } from '../../agent/test/lib/netns.js';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';

export const DEMO_SERVICE = join(REPO_ROOT, 'demo/src/service.ts');

export interface DemoProcess {
  role: string;
  child: ChildProcess;
  /** http://host:port of a serving role (empty for loadgen). */
  url: string;
  lines: string[];
  /** SIGTERM, then SIGKILL after the timeout; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

export async function startDemo(
  role: string,
  env: Record<string, string>,
  opts: { netns?: string; advertiseHost?: string; startTimeoutMs?: number } = {}
): Promise<DemoProcess> {
  const argv = [process.execPath, '--import', 'tsx', DEMO_SERVICE, role];
  const spawnOpts: SpawnOptions = {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
  };
  const child = opts.netns ? spawnIn(opts.netns, argv, spawnOpts) : spawn(argv[0]!, argv.slice(1), spawnOpts);
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const stop = async (timeoutMs = 5000): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${role} did not start:\n${stderr}`)),
      opts.startTimeoutMs ?? 20_000
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      const listening = /"listening":"([^"]+):(\d+)"/.exec(line);
      if (listening) {
        clearTimeout(timer);
        resolve(`http://${opts.advertiseHost ?? listening[1]}:${listening[2]}`);
      }
    });
    if (role === 'loadgen') {
      clearTimeout(timer);
      resolve('');
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited (${code}) before listening:\n${stderr}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { role, child, url, lines, stop, exited };
}
