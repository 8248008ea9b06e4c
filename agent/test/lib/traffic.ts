/** Runs agent/test/lib/traffic-gen.ts inside namespaces and returns its JSON results. */
import { type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnIn } from './netns.js';

const GEN = join(dirname(fileURLToPath(import.meta.url)), 'traffic-gen.ts');
const NODE = [process.execPath, '--import', 'tsx', GEN];

let niceness = 0;
/** Run generators at this nice level (benchmarks on a shared machine use -20 to be less at the mercy of others). */
export function setTrafficNiceness(n: number): void {
  niceness = n;
}
const gen = (args: string[]) => (niceness ? ['nice', '-n', String(niceness), ...NODE, ...args] : [...NODE, ...args]);

export interface TrafficServer {
  /** One entry per finished connection: the bytes it received. */
  received: number[];
  close(): Promise<void>;
}

export async function startServer(ns: string, host: string, port: number, reply = 0): Promise<TrafficServer> {
  const child = spawnIn(ns, gen(['server', '--host', host, '--port', String(port), '--reply', String(reply)]));
  const received: number[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`traffic server did not start: ${stderr}`)), 20_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { listening?: boolean; received?: number };
      if (msg.listening) {
        clearTimeout(timer);
        resolve();
      } else if (typeof msg.received === 'number') {
        received.push(msg.received);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`traffic server exited (${code}): ${stderr}`));
    });
  });
  await ready;
  return {
    received,
    close: () => stop(child),
  };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin!.end();
  });
}

/**
 * Runs one client mode to completion and returns its last JSON line; `onConnected` runs when an upload's
 * connection is established (to time loss against the transfer, not against process start-up).
 */
export function runClient<T = Record<string, number>>(
  ns: string,
  args: string[],
  timeoutMs = 60_000,
  onConnected?: () => void
): Promise<T> {
  const child = spawnIn(ns, gen(args));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (onConnected && stdout.includes('"connected":true')) {
      const cb = onConnected;
      onConnected = undefined;
      cb();
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`traffic client '${args.join(' ')}' timed out`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop();
      if (code !== 0 || !last) {
        reject(new Error(`traffic client '${args.join(' ')}' failed (${code}): ${stderr}`));
        return;
      }
      resolve(JSON.parse(last) as T);
    });
  });
}

/** A long-lived connection end driven by commands (traffic-gen hold-server / hold-client). */
export interface HeldPeer {
  /** Sends one command and resolves with its JSON answer. */
  command<T = Record<string, number | boolean>>(cmd: string, timeoutMs?: number): Promise<T>;
  /** Resolves with the next JSON line (e.g. {"accepted":true}). */
  next<T = Record<string, number | boolean>>(timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Polls a held peer's `status` every 100 ms until `done` holds or `timeoutMs` passes; returns the last status either
 * way (the caller asserts on it).
 */
export async function statusWhen<T extends Record<string, unknown>>(
  peer: HeldPeer,
  done: (s: T) => boolean,
  timeoutMs = 20_000
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await peer.command<T>('status');
    if (done(s) || Date.now() > deadline) {
      return s;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts hold-server (resolves once listening) or hold-client (resolves once connected) in a namespace. */
export async function startHeld(ns: string, role: 'server' | 'client', host: string, port: number): Promise<HeldPeer> {
  const child = spawnIn(ns, gen([`hold-${role}`, '--host', host, '--port', String(port)]));
  const lines: string[] = [];
  let waiter: (() => void) | null = null;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    waiter?.();
  });
  const next = async <T>(timeoutMs = 20_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    while (lines.length === 0) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`hold-${role}: no answer (${child.exitCode === null ? 'timeout' : 'exited'}): ${stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      waiter = null;
    }
    const msg = JSON.parse(lines.shift()!) as T & { error?: string };
    if (msg.error) {
      throw new Error(`hold-${role}: ${msg.error}`);
    }
    return msg;
  };
  await next(20_000);
  return {
    next,
    command: <T>(cmd: string, timeoutMs?: number) => {
      child.stdin!.write(`${cmd}\n`);
      return next<T>(timeoutMs);
    },
    stop: () => stop(child),
  };
}
