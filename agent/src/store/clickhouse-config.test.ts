import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeStore, parseStoreSpec } from './clickhouse-config.js';

test('--store: duckdb:PATH and clickhouse URLs', () => {
  assert.deepEqual(parseStoreSpec('duckdb:/var/lib/flowlens'), { kind: 'duckdb', dataDir: '/var/lib/flowlens' });
  assert.deepEqual(parseStoreSpec('clickhouse://hub@ch.example:8123/flows?cluster=main'), {
    kind: 'clickhouse',
    config: { url: 'http://ch.example:8123', username: 'hub', password: '', database: 'flows', cluster: 'main' },
  });
  const tls = parseStoreSpec('clickhouses://hub:p%40ss@ch.example/flows', { FLOWLENS_CLICKHOUSE_PASSWORD: 'env' });
  assert.deepEqual(tls, {
    kind: 'clickhouse',
    config: { url: 'https://ch.example:8443', username: 'hub', password: 'p@ss', database: 'flows', cluster: null },
  });
  const fromEnv = parseStoreSpec('clickhouse://hub@10.0.0.5:9000', { FLOWLENS_CLICKHOUSE_PASSWORD: 's3cret' });
  assert.equal(fromEnv.kind === 'clickhouse' && fromEnv.config.password, 's3cret');
  assert.equal(fromEnv.kind === 'clickhouse' && fromEnv.config.database, 'flowlens');
  const v6 = parseStoreSpec('clickhouses://hub@[fd00::15]:8443/flows');
  assert.equal(v6.kind === 'clickhouse' && v6.config.url, 'https://[fd00::15]:8443');
  const v6DefaultPort = parseStoreSpec('clickhouse://hub@[::1]/flows');
  assert.equal(v6DefaultPort.kind === 'clickhouse' && v6DefaultPort.config.url, 'http://[::1]:8123');
});

test('--store: bad values are refused with the reason, never echoing a password', () => {
  assert.throws(() => parseStoreSpec('duckdb:'), /expected duckdb:PATH/);
  assert.throws(
    () => parseStoreSpec('postgres://u:hunter2@h/db'),
    (e: Error) => {
      assert.match(e.message, /expected duckdb:PATH or clickhouse:/);
      assert.ok(!e.message.includes('hunter2'));
      return true;
    }
  );
  assert.throws(() => parseStoreSpec('clickhouse://u@h/bad-name'), /database name 'bad-name'/);
  assert.throws(() => parseStoreSpec('clickhouse://u@h/db?cluster=a;drop'), /cluster name/);
  assert.throws(() => parseStoreSpec('clickhouse://u@h/db?secure=1'), /unknown parameter 'secure'/);
});

test('the store as logged carries no password', () => {
  const spec = parseStoreSpec('clickhouse://hub:hunter2@ch:8123/flows?cluster=c1');
  assert.equal(describeStore(spec), 'clickhouse://ch:8123/flows?cluster=c1 (user hub)');
  assert.equal(describeStore(parseStoreSpec('duckdb:/d')), 'duckdb:/d');
});
