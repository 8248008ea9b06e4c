import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endName, humanBytes, humanRtt, renderTable } from './format.js';

test('human units', () => {
  assert.equal(humanBytes(999), '999 B');
  assert.equal(humanBytes(1536), '1.5 KiB');
  assert.equal(humanBytes(9_030_000), '8.6 MiB');
  assert.equal(humanRtt(null), '-');
  assert.equal(humanRtt(240), '240 µs');
  assert.equal(humanRtt(22000), '22.0 ms');
});

test('names prefer pod, then workload, then service, then the address', () => {
  const none = { ip: '1.2.3.4', pod: null, namespace: null, workload: null };
  assert.equal(endName({ ...none, pod: 'p', namespace: 'ns' }), 'ns/p');
  assert.equal(endName({ ...none, workload: 'w', namespace: 'ns' }), 'ns/w');
  assert.equal(endName({ ...none, service: 'cart' }), 'svc/cart');
  assert.equal(endName(none), '1.2.3.4');
});

test('table has aligned columns and one line per row', () => {
  const out = renderTable([
    {
      category: 'INTER_AZ',
      local: { ip: '10.1.1.10', pod: 'frontend-1', namespace: 'shop', workload: 'frontend' },
      remote: { ip: '10.2.1.30', pod: 'orders-0', namespace: 'shop', workload: 'orders' },
      serverPort: 9090,
      value: 250000,
      bytes: 250000,
      retransmits: 7,
      rtos: 1,
      rttUs: 1050,
    },
  ]);
  const lines = out.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^CATEGORY\s+CLIENT\s+SERVER\s+BYTES\s+RETRANS\s+RTOS\s+RTT$/);
  assert.match(lines[1]!, /^INTER_AZ\s+shop\/frontend-1\s+shop\/orders-0:9090\s+244\.1 KiB\s+7\s+1\s+1\.1 ms$/);
  assert.equal(lines[0]!.indexOf('BYTES') + 'BYTES'.length, lines[1]!.indexOf('KiB') + 3);
});

test('top builds the query from its flags', async () => {
  const { topUrl, parseDuration } = await import('./command.js');
  assert.equal(parseDuration('15m'), 900_000);
  assert.throws(() => parseDuration('soon'), /--since/);
  const u = new URL(
    topUrl('http://hub:7470', { category: 'INTER_AZ', metric: 'rtos', limit: '5', sinceMs: 3600_000 }, 7_200_000)
  );
  assert.equal(u.pathname, '/api/v1/top-contributors');
  assert.deepEqual(Object.fromEntries(u.searchParams), {
    from: '3600000',
    to: '7200000',
    metric: 'rtos',
    limit: '5',
    category: 'INTER_AZ',
  });
});

test('rows of several clusters lead with their cluster; --cluster asks the hub for one', async () => {
  const row = (cluster: string, bytes: number) => ({
    cluster,
    category: 'INTRA_AZ',
    local: { ip: '10.0.0.1', pod: 'web-1', namespace: 'app', workload: 'web' },
    remote: { ip: '10.0.0.2', pod: 'db-1', namespace: 'app', workload: 'db' },
    serverPort: 5432,
    value: bytes,
    bytes,
    retransmits: 0,
    rtos: 0,
    rttUs: null,
  });
  const lines = renderTable([row('east', 6000), row('west', 1000)])
    .trimEnd()
    .split('\n');
  assert.match(lines[0]!, /^CLUSTER\s+CATEGORY\s+CLIENT/);
  assert.match(lines[1]!, /^east\s+INTRA_AZ\s+app\/web-1\s+app\/db-1:5432\s+5\.9 KiB/);
  assert.match(lines[2]!, /^west\s+INTRA_AZ\s+app\/web-1\s+app\/db-1:5432\s+1000 B/);
  assert.equal(lines[0]!.indexOf('BYTES') + 'BYTES'.length, lines[1]!.indexOf('KiB') + 3, 'numbers stay right-aligned');
  assert.match(renderTable([row('east', 1)]), /^CATEGORY/, 'one cluster: no column');
  const { topUrl } = await import('./command.js');
  const u = new URL(topUrl('http://hub:7470', { cluster: 'west', sinceMs: 60_000 }, 120_000));
  assert.equal(u.searchParams.get('cluster'), 'west');
});
