import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyKernelStats, type CollectResult } from '../bpf/protocol.js';
import { toTick } from './tick.js';

const capacity = { maxSockets: 100, maxFlows: 10 };
const failureStats = {
  dropsAttached: true,
  resetsAttached: true,
  failuresLost: 0,
  runTimeNs: 500 as number | null,
  runCount: 5 as number | null,
  reasons: 100,
  dropMisses: 0,
  flowMisses: 0,
};

function result(runTimeNs: number | null, runCount: number | null, drops: typeof failureStats | null): CollectResult {
  const r: CollectResult = { flows: [], stats: { ...emptyKernelStats(), runTimeNs, runCount } };
  if (drops) {
    r.failureStats = drops;
  }
  return r;
}

test("bpf run time: the flow programs' and the drop and reset programs' bpf_stats, summed", () => {
  const s = toTick(result(1000, 10, failureStats), new Date(0), new Date(5000), 0.01, capacity).stats!;
  assert.equal(s.bpfRunTimeNs, 1500);
  assert.equal(s.bpfRunCount, 15);
  const alone = toTick(result(1000, 10, null), new Date(0), new Date(5000), 0.01, capacity).stats!;
  assert.equal(alone.bpfRunTimeNs, 1000);
  assert.equal(alone.bpfRunCount, 10);
});

test('bpf run time not measured (no --bpf-stats): absent from the tick stats, never 0', () => {
  const drops = { ...failureStats, runTimeNs: null, runCount: null };
  const s = toTick(result(null, null, drops), new Date(0), new Date(5000), 0.01, capacity).stats!;
  assert.equal(s.bpfRunTimeNs, undefined);
  assert.equal(s.bpfRunCount, undefined);
  assert.equal('bpfRunTimeNs' in s, false);
  const noDrops = toTick(result(null, null, null), new Date(0), new Date(5000), 0.01, capacity).stats!;
  assert.equal(noDrops.bpfRunTimeNs, undefined);
});

test("a tick's wall time in parts that add up to it; none from a loader that does not time them", () => {
  const stats = { ...emptyKernelStats(), tickIterNs: 40e6, tickSyncNs: 8e6, tickDrainNs: 1e6, collectNs: 50e6 };
  const s = toTick({ flows: [], stats }, new Date(0), new Date(1000), 0.055, capacity).stats!;
  const p = s.tickPhaseSeconds!;
  assert.deepEqual(Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Math.round(v * 1e9)])), {
    passes: 40e6,
    sync: 8e6,
    drain: 1e6,
    loader: 1e6,
    node: 5e6,
  });
  assert.ok(Math.abs(p.passes + p.sync + p.drain + p.loader + p.node - 0.055) < 1e-12);
  const older = toTick({ flows: [], stats: emptyKernelStats() }, new Date(0), new Date(1000), 0.01, capacity).stats!;
  assert.equal('tickPhaseSeconds' in older, false);
});
