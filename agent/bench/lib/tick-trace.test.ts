import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTickTrace, summarizePasses } from './tick-trace.js';

test('tick trace: each tick with its namespaces and the wall time of each pass', () => {
  const ticks = parseTickTrace(
    [
      'tick 7 4026531833 4026532319 4026532388',
      'pass 7 4026531833 15000000',
      'pass 7 4026532319 45000000',
      'pass 7 4026532388 50000000',
      'tick 8 4026532319 4026532388',
      'pass 8 4026532319 40000000',
      'pass 8 4026532388 44000000',
      '',
    ].join('\n')
  );
  assert.deepEqual(ticks, [
    { passes: 3, passNs: [15e6, 45e6, 50e6] },
    { passes: 2, passNs: [40e6, 44e6] },
  ]);
  assert.deepEqual(summarizePasses(ticks), { passesPerTick: 2.5, longestPassMs: 47, passSumMs: 97 });
});

test('tick trace of an older loader (no pass lines), a tick that passed nothing, and no ticks', () => {
  const older = parseTickTrace('tick 1 4026532319 4026532388\ntick 2\n');
  assert.deepEqual(older, [
    { passes: 2, passNs: [] },
    { passes: 0, passNs: [] },
  ]);
  assert.deepEqual(summarizePasses(older), { passesPerTick: 1, longestPassMs: null, passSumMs: null });
  assert.deepEqual(summarizePasses([]), { passesPerTick: null, longestPassMs: null, passSumMs: null });
  // a pass line before any tick line (a trace read from its middle) belongs to no tick
  assert.deepEqual(parseTickTrace('pass 3 1 5\ntick 4 1\n'), [{ passes: 1, passNs: [] }]);
});
