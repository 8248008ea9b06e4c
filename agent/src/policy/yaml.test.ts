import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicies, policiesToYaml } from './yaml.js';

const TEXT = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicyList","items":[
  {"metadata":{"name":"web","namespace":"other"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
   "ingress":[{"ports":[{"port":"http"},{"port":8080,"endPort":8090}]}]}}]}
---
`;

test('parses YAML and JSON documents and Lists; a policy without a namespace gets the given one', () => {
  const ps = parsePolicies(TEXT, 'shop');
  assert.deepEqual(
    ps.map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
    ['shop/default-deny', 'other/web']
  );
  assert.deepEqual(ps[1]!.spec.ingress![0]!.ports, [{ port: 'http' }, { port: 8080, endPort: 8090 }]);
});

test('bad input is an error naming the document and field', () => {
  assert.throws(
    () => parsePolicies('kind: Pod\nmetadata: {name: x}\n', 'shop'),
    /document 1: kind Pod is not a NetworkPolicy/
  );
  assert.throws(
    () =>
      parsePolicies(
        '---\nkind: NetworkPolicy\nmetadata: {name: a}\nspec: {podSelector: {}}\n---\nkind: NetworkPolicy\nmetadata: {name: b}\nspec: {}\n',
        's'
      ),
    /document 2\.spec\.podSelector: Required/
  );
  assert.throws(
    () =>
      parsePolicies(
        'kind: NetworkPolicy\nmetadata: {name: a}\nspec: {podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.1}}]}]}\n',
        's'
      ),
    /document 1\.spec\.egress\.0\.to\.0\.ipBlock\.cidr: expected a CIDR/
  );
  assert.throws(() => parsePolicies('a: [', 's'), /not valid YAML or JSON/);
});

test('rendering round-trips and is stable', () => {
  const ps = parsePolicies(TEXT, 'shop');
  const y = policiesToYaml(ps);
  assert.equal(policiesToYaml(parsePolicies(y, 'x')), y);
  assert.equal(y.split('---\n').length, 3);
});
