import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDnat, parseConntrack } from './conntrack.js';

test('conntrack -L lines give the original and the reply tuple', () => {
  const text = [
    'tcp      6 113 TIME_WAIT src=10.1.1.2 dst=172.18.2.12 sport=42516 dport=30080 src=10.1.1.3 dst=172.18.2.12 sport=8080 dport=9139 [ASSURED] mark=0 use=1',
    'tcp      6 431999 ESTABLISHED src=10.1.1.3 dst=10.1.2.2 sport=36742 dport=8080 src=10.1.2.2 dst=10.1.1.3 sport=8080 dport=36742 [ASSURED] mark=0 use=1',
    'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.',
  ].join('\n');
  const [nodePort, plain] = parseConntrack(text);
  assert.deepEqual(nodePort, {
    orig: { src: '10.1.1.2', dst: '172.18.2.12', sport: 42516, dport: 30080 },
    reply: { src: '10.1.1.3', dst: '172.18.2.12', sport: 8080, dport: 9139 },
  });
  assert.equal(isDnat(nodePort!), true);
  assert.equal(isDnat(plain!), false);
  assert.equal(parseConntrack(text).length, 2);
});
