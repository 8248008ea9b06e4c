// Variables shared by pages.
import { CustomVariable, QueryVariable } from '@grafana/scenes';
import type { DataSourceRef } from '@grafana/schema';

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

/** Namespaces known to the hub; All (`*`) means no namespace filter. */
export function flowsNamespaceVariable(flows: DataSourceRef) {
  return new QueryVariable({
    name: 'namespace',
    label: 'Namespace',
    datasource: flows,
    query: 'namespaces',
    includeAll: true,
    allValue: '*',
    defaultToAll: true,
  });
}

export function metricVariable() {
  return new CustomVariable({
    name: 'metric',
    label: 'Rank by',
    query: 'Bytes : bytes, Retransmits : retransmits, RTOs : rtos, RTT : rtt',
    value: 'bytes',
    text: 'Bytes',
  });
}

export function mapViewVariable() {
  return new CustomVariable({
    name: 'view',
    label: 'View',
    query: 'Workloads : workload, Pods : pod',
    value: 'workload',
    text: 'Workloads',
  });
}
