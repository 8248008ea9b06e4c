/**
 * Loss at a receiver: agent/bpf/lossy.bpf.o on the clsact ingress of one interface, driven by
 * agent/bpf/build/flowlens-lossy running inside the interface's namespace. `set(share)` drops that share of TCP
 * packets at random; `blackhole(true)` drops all of them; `syn(n, holdMs)` drops the next n SYNs and, once a SYN
 * passed, every other TCP packet for holdMs (the handshake's timeouts). Closing (or the test process dying)
 * detaches it.
 */
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { spawnIn } from './netns.js';
import { agentBpfDir } from './agent-process.js';

export class LossInjector {
  private readonly lines: string[] = [];
  private waiters: Array<() => void> = [];

  private constructor(private readonly child: ReturnType<typeof spawnIn>) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.waiters.splice(0).forEach((w) => w());
    });
    child.on('exit', () => this.waiters.splice(0).forEach((w) => w()));
  }

  static async attach(ns: string, dev: string): Promise<LossInjector> {
    const dir = agentBpfDir();
    const child = spawnIn(ns, [join(dir, 'build', 'flowlens-lossy'), join(dir, 'lossy.bpf.o'), dev]);
    const inj = new LossInjector(child);
    const first = await inj.line();
    if (first !== 'ready') {
      inj.child.kill();
      throw new Error(`flowlens-lossy on ${ns}/${dev}: ${first}`);
    }
    return inj;
  }

  private async line(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error('flowlens-lossy exited');
      }
      if (Date.now() > deadline) {
        throw new Error('flowlens-lossy did not answer');
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.lines.shift()!;
  }

  private async command(cmd: string): Promise<string> {
    this.child.stdin!.write(`${cmd}\n`);
    const answer = await this.line();
    if (answer.startsWith('error')) {
      throw new Error(`flowlens-lossy: ${answer}`);
    }
    return answer;
  }

  async set(share: number, blackhole = false): Promise<void> {
    await this.command(`set ${share} ${blackhole ? 1 : 0}`);
  }

  /** Drop the next `syns` SYNs; once a SYN passes, drop every other TCP packet for `holdMs` (0: off; one shot). */
  async syn(syns: number, holdMs = 0): Promise<void> {
    await this.command(`syn ${syns} ${holdMs}`);
  }

  /** TCP packets seen and dropped so far. */
  async stats(): Promise<{ seen: number; dropped: number }> {
    const [, seen, dropped] = (await this.command('stats')).split(' ');
    return { seen: Number(seen), dropped: Number(dropped) };
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
