import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openMetricsConfig } from './config.js';

test('defaults: off, 127.0.0.1:9109, 300 s grace, ENA every 15 s', () => {
  assert.deepEqual(openMetricsConfig({}), {
    enabled: false,
    address: '127.0.0.1',
    port: 9109,
    podGraceMs: 300_000,
    ena: { intervalMs: 15_000, ethtool: ['ethtool'], sysClassNet: '/sys/class/net' },
  });
});

test('NFM variable names and ours are read', () => {
  const c = openMetricsConfig({
    OPEN_METRICS: 'on',
    OPEN_METRICS_ADDRESS: '0.0.0.0',
    OPEN_METRICS_PORT: '9200',
    FLOWLENS_POD_SERIES_GRACE_SECONDS: '1.5',
    FLOWLENS_ETHTOOL: 'ip netns exec x ethtool',
    FLOWLENS_ENA_POLL_SECONDS: '2',
  });
  assert.equal(c.enabled, true);
  assert.equal(c.address, '0.0.0.0');
  assert.equal(c.port, 9200);
  assert.equal(c.podGraceMs, 1500);
  assert.deepEqual(c.ena?.ethtool, ['ip', 'netns', 'exec', 'x', 'ethtool']);
  assert.equal(c.ena?.intervalMs, 2000);
  assert.equal(openMetricsConfig({ FLOWLENS_ENA_STATS: 'off' }).ena, null);
});

test('bad values are clear errors', () => {
  assert.throws(() => openMetricsConfig({ OPEN_METRICS: 'maybe' }), /OPEN_METRICS must be on or off/);
  assert.throws(() => openMetricsConfig({ OPEN_METRICS_PORT: '70000' }), /OPEN_METRICS_PORT/);
  assert.throws(() => openMetricsConfig({ OPEN_METRICS_PORT: 'http' }), /OPEN_METRICS_PORT/);
  assert.throws(() => openMetricsConfig({ FLOWLENS_POD_SERIES_GRACE_SECONDS: '-1' }), /GRACE/);
});
