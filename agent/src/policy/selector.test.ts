import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cidrContains, hostCidr, selectorMatches } from './selector.js';

test('cidrContains: IPv4, IPv6, IPv4-mapped, /0 and host prefixes; families never mix', () => {
  assert.equal(cidrContains('10.0.0.0/8', '10.255.1.1'), true);
  assert.equal(cidrContains('10.0.0.0/8', '11.0.0.1'), false);
  assert.equal(cidrContains('0.0.0.0/0', '203.0.113.1'), true);
  assert.equal(cidrContains('203.0.113.1/32', '203.0.113.1'), true);
  assert.equal(cidrContains('203.0.113.1/32', '203.0.113.2'), false);
  assert.equal(cidrContains('10.0.0.0/8', '::ffff:10.1.1.1'), true);
  assert.equal(cidrContains('2001:db8::/32', '2001:db8:ffff::1'), true);
  assert.equal(cidrContains('2001:db8::/32', '2001:db9::1'), false);
  assert.equal(cidrContains('::/0', '10.0.0.1'), false);
});

test('hostCidr: /32 for IPv4 (mapped ones unmapped), /128 for IPv6', () => {
  assert.equal(hostCidr('198.51.100.7'), '198.51.100.7/32');
  assert.equal(hostCidr('::ffff:198.51.100.7'), '198.51.100.7/32');
  assert.equal(hostCidr('2001:db8::7'), '2001:db8::7/128');
});

test('an empty selector selects everything, a missing key never equals a value', () => {
  assert.equal(selectorMatches({}, {}), true);
  assert.equal(selectorMatches({ matchLabels: { a: '' } }, {}), false);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] }, {}), true);
});
