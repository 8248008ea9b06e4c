// The hub's query API v1 as the datasource sees it (DESIGN.md "The hub"; docs/openapi.yaml).
// Field names are the hub's; rows and edges are oriented client → server.

export const CATEGORIES = ['INTRA_AZ', 'INTER_AZ', 'AMAZON_S3', 'AMAZON_DYNAMODB', 'UNCLASSIFIED'] as const;
export type Category = (typeof CATEGORIES)[number];

export const METRICS = ['bytes', 'retransmits', 'rtos', 'rtt'] as const;
export type Metric = (typeof METRICS)[number];

export const GROUP_BYS = ['pod', 'workload', 'namespace'] as const;
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

export interface TopContributorRow {
  category: Category;
  /** The side that opened the connection (client). */
  local: Endpoint;
  /** The side that accepted it (server). */
  remote: RemoteEndpoint;
  value: number;
  bytes: number;
  retransmits: number;
  rtos: number;
  rttUs: RttUs | null;
}

export interface TopContributorsResponse {
  rows: TopContributorRow[];
}

export interface ServiceMapNode {
  id: string;
  title: string;
  namespace: string | null;
  kind?: string | null;
  workload?: string | null;
  pod?: string | null;
  ip?: string | null;
  zone?: string | null;
}

export interface ServiceMapEdge {
  id: string;
  source: string;
  target: string;
  bytes: number;
  retransmits: number;
  rtos: number;
  rttUs: RttUs | null;
  /** Segments sent both ways, when the hub reports them: the denominator of the retransmission ratio. */
  segments?: number;
}

export interface ServiceMapResponse {
  nodes: ServiceMapNode[];
  edges: ServiceMapEdge[];
}

export interface TimeseriesPoint {
  /** Epoch milliseconds. */
  t: number;
  v: number;
}

export interface TimeseriesSeries {
  labels: Record<string, string | null>;
  points: TimeseriesPoint[];
}

export interface TimeseriesResponse {
  series: TimeseriesSeries[];
}

export interface HealthResponse {
  status: string;
  [key: string]: unknown;
}
