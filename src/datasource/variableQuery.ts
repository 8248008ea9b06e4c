// Template-variable queries of the flows datasource: `clusters`, `namespaces`, `namespaces(<cluster>)`, `workloads`,
// `workloads(<namespace>)` or `workloads(<namespace>, <cluster>)`. An empty or `*` (All) argument is no filter, so
// `namespaces($cluster)` lists the chosen cluster's namespaces and every cluster's when Cluster is All.
import { ALL_SENTINEL } from './filterValue';

export type VariableQuery =
  | { kind: 'clusters' }
  | { kind: 'namespaces'; cluster?: string }
  | { kind: 'workloads'; namespace?: string; cluster?: string };

const USAGE = 'use clusters, namespaces, namespaces(<cluster>), workloads, workloads(<namespace>[, <cluster>])';

/** An argument as a filter: absent, empty and All mean none. */
function filter(arg: string | undefined): string | undefined {
  const v = arg?.trim();
  return v === undefined || v === '' || v === ALL_SENTINEL ? undefined : v;
}

export function parseVariableQuery(text: string): VariableQuery {
  const q = text.trim();
  if (q === 'clusters' || q === 'clusters()') {
    return { kind: 'clusters' };
  }
  const m = /^(namespaces|workloads)(?:\(([^)]*)\))?$/.exec(q);
  if (!m) {
    throw new Error(`Unknown Flowlens variable query "${text}": ${USAGE}`);
  }
  const args = m[2] === undefined ? [] : m[2].split(',');
  if (m[1] === 'namespaces') {
    if (args.length > 1) {
      throw new Error(`Flowlens variable query "${text}": namespaces takes one argument, the cluster; ${USAGE}`);
    }
    const cluster = filter(args[0]);
    return cluster ? { kind: 'namespaces', cluster } : { kind: 'namespaces' };
  }
  if (args.length > 2) {
    throw new Error(`Flowlens variable query "${text}": workloads takes a namespace and a cluster; ${USAGE}`);
  }
  const [namespace, cluster] = [filter(args[0]), filter(args[1])];
  return { kind: 'workloads', ...(namespace ? { namespace } : {}), ...(cluster ? { cluster } : {}) };
}
