/** tests/hub/hub-clusters.test.ts against the ClickHouse store (the chdb stand-in, through @clickhouse/client). */
import './lib-clickhouse-env';
import './hub-clusters.test';
