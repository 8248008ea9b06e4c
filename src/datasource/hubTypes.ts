// The hub's query API v1 as the datasource sees it (DESIGN.md "The hub"; docs/openapi.yaml).
// Field names are the hub's; rows and edges are oriented client → server.

export const CATEGORIES = ['INTRA_AZ', 'INTER_AZ', 'AMAZON_S3', 'AMAZON_DYNAMODB', 'UNCLASSIFIED'] as const;
export type Category = (typeof CATEGORIES)[number];

/** `failures` (hub API 1.3): failed connects + resets + dropped packets, failing flows first. */
export const METRICS = ['bytes', 'retransmits', 'rtos', 'rtt', 'failures'] as const;
export type Metric = (typeof METRICS)[number];

/** `flow`: one row per (client, server, server port); the others sum flows per pod / workload / namespace pair. */
export const GROUP_BYS = ['flow', 'pod', 'workload', 'namespace'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

export const MAP_GROUP_BYS = ['workload', 'pod'] as const;
export type MapGroupBy = (typeof MAP_GROUP_BYS)[number];

/** Round-trip time in microseconds over the flows of a row or edge; null when no sample was taken. */
export interface RttUs {
  min: number;
  avg: number;
  max: number;
}

export interface Endpoint {
  ip: string | null;
  pod: string | null;
  namespace: string | null;
  workload: string | null;
  kind: string | null;
  node: string | null;
  zone: string | null;
}

export interface RemoteEndpoint extends Endpoint {
  service: string | null;
}

/**
 * Why connections and packets failed (hub API 1.3, report contract 1.2), merged per flow by the hub and summed
 * over grouped rows and edges. Absent from older hubs. Connect counts are the client's; `resets` is both
 * directions (`resetsFromClient` + `resetsFromServer`, a reset both ends saw counted once); `drops` counts
 * packets either end's kernel dropped, `dropsByReason` the same by the kernel's drop reason.
 */
export interface FailureCounts {
  connectAttempts?: number;
  connectFailures?: number;
  connectRefused?: number;
  synRetransmits?: number;
  resetsFromClient?: number;
  resetsFromServer?: number;
  resets?: number;
  drops?: number;
  dropsByReason?: Record<string, number>;
  /** connectFailures + resets + drops: the value `metric=failures` ranks by. */
  failures?: number;
}

export interface TopContributorRow extends FailureCounts {
  /** The cluster of the row's flows (hub API 1.4); absent from older hubs. */
  cluster?: string;
  category: Category;
  /** The side that opened the connection (client). */
  local: Endpoint;
  /** The side that accepted it (server). */
  remote: RemoteEndpoint;
  /** Server port of the flow (groupBy=flow), null when rows are aggregated. */
  serverPort?: number | null;
  value: number;
  bytes: number;
  retransmits: number;
  rtos: number;
  /** Average smoothed RTT in µs (the hub's form), or min/avg/max; null without a sample. */
  rttUs: number | RttUs | null;
  /** The largest RTT sample in µs (hub API 1.2); absent from older hubs. */
  rttMaxUs?: number | null;
  /** Data segments sent by both ends (hub API 1.1); absent from older hubs, null where the hub has no count. */
  segments?: number | null;
}

export interface TopContributorsResponse {
  rows: TopContributorRow[];
}

export interface ServiceMapNode {
  id: string;
  /** Hub API 1.4; absent from older hubs. */
  cluster?: string;
  title: string;
  subtitle?: string | null;
  namespace: string | null;
  kind?: string | null;
  category?: Category | null;
  bytes?: number;
  workload?: string | null;
  pod?: string | null;
  ip?: string | null;
  zone?: string | null;
}

export interface ServiceMapEdge extends FailureCounts {
  id: string;
  source: string;
  target: string;
  category?: Category;
  bytes: number;
  retransmits: number;
  rtos: number;
  rttUs: number | RttUs | null;
  /** The largest RTT sample in µs (hub API 1.2); absent from older hubs. */
  rttMaxUs?: number | null;
  /** The Service the edge's flows went through ("via orders"; hub API 1.2), null when none or several. */
  via?: string | null;
  /**
   * Data segments sent by both ends (hub API 1.1): the denominator of the retransmission ratio. Absent from
   * older hubs, null where the hub has no count for the range; the ratio then estimates segments from bytes.
   */
  segments?: number | null;
}

export interface ServiceMapResponse {
  nodes: ServiceMapNode[];
  edges: ServiceMapEdge[];
}

export interface TimeseriesSeries {
  name: string;
  /** [epoch ms, value] pairs. */
  points: Array<[number, number]>;
}

export interface TimeseriesResponse {
  series: TimeseriesSeries[];
}

export const SERIES_GROUP_BYS = ['total', 'category', 'namespace', 'workload'] as const;
export type SeriesGroupBy = (typeof SERIES_GROUP_BYS)[number];

export interface HealthResponse {
  status: string;
  [key: string]: unknown;
}

/** The average of an RTT in either of the hub's forms. */
export function rttAvg(rtt: number | RttUs | null | undefined): number | null {
  if (rtt === null || rtt === undefined) {
    return null;
  }
  return typeof rtt === 'number' ? rtt : rtt.avg;
}

export function rttMax(rtt: number | RttUs | null | undefined): number | null {
  if (rtt === null || rtt === undefined) {
    return null;
  }
  return typeof rtt === 'number' ? rtt : rtt.max;
}

export function rttMin(rtt: number | RttUs | null | undefined): number | null {
  if (rtt === null || rtt === undefined) {
    return null;
  }
  return typeof rtt === 'number' ? rtt : rtt.min;
}
