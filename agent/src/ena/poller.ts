/**
 * Polls `ethtool -S` for the physical NICs of this node and keeps the latest ENA allowance statistics.
 * Cheap by design: only interfaces backed by a device (`/sys/class/net/IF/device`, so never the hundreds of pod
 * veths), one short-lived process per NIC per interval, no overlapping polls, and it stops for good (one log
 * line) when ethtool is missing. The ethtool command and the sysfs directory are injectable, so a test can feed
 * rising counters through a script and a fake /sys/class/net.
 */
import { execFile } from 'node:child_process';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnaAllowances, type EnaAllowances } from './parse.js';

export interface EnaPollerOptions {
  /** Command and leading arguments; the poller appends `-S IFACE`. Default `['ethtool']`. */
  ethtool?: string[];
  /** Directory listing the interfaces. Default `/sys/class/net`. */
  sysClassNet?: string;
  /** Replaces the sysfs listing (e.g. an interface inside a test's network namespace). */
  listInterfaces?: () => Promise<string[]>;
  intervalMs?: number;
  timeoutMs?: number;
  log?: (msg: string) => void;
}

export const DEFAULT_ENA_POLL_MS = 15_000;

/** Interfaces backed by a device (PCI NICs such as ENA); virtual ones (lo, veth, bridges) have no `device`. */
export async function physicalInterfaces(sysClassNet: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(sysClassNet);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const name of names.sort()) {
    try {
      await access(join(sysClassNet, name, 'device'));
      found.push(name);
    } catch {
      /* virtual interface */
    }
  }
  return found;
}

type RunResult = { ok: true; stdout: string } | { ok: false; missing: boolean; message: string };

function run(cmd: string[], timeoutMs: number): Promise<RunResult> {
  const [file, ...args] = cmd;
  return new Promise((resolve) => {
    execFile(file!, args, { timeout: timeoutMs, maxBuffer: 4 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) {
        return resolve({ ok: true, stdout });
      }
      const code = (err as NodeJS.ErrnoException).code;
      resolve({ ok: false, missing: code === 'ENOENT', message: (stderr || err.message).trim().split('\n')[0] ?? '' });
    });
  });
}

export class EnaPoller {
  private readonly ethtool: string[];
  private readonly sysClassNet: string;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly log: (msg: string) => void;
  private latest = new Map<string, EnaAllowances>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private unavailable = false;
  private readonly warned = new Set<string>();
  polls = 0;
  errors = 0;

  constructor(private readonly opts: EnaPollerOptions = {}) {
    this.ethtool = opts.ethtool ?? ['ethtool'];
    if (this.ethtool.length === 0) {
      throw new Error('ethtool command must not be empty');
    }
    this.sysClassNet = opts.sysClassNet ?? '/sys/class/net';
    this.intervalMs = opts.intervalMs ?? DEFAULT_ENA_POLL_MS;
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.log = opts.log ?? (() => undefined);
  }

  /** The last poll's allowance stats per interface; interfaces without any allowance stat are left out. */
  snapshot(): ReadonlyMap<string, EnaAllowances> {
    return this.latest;
  }

  get disabled(): boolean {
    return this.unavailable;
  }

  async pollOnce(): Promise<void> {
    if (this.running) {
      return this.running;
    }
    this.running = this.poll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async poll(): Promise<void> {
    if (this.unavailable) {
      return;
    }
    const interfaces = await (this.opts.listInterfaces?.() ?? physicalInterfaces(this.sysClassNet));
    const next = new Map<string, EnaAllowances>();
    for (const iface of interfaces) {
      const result = await run([...this.ethtool, '-S', iface], this.timeoutMs);
      if (!result.ok) {
        if (result.missing) {
          this.unavailable = true;
          this.stop();
          this.log(`ENA allowance stats disabled: ${this.ethtool[0]} not found`);
          this.latest = new Map();
          return;
        }
        this.errors++;
        if (!this.warned.has(iface)) {
          this.warned.add(iface);
          this.log(`ethtool -S ${iface}: ${result.message}`);
        }
        continue;
      }
      const stats = parseEnaAllowances(result.stdout);
      if (Object.keys(stats).length > 0) {
        next.set(iface, stats);
      }
    }
    this.polls++;
    this.latest = next;
  }

  /** Polls now and then every interval until stop(). */
  async start(): Promise<void> {
    await this.pollOnce();
    if (this.unavailable || this.timer) {
      return;
    }
    this.timer = setInterval(() => void this.pollOnce(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
    }
    this.timer = undefined;
  }

  async close(): Promise<void> {
    this.stop();
    await this.running;
  }
}
