import { DataSourcePlugin } from '@grafana/data';
import { GrafanaFlowsDataSource } from './grafanaDataSource';
import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import type { FlowsJsonData, FlowsQuery, FlowsSecureJsonData } from './types';

export const plugin = new DataSourcePlugin<GrafanaFlowsDataSource, FlowsQuery, FlowsJsonData, FlowsSecureJsonData>(
  GrafanaFlowsDataSource
)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
