/**
 * The BPF objects build on a host without kernel BTF (Ubuntu 22.04 builders, Docker on macOS, CI runners): the
 * build is run in a private mount namespace where /sys/kernel/btf is an empty tmpfs, with BTF=/nonexistent, from a
 * copy of agent/bpf so the tree's own objects are not touched. Each object must come out and carry BTF (CO-RE).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { agentBpfDir } from '../lib/agent-process.js';
import { requireBinary } from '../lib/privileges.js';

const run = promisify(execFile);
const OBJECTS = ['flowlens.bpf.o', 'conntrack.bpf.o', 'drops.bpf.o', 'lossy.bpf.o'];

test('BPF objects build with no kernel BTF reachable', async (t) => {
  if (process.getuid?.() !== 0) {
    if (process.env.CI === 'true') {
      throw new Error('needs root (a private mount namespace hides /sys/kernel/btf)');
    }
    t.skip('needs root (a private mount namespace hides /sys/kernel/btf)');
    return;
  }
  if (!['/usr/bin/clang', '/usr/bin/unshare', '/usr/bin/make'].every((p) => requireBinary(t, p))) {
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'flowlens-bpf-'));
  try {
    cpSync(agentBpfDir(), dir, {
      recursive: true,
      filter: (src) => !src.endsWith('.o') && !src.includes('/build'),
    });
    const script = [
      'set -e',
      'mount -t tmpfs none /sys/kernel/btf',
      // prove the BTF really is out of reach before building
      'if [ -e /sys/kernel/btf/vmlinux ]; then echo "BTF still visible" >&2; exit 3; fi',
      `make -C ${dir} BTF=/nonexistent ${OBJECTS.join(' ')}`,
    ].join('\n');
    const { stdout } = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      timeout: 240_000,
      maxBuffer: 16 << 20,
    });
    t.diagnostic(stdout.trim().split('\n').slice(-3).join(' | '));
    for (const o of OBJECTS) {
      assert.ok(existsSync(join(dir, o)), `${o} built`);
      const { stdout: sections } = await run('llvm-objdump', ['-h', join(dir, o)]);
      assert.match(sections, /\.BTF\b/, `${o} carries BTF for CO-RE`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
