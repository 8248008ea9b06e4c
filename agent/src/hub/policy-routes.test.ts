import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParamError } from './params.js';
import { parsePolicyQuery, POLICY_DEFAULT_RANGE_MS } from './policy-routes.js';

const NOW = 1_764_586_400_000;
const q = (s: string) => parsePolicyQuery(new URLSearchParams(s), NOW);

test('namespace is required; the range defaults to the last 24 hours; format and defaultDeny', () => {
  assert.deepEqual(q('namespace=shop'), {
    range: { fromMs: NOW - POLICY_DEFAULT_RANGE_MS, toMs: NOW, namespace: 'shop', cluster: 'default' },
    format: 'json',
    defaultDeny: false,
  });
  const r = q('namespace=shop&workload=orders&from=2025-11-30T00:00:00Z&to=1764500000000&format=yaml&defaultDeny=true');
  assert.deepEqual(r.range, {
    fromMs: Date.parse('2025-11-30T00:00:00Z'),
    toMs: 1764500000000,
    namespace: 'shop',
    cluster: 'default',
    workload: 'orders',
  });
  assert.equal(r.format, 'yaml');
  assert.equal(r.defaultDeny, true);
  assert.equal(q('namespace=shop&to=1000000000').range.fromMs, 1000000000 - POLICY_DEFAULT_RANGE_MS);
});

test('bad parameters are errors naming the parameter', () => {
  for (const [s, re] of [
    ['', /^namespace: required/],
    ['namespace=Shop', /^namespace: expected/],
    ['namespace=shop&workload=a/b', /^workload: /],
    ['namespace=shop&from=x', /^from: /],
    ['namespace=shop&from=2000&to=1000', /^from: must be before to/],
    ['namespace=shop&format=csv', /^format: /],
    ['namespace=shop&defaultDeny=yes', /^defaultDeny: /],
  ] as const) {
    assert.throws(
      () => q(s),
      (err: unknown) => err instanceof ParamError && re.test(err.message),
      s
    );
  }
});
