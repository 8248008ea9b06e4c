/**
 * tests/policy/policy-api.test.ts (policy drafts and checks from observed flows) against the ClickHouse store:
 * the hub's `observedFlows` runs the same evidence query in ClickHouse's dialect.
 */
import '../hub/lib-clickhouse-env';
import './policy-api.test';
