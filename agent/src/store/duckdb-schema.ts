/**
 * The DuckDB store's layout: tables, the column lists shared by roll-ups and queries, schema versions and the
 * migrations between them. duckdb-store.ts appends, rolls up and queries; duckdb-sql.ts builds query SQL.
 */
import {
  DOUBLE,
  LIST,
  STRUCT,
  UINTEGER,
  USMALLINT,
  UTINYINT,
  VARCHAR,
  type DuckDBConnection,
  type DuckDBType,
} from '@duckdb/node-api';
import { mergedCategorySql } from '../classify/category.js';
import { DEFAULT_CLUSTER, FAILURE_COUNTER_NAMES } from '../contracts/report.js';
import {
  FAILURE_END_COLUMNS,
  FAILURE_END_VIEWS,
  collectReasonsSql,
  exactSum,
  flowIdentitySql,
  snake,
  sumReasonsSql,
} from './merge.js';

/** Schema 4: the drop reasons of a row, `{reason, n}` per kernel drop reason (summed on every roll-up). */
export const DROP_REASONS_TYPE = `STRUCT(reason VARCHAR, n DOUBLE)[]`;
/** Raw rows' failure columns (report contract 1.2), one per FAILURE_COUNTER_NAMES entry: `connect_attempts`, … */
export const RAW_FAILURE_COLUMNS = FAILURE_COUNTER_NAMES.map(snake);
/** Schema 4 columns, raw rows: each failure counter, drops (all reasons) and drop_reasons; 0 / empty by default. */
export const RAW_FAILURE_DDL = [
  ...RAW_FAILURE_COLUMNS.map((c) => `${c} DOUBLE DEFAULT 0`),
  'drops DOUBLE DEFAULT 0',
  `drop_reasons ${DROP_REASONS_TYPE} DEFAULT []`,
];
/** Schema 4 columns, roll-ups: the end views the merge reads (merge.ts FAILURE_END_COLUMNS), drops, drop_reasons. */
export const ROLLUP_FAILURE_DDL = [
  ...FAILURE_END_COLUMNS.map((c) => `${c} DOUBLE DEFAULT 0`),
  'drops DOUBLE DEFAULT 0',
  `drop_reasons ${DROP_REASONS_TYPE} DEFAULT []`,
];
const FAILURE_NAMES = [...FAILURE_END_COLUMNS, 'drops', 'drop_reasons'].join(', ');

export const ROLLUP_STEPS = [300, 900, 3600] as const;
export const RAW_TYPES: DuckDBType[] = [
  UINTEGER, // batch
  UINTEGER, // ts
  UINTEGER, // client_ip
  UINTEGER, // server_ip
  USMALLINT, // server_port
  UTINYINT, // side
  UTINYINT, // category
  UINTEGER, // client_ep
  UINTEGER, // server_ep
  DOUBLE, // bytes_sent
  DOUBLE, // bytes_received
  DOUBLE, // segments_sent
  DOUBLE, // segments_received
  DOUBLE, // retransmits
  DOUBLE, // rtos
  DOUBLE, // conns_opened
  DOUBLE, // conns_closed
  DOUBLE, // rtt_avg
  DOUBLE, // rtt_max
  UINTEGER, // via_ip (identity id of the via address; 0: none)
  USMALLINT, // via_port
  UINTEGER, // via_ep (the via address named: its Service; 0: none)
  ...RAW_FAILURE_COLUMNS.map(() => DOUBLE), // connect_attempts … resets_received
  DOUBLE, // drops
  LIST(STRUCT({ reason: VARCHAR, n: DOUBLE })), // drop_reasons
];

/**
 * Schema versions (meta key `schema_version`; a store without the key is version 1):
 *   1  roll-ups without segment counts
 *   2  roll-ups carry each end's data segments sent and received (the four SEGMENT_COLUMNS, last in the row).
 *      A version-1 store gets them as NULL columns when it is opened: its old roll-up rows have no segment count,
 *      and a query whose flows include such rows answers `segments: null` rather than a partial sum.
 *   3  flows keyed by identity (merge.ts `flowIdentity`: the address with its pod, loopback with its node), and
 *      the via columns (the Service address a flow went through; 0 when none) in raw rows and roll-ups. A
 *      version-2 store gets the columns and its rows re-keyed from the named ends they stored.
 *   4  failure counters (report contract 1.2): raw rows carry each counter, drops and drop_reasons; roll-ups each
 *      end's counters side by side (c_*, s_*), drops and drop_reasons. A version-3 store gets the columns as 0 /
 *      empty: the agents of that time did not count failures.
 *   5  clusters (report contract 1.1 `cluster`): each named end (`endpoints`) carries its cluster, and flow
 *      identities outside the cluster `default` are `<cluster>~…` (merge.ts `flowIdentity`), so two clusters'
 *      ends never merge. A version-4 store's ends get `default`: identities stored before were unqualified,
 *      which is what `default`'s are, so nothing is re-keyed (docs/hub.md "Clusters").
 */
