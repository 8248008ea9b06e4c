// Service map → flows drilldown URLs inside the app: /a/<app>/service-map/node/<endpoint> and
// /a/<app>/service-map/edge/<source>/<target>, carrying the time range the map was drawn for.
import { PLUGIN_BASE_URL, ROUTES } from '../constants';
import type { MapGroupBy, ServiceMapNode } from '../datasource/hubTypes';
import type { TimeWindow } from '../datasource/hubRequests';
import { encodeEndpoint, endpointOfNode } from './endpoints';

export const NODE_DRILLDOWN = 'node';
export const EDGE_DRILLDOWN = 'edge';

function timeQuery(range?: TimeWindow): string {
  return range ? `?from=${Math.floor(range.from)}&to=${Math.ceil(range.to)}` : '';
}

export function nodeDrilldownUrl(node: ServiceMapNode, view: MapGroupBy, range?: TimeWindow): string {
  return `${PLUGIN_BASE_URL}/${ROUTES.ServiceMap}/${NODE_DRILLDOWN}/${encodeEndpoint(endpointOfNode(node, view))}${timeQuery(range)}`;
}

export function edgeDrilldownUrl(
  source: ServiceMapNode,
  target: ServiceMapNode,
  view: MapGroupBy,
  range?: TimeWindow
): string {
  const a = encodeEndpoint(endpointOfNode(source, view));
  const b = encodeEndpoint(endpointOfNode(target, view));
  return `${PLUGIN_BASE_URL}/${ROUTES.ServiceMap}/${EDGE_DRILLDOWN}/${a}/${b}${timeQuery(range)}`;
}

export function serviceMapLinks(view: MapGroupBy, range?: TimeWindow) {
  return {
    nodeLink: (n: ServiceMapNode) => nodeDrilldownUrl(n, view, range),
    edgeLink: (s: ServiceMapNode, t: ServiceMapNode) => edgeDrilldownUrl(s, t, view, range),
  };
}
