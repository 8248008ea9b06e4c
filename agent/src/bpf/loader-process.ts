/**
 * Runs agent/bpf/build/flowlens-loader and talks to it over stdio. The loader holds the BPF link: when it
 * exits (quit, signal, or because we died and its stdin closed) the program is detached by the kernel.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CollectParser, parseReady, type CollectResult, type LoaderReady } from './protocol.js';

export interface LoaderOptions {
  loader: string;
  object: string;
  cgroup: string;
  maxSockets: number;
  maxFlows: number;
  /**
   * Run the loader in this named network namespace (/run/netns/NAME) instead of ours: its Service translations
   * are that namespace's (a node's). Entered with nsenter, which keeps our mounts (the cgroup path stays valid).
   */
  netns?: string;
  /** conntrack.bpf.o to load (default: beside `object`); a path that does not exist makes the loader use conntrack
   * netlink events, as on a kernel that refuses the fentry program (tests of that source). */
  conntrackObject?: string;
  /** Distinct flows the loader sums per tick before printing (`--sum-flows`; default the loader's, 4096). */
  sumFlows?: number;
  /**
   * Hold kernel bpf_stats (`--bpf-stats`): run times are measured, at the price of timing every BPF program on the
   * node while the loader runs. Default off: run times read null.
   */
  bpfStats?: boolean;
  /** How long load + attach may take. */
  startTimeoutMs?: number;
  /** How long one collect may take. */
  collectTimeoutMs?: number;
}

export class LoaderError extends Error {}

const STDERR_KEEP = 64 * 1024;

export class BpfLoader {
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private stderrText = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private busy: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly opts: LoaderOptions
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      this.lines.push(line);
      this.wake();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.stderrText = (this.stderrText + chunk).slice(-STDERR_KEEP);
    });
    child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      this.wake();
    });
    child.stdin.on('error', () => {
      /* the loader died; reported through 'exit' */
    });
  }

  ready!: LoaderReady;

  /** Starts the loader and waits until the program is loaded and attached. */
  static async start(opts: LoaderOptions): Promise<BpfLoader> {
    const args = [
      '--object',
      opts.object,
      '--cgroup',
      opts.cgroup,
      '--max-sockets',
      String(opts.maxSockets),
      '--max-flows',
      String(opts.maxFlows),
      ...(opts.conntrackObject === undefined ? [] : ['--conntrack-object', opts.conntrackObject]),
      ...(opts.sumFlows === undefined ? [] : ['--sum-flows', String(opts.sumFlows)]),
      ...(opts.bpfStats ? ['--bpf-stats'] : []),
    ];
    const child =
      opts.netns === undefined
        ? spawn(opts.loader, args, { stdio: ['pipe', 'pipe', 'pipe'] })
        : spawn('nsenter', [`--net=/run/netns/${opts.netns}`, opts.loader, ...args], {
            stdio: ['pipe', 'pipe', 'pipe'],
          });
    const loader = new BpfLoader(child, opts);
    const spawnError = new Promise<never>((_, reject) =>
      child.once('error', (err) => reject(new LoaderError(`cannot run ${opts.loader}: ${err.message}`)))
    );
    const first = await Promise.race([loader.nextLine(opts.startTimeoutMs ?? 30_000), spawnError]);
    if (first.startsWith('error ')) {
      await loader.waitExit(2000);
      throw new LoaderError(loader.describeFailure(first.slice(6)));
    }
    loader.ready = parseReady(first);
    return loader;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Swaps and drains the kernel's flow map: the counters since the previous collect. */
  collect(): Promise<CollectResult> {
    const run = this.busy.then(async () => {
      this.send('collect');
      const parser = new CollectParser();
      for (;;) {
        // lines already read are taken without a microtask hop each (a tick can be thousands of lines)
        const line =
          this.lines.length > 0 ? this.lines.shift()! : await this.nextLine(this.opts.collectTimeoutMs ?? 30_000);
        const result = parser.push(line);
        if (result) {
          return result;
        }
      }
    });
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** Detaches (the loader closes its link) and waits for the loader to exit. */
  async close(timeoutMs = 5000): Promise<void> {
    await this.busy;
    if (this.exited) {
      return;
    }
    this.send('quit');
    this.child.stdin.end();
    if (!(await this.waitExit(timeoutMs))) {
      this.child.kill('SIGKILL');
      await this.waitExit(2000);
    }
  }

  private send(command: string): void {
    if (this.exited) {
      throw new LoaderError(this.describeFailure('the loader exited'));
    }
    this.child.stdin.write(`${command}\n`);
  }

  private describeFailure(message: string): string {
    const log = this.stderrText.trim();
    return log ? `${message}\n${log}` : message;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async nextLine(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) {
        return line;
      }
      if (this.exited) {
        const how = this.exited.signal ? `signal ${this.exited.signal}` : `status ${this.exited.code}`;
        throw new LoaderError(this.describeFailure(`flowlens-loader exited (${how})`));
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new LoaderError(`flowlens-loader did not answer within ${timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async waitExit(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.exited && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      // drain lines such as 'bye' so they do not pile up
      this.lines.length = 0;
    }
    return this.exited !== null;
  }
}
