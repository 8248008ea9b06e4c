import assert from 'node:assert/strict';
import { test } from 'node:test';
import { placementOf } from './placement.js';

test('by default everything measured runs on CPU 0 and the bench on the others', () => {
  const p = placementOf(undefined, 2);
  assert.deepEqual(p.pin, ['taskset', '-c', '0']);
  assert.equal(p.benchCpus, '1');
  assert.match(p.description, /CPU 0.*bench on CPU 1/);
  assert.equal(placementOf('3', 8).benchCpus, '0,1,2,4,5,6,7');
});

test('one CPU: pinned, and the bench has nowhere else to go', () => {
  const p = placementOf('0', 1);
  assert.deepEqual(p.pin, ['taskset', '-c', '0']);
  assert.equal(p.benchCpus, null);
});

test('none leaves placement to the scheduler; a CPU that does not exist is refused', () => {
  assert.deepEqual(placementOf('none', 2), {
    pin: [],
    benchCpus: null,
    description: 'unpinned (the scheduler places every process)',
  });
  assert.throws(() => placementOf('2', 2), /BENCH_CPU: expected a CPU number below 2/);
  assert.throws(() => placementOf('0-1', 2), /BENCH_CPU/);
});
