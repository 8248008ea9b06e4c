import type { DataSourceJsonData } from '@grafana/data';
import type { DataQuery } from '@grafana/schema';
import type { CheckAgainst } from './policyTypes';
import type { Category, GroupBy, MapGroupBy, Metric, SeriesGroupBy } from './hubTypes';

export const QUERY_TYPES = ['topTalkers', 'serviceMap', 'timeseries', 'policyDrafts', 'policyCheck'] as const;
export type QueryType = (typeof QUERY_TYPES)[number];

/** One side of a conversation, as a drilldown names it: a workload, a pod or a bare IP. */
export type EndpointRef =
  | { kind: 'workload'; namespace: string | null; name: string }
  | { kind: 'pod'; namespace: string | null; name: string }
  | { kind: 'ip'; ip: string };

export interface FlowsQuery extends DataQuery {
  queryType?: QueryType;
  metric?: Metric;
  /** Categories to fetch and concatenate (one hub request each). Empty means all. */
  categories?: Category[];
  /** Hub API 1.4: the flows of one cluster (a variable such as $cluster too); absent or All: every cluster. */
  cluster?: string;
  namespace?: string;
  workload?: string;
  groupBy?: GroupBy;
  /** Time series only: one series in total, or per category / namespace / workload. */
  seriesGroupBy?: SeriesGroupBy;
  /** Service map only: workload view or pod view. */
  mapGroupBy?: MapGroupBy;
  limit?: number;
  /** Top talkers only: keep the flows of this endpoint (and, with `peer`, only those between the two), both directions. */
  endpoint?: EndpointRef;
  peer?: EndpointRef;
  /** Policy drafts (and a check of the draft): add the namespace's default-deny policy. A variable's "true"/"false" too. */
  defaultDeny?: boolean | string;
  /** Policy check only: which policies to evaluate the observed flows against (a variable such as $against too). */
  checkAgainst?: CheckAgainst | string;
}

export const DEFAULT_QUERY: Partial<FlowsQuery> = {
  queryType: 'topTalkers',
  metric: 'bytes',
  categories: ['INTRA_AZ', 'INTER_AZ'],
  groupBy: 'flow',
  seriesGroupBy: 'total',
  mapGroupBy: 'workload',
  limit: 100,
};

/** Non-secret settings, visible to the browser. */
export interface FlowsJsonData extends DataSourceJsonData {
  /** Base URL of the hub as the Grafana server reaches it, e.g. http://flowlens-hub:8080. */
  hubUrl?: string;
}

/** Secret settings: stored encrypted by Grafana, only the data proxy route reads them. */
export interface FlowsSecureJsonData {
  queryToken?: string;
}
