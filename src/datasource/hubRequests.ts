// Pure builders for the hub's query API v1 paths and query strings.
import type { Category, GroupBy, MapGroupBy, Metric, SeriesGroupBy } from './hubTypes';

/** The data-proxy route declared in src/datasource/plugin.json: `${instanceSettings.url}/hub/...` reaches the hub. */
export const HUB_ROUTE_PATH = 'hub';

export interface TimeWindow {
  /** Epoch milliseconds. */
  from: number;
  to: number;
}

export interface TopContributorsParams extends TimeWindow {
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

export interface ServiceMapParams extends TimeWindow {
  groupBy: MapGroupBy;
  namespace?: string;
}

export interface TimeseriesParams extends TimeWindow {
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

export type QueryParams = Record<string, string | number>;

export interface HubRequest {
  path: string;
  params: QueryParams;
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
    params: compact({ groupBy: p.groupBy, namespace: p.namespace, ...timeWindow(p) }),
  };
}

export function timeseriesRequest(p: TimeseriesParams): HubRequest {
  return {
    path: '/api/v1/timeseries',
    params: compact({
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
export const namespacesRequest = (): HubRequest => ({ path: '/api/v1/namespaces', params: {} });
export const workloadsRequest = (namespace?: string): HubRequest => ({
  path: '/api/v1/workloads',
  params: compact({ namespace }),
});
