// The policy API fixtures the page is tested against (src/testing/policyFixtures.ts) are hand-written from the
// contract; this keeps them honest: each answer's YAML is its policies' objects, document by document, and every
// policy has one rule per peer × direction of its object, in the object's order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { PolicyDraft } from '../../src/datasource/policyTypes';
import { SHOP_DRAFTS, SHOP_DRAFTS_DEFAULT_DENY, SHOP_DRAFTS_REDIS } from '../../src/testing/policyFixtures';

const peersOf = (p: PolicyDraft) => {
  const spec = (p.object as { spec: Record<string, Array<Record<string, unknown[]>>> }).spec;
  const count = (dir: 'ingress' | 'egress', key: 'from' | 'to') =>
    (spec[dir] ?? []).map((rule) => (rule[key] ?? []).length).reduce((a, b) => a + b, 0);
  return { ingress: count('ingress', 'from'), egress: count('egress', 'to') };
};

for (const [name, drafts] of Object.entries({ SHOP_DRAFTS, SHOP_DRAFTS_DEFAULT_DENY, SHOP_DRAFTS_REDIS })) {
  test(`${name}: the YAML is the objects, and the rules follow them`, () => {
    const docs = parseAllDocuments(drafts.yaml).map((d) => {
      assert.deepEqual(d.errors, []);
      return d.toJSON();
    });
    assert.deepEqual(
      docs,
      drafts.policies.map((p) => p.object)
    );
    for (const p of drafts.policies) {
      const peers = peersOf(p);
      assert.equal(p.rules.filter((r) => r.direction === 'ingress').length, peers.ingress, `${p.name} ingress`);
      assert.equal(p.rules.filter((r) => r.direction === 'egress').length, peers.egress, `${p.name} egress`);
      assert.deepEqual(
        p.rules.map((r) => r.direction),
        [...p.rules.map((r) => r.direction)].sort((a, b) => (a === b ? 0 : a === 'ingress' ? -1 : 1)),
        `${p.name}: ingress rules first, as in the object`
      );
      for (const r of p.rules) {
        assert.equal(r.assumed, r.peer.startsWith('dns:'), `${p.name} ${r.peer}: only DNS is assumed`);
      }
    }
  });
}
