import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { compareText } from './compare.js';

test('compareText orders by code unit, and equal strings compare 0', () => {
  assert.deepEqual(['b', 'B', 'a', '10', '9', 'a-b', 'ab'].sort(compareText), ['10', '9', 'B', 'a', 'a-b', 'ab', 'b']);
  assert.equal(compareText('10.0.0.1:80', '10.0.0.1:80'), 0);
  assert.ok(compareText('fd00::1', 'fd00::2') < 0);
  assert.ok(compareText('x', 'w') > 0);
});

test('compareText leaves ICU untouched: no collation data paged in (what localeCompare costs)', () => {
  // a fresh node, so nothing else in this test process has touched ICU yet
  const moduleUrl = new URL('./compare.ts', import.meta.url).href;
  const probe = (sortWith: string) => {
    const script =
      `import { readFileSync } from 'node:fs'; const { compareText } = await import(${JSON.stringify(moduleUrl)});` +
      `const rss = () => Number(/^RssFile:\\s+(\\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]);` +
      `const keys = Array.from({ length: 500 }, (_, i) => 'flow-' + ((i * 7919) % 500));` +
      `const before = rss(); keys.sort(${sortWith}); process.stdout.write(String(rss() - before));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return Number(r.stdout);
  };
  const collator = probe('(a, b) => a.localeCompare(b)');
  const plain = probe('compareText');
  // localeCompare pages in megabytes of ICU data; the plain comparison next to nothing
  assert.ok(collator > 1024, `localeCompare added ${collator} kB of file pages: the premise of compareText`);
  assert.ok(plain < 256, `compareText added ${plain} kB`);
});
