/** tests/hub/hub-failures.test.ts (failure counters through a real hub, API 1.3) against the ClickHouse store. */
import './lib-clickhouse-env';
import './hub-failures.test';
