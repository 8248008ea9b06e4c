import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CATEGORY_CODE, CATEGORY_PRECEDENCE } from '../classify/category.js';
import { MIGRATIONS, SCHEMA_VERSION, migrationsTable, type SchemaOptions } from './clickhouse-schema.js';

const base: SchemaOptions = {
  database: 'flows',
  cluster: null,
  rawRetentionS: 6 * 3600,
  fineRetentionS: 7 * 86400,
  hourRetentionS: 90 * 86400,
  dedupWindow: 1000,
};
const ddl = (o: SchemaOptions): string[] => [...migrationsTable(o), ...MIGRATIONS.flatMap((m) => m.statements(o))];

test('migrations are numbered 1, 2, … and the schema version is the last', () => {
  assert.deepEqual(
    MIGRATIONS.map((m) => m.version),
    MIGRATIONS.map((_, i) => i + 1)
  );
  assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
});

test('without a cluster: plain MergeTree family, no ON CLUSTER, no Distributed tables', () => {
  const all = ddl(base).join('\n');
  assert.doesNotMatch(all, /ON CLUSTER|Replicated|Distributed/);
  assert.match(
    all,
    /CREATE TABLE IF NOT EXISTS flows\.flows_raw \(.*\) ENGINE = MergeTree\(\) PARTITION BY toDate\(ts\)/s
  );
  assert.match(all, /non_replicated_deduplication_window = 1000/);
  assert.match(all, /TTL ts \+ INTERVAL 21600 SECOND/);
  for (const step of [300, 900, 3600]) {
    assert.match(all, new RegExp(`flows\\.flows_${step} \\(.*\\) ENGINE = AggregatingMergeTree\\(\\)`, 's'));
    assert.match(
      all,
      new RegExp(`MATERIALIZED VIEW IF NOT EXISTS flows\\.flows_${step}_mv TO flows\\.flows_${step}\\s`)
    );
  }
  assert.match(all, /namespace LowCardinality\(Nullable\(String\)\)/);
});

test('with a cluster: ON CLUSTER everywhere, Replicated local tables behind Distributed ones, views on the local tables', () => {
  const stmts = ddl({ ...base, cluster: 'main' });
  assert.ok(
    stmts.every((s) => / ON CLUSTER main\b/.test(s)),
    'every statement runs on the whole cluster'
  );
  const all = stmts.join('\n');
  assert.match(
    all,
    /flows\.flows_raw_local ON CLUSTER main \(.*\) ENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/flows\/flows_raw_local', '\{replica\}'\)/s
  );
  assert.match(
    all,
    /flows\.flows_raw ON CLUSTER main AS flows\.flows_raw_local ENGINE = Distributed\(main, flows, flows_raw_local, cityHash64\(client_ip, server_ip, server_port\)\)/
  );
  assert.match(
    all,
    /ReplicatedAggregatingMergeTree\('\/clickhouse\/tables\/\{shard\}\/flows\/flows_3600_local', '\{replica\}'\)/
  );
  assert.match(
    all,
    /ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/\{shard\}\/flows\/reports_local', '\{replica\}'\)/
  );
  assert.match(
    all,
    /flows_300_mv ON CLUSTER main TO flows\.flows_300_local\s+AS SELECT .* FROM flows\.flows_raw_local\)/s
  );
  assert.match(all, /replicated_deduplication_window = 1000/);
  assert.doesNotMatch(all, /non_replicated/);
  // Reports are asynchronous inserts: every table they write keeps their ids in its async window as well.
  for (const t of ['flows_raw', 'flows_300', 'flows_900', 'flows_3600', 'forwards']) {
    assert.match(
      all,
      new RegExp(
        `ALTER TABLE flows\\.${t}_local ON CLUSTER main MODIFY SETTING replicated_deduplication_window_for_async_inserts = 1000, replicated_deduplication_window_seconds_for_async_inserts = 21600`
      )
    );
  }
});

test('category ranks round-trip and follow the merge precedence', async () => {
  const { categoryRankSql, categoryFromRankSql } = await import('./clickhouse-schema.js');
  for (const [i, c] of CATEGORY_PRECEDENCE.entries()) {
    assert.ok(categoryRankSql('x').includes(`WHEN ${CATEGORY_CODE[c]} THEN ${i}`));
    assert.ok(categoryFromRankSql('x').includes(`WHEN ${i} THEN ${CATEGORY_CODE[c]}`));
  }
});
