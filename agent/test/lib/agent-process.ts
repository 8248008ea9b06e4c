/**
 * Runs `flowlens-agent node --stdout` (from source, through tsx) as a child process, collects and validates
 * its reports, and stops it. Also sums report flows by key so tests can compare totals with ground truth.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  COUNTER_NAMES,
  reportV1Schema,
  type FailureCounters,
  type FlowRecord,
  type ReportV1,
} from '../../src/contracts/report.js';
import { addFailures } from '../../src/report/failures.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const AGENT_DIR = resolve(HERE, '..', '..');
export const CLI = join(AGENT_DIR, 'src', 'cli.ts');

export function agentBpfDir(): string {
  return join(AGENT_DIR, 'bpf');
}

export function bpfArtifactPaths(): string[] {
  const dir = agentBpfDir();
  return [
    join(dir, 'flowlens.bpf.o'),
    join(dir, 'drops.bpf.o'),
    join(dir, 'lossy.bpf.o'),
    join(dir, 'build', 'flowlens-loader'),
    join(dir, 'build', 'flowlens-lossy'),
  ];
}

export interface AgentHandle {
  child: ChildProcess;
  reports: ReportV1[];
  stderr(): string;
  /** Program and link ids the agent attached (from its start-up log line): sock_ops, or fl_state (connPath). */
  progId: number;
  linkId: number;
  /** `sockops`: sock_ops on the cgroup registers connections; `state`: fl_state does, no sock_ops is loaded. */
  connPath: 'sockops' | 'state';
  /** Sends a signal and waits for the exit; resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/** The built agent (agent/dist/cli.js), when `npm run build -w agent` has run. */
export const BUILT_CLI = join(AGENT_DIR, 'dist', 'cli.js');

/**
 * Starts `flowlens-agent node --stdout ARGS`, from source through tsx unless `entry` names a built cli.js
 * (benchmarks measure the built agent: tsx compiles in-process and would inflate memory).
 */
export async function startAgent(
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  entry: string = CLI
): Promise<AgentHandle> {
  const runner = entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry];
  const child = spawn(process.execPath, [...runner, 'node', '--stdout', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const reports: ReportV1[] = [];
  let stderr = '';
  createInterface({ input: child.stdout! }).on('line', (line) => {
    reports.push(reportV1Schema.parse(JSON.parse(line)));
  });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const ids = await new Promise<{ progId: number; linkId: number; connPath: 'sockops' | 'state' }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`agent did not attach within 30 s:\n${stderr}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /(sock_ops|state) program (\d+) attached to .* \(link (\d+)\)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        res({ progId: Number(m[2]), linkId: Number(m[3]), connPath: m[1] === 'state' ? 'state' : 'sockops' });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`agent exited (${code}) before attaching:\n${stderr}`));
    });
  });
  return {
    child,
    reports,
    stderr: () => stderr,
    ...ids,
    stop: async (signal = 'SIGTERM', timeoutMs = 15_000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs the agent CLI to completion (for error cases); returns exit code and output. */
export function runAgentOnce(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 30_000
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

export type FlowTotals = Omit<FlowRecord, 'rttUs' | 'local'>;

/** Sums every report's flows matching `pick` (over all reports: counters are deltas). */
export function sumFlows(reports: ReportV1[], pick: (f: FlowRecord) => boolean): FlowTotals | null {
  let total: FlowTotals | null = null;
  for (const r of reports) {
    for (const f of r.flows) {
      if (!pick(f)) {
        continue;
      }
      if (!total) {
        const { rttUs: _rtt, local: _local, ...counters } = f;
        total = { ...counters };
        continue;
      }
      for (const name of COUNTER_NAMES) {
        total[name] += f[name];
      }
    }
  }
  return total;
}

/** Sums the failure counters (contract 1.2) of every report's flows matching `pick`; absent means 0. */
export function sumFailures(reports: ReportV1[], pick: (f: FlowRecord) => boolean): FailureCounters {
  const total: FailureCounters = {};
  for (const r of reports) {
    for (const f of r.flows) {
      if (pick(f)) {
        addFailures(total, f);
      }
    }
  }
  return total;
}
