/** tests/hub/reporter-outage.test.ts (hub restart, re-sent reports counted once) against the ClickHouse store. */
import './lib-clickhouse-env';
import './reporter-outage.test';
