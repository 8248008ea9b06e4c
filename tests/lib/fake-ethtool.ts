/**
 * A stand-in for `ethtool -S` and /sys/class/net, for feeding the agent's ENA poller chosen statistics (e.g. rising
 * allowance counters): point FLOWLENS_ETHTOOL at `command` and FLOWLENS_SYS_CLASS_NET at `sysClassNet`.
 * Interfaces given output are physical (they get a `device` entry); `virtual` ones are listed without one.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class FakeEthtool {
  private constructor(
    readonly dir: string,
    readonly command: string,
    readonly sysClassNet: string
  ) {}

  static async create(outputs: Record<string, string>, virtual: string[] = []): Promise<FakeEthtool> {
    const dir = await mkdtemp(join(tmpdir(), 'flowlens-ethtool-'));
    const command = join(dir, 'ethtool');
    const sysClassNet = join(dir, 'class-net');
    await mkdir(join(dir, 'stats'));
    await writeFile(
      command,
      [
        '#!/bin/sh',
        '# fake ethtool: only "-S IFACE"',
        '[ "$1" = "-S" ] || { echo "fake ethtool: only -S is supported" >&2; exit 1; }',
        `f="${join(dir, 'stats')}/$2.txt"`,
        '[ -f "$f" ] || { echo "no stats available" >&2; exit 94; }',
        'cat "$f"',
        '',
      ].join('\n')
    );
    await chmod(command, 0o755);
    const fake = new FakeEthtool(dir, command, sysClassNet);
    for (const [iface, text] of Object.entries(outputs)) {
      await fake.set(iface, text);
    }
    for (const iface of virtual) {
      await mkdir(join(sysClassNet, iface), { recursive: true });
    }
    return fake;
  }

  /** Sets (or changes) what `ethtool -S IFACE` prints. */
  async set(iface: string, text: string): Promise<void> {
    await mkdir(join(this.sysClassNet, iface, 'device'), { recursive: true });
    await writeFile(join(this.dir, 'stats', `${iface}.txt`), text);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
