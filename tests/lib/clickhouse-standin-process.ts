/**
 * The ClickHouse stand-in (clickhouse-standin.ts) in a process of its own, as a server would be: the engine's CPU
 * is apart from the caller's (the hub benchmark reports both), and the caller's event loop never waits on it.
 *
 *   const ch = await startStandinProcess({ dir });
 *   ... ch.storeSpec('db') ... await ch.cpuSeconds() ...
 *   await ch.stop();
 *
 * Run as a script (`node --import tsx clickhouse-standin-process.ts DIR [--discard-inserts]`) it serves until its
 * parent goes away.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startClickHouseStandin } from './clickhouse-standin.js';

export interface StandinProcess {
  pid: number;
  storeSpec(database: string): string;
  /** User + system CPU seconds the stand-in's process has used (all its threads: the engine's too). */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

type Ready = { type: 'ready'; port: number; user: string; password: string };
type Cpu = { type: 'cpu'; seconds: number };

const SELF = fileURLToPath(import.meta.url);

export async function startStandinProcess(opts: { dir: string; discardInserts?: boolean }): Promise<StandinProcess> {
  const child: ChildProcess = fork(SELF, [opts.dir, ...(opts.discardInserts ? ['--discard-inserts'] : [])], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`ClickHouse stand-in process exited (${code}) before serving`)));
    child.once('message', (m) => resolve(m as Ready));
  });
  child.removeAllListeners('exit');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid!,
    storeSpec: (db) => `clickhouse://${ready.user}:${ready.password}@127.0.0.1:${ready.port}/${db}`,
    cpuSeconds: () =>
      new Promise<number>((resolve) => {
        child.once('message', (m) => resolve((m as Cpu).seconds));
        child.send('cpu');
      }),
    async stop() {
      child.send('stop');
      await exited;
    },
  };
}

/** The child: serves the stand-in on DATA_DIR, answers `cpu`, stops on `stop` or when its parent goes away. */
async function serve(dir: string, discardInserts: boolean): Promise<void> {
  const ch = await startClickHouseStandin({ dir, discardInserts });
  const stop = (): void => void ch.stop().then(() => process.exit(0));
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ type: 'cpu', seconds: (u.user + u.system) / 1e6 } satisfies Cpu);
    } else if (m === 'stop') {
      stop();
    }
  });
  process.on('disconnect', stop);
  process.send!({ type: 'ready', port: ch.port, user: ch.user, password: ch.password } satisfies Ready);
}

if (process.argv[1] === SELF && process.send) {
  const dir = process.argv[2];
  if (!dir) {
    throw new Error('usage: clickhouse-standin-process.ts DATA_DIR');
  }
  serve(dir, process.argv[3] === '--discard-inserts').catch((err: unknown) => {
    process.stderr.write(`ClickHouse stand-in: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
