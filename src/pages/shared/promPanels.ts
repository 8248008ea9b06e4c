// Scene panels for Prometheus panel specs.
import { PanelBuilders, SceneQueryRunner, type VizPanel } from '@grafana/scenes';
import type { DataSourceRef } from '@grafana/schema';
import type { PanelSpec } from '../Overview/overviewQueries';
import { NO_AGENT_METRICS } from './pageText';

export function promTimeseriesPanel(spec: PanelSpec, datasource: DataSourceRef): VizPanel {
  return PanelBuilders.timeseries()
    .setTitle(spec.title)
    .setDescription(spec.description)
    .setUnit(spec.unit)
    .setNoValue(NO_AGENT_METRICS)
    .setData(
      new SceneQueryRunner({
        datasource,
        queries: spec.queries.map((q) => ({ ...q, datasource, range: true })),
      })
    )
    .build();
}
