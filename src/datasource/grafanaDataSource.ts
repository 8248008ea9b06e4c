// The datasource as Grafana constructs it: the core class bound to Grafana's own services.
import type { DataSourceInstanceSettings } from '@grafana/data';
import { getBackendSrv, getTemplateSrv } from '@grafana/runtime';
import { FlowsDataSource } from './datasource';
import type { FlowsJsonData } from './types';

export class GrafanaFlowsDataSource extends FlowsDataSource {
  constructor(instanceSettings: DataSourceInstanceSettings<FlowsJsonData>) {
    super(instanceSettings, {
      fetch: (request) => getBackendSrv().fetch(request),
      interpolate: (text, scopedVars, format) => getTemplateSrv().replace(text, scopedVars, format),
    });
  }
}
