/**
 * Report `forwards` (contract 1.2): the loader's `fwd` lines parsed, summed over a report window, kept only when
 * both ends are elsewhere, bounded, carried by the report and validated by the schema (older reports still valid).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CollectParser, ProtocolError, type KernelForward } from '../bpf/protocol.js';
import { MAX_FORWARDS_PER_REPORT, emptyCounters, reportV1Schema } from '../contracts/report.js';
import { buildReport } from './build.js';
import { ForwardWindow, forwardedThrough } from './forwards.js';

const STATS = 'stats 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 none 0 0 0';
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

test("the loader's fwd lines: parsed with the collect answer; bad ones are errors", () => {
  const p = new CollectParser();
  p.push('fwd 10.0.1.2 172.18.0.12 30080 10.0.1.5 8080 172.18.0.12 3');
  p.push('fwd fd00::2 fd00::1 30080 fd00:1::5 8080 - 1');
  p.push('fwdlost 7');
  p.push(STATS);
  const r = p.push('end')!;
  assert.deepEqual(r.forwards, [
    {
      clientIp: '10.0.1.2',
      via: { ip: '172.18.0.12', port: 30080 },
      backendIp: '10.0.1.5',
      backendPort: 8080,
      snatIp: '172.18.0.12',
      connections: 3,
    },
    {
      clientIp: 'fd00::2',
      via: { ip: 'fd00::1', port: 30080 },
      backendIp: 'fd00:1::5',
      backendPort: 8080,
      snatIp: null,
      connections: 1,
    },
  ]);
  assert.equal(r.forwardsLost, 7);
  // the next answer starts empty; an older loader (no fwd lines) answers no forwards
  p.push(STATS);
  const next = p.push('end')!;
  assert.deepEqual(next.forwards, []);
  assert.equal(next.forwardsLost, undefined);
  for (const bad of [
    'fwd 10.0.1.2 172.18.0.12 30080 10.0.1.5 8080 -',
    'fwd 10.0.1.2 172.18.0.12 70000 10.0.1.5 8080 - 1',
    'fwd 10.0.1.2 172.18.0.12 30080 10.0.1.5 8080 - -1',
    'fwdlost x',
  ]) {
    assert.throws(() => new CollectParser().push(bad), ProtocolError, bad);
  }
});

const fwd = (client: string, backend: string, n: number, snat: string | null = '172.18.0.12'): KernelForward => ({
  clientIp: client,
  via: { ip: '172.18.0.12', port: 30080 },
  backendIp: backend,
  backendPort: 8080,
  snatIp: snat,
  connections: n,
});

test('a window sums ticks per (client, via, backend, SNAT address); only connections forwarded through are kept', () => {
  const w = new ForwardWindow();
  w.add([fwd('10.0.1.2', '10.0.2.5', 2), fwd('10.0.1.2', '10.0.3.5', 1)]);
  w.add([fwd('10.0.1.2', '10.0.2.5', 3), fwd('10.0.1.2', '10.0.2.5', 4, null), fwd('10.0.1.2', '10.0.2.5', 0)]);
  // 10.0.3.5 is a pod of this node, 10.0.9.9 a local client: their own ends carry the translation.
  w.add([fwd('10.0.9.9', '10.0.2.5', 5)]);
  assert.equal(w.size, 4);
  const local = new Set(['10.0.3.5', '10.0.9.9']);
  const kept = forwardedThrough(w.take(), (ip) => local.has(ip));
  assert.deepEqual(
    kept.map((f) => [f.backendIp, f.snatIp, f.connections]),
    [
      ['10.0.2.5', '172.18.0.12', 5],
      ['10.0.2.5', null, 4],
    ],
    'most connections first, local ends dropped'
  );
  assert.equal(w.size, 0, 'the next window starts empty');
  // bounded: the entries with most connections
  const many = Array.from({ length: 30 }, (_, i) => ({ ...fwd(`10.1.0.${i + 1}`, '10.0.2.5', i + 1) }));
  assert.deepEqual(
    forwardedThrough(many, () => false, 3).map((f) => f.connections),
    [30, 29, 28]
  );
});

test('the report carries forwards (contract 1.2) when there are some; the schema bounds and checks them', () => {
  const forwards = forwardedThrough([fwd('10.0.1.2', '10.0.2.5', 2)], () => false);
  const report = buildReport({ node: 'n', zone: null, start: at(0), end: at(30), flows: [], forwards });
  assert.deepEqual(reportV1Schema.parse(report).forwards, forwards);
  const none = buildReport({ node: 'n', zone: null, start: at(0), end: at(30), flows: [], forwards: [] });
  assert.equal('forwards' in none, false, 'no empty array on the wire');
  assert.ok(reportV1Schema.safeParse(none).success, 'a report without forwards (1.0, 1.1) stays valid');
  const base = { ...report, forwards: undefined };
  for (const bad of [
    { ...forwards[0], connections: 0 },
    { ...forwards[0], snatIp: 'node-b' },
    { ...forwards[0], via: { ip: '172.18.0.12', port: 70000 } },
    { ...forwards[0], backendPort: undefined },
  ]) {
    assert.equal(reportV1Schema.safeParse({ ...base, forwards: [bad] }).success, false, JSON.stringify(bad));
  }
  const tooMany = Array.from({ length: MAX_FORWARDS_PER_REPORT + 1 }, () => forwards[0]);
  assert.equal(reportV1Schema.safeParse({ ...base, forwards: tooMany }).success, false, 'bounded');
  assert.deepEqual(report.other, { ...emptyCounters(), flows: 0 });
});
