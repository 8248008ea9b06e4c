import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLdd } from './ldd.js';

test('parseLdd keeps the resolved paths and the program interpreter, not the vDSO', () => {
  const out = [
    '\tlinux-vdso.so.1 (0x00007ffd)',
    '\tlibmnl.so.0 => /lib/x86_64-linux-gnu/libmnl.so.0 (0x00007f20)',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f20)',
  ].join('\n');
  assert.deepEqual(parseLdd(out), ['/lib/x86_64-linux-gnu/libmnl.so.0', '/lib64/ld-linux-x86-64.so.2']);
});

test('parseLdd refuses a library that is not found', () => {
  assert.throws(() => parseLdd('\tlibfoo.so.1 => not found'), /not found/);
});
