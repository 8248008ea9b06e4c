/**
 * Grafana's Node Graph field contract (the panel in Grafana core, public/app/plugins/panel/nodeGraph; docs
 * "Node graph panel → Data API"), as checks on the frames a panel receives. The app shell's Node Graph stand-in
 * runs them and shows what it found; an empty list means Grafana's panel would draw these frames.
 *
 * nodes frame: `id` (string, unique), optional `title`, `subtitle`, `mainstat`, `secondarystat`, `arc__*`
 * (numbers in [0, 1] summing to 1 per node), `color`; edges frame: `id` (unique), `source` and `target`
 * (ids of nodes), optional `mainstat`, `secondarystat`, `thickness` (number), `color`; both frames with
 * `meta.preferredVisualisationType: 'nodeGraph'`. Other fields are allowed (Grafana shows them as details).
 */
import { FieldType, type DataFrame, type Field } from '@grafana/data';

const NODE_OPTIONAL_NUMBER = ['mainstat', 'secondarystat'];
const NODE_OPTIONAL_STRING = ['title', 'subtitle'];
const EDGE_OPTIONAL_NUMBER = ['mainstat', 'secondarystat', 'thickness'];

export interface NodeGraphFrames {
  nodes?: DataFrame;
  edges?: DataFrame;
}

const fieldNamed = (frame: DataFrame, name: string): Field | undefined =>
  frame.fields.find((f) => f.name.toLowerCase() === name);

/** Which frame is which, as Grafana's processNodes tells them apart (edges have source and target). */
export function splitNodeGraphFrames(frames: DataFrame[]): NodeGraphFrames {
  const graph = frames.filter((f) => f.meta?.preferredVisualisationType === 'nodeGraph');
  return {
    edges: graph.find((f) => fieldNamed(f, 'source') && fieldNamed(f, 'target')),
    nodes: graph.find((f) => fieldNamed(f, 'id') && !fieldNamed(f, 'source')),
  };
}

function checkType(frame: DataFrame, name: string, type: FieldType, what: string, out: string[]): void {
  const f = fieldNamed(frame, name);
  if (f && f.type !== type) {
    out.push(`${what}.${name} is ${f.type}, not ${type}`);
  }
}

function uniqueStrings(field: Field | undefined, what: string, out: string[]): Set<string> {
  const ids = new Set<string>();
  if (!field) {
    out.push(`${what} has no id field`);
    return ids;
  }
  for (const v of field.values) {
    if (typeof v !== 'string' || v === '') {
      out.push(`${what}.id holds ${JSON.stringify(v)}`);
    } else if (ids.has(v)) {
      out.push(`${what}.id ${v} repeats`);
    }
    ids.add(String(v));
  }
  return ids;
}

/** Every way `frames` break the contract; [] when they keep it. */
export function nodeGraphViolations(frames: DataFrame[]): string[] {
  const out: string[] = [];
  const other = frames.filter((f) => f.meta?.preferredVisualisationType !== 'nodeGraph');
  if (other.length > 0) {
    out.push(`${other.length} frame(s) without preferredVisualisationType nodeGraph`);
  }
  const { nodes, edges } = splitNodeGraphFrames(frames);
  if (!nodes) {
    out.push('no nodes frame');
  }
  if (!edges) {
    out.push('no edges frame');
  }
  if (!nodes || !edges) {
    return out;
  }
  const ids = uniqueStrings(fieldNamed(nodes, 'id'), 'nodes', out);
  NODE_OPTIONAL_STRING.forEach((n) => checkType(nodes, n, FieldType.string, 'nodes', out));
  NODE_OPTIONAL_NUMBER.forEach((n) => checkType(nodes, n, FieldType.number, 'nodes', out));
  checkType(nodes, 'color', FieldType.string, 'nodes', out);
  const arcs = nodes.fields.filter((f) => f.name.startsWith('arc__'));
  arcs.forEach((f) => checkType(nodes, f.name, FieldType.number, 'nodes', out));
  for (let i = 0; i < nodes.length && arcs.length > 0; i++) {
    const values = arcs.map((f) => f.values[i] as number);
    if (values.some((v) => !(v >= 0 && v <= 1))) {
      out.push(`nodes row ${i}: an arc outside [0, 1] (${values.join(', ')})`);
    }
    const sum = values.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-6) {
      out.push(`nodes row ${i}: arcs sum to ${sum}, not 1`);
    }
  }
  uniqueStrings(fieldNamed(edges, 'id'), 'edges', out);
  for (const end of ['source', 'target']) {
    const f = fieldNamed(edges, end);
    if (!f) {
      out.push(`edges has no ${end} field`);
      continue;
    }
    f.values.forEach((v, i) => {
      if (!ids.has(String(v))) {
        out.push(`edges row ${i}: ${end} ${JSON.stringify(v)} is no node`);
      }
    });
  }
  EDGE_OPTIONAL_NUMBER.forEach((n) => checkType(edges, n, FieldType.number, 'edges', out));
  checkType(edges, 'color', FieldType.string, 'edges', out);
  return out;
}
