// Variables shared by pages.
import type { SelectableValue } from '@grafana/data';
import { CustomVariable, QueryVariable } from '@grafana/scenes';
import type { DataSourceRef } from '@grafana/schema';
import { MAP_VIEW_OPTIONS, METRIC_OPTIONS } from '../../datasource/queryOptions';

const CLUSTER_VARIABLE = 'cluster';

/** Namespaces known to Prometheus; All means the regex `.*`. */
export function promNamespaceVariable(prometheus: DataSourceRef) {
  return new QueryVariable({
    name: 'namespace',
    label: 'Namespace',
    datasource: prometheus,
    query: { query: 'label_values(flowlens_pod_ingress_bytes_total, namespace)', refId: 'namespace' },
    includeAll: true,
    allValue: '.*',
    defaultToAll: true,
  });
}

/**
 * Namespaces known to the hub; All (`*`) means no namespace filter. Pages that work on one namespace at a time
 * (Policies) pass `includeAll: false`: the first namespace is then selected. Pages with the Cluster variable pass
 * `byCluster`: the list is the chosen cluster's namespaces (hub API 1.4 `namespaces?cluster=`; every cluster's when
 * Cluster is All), and it is listed again whenever Cluster changes (the query names `$cluster`).
 */
export function flowsNamespaceVariable(
  flows: DataSourceRef,
  { includeAll = true, byCluster = false }: { includeAll?: boolean; byCluster?: boolean } = {}
) {
  return new QueryVariable({
    name: 'namespace',
    label: 'Namespace',
    datasource: flows,
    query: byCluster ? `namespaces($${CLUSTER_VARIABLE})` : 'namespaces',
    includeAll,
    ...(includeAll ? { allValue: '*', defaultToAll: true } : {}),
  });
}

/** Clusters with flows in the time range (hub API 1.4); All (`*`) means every cluster. */
export function clusterVariable(flows: DataSourceRef) {
  return new QueryVariable({
    name: CLUSTER_VARIABLE,
    label: 'Cluster',
    datasource: flows,
    query: 'clusters',
    includeAll: true,
    allValue: '*',
    defaultToAll: true,
  });
}

/** A custom variable offering the query editor's choices (same words, same values), the first one selected. */
function choicesVariable(name: string, label: string, options: Array<SelectableValue<string>>) {
  const [first] = options;
  return new CustomVariable({
    name,
    label,
    query: options.map((o) => `${o.label} : ${o.value}`).join(', '),
    value: first?.value ?? '',
    text: first?.label ?? '',
  });
}

export const metricVariable = () => choicesVariable('metric', 'Rank by', METRIC_OPTIONS);

export const mapViewVariable = () => choicesVariable('view', 'View', MAP_VIEW_OPTIONS);
