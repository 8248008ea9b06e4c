import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadOrder, modinfoDepends, moduleName } from './modules.js';

test('moduleName drops the directory and the .ko(.xz) suffix and treats - as _', () => {
  assert.equal(moduleName('kernel/net/sched/sch_ingress.ko.xz'), 'sch_ingress');
  assert.equal(moduleName('nf-conntrack.ko'), 'nf_conntrack');
});

test("modinfoDepends reads the module's own depends= string", () => {
  const ko = Buffer.from('\x7fELF junk\0license=GPL\0depends=nf_conntrack,nf-defrag-ipv4\0name=x\0', 'latin1');
  assert.deepEqual(modinfoDepends(ko), ['nf_conntrack', 'nf_defrag_ipv4']);
  assert.deepEqual(modinfoDepends(Buffer.from('\0depends=\0name=veth\0')), []);
  assert.deepEqual(modinfoDepends(Buffer.from('no modinfo')), []);
});

test('loadOrder puts dependencies first, each once, and skips built-in ones', () => {
  const deps: Record<string, string[]> = { a: ['b', 'c'], b: ['c', 'builtin_x'], c: [], d: ['c'] };
  const order = loadOrder(['a', 'd'], (n) => deps[n] ?? [], new Set(['a', 'b', 'c', 'd']), new Set(['builtin_x']));
  assert.deepEqual(order, ['c', 'b', 'a', 'd']);
});

test('loadOrder names a missing module and a cycle', () => {
  assert.throws(() => loadOrder(['a'], () => ['zz'], new Set(['a']), new Set()), /zz is neither.*needed by a/);
  assert.throws(
    () => loadOrder(['a'], (n) => (n === 'a' ? ['b'] : ['a']), new Set(['a', 'b']), new Set()),
    /cycle: a -> b -> a/
  );
});
