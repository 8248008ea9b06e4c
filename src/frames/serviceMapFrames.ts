// Hub service map → the Node Graph panel's nodes and edges frames.
// Edges repeated between the same source and target are merged first, so a pod-level map
// aggregated to workloads by the hub (or not) always yields one edge per pair.
import {
  FieldType,
  NodeGraphDataFrameFieldNames as F,
  createDataFrame,
  type DataFrame,
  type DataLink,
  type FieldDTO,
} from '@grafana/data';
import {
  rttAvg,
  rttMax,
  rttMin,
  type RttUs,
  type ServiceMapEdge,
  type ServiceMapNode,
  type ServiceMapResponse,
} from '../datasource/hubTypes';
import { HEALTH_COLORS, edgeThickness, hasSegmentCount, healthColor, retransmitRatio } from './health';
import { dropReasonsText } from './topTalkersFrame';
import { UNITS } from './units';

/** An edge whose connections failed (failed connects, resets or drops; hub API 1.3) is drawn in this colour. */
export const FAILING_EDGE_COLOR = HEALTH_COLORS.lossy;

export interface ServiceMapFramesOptions {
  refId?: string;
  /** Drilldown URL for a node; becomes a hidden `drilldown` field and a "Show flows" link. */
  nodeLink?: (node: ServiceMapNode) => string;
  /** Drilldown URL for an edge between two nodes. */
  edgeLink?: (source: ServiceMapNode, target: ServiceMapNode) => string;
}

interface MergedEdge {
  id: string;
  source: string;
  target: string;
  bytes: number;
  retransmits: number;
  rtos: number;
  /** Sum of the hub's counts; null as soon as one merged edge came without one (then the ratio is estimated). */
  segments: number | null;
  rttMin: number;
  rttMax: number;
  /** Sum of avg·bytes, for a byte-weighted average RTT across merged edges. */
  rttWeighted: number;
  rttWeight: number;
  rttSamples: number;
  /** Services the merged edges went through (hub API 1.2 `via`). */
  via: Set<string>;
  /** Why connections and packets failed (hub API 1.3), summed; 0 from older hubs. */
  connectFailures: number;
  resets: number;
  drops: number;
  dropsByReason: Record<string, number>;
  failures: number;
}

interface NodeTotals {
  bytes: number;
  lossyBytes: number;
  retransmits: number;
  rtos: number;
  segments: number | null;
}

const noTraffic = (): NodeTotals => ({ bytes: 0, lossyBytes: 0, retransmits: 0, rtos: 0, segments: 0 });

const DRILLDOWN_LINK: DataLink[] = [{ title: 'Show flows (both directions)', url: '${__data.fields.drilldown}' }];

function addRtt(e: MergedEdge, rtt: number | RttUs | null, bytes: number, maxUs?: number | null): void {
  const avg = rttAvg(rtt);
  if (avg === null) {
    return;
  }
  e.rttMin = Math.min(e.rttMin, rttMin(rtt) ?? avg);
  e.rttMax = Math.max(e.rttMax, maxUs ?? rttMax(rtt) ?? avg);
  const w = bytes > 0 ? bytes : 1;
  e.rttWeighted += avg * w;
  e.rttWeight += w;
  e.rttSamples += 1;
}

/** A running segment sum that stays exact: one part without a count makes the whole unknown (null). */
function addSegments(sum: number | null, part: { segments?: number | null }): number | null {
  return sum !== null && hasSegmentCount(part) ? sum + part.segments : null;
}

export function mergeEdges(edges: ServiceMapEdge[]): MergedEdge[] {
  const byPair = new Map<string, MergedEdge>();
  for (const edge of edges) {
    const key = `${edge.source}\u0000${edge.target}`;
    let m = byPair.get(key);
    if (!m) {
      m = {
        id: edge.id,
        source: edge.source,
        target: edge.target,
        bytes: 0,
        retransmits: 0,
        rtos: 0,
        segments: 0,
        rttMin: Infinity,
        rttMax: -Infinity,
        rttWeighted: 0,
        rttWeight: 0,
        rttSamples: 0,
        via: new Set(),
        connectFailures: 0,
        resets: 0,
        drops: 0,
        dropsByReason: {},
        failures: 0,
      };
      byPair.set(key, m);
    }
    m.connectFailures += edge.connectFailures ?? 0;
    m.resets += edge.resets ?? 0;
    m.drops += edge.drops ?? 0;
    for (const [reason, n] of Object.entries(edge.dropsByReason ?? {})) {
      m.dropsByReason[reason] = (m.dropsByReason[reason] ?? 0) + n;
    }
    m.failures += edge.failures ?? (edge.connectFailures ?? 0) + (edge.resets ?? 0) + (edge.drops ?? 0);
    m.bytes += edge.bytes;
    m.retransmits += edge.retransmits;
    m.rtos += edge.rtos;
    m.segments = addSegments(m.segments, edge);
    addRtt(m, edge.rttUs, edge.bytes, edge.rttMaxUs);
    if (edge.via) {
      m.via.add(edge.via);
    }
  }
  return [...byPair.values()];
}

