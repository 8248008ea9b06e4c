// Template-variable queries of the flows datasource: `clusters`, `namespaces`, `workloads` or
// `workloads(<namespace>)`.

export type VariableQuery = { kind: 'clusters' } | { kind: 'namespaces' } | { kind: 'workloads'; namespace?: string };

export function parseVariableQuery(text: string): VariableQuery {
  const q = text.trim();
  if (q === 'clusters' || q === 'clusters()') {
    return { kind: 'clusters' };
  }
  if (q === 'namespaces' || q === 'namespaces()') {
    return { kind: 'namespaces' };
  }
  const m = /^workloads(?:\(\s*([^)]*?)\s*\))?$/.exec(q);
  if (m) {
    return m[1] ? { kind: 'workloads', namespace: m[1] } : { kind: 'workloads' };
  }
  throw new Error(
    `Unknown Flowlens variable query "${text}": use clusters, namespaces, workloads or workloads(<namespace>)`
  );
}
