/**
 * Failing connections and their ground truth for the kernel tests: agent/test/lib/failgen.py run in a test host's
 * namespace, and the packet counter of an iptables INPUT rule (what the rule really dropped or rejected).
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Star } from './netns.js';

export const FAILGEN = join(dirname(fileURLToPath(import.meta.url)), 'failgen.py');
export const IPTABLES = '/usr/sbin/iptables';

/** What `failgen.py connect` did. */
export interface ConnectResult {
  attempts: number;
  refused: number;
  timeouts: number;
  established: number;
  other: number;
}

/** Runs failgen.py in a namespace; resolves with its last JSON line, calls onLine for every line. */
export function failgen<T>(
  star: Star,
  ns: string,
  args: string[],
  onLine?: (msg: Record<string, unknown>) => void
): Promise<T> {
  const child = star.spawnIn(ns, ['python3', FAILGEN, ...args]);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let last: T | null = null;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as Record<string, unknown>;
    last = msg as T;
    onLine?.(msg);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && last) {
        resolve(last);
      } else {
        reject(new Error(`failgen ${args.join(' ')} exited ${code}: ${stderr}`));
      }
    });
  });
}

/** Packets the INPUT rule for `port` matched in `ns`, from iptables' own counter. */
export async function rulePackets(star: Star, ns: string, port: number): Promise<number> {
  const out = await star.exec(ns, [IPTABLES, '-L', 'INPUT', '-v', '-x', '-n']);
  const line = out.split('\n').find((l) => l.includes(`dpt:${port}`));
  assert.ok(line, `no INPUT rule for port ${port}:\n${out}`);
  return Number(line.trim().split(/\s+/)[0]);
}
