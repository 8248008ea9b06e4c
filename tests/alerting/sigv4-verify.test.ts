/**
 * The SigV4 verifier behind the local SNS endpoint: it accepts AWS's own published example
 * (aws-sig-v4-test-suite "get-vanilla") and rejects every tampered variant.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';
import { verifySigV4, type SignedRequest } from '../lib/aws-sigv4-verify.js';

// AWS's documented example credentials (not a secret: they appear in AWS's test suite and docs).
const EXAMPLE = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
  service: 'service',
  now: new Date('2015-08-30T12:36:00Z'),
};

const vanilla: SignedRequest = {
  method: 'GET',
  url: '/',
  headers: {
    host: ['example.amazonaws.com'],
    'x-amz-date': ['20150830T123600Z'],
    authorization: [
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    ],
  },
  body: Buffer.alloc(0),
};

test('accepts the get-vanilla example from the AWS SigV4 test suite', () => {
  assert.deepEqual(verifySigV4(vanilla, EXAMPLE), { ok: true, signedHeaders: ['host', 'x-amz-date'] });
});

test('rejects a wrong secret, a tampered header, a changed path and a stale date', () => {
  const wrongSecret = verifySigV4(vanilla, { ...EXAMPLE, secretAccessKey: 'not-the-secret' });
  assert.deepEqual(wrongSecret, { ok: false, reason: 'signature does not match' });
  const otherHost = verifySigV4({ ...vanilla, headers: { ...vanilla.headers, host: ['evil.example.com'] } }, EXAMPLE);
  assert.equal(otherHost.ok, false);
  assert.equal(verifySigV4({ ...vanilla, url: '/other' }, EXAMPLE).ok, false);
  const later = verifySigV4(vanilla, { ...EXAMPLE, now: new Date('2015-08-30T13:00:00Z') });
  assert.equal(later.ok, false);
  assert.match(later.ok ? '' : later.reason, /too far from now/);
  assert.equal(verifySigV4(vanilla, { ...EXAMPLE, region: 'eu-west-1' }).ok, false);
  assert.equal(verifySigV4(vanilla, { ...EXAMPLE, accessKeyId: 'AKIDOTHER' }).ok, false);
  const unsigned = { ...vanilla, headers: { ...vanilla.headers, authorization: undefined } };
  assert.deepEqual(verifySigV4(unsigned, EXAMPLE), { ok: false, reason: 'no Authorization header' });
});

test('covers the body: a form POST signed here verifies, and fails once the body changes', () => {
  // Sign independently, step by step as AWS documents it, then let the verifier check.
  const body = Buffer.from(
    'Action=Publish&Message=hello&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3At&Version=2010-03-31'
  );
  const amzDate = '20150830T123600Z';
  const headers = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    host: '127.0.0.1:9',
    'x-amz-date': amzDate,
  };
  const signed = Object.keys(headers).sort();
  const hash = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
  const canonical = [
    'POST',
    '/',
    '',
    signed.map((h) => `${h}:${headers[h as keyof typeof headers]}\n`).join(''),
    signed.join(';'),
    hash(body),
  ].join('\n');
  const scope = '20150830/us-east-1/sns/aws4_request';
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, hash(canonical)].join('\n');
  const h = (k: Buffer | string, d: string) => createHmac('sha256', k).update(d).digest();
  const key = h(h(h(h(`AWS4${EXAMPLE.secretAccessKey}`, '20150830'), 'us-east-1'), 'sns'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const request: SignedRequest = {
    method: 'POST',
    url: '/',
    headers: {
      ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
      authorization: [
        `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`,
      ],
    },
    body,
  };
  const expect = { ...EXAMPLE, service: 'sns' };
  assert.equal(verifySigV4(request, expect).ok, true);
  assert.equal(
    verifySigV4({ ...request, body: Buffer.from(body.toString().replace('hello', 'HELLO')) }, expect).ok,
    false
  );
});