export const SCHEMA_VERSION = 5;
/** Schema 5: the cluster of a named end. */
export const ENDPOINT_CLUSTER_DDL = `cluster VARCHAR DEFAULT '${DEFAULT_CLUSTER}'`;
export const SEGMENT_COLUMNS = ['c_seg_sent', 'c_seg_recv', 's_seg_sent', 's_seg_recv'] as const;
/** Schema 3: the Service address a flow went through (report contract 1.1 `via`), in raw rows and roll-ups. */
export const VIA_COLUMNS = `via_ip UINTEGER DEFAULT 0, via_port USMALLINT DEFAULT 0, via_ep UINTEGER DEFAULT 0`;

export const ROLLUP_COLUMNS = `bucket UINTEGER, client_ip UINTEGER, server_ip UINTEGER, server_port USMALLINT, category UTINYINT,
  client_ep UINTEGER, server_ep UINTEGER, c_sent DOUBLE, c_recv DOUBLE, s_sent DOUBLE, s_recv DOUBLE,
  retransmits DOUBLE, rtos DOUBLE, rtt_sum DOUBLE, rtt_n DOUBLE, rtt_max DOUBLE, ${SEGMENT_COLUMNS.map((c) => `${c} DOUBLE`).join(', ')},
  ${VIA_COLUMNS}`;
/** Roll-up columns by name: inserts name them, since a migrated table's column order may differ. */
export const ROLLUP_NAMES = `bucket, client_ip, server_ip, server_port, category, client_ep, server_ep, c_sent, c_recv, s_sent,
  s_recv, retransmits, rtos, rtt_sum, rtt_n, rtt_max, ${SEGMENT_COLUMNS.join(', ')}, via_ip, via_port, via_ep,
  ${FAILURE_NAMES}`;

/**
 * Sums partial roll-up rows of one flow, every column but drop_reasons (ROLLUP_NAMES order up to drops): each
 * aggregate costs a pass over every row rolled up, so the drop reasons are summed apart (`rollupSelect`).
 */
export const ROLLUP_SUMS = `${mergedCategorySql('category')}, max(client_ep), max(server_ep), sum(c_sent), sum(c_recv),
  sum(s_sent), sum(s_recv), sum(retransmits), sum(rtos), sum(rtt_sum), sum(rtt_n), max(rtt_max),
  ${SEGMENT_COLUMNS.map(exactSum).join(', ')}, max(via_ip), max(via_port), max(via_ep),
  ${FAILURE_END_COLUMNS.map((c) => `sum(${c})`).join(', ')}, sum(drops)`;
/** Sums the drop reasons of a flow's rows that dropped anything (NULL when none did). */
const REASONS_SUM = sumReasonsSql(collectReasonsSql('drop_reasons', 'drops'));

/**
 * Roll-up rows in ROLLUP_NAMES order: the rows of `from` matching `where` summed per flow and `bucket` (an
 * expression over `from`). The drop reasons come from a second, sparse pass over the rows with drops only
 * (the zone maps of `drops` skip the rest; nearly no row drops) joined back, instead of a list aggregate over
 * every row: the same values, and the roll-up's largest single cost gone (docs/hub.md "bench:hub").
 */
export function rollupSelect(bucket: string, from: string, where: string): string {
  const key = `${bucket} AS bucket, client_ip, server_ip, server_port`;
  return `SELECT m.*, d.drop_reasons FROM
    (SELECT ${key}, ${ROLLUP_SUMS} FROM ${from} WHERE ${where} GROUP BY 1, 2, 3, 4) m
    LEFT JOIN (SELECT ${key}, ${REASONS_SUM} AS drop_reasons FROM ${from} WHERE (${where}) AND drops > 0
      GROUP BY 1, 2, 3, 4) d
    ON d.bucket = m.bucket AND d.client_ip = m.client_ip AND d.server_ip = m.server_ip AND d.server_port = m.server_port`;
}

