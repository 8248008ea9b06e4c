/** The kernel tests' rule for failure counts: exact with no miss and no lost update, else within them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertCounted, assertDrops, missBudget } from './failgen.js';

const none = { misses: 0, lost: 0 };

test('the budget is the change of the loader counters over the test', () => {
  assert.deepEqual(missBudget({ dropMisses: 5, failuresLost: 1 }, { dropMisses: 7, failuresLost: 1 }), {
    misses: 2,
    lost: 0,
  });
});

test('no miss and no lost update: the count must be exact', () => {
  assert.match(assertCounted(4, 4, none, 'md5'), /= truth 4/);
  assert.throws(() => assertCounted(3, 4, none, 'md5'), /md5: no run missed/);
  assert.throws(() => assertCounted(5, 4, none, 'md5'), /md5: no run missed/);
  assert.doesNotThrow(() => assertDrops({ NO_SOCKET: 2 }, 'NO_SOCKET', 2, none, 'closed'));
  assert.throws(() => assertDrops({ NO_SOCKET: 1 }, 'NO_SOCKET', 2, none, 'closed'));
  assert.throws(() => assertDrops(undefined, 'NO_SOCKET', 2, none, 'closed'));
});

test('misses or lost updates: truth - (misses + lost) <= agent <= truth, never more than the truth', () => {
  const one = { misses: 1, lost: 0 };
  assert.match(assertCounted(3, 4, one, 'md5'), /3 of truth 4, within the kernel's misses 1 \+ lost 0/);
  assert.doesNotThrow(() => assertCounted(4, 4, one, 'md5'));
  assert.throws(() => assertCounted(2, 4, one, 'md5'), /outside \[3, 4\]/);
  assert.throws(() => assertCounted(5, 4, one, 'md5'), /outside \[3, 4\]/);
  assert.doesNotThrow(() => assertCounted(2, 4, { misses: 1, lost: 1 }, 'md5'));
  // every drop of the flow missed: no entry at all, still within
  assert.doesNotThrow(() => assertDrops(undefined, 'NETFILTER_DROP', 1, one, 'rule'));
  assert.doesNotThrow(() => assertDrops({ NETFILTER_DROP: 3 }, 'NETFILTER_DROP', 4, one, 'rule'));
  // another reason is never excused
  assert.throws(() => assertDrops({ NETFILTER_DROP: 4, NO_SOCKET: 1 }, 'NETFILTER_DROP', 4, one, 'rule'), /no other/);
});
