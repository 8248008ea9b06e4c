// The app's own settings (jsonData of flowlens-netobs-app) and the datasources they select.
import type { DataSourceRef } from '@grafana/schema';
import { DEFAULT_FLOWS_UID, DEFAULT_PROMETHEUS_UID, FLOWS_DATASOURCE_TYPE } from '../constants';

export interface AppSettings {
  /** Prometheus datasource holding the agents' flowlens_* metrics. */
  prometheusDatasourceUid?: string;
  /** Flowlens flows datasource (the hub). */
  flowsDatasourceUid?: string;
}

export interface AppDatasources {
  prometheus: DataSourceRef;
  flows: DataSourceRef;
}

export function appDatasources(settings?: AppSettings | null): AppDatasources {
  return {
    prometheus: { type: 'prometheus', uid: settings?.prometheusDatasourceUid || DEFAULT_PROMETHEUS_UID },
    flows: { type: FLOWS_DATASOURCE_TYPE, uid: settings?.flowsDatasourceUid || DEFAULT_FLOWS_UID },
  };
}
