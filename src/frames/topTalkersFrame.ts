// Top-contributor rows → one table frame with sortable columns for both sides of each flow.
import { FieldType, createDataFrame, type DataFrame, type FieldConfig } from '@grafana/data';
import { rttAvg, type Metric, type TopContributorRow } from '../datasource/hubTypes';
import type { Direction } from './endpoints';
import { METRIC_LABELS, UNITS, metricUnit } from './units';

export interface TopTalkersFrameOptions {
  refId?: string;
  metric?: Metric;
  /** Drilldowns: each row's direction relative to the endpoint the user picked. */
  directions?: Direction[];
}

type Cell = string | number | null;

interface Column {
  name: string;
  type: FieldType;
  config: FieldConfig;
  get: (row: TopContributorRow) => Cell;
}

const text = (name: string, displayName: string, get: (r: TopContributorRow) => string | null): Column => ({
  name,
  type: FieldType.string,
  config: { displayName },
  get,
});

const num = (
  name: string,
  displayName: string,
  unit: string,
  get: (r: TopContributorRow) => number | null
): Column => ({
  name,
  type: FieldType.number,
  config: { displayName, unit },
  get,
});

export const TOP_TALKER_COLUMNS: readonly Column[] = [
  // The flow's cluster (hub API 1.4); empty where the hub is older.
  text('cluster', 'Cluster', (r) => r.cluster ?? null),
  text('category', 'Category', (r) => r.category),
  text('local_pod', 'Local pod', (r) => r.local.pod),
  text('local_workload', 'Local workload', (r) => r.local.workload),
  text('local_namespace', 'Local namespace', (r) => r.local.namespace),
  text('local_ip', 'Local IP', (r) => r.local.ip),
  text('local_zone', 'Local zone', (r) => r.local.zone),
  text('local_node', 'Local node', (r) => r.local.node),
  text('remote_pod', 'Remote pod', (r) => r.remote.pod),
  text('remote_workload', 'Remote workload', (r) => r.remote.workload),
  text('remote_namespace', 'Remote namespace', (r) => r.remote.namespace),
  text('remote_ip', 'Remote IP', (r) => r.remote.ip),
  text('remote_zone', 'Remote zone', (r) => r.remote.zone),
  text('remote_service', 'Remote service', (r) => r.remote.service),
  num('server_port', 'Server port', UNITS.none, (r) => r.serverPort ?? null),
  num('bytes', 'Data transferred', UNITS.bytes, (r) => r.bytes),
  num('retransmits', 'Retransmits', UNITS.count, (r) => r.retransmits),
  num('rtos', 'RTOs', UNITS.count, (r) => r.rtos),
  num('rtt_us', 'RTT', UNITS.rttUs, (r) => rttAvg(r.rttUs)),
  // Why connections and packets failed (hub API 1.3); empty where the hub is older.
  num('connect_attempts', 'Connect attempts', UNITS.count, (r) => r.connectAttempts ?? null),
  num('connect_failures', 'Connect failures', UNITS.count, (r) => r.connectFailures ?? null),
  num('connect_refused', 'Refused', UNITS.count, (r) => r.connectRefused ?? null),
  num('syn_retransmits', 'SYN retransmits', UNITS.count, (r) => r.synRetransmits ?? null),
  num('resets', 'Resets', UNITS.count, (r) => r.resets ?? null),
  num('drops', 'Drops', UNITS.count, (r) => r.drops ?? null),
  text('drop_reasons', 'Drop reasons', (r) => dropReasonsText(r.dropsByReason)),
];

/** Drops by kernel reason as one cell, most first: `NETFILTER_DROP 12, NO_SOCKET 3`; null without drops. */
export function dropReasonsText(byReason: Record<string, number> | undefined): string | null {
  const entries = Object.entries(byReason ?? {}).filter(([, n]) => n > 0);
  if (entries.length === 0) {
    return null;
  }
  return entries
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
}

/** The column that holds the value each row was ranked by. */
export const rankedColumnName = (metric: Metric) => `${METRIC_LABELS[metric]} (ranked)`;

export function buildTopTalkersFrame(rows: TopContributorRow[], opts: TopTalkersFrameOptions = {}): DataFrame {
  const fields = TOP_TALKER_COLUMNS.map((c) => ({
    name: c.name,
    type: c.type,
    config: c.config,
    values: rows.map(c.get),
  }));
  if (opts.directions) {
    if (opts.directions.length !== rows.length) {
      throw new Error(`directions (${opts.directions.length}) must match rows (${rows.length})`);
    }
    fields.unshift({
      name: 'direction',
      type: FieldType.string,
      config: { displayName: 'Direction' },
      values: opts.directions,
    });
  }
  if (opts.metric) {
    fields.push({
      name: 'value',
      type: FieldType.number,
      config: { displayName: rankedColumnName(opts.metric), unit: metricUnit(opts.metric) },
      values: rows.map((r) => r.value),
    });
  }
  return createDataFrame({
    refId: opts.refId,
    name: 'top-talkers',
    fields,
    meta: { preferredVisualisationType: 'table' },
  });
}
