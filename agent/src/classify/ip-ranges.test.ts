import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IpRanges, ipv6ToBigInt, ipv4ToNumber } from './ip-ranges.js';
import { categorize } from './category.js';
import { loadIpRanges } from './load.js';

const doc = {
  prefixes: [
    { ip_prefix: '52.216.0.0/15', region: 'us-east-1', service: 'AMAZON' },
    { ip_prefix: '52.216.0.0/15', region: 'us-east-1', service: 'S3' },
    { ip_prefix: '52.94.0.0/16', region: 'GLOBAL', service: 'AMAZON' },
    { ip_prefix: '52.94.0.0/22', region: 'us-east-1', service: 'DYNAMODB' },
    { ip_prefix: '52.94.0.0/22', region: 'us-east-1', service: 'AMAZON' },
    { ip_prefix: '0.0.0.0/0', service: 'AMAZON' },
  ],
  ipv6_prefixes: [
    { ipv6_prefix: '2600:1f00::/24', service: 'AMAZON' },
    { ipv6_prefix: '2600:1fa0:8000::/39', region: 'us-east-1', service: 'S3' },
  ],
};

test('parses addresses into numbers', () => {
  assert.equal(ipv4ToNumber('255.255.255.255'), 0xffffffff);
  assert.equal(ipv4ToNumber('10.0.0.1'), 0x0a000001);
  assert.equal(ipv6ToBigInt('::1'), 1n);
  assert.equal(ipv6ToBigInt('2600:1fa0:8000::'), 0x26001fa08000n << 80n);
  assert.equal(ipv6ToBigInt('::ffff:10.0.0.1'), 0xffff0a000001n);
});

test('longest prefix wins and S3 / DynamoDB beat the AMAZON superset', () => {
  const r = new IpRanges().add(doc);
  assert.equal(r.size, 8);
  assert.equal(r.lookup('52.217.3.4')?.service, 'S3');
  assert.equal(r.lookup('52.217.3.4')?.prefix, '52.216.0.0/15');
  assert.equal(r.lookup('52.94.3.255')?.service, 'DYNAMODB');
  assert.equal(r.lookup('52.94.4.0')?.service, 'AMAZON');
  assert.equal(r.lookup('8.8.8.8')?.service, 'AMAZON', '/0 catches everything');
  assert.equal(r.lookup('2600:1fa0:8001::5')?.service, 'S3');
  assert.equal(r.lookup('2600:1f00::1')?.service, 'AMAZON');
  assert.equal(r.lookup('2001:db8::1'), null);
  assert.equal(r.lookup('::ffff:52.217.0.1')?.service, 'S3', 'IPv4-mapped IPv6 matches the IPv4 prefixes');
  assert.equal(r.lookup('not an ip'), null);
});

test('a later file (the override) replaces an equal prefix, except by the AMAZON superset', () => {
  const r = new IpRanges().add(doc).add({ prefixes: [{ ip_prefix: '52.216.0.0/15', service: 'DYNAMODB' }] });
  assert.equal(r.lookup('52.216.0.1')?.service, 'DYNAMODB');
  r.add({ prefixes: [{ ip_prefix: '52.216.0.0/15', service: 'AMAZON' }] });
  assert.equal(r.lookup('52.216.0.1')?.service, 'DYNAMODB');
});

test('bad documents are refused with the bad entry named', () => {
  assert.throws(() => new IpRanges().add({ prefixes: [{ ip_prefix: '1.2.3.4/33', service: 'S3' }] }, 'f.json'), {
    message: /f\.json: prefixes\.0\.ip_prefix/,
  });
  assert.throws(() => new IpRanges().add({ prefixes: [{ ip_prefix: '1.2.3.0/24' }] }, 'f.json'), {
    message: /prefixes\.0\.service/,
  });
  assert.throws(() => new IpRanges().add({ ipv6_prefixes: [{ ipv6_prefix: 'zz::/3', service: 'S3' }] }), {
    message: /ipv6_prefixes\.0/,
  });
});

test('categories: AWS services by address, then zones, else unclassified', () => {
  const r = new IpRanges().add({ prefixes: doc.prefixes.slice(0, 5) });
  const pod = (ip: string, zone: string | null) => ({ ip, zone });
  assert.equal(categorize(pod('10.0.0.1', 'a'), pod('52.216.1.1', null), r), 'AMAZON_S3');
  assert.equal(categorize(pod('52.94.0.9', null), pod('10.0.0.1', 'a'), r), 'AMAZON_DYNAMODB');
  assert.equal(categorize(pod('10.0.0.1', 'a'), pod('10.0.0.2', 'a'), r), 'INTRA_AZ');
  assert.equal(categorize(pod('10.0.0.1', 'a'), pod('10.0.1.2', 'b'), r), 'INTER_AZ');
  assert.equal(
    categorize(pod('10.0.0.1', 'a'), pod('52.94.200.1', null), r),
    'UNCLASSIFIED',
    'AMAZON alone is not a category'
  );
  assert.equal(categorize(pod('10.0.0.1', 'a'), pod('1.1.1.1', null), r), 'UNCLASSIFIED');
  assert.equal(categorize(pod('10.0.0.1', null), pod('10.0.0.2', null), r), 'UNCLASSIFIED');
});

test('the bundled snapshot loads and knows S3 and DynamoDB in us-east-1', async () => {
  const r = await loadIpRanges();
  assert.ok(r.size > 10);
  assert.equal(r.lookup('52.217.44.1')?.service, 'S3');
  assert.equal(r.lookup('52.94.1.10')?.service, 'DYNAMODB');
  assert.equal(r.lookup('52.94.100.10')?.service, 'AMAZON');
});
