/**
 * The node agent's lifecycle in the real kernel: SIGTERM detaches everything (no program, link or cgroup
 * attachment of ours remains; the program followed is the one that registers connections: sock_ops on the cgroup
 * root, or fl_state where the kernel has tcp_sock.total_rto), a second start works and leaves no duplicate, a SIGKILLed agent still leaves
 * nothing behind (the loader's link dies with it), and start-up errors are clear with a non-zero exit.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { requireBinary } from '../lib/privileges.js';
import { agentBpfDir, runAgentOnce, startAgent } from '../lib/agent-process.js';
import { findCgroup2Mount } from '../../src/bpf/preflight.js';
import { requireAgentKernel } from '../lib/kernel-test.js';

const run = promisify(execFile);
const BPFTOOL = '/usr/sbin/bpftool';

function ready(t: TestContext): boolean {
  return requireAgentKernel(t, BPFTOOL);
}

function cgroupRoot(): string {
  const root = findCgroup2Mount(readFileSync('/proc/mounts', 'utf8'));
  assert.ok(root, 'cgroup v2 mount');
  return root;
}

async function progExists(id: number): Promise<boolean> {
  try {
    await run(BPFTOOL, ['prog', 'show', 'id', String(id)]);
    return true;
  } catch {
    return false;
  }
}

async function linkExists(id: number): Promise<boolean> {
  try {
    await run(BPFTOOL, ['link', 'show', 'id', String(id)]);
    return true;
  } catch {
    return false;
  }
}

/** Program ids attached to the cgroup-v2 root (other people's agents may be there too: we look for ours). */
async function cgroupProgIds(): Promise<number[]> {
  const { stdout } = await run(BPFTOOL, ['-j', 'cgroup', 'show', cgroupRoot()]);
  // bpftool prints nothing at all (not even []) when no program is attached
  const entries = (stdout.trim() ? JSON.parse(stdout) : []) as Array<{ id: number }>;
  return entries.map((e) => e.id);
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for: ${what}`);
}

test('SIGTERM detaches everything; a second start works and leaves no duplicate; SIGKILL leaves nothing', async (t) => {
  if (!ready(t)) {
    return;
  }
  const first = await startAgent(['--collect-interval', '1', '--report-interval', '1']);
  // the program that registers connections: sock_ops on the cgroup root, or (kernels with total_rto) fl_state on
  // its tracepoint, with nothing of ours on the cgroup
  const onCgroup = first.connPath === 'sockops';
  assert.equal((await cgroupProgIds()).includes(first.progId), onCgroup, 'first agent attached to the cgroup root');
  assert.ok(await progExists(first.progId));
  assert.ok(await linkExists(first.linkId));
  assert.equal(await first.stop('SIGTERM'), 0, first.stderr());
  assert.equal(await progExists(first.progId), false, 'program gone after SIGTERM');
  assert.equal(await linkExists(first.linkId), false, 'link gone after SIGTERM');
  assert.equal((await cgroupProgIds()).includes(first.progId), false, 'not attached after SIGTERM');
  assert.ok(first.reports.length >= 1, 'a final report was written on SIGTERM');

  const second = await startAgent(['--collect-interval', '1', '--report-interval', '1']);
  assert.notEqual(second.progId, first.progId);
  assert.ok(await progExists(second.progId));
  const attached = await cgroupProgIds();
  assert.equal(attached.includes(second.progId), onCgroup);
  assert.equal(attached.includes(first.progId), false, 'no duplicate from the first run');

  // SIGKILL gives the agent no chance to clean up: the loader sees its stdin close and the link closes with it.
  await second.stop('SIGKILL');
  await eventually(async () => !(await progExists(second.progId)), 'program gone after SIGKILL');
  assert.equal(await linkExists(second.linkId), false);
  assert.equal((await cgroupProgIds()).includes(second.progId), false);
});

test('missing BPF build: clear error and exit 1', async (t) => {
  if (!ready(t)) {
    return;
  }
  const empty = mkdtempSync(join(tmpdir(), 'flowlens-nobpf-'));
  try {
    const r = await runAgentOnce(['node', '--stdout'], { FLOWLENS_BPF_DIR: empty });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /flowlens\.bpf\.o is missing: build it with 'npm run build:bpf -w agent'/);
    assert.equal(r.stdout, '');
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test("a program the verifier rejects: exit 1 with the verifier's message", async (t) => {
  if (!ready(t) || !requireBinary(t, '/usr/bin/clang')) {
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'flowlens-badbpf-'));
  try {
    mkdirSync(join(dir, 'build'));
    symlinkSync(join(agentBpfDir(), 'build', 'flowlens-loader'), join(dir, 'build', 'flowlens-loader'));
    writeFileSync(
      join(dir, 'bad.bpf.c'),
      [
        '#include "vmlinux.h"',
        '#include <bpf/bpf_helpers.h>',
        'SEC("sockops") int fl_sockops(struct bpf_sock_ops *ctx) { return *(int *)(long)ctx->remote_ip4; }',
        // kernels with total_rto load no sock_ops program: fl_state (an integer argument taken for a pointer) fails
        'SEC("tp_btf/inet_sock_set_state") int fl_state(unsigned long long *ctx) { return *(int *)(long)ctx[1]; }',
        'char LICENSE[] SEC("license") = "GPL";',
      ].join('\n')
    );
    await run('/usr/bin/clang', [
      '-target',
      'bpf',
      '-O2',
      '-g',
      '-I',
      join(agentBpfDir(), 'vmlinux', 'x86'),
      '-c',
      join(dir, 'bad.bpf.c'),
      '-o',
      join(dir, 'flowlens.bpf.o'),
    ]);
    const r = await runAgentOnce(['node', '--stdout'], { FLOWLENS_BPF_DIR: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /loading BPF programs failed/);
    assert.match(r.stderr, /invalid mem access/, 'the verifier log is shown');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without privileges: clear error and exit 1', async (t) => {
  if (!ready(t)) {
    return;
  }
  // nobody (65534) has no capabilities; the preflight says what is missing before anything is loaded
  const { spawn } = await import('node:child_process');
  const cli = join(agentBpfDir(), '..', 'src', 'cli.ts');
  assert.ok(existsSync(cli));
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'node', '--stdout'], {
    uid: 65534,
    gid: 65534,
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: join(agentBpfDir(), '..'),
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((res) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      res(c);
    });
  });
  assert.equal(code, 1, stderr);
  assert.match(stderr, /missing privileges: run as root or grant CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN/);
});
