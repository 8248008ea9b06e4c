/**
 * Starts the built agent (`flowlens-agent node --stdout`) for a measurement, waits until it collects, and stops
 * it. Readiness is the agent's start-up line ("collect every …") or its first report, so it does not depend on
 * which programs the collector attaches.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { NODE_AGENT_V8_FLAGS } from '../../src/node/v8-flags.js';

export interface RunningAgent {
  child: ChildProcess;
  pid: number;
  reports: number;
  stderr(): string;
  stop(): Promise<void>;
}

/** `prefix` runs before node (e.g. `nice -n -10`: it execs, so the child's pid is the agent's). */
export async function startBuiltAgent(
  prefix: string[],
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv
): Promise<RunningAgent> {
  const runner = entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry];
  // the V8 flags the DaemonSet gives the agent in NODE_OPTIONS (node/v8-flags.ts)
  const argv = [...prefix, process.execPath, ...NODE_AGENT_V8_FLAGS, ...runner, 'node', '--stdout', ...args];
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  const agent: RunningAgent = {
    child,
    pid: child.pid!,
    reports: 0,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`agent not collecting within 60 s:\n${stderr}`)), 60_000);
    const ready = () => {
      clearTimeout(timer);
      res();
    };
    createInterface({ input: child.stdout! }).on('line', () => {
      agent.reports++;
      ready();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 1 << 20) {
        stderr = stderr.slice(-(1 << 19));
      }
      if (/collect every/.test(stderr)) {
        ready();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      rej(new Error(`agent exited (${child.exitCode ?? child.signalCode}) before collecting:\n${stderr}`));
    });
  });
  return agent;
}

/**
 * A temporary copy of the agent's BPF directory (`agent/bpf`: the loader, flowlens.bpf.o and its siblings, as
 * symlinks) without the named files: an agent started with it as FLOWLENS_BPF_DIR runs without them. The loader
 * looks for its optional objects (drops.bpf.o, conntrack.bpf.o) beside flowlens.bpf.o, so leaving out drops.bpf.o
 * gives the agent without the drop and reset hooks and nothing else changed. The caller removes the directory.
 */
export function bpfDirWithout(dir: string, leaveOut: string[]): string {
  const copy = mkdtempSync(join(tmpdir(), 'flowlens-bpf-'));
  for (const name of readdirSync(dir)) {
    if (!leaveOut.includes(name)) {
      symlinkSync(join(dir, name), join(copy, name));
    }
  }
  return copy;
}
