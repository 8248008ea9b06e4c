// Service map → flows drilldown URLs inside the app: /a/<app>/service-map/node/<endpoint> and
// /a/<app>/service-map/edge/<source>/<target>, carrying the time range the map was drawn for and the node's
// cluster (hub API 1.4: `var-cluster`, so the flows are that cluster's even when the map shows every cluster).
import { PLUGIN_BASE_URL, ROUTES } from '../constants';
import type { MapGroupBy, ServiceMapNode } from '../datasource/hubTypes';
import type { TimeWindow } from '../datasource/hubRequests';
import { encodeEndpoint, endpointOfNode } from './endpoints';

export const NODE_DRILLDOWN = 'node';
export const EDGE_DRILLDOWN = 'edge';

function timeQuery(range?: TimeWindow, cluster?: string): string {
  const params = [
    ...(range ? [`from=${Math.floor(range.from)}`, `to=${Math.ceil(range.to)}`] : []),
    ...(cluster ? [`var-cluster=${encodeURIComponent(cluster)}`] : []),
  ];
  return params.length > 0 ? `?${params.join('&')}` : '';
}

export function nodeDrilldownUrl(node: ServiceMapNode, view: MapGroupBy, range?: TimeWindow): string {
  return `${PLUGIN_BASE_URL}/${ROUTES.ServiceMap}/${NODE_DRILLDOWN}/${encodeEndpoint(endpointOfNode(node, view))}${timeQuery(range, node.cluster)}`;
}

export function edgeDrilldownUrl(
  source: ServiceMapNode,
  target: ServiceMapNode,
  view: MapGroupBy,
  range?: TimeWindow
): string {
  const a = encodeEndpoint(endpointOfNode(source, view));
  const b = encodeEndpoint(endpointOfNode(target, view));
  return `${PLUGIN_BASE_URL}/${ROUTES.ServiceMap}/${EDGE_DRILLDOWN}/${a}/${b}${timeQuery(range, source.cluster)}`;
}

export function serviceMapLinks(view: MapGroupBy, range?: TimeWindow) {
  return {
    nodeLink: (n: ServiceMapNode) => nodeDrilldownUrl(n, view, range),
    edgeLink: (s: ServiceMapNode, t: ServiceMapNode) => edgeDrilldownUrl(s, t, view, range),
  };
}
