/** tests/hub/hub-services.test.ts (Services, NodePorts, re-used IPs, loopback) against the ClickHouse store. */
import './lib-clickhouse-env';
import './hub-services.test';
