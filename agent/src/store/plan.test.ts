import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planRange, type Tier } from './plan.js';

const tiers: Tier[] = [
  { stepS: 300, oldestS: 0 },
  { stepS: 900, oldestS: 0 },
  { stepS: 3600, oldestS: 0 },
];
const H = 3600;

test('aligns outward to 5 minutes and covers with the coarsest aligned buckets', () => {
  const p = planRange(10 * H + 7 * 60, 11 * H + 7 * 60, tiers);
  assert.equal(p.fromS, 10 * H + 300);
  assert.equal(p.toS, 11 * H + 600);
  assert.deepEqual(p.segments, [
    { stepS: 300, fromS: 10 * H + 300, toS: 10 * H + 900 },
    { stepS: 900, fromS: 10 * H + 900, toS: 11 * H },
    { stepS: 300, fromS: 11 * H, toS: 11 * H + 600 },
  ]);
});

test('segments tile the answered range exactly, with few buckets', () => {
  for (let i = 0; i < 500; i++) {
    const from = Math.floor(Math.random() * 100 * H);
    const to = from + Math.floor(Math.random() * 30 * H);
    const p = planRange(from, to, tiers);
    assert.ok(p.fromS <= from && p.toS >= to);
    let at = p.fromS;
    let buckets = 0;
    for (const s of p.segments) {
      assert.equal(s.fromS, at);
      assert.equal(s.fromS % s.stepS, 0);
      assert.equal(s.toS % s.stepS, 0);
      buckets += (s.toS - s.fromS) / s.stepS;
      at = s.toS;
    }
    assert.equal(at, p.toS);
    assert.ok(buckets <= 10 + (p.toS - p.fromS) / H, `too many buckets: ${buckets}`);
  }
});

test('an empty range answers one bucket at most', () => {
  const p = planRange(1000, 1000, tiers);
  assert.equal(p.fromS, 900);
  assert.equal(p.toS, 1200);
});

test('past the fine tiers retention the range is aligned to the coarser tier', () => {
  const p = planRange(5 * H + 600, 9 * H, [
    { stepS: 300, oldestS: 8 * H },
    { stepS: 900, oldestS: 8 * H },
    { stepS: 3600, oldestS: 0 },
  ]);
  assert.equal(p.fromS, 5 * H);
  assert.deepEqual(p.segments, [{ stepS: 3600, fromS: 5 * H, toS: 9 * H }]);
});

test('coarse buckets not built yet are read from the finer tier', () => {
  const p = planRange(10 * H, 12 * H, [
    { stepS: 300, oldestS: 0 },
    { stepS: 900, oldestS: 0, builtUntilS: 11 * H + 900 },
    { stepS: 3600, oldestS: 0, builtUntilS: 11 * H },
  ]);
  assert.deepEqual(p.segments, [
    { stepS: 3600, fromS: 10 * H, toS: 11 * H },
    { stepS: 900, fromS: 11 * H, toS: 11 * H + 900 },
    { stepS: 300, fromS: 11 * H + 900, toS: 12 * H },
  ]);
});

test('a range starting past the fine retention still reads the newest hour from the fine tiers', () => {
  // 30 days back: only the hour tier holds the start; the hour tier is built until 11 h, the range runs to 12 h.
  const p = planRange(0, 12 * H, [
    { stepS: 300, oldestS: 8 * H },
    { stepS: 900, oldestS: 8 * H, builtUntilS: 11 * H + 900 },
    { stepS: 3600, oldestS: 0, builtUntilS: 11 * H },
  ]);
  assert.deepEqual(p.segments, [
    { stepS: 3600, fromS: 0, toS: 11 * H },
    { stepS: 900, fromS: 11 * H, toS: 11 * H + 900 },
    { stepS: 300, fromS: 11 * H + 900, toS: 12 * H },
  ]);
});
