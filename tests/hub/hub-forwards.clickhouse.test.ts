/** tests/hub/hub-forwards.test.ts (forwarded NodePort connections, merge rule 4, through a real hub) against the ClickHouse store. */
import './lib-clickhouse-env';
import './hub-forwards.test';