function placeholderNode(id: string): ServiceMapNode {
  return { id, title: id, namespace: null, kind: null };
}

export function buildServiceMapFrames(
  map: ServiceMapResponse,
  opts: ServiceMapFramesOptions = {}
): [DataFrame, DataFrame] {
  const edges = mergeEdges(map.edges);
  const nodes = new Map<string, ServiceMapNode>();
  for (const n of map.nodes) {
    nodes.set(n.id, n);
  }
  const totals = new Map<string, NodeTotals>();
  const totalsOf = (id: string): NodeTotals => {
    let t = totals.get(id);
    if (!t) {
      t = noTraffic();
      totals.set(id, t);
    }
    if (!nodes.has(id)) {
      nodes.set(id, placeholderNode(id));
    }
    return t;
  };
  let maxBytes = 0;
  for (const e of edges) {
    maxBytes = Math.max(maxBytes, e.bytes);
    const lossy = e.retransmits + e.rtos > 0;
    for (const id of e.source === e.target ? [e.source] : [e.source, e.target]) {
      const t = totalsOf(id);
      t.bytes += e.bytes;
      t.retransmits += e.retransmits;
      t.rtos += e.rtos;
      t.segments = addSegments(t.segments, e);
      if (lossy) {
        t.lossyBytes += e.bytes;
      }
    }
  }

  const nodeList = [...nodes.values()];
  const manyClusters = new Set(nodeList.map((n) => n.cluster).filter((c) => c !== undefined)).size > 1;
  const nodeTotals = nodeList.map((n) => totals.get(n.id) ?? noTraffic());
  const lossyShare = nodeTotals.map((t) => (t.bytes > 0 ? t.lossyBytes / t.bytes : t.retransmits + t.rtos > 0 ? 1 : 0));
  const nodeRatios = nodeTotals.map((t) => retransmitRatio(t));

  const nodeFields: FieldDTO[] = [
    {
      name: F.id,
      type: FieldType.string,
      values: nodeList.map((n) => n.id),
      config: opts.nodeLink ? { links: DRILLDOWN_LINK } : {},
    },
    { name: F.title, type: FieldType.string, values: nodeList.map((n) => n.title), config: {} },
    {
      name: F.subTitle,
      type: FieldType.string,
      values: nodeList.map((n) => subtitleOf(n, manyClusters)),
      config: {},
    },
    {
      name: F.mainStat,
      type: FieldType.number,
      values: nodeTotals.map((t) => t.bytes),
      config: { displayName: 'Data transferred', unit: UNITS.bytes },
    },
    {
      name: F.secondaryStat,
      type: FieldType.number,
      values: nodeTotals.map((t) => t.retransmits),
      config: { displayName: 'Retransmits', unit: UNITS.count },
    },
    {
      name: `${F.arc}healthy`,
      type: FieldType.number,
      values: lossyShare.map((s) => 1 - s),
      config: {
        displayName: 'Bytes on loss-free links',
        unit: UNITS.ratio,
        color: { mode: 'fixed', fixedColor: HEALTH_COLORS.healthy },
      },
    },
    {
      name: `${F.arc}lossy`,
      type: FieldType.number,
      values: lossyShare,
      config: {
        displayName: 'Bytes on links with retransmits',
        unit: UNITS.ratio,
        color: { mode: 'fixed', fixedColor: HEALTH_COLORS.lossy },
      },
    },
    {
      name: F.color,
      type: FieldType.string,
      values: nodeList.map((_, i) => healthColor(nodeRatios[i] ?? 0, nodeTotals[i]?.bytes ?? 0)),
      config: {},
    },
    {
      name: `${F.detail}rtos`,
      type: FieldType.number,
      values: nodeTotals.map((t) => t.rtos),
      config: { displayName: 'Retransmission timeouts', unit: UNITS.count },
    },
    {
      name: `${F.detail}retransmit_ratio`,
      type: FieldType.number,
      values: nodeRatios,
      config: { displayName: 'Retransmitted segments', unit: UNITS.ratio, decimals: 3 },
    },
  ];
  if (nodeList.some((n) => n.cluster !== undefined)) {
    nodeFields.push({
      name: `${F.detail}cluster`,
      type: FieldType.string,
      values: nodeList.map((n) => n.cluster ?? ''),
      config: { displayName: 'Cluster' },
    });
  }
  if (opts.nodeLink) {
    const link = opts.nodeLink;
    nodeFields.push({ name: 'drilldown', type: FieldType.string, values: nodeList.map((n) => link(n)), config: {} });
  }

  const edgeRatios = edges.map((e) => retransmitRatio(e));
  const edgeFields: FieldDTO[] = [
    {
      name: F.id,
      type: FieldType.string,
      values: edges.map((e) => e.id),
      config: opts.edgeLink ? { links: DRILLDOWN_LINK } : {},
    },
    { name: F.source, type: FieldType.string, values: edges.map((e) => e.source), config: {} },
    { name: F.target, type: FieldType.string, values: edges.map((e) => e.target), config: {} },
    {
      name: F.mainStat,
      type: FieldType.number,
      values: edges.map((e) => e.bytes),
      config: { displayName: 'Data transferred', unit: UNITS.bytes },
    },
    {
      name: F.secondaryStat,
      type: FieldType.number,
      values: edgeRatios,
      config: { displayName: 'Retransmitted segments', unit: UNITS.ratio, decimals: 3 },
    },
    {
      name: F.thickness,
      type: FieldType.number,
      values: edges.map((e) => edgeThickness(e.bytes, maxBytes)),
      config: { unit: 'px' },
    },
    {
      name: F.color,
      type: FieldType.string,
      // Failing connections colour an edge whatever its retransmission ratio.
      values: edges.map((e, i) => (e.failures > 0 ? FAILING_EDGE_COLOR : healthColor(edgeRatios[i] ?? 0, e.bytes))),
      config: {},
    },
    {
      name: `${F.detail}connect_failures`,
      type: FieldType.number,
      values: edges.map((e) => e.connectFailures),
      config: { displayName: 'Failed connects', unit: UNITS.count },
    },
    {
      name: `${F.detail}resets`,
      type: FieldType.number,
      values: edges.map((e) => e.resets),
      config: { displayName: 'Resets', unit: UNITS.count },
    },
    {
      name: `${F.detail}drops`,
      type: FieldType.number,
      values: edges.map((e) => e.drops),
      config: { displayName: 'Packets dropped', unit: UNITS.count },
    },
    {
      name: `${F.detail}drop_reasons`,
      type: FieldType.string,
      values: edges.map((e) => dropReasonsText(e.dropsByReason) ?? ''),
      config: { displayName: 'Drop reasons' },
    },
    {
      name: `${F.detail}retransmits`,
      type: FieldType.number,
      values: edges.map((e) => e.retransmits),
      config: { displayName: 'Retransmits', unit: UNITS.count },
    },
    {
      name: `${F.detail}rtos`,
      type: FieldType.number,
      values: edges.map((e) => e.rtos),
      config: { displayName: 'Retransmission timeouts', unit: UNITS.count },
    },
    {
      name: `${F.detail}segments`,
      type: FieldType.number,
      values: edges.map((e) => e.segments),
      config: { displayName: 'Segments sent (both ends)', unit: UNITS.count },
    },
    {
      name: `${F.detail}via`,
      type: FieldType.string,
      values: edges.map((e) => (e.via.size > 0 ? `via ${[...e.via].sort().join(', ')}` : '')),
      config: { displayName: 'Service' },
    },
    {
      name: `${F.detail}rtt_avg`,
      type: FieldType.number,
      values: edges.map((e) => (e.rttSamples > 0 ? e.rttWeighted / e.rttWeight : null)),
      config: { displayName: 'RTT avg', unit: UNITS.rttUs },
    },
    {
      name: `${F.detail}rtt_max`,
      type: FieldType.number,
      values: edges.map((e) => (e.rttSamples > 0 ? e.rttMax : null)),
      config: { displayName: 'RTT max', unit: UNITS.rttUs },
    },
  ];
  if (opts.edgeLink) {
    const link = opts.edgeLink;
    edgeFields.push({
      name: 'drilldown',
      type: FieldType.string,
      values: edges.map((e) =>
        link(nodes.get(e.source) ?? placeholderNode(e.source), nodes.get(e.target) ?? placeholderNode(e.target))
      ),
      config: {},
    });
  }

  const meta = { preferredVisualisationType: 'nodeGraph' as const };
  return [
    createDataFrame({ refId: opts.refId, name: 'nodes', fields: nodeFields, meta }),
    createDataFrame({ refId: opts.refId, name: 'edges', fields: edgeFields, meta }),
  ];
}

/**
 * A node's subtitle: the hub's (namespace, or what an address is), else namespace and kind. When the map shows
 * more than one cluster it starts with the node's cluster, since two clusters' pods may share a name and an address
 * and would otherwise look the same.
 */
export function subtitleOf(n: ServiceMapNode, withCluster = false): string {
  const own = n.subtitle
    ? n.subtitle
    : [n.namespace, n.kind].filter((s): s is string => typeof s === 'string' && s !== '').join(' · ');
  return withCluster && n.cluster ? [n.cluster, own].filter((s) => s !== '').join(' · ') : own;
}
