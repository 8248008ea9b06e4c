import assert from 'node:assert/strict';
import { test } from 'node:test';
import { policyUrl, renderCheck } from './command.js';

test('policyUrl: the draft and check endpoints with the range and options', () => {
  assert.equal(
    policyUrl('http://hub:7470', 'draft', { namespace: 'shop', from: '1', to: '2', defaultDeny: true, yaml: true }),
    'http://hub:7470/api/v1/policy-drafts?namespace=shop&from=1&to=2&defaultDeny=true&format=yaml'
  );
  assert.equal(
    policyUrl('http://hub:7470/base/', 'check', { namespace: 'shop', workload: 'web', from: '1', to: '2' }),
    'http://hub:7470/base/api/v1/policy-check?namespace=shop&workload=web&from=1&to=2'
  );
});

test('renderCheck: a summary line and one line per denied flow', () => {
  const end = (ip: string, pod: string | null) => ({
    ip,
    pod,
    namespace: pod && 'shop',
    workload: pod && 'web',
    kind: null,
  });
  assert.equal(
    renderCheck({
      policiesEvaluated: 2,
      flowsChecked: 9,
      denied: [
        {
          client: end('203.0.113.1', null),
          server: end('10.0.0.1', 'web-1'),
          serverPort: 80,
          protocol: 'TCP',
          bytes: 5,
          firstSeenMs: 0,
          lastSeenMs: 0,
          deniedBy: 'ingress',
          policies: ['shop/deny'],
        },
      ],
    }),
    '1 of 9 flows denied by 2 policies\n203.0.113.1 -> shop/web (10.0.0.1) TCP/80 5 bytes, denied by ingress (shop/deny)\n'
  );
});
