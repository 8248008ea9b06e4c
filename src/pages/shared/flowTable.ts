// A sortable table of flows from the flows datasource.
import { PanelBuilders, SceneQueryRunner, type VizPanel } from '@grafana/scenes';
import type { DataSourceRef } from '@grafana/schema';
import type { FlowsQuery } from '../../datasource/types';

export function flowTableRunner(flows: DataSourceRef, query: Omit<FlowsQuery, 'refId'>): SceneQueryRunner {
  return new SceneQueryRunner({
    datasource: flows,
    queries: [{ refId: 'A', datasource: flows, ...query }],
  });
}

export function flowTablePanel(title: string, description: string, runner: SceneQueryRunner): VizPanel {
  return PanelBuilders.table()
    .setTitle(title)
    .setDescription(description)
    .setData(runner)
    .setOption('sortBy', [{ displayName: 'Data transferred', desc: true }])
    .setOption('showHeader', true)
    .setNoValue('No flows in this time range')
    .build();
}
