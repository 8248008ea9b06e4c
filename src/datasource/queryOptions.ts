// Choices shown by the query editor, with the words users see.
import type { SelectableValue } from '@grafana/data';
import { CATEGORIES, type Category, type GroupBy, type MapGroupBy, type Metric, type SeriesGroupBy } from './hubTypes';
import type { QueryType } from './types';

export const QUERY_TYPE_OPTIONS: Array<SelectableValue<QueryType>> = [
  { label: 'Top talkers', value: 'topTalkers', description: 'Flows ranked by a metric, per category' },
  { label: 'Service map', value: 'serviceMap', description: 'Nodes and edges for the Node Graph panel' },
  { label: 'Time series', value: 'timeseries', description: 'A metric over time' },
];

export const METRIC_OPTIONS: Array<SelectableValue<Metric>> = [
  { label: 'Bytes', value: 'bytes' },
  { label: 'Retransmits', value: 'retransmits' },
  { label: 'RTOs', value: 'rtos' },
  { label: 'RTT', value: 'rtt' },
  { label: 'Failures', value: 'failures', description: 'Failed connects, resets and dropped packets' },
];

export const CATEGORY_LABELS: Record<Category, string> = {
  INTRA_AZ: 'Within a zone',
  INTER_AZ: 'Across zones',
  AMAZON_S3: 'Amazon S3',
  AMAZON_DYNAMODB: 'Amazon DynamoDB',
  UNCLASSIFIED: 'External',
};

export const CATEGORY_OPTIONS: Array<SelectableValue<Category>> = CATEGORIES.map((c) => ({
  label: CATEGORY_LABELS[c],
  value: c,
}));

export const GROUP_BY_OPTIONS: Array<SelectableValue<GroupBy>> = [
  { label: 'Flow', value: 'flow', description: 'Client, server and server port' },
  { label: 'Pod', value: 'pod' },
  { label: 'Workload', value: 'workload' },
  { label: 'Namespace', value: 'namespace' },
];

export const SERIES_GROUP_BY_OPTIONS: Array<SelectableValue<SeriesGroupBy>> = [
  { label: 'Total', value: 'total' },
  { label: 'Category', value: 'category' },
  { label: 'Namespace', value: 'namespace' },
  { label: 'Workload', value: 'workload' },
];

export const MAP_VIEW_OPTIONS: Array<SelectableValue<MapGroupBy>> = [
  { label: 'Workloads', value: 'workload' },
  { label: 'Pods', value: 'pod' },
];

/** Toggle one category in a list, keeping the canonical order. */
export function toggleCategory(current: Category[] | undefined, c: Category): Category[] {
  const set = new Set(current ?? []);
  if (set.has(c)) {
    set.delete(c);
  } else {
    set.add(c);
  }
  return CATEGORIES.filter((x) => set.has(x));
}