/** Raw rows in roll-up shape: each end's counters land in its own columns. */
export const RAW_AS_ROLLUP = `client_ip, server_ip, server_port, category, client_ep, server_ep,
  CASE WHEN side = 0 THEN bytes_sent ELSE 0 END AS c_sent, CASE WHEN side = 0 THEN bytes_received ELSE 0 END AS c_recv,
  CASE WHEN side = 1 THEN bytes_sent ELSE 0 END AS s_sent, CASE WHEN side = 1 THEN bytes_received ELSE 0 END AS s_recv,
  retransmits, rtos, coalesce(rtt_avg, 0) AS rtt_sum, CASE WHEN rtt_avg IS NULL THEN 0 ELSE 1 END AS rtt_n, rtt_max,
  CASE WHEN side = 0 THEN segments_sent ELSE 0 END AS c_seg_sent,
  CASE WHEN side = 0 THEN segments_received ELSE 0 END AS c_seg_recv,
  CASE WHEN side = 1 THEN segments_sent ELSE 0 END AS s_seg_sent,
  CASE WHEN side = 1 THEN segments_received ELSE 0 END AS s_seg_recv, via_ip, via_port, via_ep,
  ${FAILURE_END_VIEWS.map((v) => `CASE WHEN side = ${v.end === 'c' ? 0 : 1} THEN ${v.raw} ELSE 0 END AS ${v.column}`).join(', ')},
  drops, drop_reasons`;

export const MEASURES = `client_ip, server_ip, server_port, category, client_ep, server_ep, c_sent, c_recv, s_sent, s_recv,
  retransmits, rtos, rtt_sum, rtt_n, rtt_max, ${SEGMENT_COLUMNS.join(', ')}, via_ip, via_port, via_ep, ${FAILURE_NAMES}`;

/**
 * Connections a node forwarded (report contract 1.2 `forwards`; merge.ts rule 4), one row per report entry, kept
 * as long as the hour roll-ups. Added without a schema version: a store opened by an older hub simply ignores it.
 */
export const FORWARDS_TABLE = `CREATE TABLE IF NOT EXISTS forwards (ts UINTEGER, client_ip UINTEGER, client_ep UINTEGER,
  server_ip UINTEGER, server_ep UINTEGER, server_port USMALLINT, snat_ip UINTEGER, via_ip UINTEGER, via_port USMALLINT,
  via_ep UINTEGER, category UTINYINT, connections DOUBLE)`;

