// Naming one side of a conversation (workload, pod or IP) in URLs and matching it against hub rows.
import type { Endpoint, TopContributorRow } from '../datasource/hubTypes';
import type { EndpointRef } from '../datasource/types';

const SEP = '~';

/** A URL path segment for a drilldown: `workload~shop~cart`, `pod~shop~cart-5d9f`, `ip~10.0.0.7`. */
export function encodeEndpoint(ref: EndpointRef): string {
  const parts = ref.kind === 'ip' ? [ref.kind, ref.ip] : [ref.kind, ref.namespace ?? '', ref.name];
  // encodeURIComponent leaves "~" alone; escape it so a name can never split a segment.
  return parts.map((p) => encodeURIComponent(p).replace(/~/g, '%7E')).join(SEP);
}

export function decodeEndpoint(text: string): EndpointRef | undefined {
  const parts = text.split(SEP).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return undefined;
    }
  });
  const [kind, a, b] = parts;
  if (kind === 'ip' && parts.length === 2 && a) {
    return { kind, ip: a };
  }
  if ((kind === 'workload' || kind === 'pod') && parts.length === 3 && a !== undefined && b) {
    return { kind, namespace: a === '' ? null : a, name: b };
  }
  return undefined;
}

export function describeEndpoint(ref: EndpointRef): string {
  if (ref.kind === 'ip') {
    return ref.ip;
  }
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

export function matchesEndpoint(ep: Endpoint, ref: EndpointRef): boolean {
  switch (ref.kind) {
    case 'ip':
      return ep.ip === ref.ip;
    case 'workload':
      return ep.workload === ref.name && (ref.namespace === null || ep.namespace === ref.namespace);
    case 'pod':
      return ep.pod === ref.name && (ref.namespace === null || ep.namespace === ref.namespace);
  }
}

export type Direction = 'outbound' | 'inbound';

/**
 * Which way a row runs relative to `focus`: outbound when `focus` opened the connection (client),
 * inbound when it accepted it. Undefined when the row does not involve `focus` (or `peer`, if given).
 */
export function directionOf(row: TopContributorRow, focus: EndpointRef, peer?: EndpointRef): Direction | undefined {
  const out = matchesEndpoint(row.local, focus) && (!peer || matchesEndpoint(row.remote, peer));
  if (out) {
    return 'outbound';
  }
  const inb = matchesEndpoint(row.remote, focus) && (!peer || matchesEndpoint(row.local, peer));
  return inb ? 'inbound' : undefined;
}

/** Rows between `focus` and `peer` (or all rows touching `focus`), both directions, each once. */
export function flowsOf(
  rows: TopContributorRow[],
  focus: EndpointRef,
  peer?: EndpointRef
): Array<{ row: TopContributorRow; direction: Direction }> {
  const out: Array<{ row: TopContributorRow; direction: Direction }> = [];
  for (const row of rows) {
    const direction = directionOf(row, focus, peer);
    if (direction) {
      out.push({ row, direction });
    }
  }
  return out;
}

/** The endpoint a service-map node stands for, in the map's view (workload or pod). */
export function endpointOfNode(
  node: {
    id: string;
    title: string;
    namespace: string | null;
    workload?: string | null;
    pod?: string | null;
    ip?: string | null;
  },
  view: 'workload' | 'pod'
): EndpointRef {
  const name = view === 'pod' ? (node.pod ?? node.title) : (node.workload ?? node.title);
  if (node.namespace === null && (node.ip || !name)) {
    return { kind: 'ip', ip: node.ip ?? node.title };
  }
  return { kind: view, namespace: node.namespace, name };
}

/** A drilldown end as the hub's `endpoint` / `peer` query parameter; undefined when the hub cannot match it. */
export function hubEndpointParam(ref: EndpointRef): string | undefined {
  if (ref.kind === 'ip') {
    return `ip:${ref.ip}`;
  }
  return ref.namespace ? `${ref.kind}:${ref.namespace}/${ref.name}` : undefined;
}

/**
 * The hub-side filter of a drilldown: the hub keeps exactly the flows of `focus` (between `focus` and `peer`
 * with a peer), whatever their rank, so none is lost behind a global top N. A name without a namespace (an
 * old link) cannot be matched by the hub; the rows are then filtered here only (flowsOf).
 */
export function drilldownFilter(focus: EndpointRef, peer?: EndpointRef): { endpoint?: string; peer?: string } {
  const e = hubEndpointParam(focus);
  const p = peer ? hubEndpointParam(peer) : undefined;
  if (e !== undefined) {
    return p !== undefined ? { endpoint: e, peer: p } : { endpoint: e };
  }
  return p !== undefined ? { endpoint: p } : {};
}
