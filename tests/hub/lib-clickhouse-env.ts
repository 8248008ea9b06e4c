/** Imported first by the *.clickhouse.test.ts files: the hubs they start use the ClickHouse store. */
process.env.FLOWLENS_TEST_STORE = 'clickhouse';