export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Runs fn in one transaction on the writer connection: committed whole, or rolled back and rethrown. */
export async function tx(w: DuckDBConnection, fn: () => Promise<void>): Promise<void> {
  await w.run('BEGIN TRANSACTION');
  try {
    await fn();
    await w.run('COMMIT');
  } catch (err) {
    await w.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Creates what is missing and migrates a store written by an older schema (`version`) to SCHEMA_VERSION. */
export async function createTables(w: DuckDBConnection, version: number): Promise<void> {
  await w.run(`CREATE TABLE IF NOT EXISTS ips (id UINTEGER, ip VARCHAR)`);
  await w.run(`CREATE TABLE IF NOT EXISTS endpoints (id UINTEGER, ip VARCHAR, pod VARCHAR, namespace VARCHAR,
      workload VARCHAR, kind VARCHAR, node VARCHAR, zone VARCHAR, service VARCHAR, ${ENDPOINT_CLUSTER_DDL})`);
  await w.run(`CREATE TABLE IF NOT EXISTS reports (report_id VARCHAR, node VARCHAR, start_ms DOUBLE, end_ms DOUBLE,
      batch UINTEGER, flows UINTEGER, other_flows DOUBLE, other_bytes_sent DOUBLE, other_bytes_received DOUBLE,
      other_retransmits DOUBLE, other_rtos DOUBLE)`);
  await w.run(`CREATE TABLE IF NOT EXISTS flows_raw (batch UINTEGER, ts UINTEGER, client_ip UINTEGER,
      server_ip UINTEGER, server_port USMALLINT, side UTINYINT, category UTINYINT, client_ep UINTEGER,
      server_ep UINTEGER, bytes_sent DOUBLE, bytes_received DOUBLE, segments_sent DOUBLE, segments_received DOUBLE,
      retransmits DOUBLE, rtos DOUBLE, conns_opened DOUBLE, conns_closed DOUBLE, rtt_avg DOUBLE, rtt_max DOUBLE,
      ${VIA_COLUMNS}, ${RAW_FAILURE_DDL.join(', ')})`);
  for (const step of ROLLUP_STEPS) {
    await w.run(`CREATE TABLE IF NOT EXISTS flows_${step} (${ROLLUP_COLUMNS})`);
  }
  await w.run(`CREATE TABLE IF NOT EXISTS dirty (step UINTEGER, bucket UINTEGER)`);
  await w.run(FORWARDS_TABLE);
  if (version < 2) {
    await tx(w, () => migrateToV2(w));
  }
  if (version < 3) {
    await tx(w, () => migrateToV3(w));
  }
  if (version < 4) {
    await tx(w, () => migrateToV4(w));
  }
  if (version < 5) {
    await tx(w, () => migrateToV5(w));
  }
}

export async function setMeta(w: DuckDBConnection, key: string, value: number): Promise<void> {
  await w.run(`INSERT OR REPLACE INTO meta VALUES (${sqlString(key)}, ${value})`);
}

/**
 * Schema 1 → 2: the roll-up tables gain the segment columns (appended, NULL in the rows already there: those
 * rows were summed without segment counts, which cannot be recovered). Raw rows always had them.
 */
async function migrateToV2(w: DuckDBConnection): Promise<void> {
  for (const step of ROLLUP_STEPS) {
    const reader = await w.runAndReadAll(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'flows_${step}'`
    );
    const have = new Set(reader.getRowObjects().map((r) => String(r.column_name)));
    for (const c of SEGMENT_COLUMNS) {
      if (!have.has(c)) {
        await w.run(`ALTER TABLE flows_${step} ADD COLUMN ${c} DOUBLE`);
      }
    }
  }
  await setMeta(w, 'schema_version', 2);
}

/**
 * Schema 2 → 3: raw rows and roll-ups gain the via columns (0: no Service address), and flow keys become
 * identities (`flowIdentity`: the address with the pod it belonged to, loopback with its node), so a re-used
 * pod IP no longer merges with the old pod's flows. Old rows are re-keyed from the named ends they stored.
 */
async function migrateToV3(w: DuckDBConnection): Promise<void> {
  const tables = ['flows_raw', ...ROLLUP_STEPS.map((s) => `flows_${s}`)];
  for (const table of tables) {
    await addMissingColumns(w, table, VIA_COLUMNS.split(', '));
  }
  await w.run(`CREATE OR REPLACE TEMP TABLE ident AS SELECT e.id AS ep, ${flowIdentitySql('e')} AS k FROM endpoints e`);
  await w.run(`INSERT INTO ips SELECT (SELECT coalesce(max(id), 0) FROM ips) + row_number() OVER (ORDER BY k), k
    FROM (SELECT DISTINCT k FROM ident WHERE k NOT IN (SELECT ip FROM ips))`);
  await w.run(`CREATE OR REPLACE TEMP TABLE ep_key AS SELECT ident.ep, ips.id FROM ident JOIN ips ON ips.ip = ident.k`);
  for (const table of tables) {
    await w.run(`UPDATE ${table} SET client_ip = m.id FROM ep_key m WHERE m.ep = ${table}.client_ep`);
    await w.run(`UPDATE ${table} SET server_ip = m.id FROM ep_key m WHERE m.ep = ${table}.server_ep`);
  }
  await w.run('DROP TABLE ident');
  await w.run('DROP TABLE ep_key');
  await setMeta(w, 'schema_version', 3);
}

/** Adds each column definition (`name TYPE …`) the table does not have yet. */
async function addMissingColumns(w: DuckDBConnection, table: string, ddl: string[]): Promise<void> {
  const reader = await w.runAndReadAll(
    `SELECT column_name FROM information_schema.columns WHERE table_name = '${table}'`
  );
  const have = new Set(reader.getRowObjects().map((r) => String(r.column_name)));
  for (const c of ddl) {
    if (!have.has(c.split(' ')[0]!)) {
      await w.run(`ALTER TABLE ${table} ADD COLUMN ${c}`);
    }
  }
}

/**
 * Schema 3 → 4: raw rows and roll-ups gain the failure columns (report contract 1.2), 0 and empty in the rows
 * already there — the agents that wrote them did not count failures, so 0 is what they saw.
 */
async function migrateToV4(w: DuckDBConnection): Promise<void> {
  await addMissingColumns(w, 'flows_raw', RAW_FAILURE_DDL);
  for (const step of ROLLUP_STEPS) {
    await addMissingColumns(w, `flows_${step}`, ROLLUP_FAILURE_DDL);
  }
  await setMeta(w, 'schema_version', 4);
}

/** Schema 4 → 5: named ends gain their cluster, `default` for the ends already there (nothing is re-keyed). */
async function migrateToV5(w: DuckDBConnection): Promise<void> {
  await addMissingColumns(w, 'endpoints', [ENDPOINT_CLUSTER_DDL]);
  await setMeta(w, 'schema_version', 5);
}
