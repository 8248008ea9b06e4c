/**
 * tests/hub/hub-api.test.ts against the ClickHouse store: every hub of the file runs with
 * `--store clickhouse://…` on the chdb stand-in (tests/lib/clickhouse-standin.ts), through @clickhouse/client.
 */
import './lib-clickhouse-env';
import './hub-api.test';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHubProcess } from '../lib/hub-process';

test('these hubs run on the ClickHouse store (and log it without the password)', async () => {
  const hub = await startHubProcess();
  try {
    assert.match(hub.logs(), /"store":"clickhouse:\/\/127\.0\.0\.1:\d+\/hub_\d+_\d+ \(user flowlens\)"/);
    assert.ok(!hub.logs().includes(new URL(hub.options.storeSpec!.replace('clickhouse', 'http')).password));
  } finally {
    await hub.cleanup();
  }
});
