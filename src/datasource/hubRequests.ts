// Pure builders for the hub's query API v1 paths and query strings.
import type { Category, GroupBy, MapGroupBy, Metric, SeriesGroupBy } from './hubTypes';

/** The data-proxy route declared in src/datasource/plugin.json: `${instanceSettings.url}/hub/...` reaches the hub. */
export const HUB_ROUTE_PATH = 'hub';

export interface TimeWindow {
  /** Epoch milliseconds. */
  from: number;
  to: number;
}

/** Hub API 1.4: the flows of one cluster; absent (or empty) means every cluster. */
export interface ClusterFilter {
  cluster?: string;
}

export interface TopContributorsParams extends TimeWindow, ClusterFilter {
  metric: Metric;
  category: Category;
  limit?: number;
  groupBy?: GroupBy;
  namespace?: string;
  workload?: string;
  /** Drilldown (hub API 1.2): `pod:NS/NAME`, `workload:NS/NAME` or `ip:ADDRESS`; the hub keeps that end's flows. */
  endpoint?: string;
  /** With `endpoint`: only the flows between the two. */
  peer?: string;
}

export interface ServiceMapParams extends TimeWindow, ClusterFilter {
  groupBy: MapGroupBy;
  namespace?: string;
}

export interface TimeseriesParams extends TimeWindow, ClusterFilter {
  metric: Metric;
  /** Sent as one comma-separated parameter; empty means all. */
  categories?: Category[];
  namespace?: string;
  workload?: string;
  groupBy?: SeriesGroupBy;
  limit?: number;
  /** Bucket width in milliseconds. */
  stepMs?: number;
}

export interface PolicyDraftsParams extends TimeWindow {
  namespace: string;
  workload?: string;
  /** Adds the namespace's `flowlens-default-deny` policy to the drafts. */
  defaultDeny?: boolean;
}

export interface PolicyCheckParams extends TimeWindow {
  namespace: string;
}

export type QueryParams = Record<string, string | number>;

/** A body for the hub: the text as sent and its media type. */
export interface HubBody {
  contentType: 'application/yaml' | 'application/json';
  text: string;
}

export interface HubRequest {
  path: string;
  params: QueryParams;
  /** Only POST requests carry one. */
  method?: 'GET' | 'POST';
  body?: HubBody;
}

/** Drops empty filters so the hub sees only what the user set. */
function compact(params: Record<string, string | number | undefined | null>): QueryParams {
  const out: QueryParams = {};
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') {
      out[key] = value;
    }
  }
  return out;
}

function timeWindow(w: TimeWindow): { from: number; to: number } {
  if (!Number.isFinite(w.from) || !Number.isFinite(w.to) || w.from > w.to) {
    throw new Error(`invalid time range: from=${w.from} to=${w.to}`);
  }
  return { from: Math.floor(w.from), to: Math.ceil(w.to) };
}

export function topContributorsRequest(p: TopContributorsParams): HubRequest {
  return {
    path: '/api/v1/top-contributors',
    params: compact({
      cluster: p.cluster,
      metric: p.metric,
      category: p.category,
      limit: p.limit,
      groupBy: p.groupBy,
      namespace: p.namespace,
      workload: p.workload,
      endpoint: p.endpoint,
      peer: p.peer,
      ...timeWindow(p),
    }),
  };
}

export function serviceMapRequest(p: ServiceMapParams): HubRequest {
  return {
    path: '/api/v1/service-map',
    params: compact({ cluster: p.cluster, groupBy: p.groupBy, namespace: p.namespace, ...timeWindow(p) }),
  };
}

export function timeseriesRequest(p: TimeseriesParams): HubRequest {
  return {
    path: '/api/v1/timeseries',
    params: compact({
      cluster: p.cluster,
      metric: p.metric,
      category: p.categories && p.categories.length > 0 ? p.categories.join(',') : undefined,
      namespace: p.namespace,
      workload: p.workload,
      groupBy: p.groupBy,
      step: p.stepMs,
      limit: p.limit,
      ...timeWindow(p),
    }),
  };
}

export const healthRequest = (): HubRequest => ({ path: '/api/v1/health', params: {} });
export const namespacesRequest = (cluster?: string): HubRequest => ({
  path: '/api/v1/namespaces',
  params: compact({ cluster }),
});
export const workloadsRequest = (namespace?: string, cluster?: string): HubRequest => ({
  path: '/api/v1/workloads',
  params: compact({ namespace, cluster }),
});
/** Hub API 1.4: the clusters with flows in the window. */
export const clustersRequest = (w: TimeWindow): HubRequest => ({ path: '/api/v1/clusters', params: timeWindow(w) });

/** A Kubernetes namespace name (RFC 1123 label): the policy API needs one, never "all". */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function policyNamespace(namespace: string | undefined): string {
  if (!namespace) {
    throw new Error('Choose a namespace: network policies are drafted and checked one namespace at a time');
  }
  if (!NAMESPACE_NAME.test(namespace)) {
    throw new Error(`"${namespace}" is not a Kubernetes namespace name`);
  }
  return namespace;
}

export function policyDraftsRequest(p: PolicyDraftsParams): HubRequest {
  return {
    path: '/api/v1/policy-drafts',
    params: compact({
      namespace: policyNamespace(p.namespace),
      workload: p.workload,
      defaultDeny: p.defaultDeny ? 'true' : undefined,
      ...timeWindow(p),
    }),
  };
}

/** GET: the cluster's current policies; with a body, POST: those objects instead (a draft, or default deny). */
export function policyCheckRequest(p: PolicyCheckParams, body?: HubBody): HubRequest {
  const params = compact({ namespace: policyNamespace(p.namespace), ...timeWindow(p) });
  if (!body) {
    return { path: '/api/v1/policy-check', params };
  }
  if (body.text.trim() === '') {
    throw new Error('No policies to check: the draft is empty');
  }
  return { path: '/api/v1/policy-check', params, method: 'POST', body };
}
