/**
 * The conntrack netlink parser (agent/bpf/ctnetlink.h) and the translation rule (agent/bpf/nat_rule.h), the code
 * the loader runs when the kernel refuses the fentry program, unit-tested in C with fixture bytes laid out as the
 * kernel sends them (agent/bpf/test/ctnetlink_test.c; built with ASan/UBSan, so a read past the buffer fails).
 * Needs a C compiler only, no privileges; the real kernel's messages are parsed in dnat.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { requireBinary } from '../lib/privileges.js';

const run = promisify(execFile);
const BPF_DIR = join(import.meta.dirname, '../../bpf');

test('conntrack netlink parser and translation rule: fixtures, truncation at every byte, bad lengths', async (t) => {
  if (!requireBinary(t, '/usr/bin/cc') || !requireBinary(t, '/usr/bin/make')) {
    return;
  }
  await run('make', ['-s', '-C', BPF_DIR, 'build/ctnetlink-test'], { timeout: 120_000 });
  const { stdout } = await run(join(BPF_DIR, 'build/ctnetlink-test'), [], {
    timeout: 60_000,
    env: { ...process.env, UBSAN_OPTIONS: 'halt_on_error=1', ASAN_OPTIONS: 'detect_leaks=0' },
  });
  assert.match(stdout, /^ok \d+ checks$/m);
});
