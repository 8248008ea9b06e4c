import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpioArchive, parentDirs } from './cpio.js';

/** Reads a newc archive back: name, mode, rdev and data of every entry up to the trailer. */
function readBack(buf: Buffer) {
  const out: Array<{ name: string; mode: number; rdev: [number, number]; data: string }> = [];
  let off = 0;
  const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
  for (;;) {
    assert.equal(buf.toString('ascii', off, off + 6), '070701');
    const mode = field(1);
    const size = field(6);
    const rdev: [number, number] = [field(9), field(10)];
    const nameSize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1);
    let p = off + 110 + nameSize;
    p += (4 - (p % 4)) % 4;
    const data = buf.toString('utf8', p, p + size);
    p += size;
    p += (4 - (p % 4)) % 4;
    off = p;
    if (name === 'TRAILER!!!') {
      return { entries: out, end: off };
    }
    out.push({ name, mode, rdev, data });
  }
}

test('cpioArchive writes newc records the kernel can unpack: 4-byte aligned, file types and device numbers', () => {
  const buf = cpioArchive([
    { kind: 'dir', path: '/bin' },
    { kind: 'file', path: 'bin/x', data: Buffer.from('hello'), mode: 0o755 },
    { kind: 'symlink', path: 'bin/y', target: 'x' },
    { kind: 'char', path: 'dev/console', major: 5, minor: 1 },
  ]);
  const { entries, end } = readBack(buf);
  assert.equal(end, buf.length);
  assert.equal(buf.length % 4, 0);
  assert.deepEqual(
    entries.map((e) => [e.name, e.mode.toString(8), e.data]),
    [
      ['bin', '40755', ''],
      ['bin/x', '100755', 'hello'],
      ['bin/y', '120777', 'x'],
      ['dev/console', '20600', ''],
    ]
  );
  assert.deepEqual(entries[3]!.rdev, [5, 1]);
});

test('cpioArchive refuses duplicate or empty paths', () => {
  assert.throws(
    () =>
      cpioArchive([
        { kind: 'dir', path: 'a' },
        { kind: 'dir', path: '/a' },
      ]),
    /duplicate/
  );
  assert.throws(() => cpioArchive([{ kind: 'dir', path: '/' }]), /empty/);
});

test('parentDirs lists every parent once, shallow first', () => {
  assert.deepEqual(parentDirs(['/usr/lib/x/a.so', 'usr/bin/ip', 'init']), ['usr', 'usr/bin', 'usr/lib', 'usr/lib/x']);
});
