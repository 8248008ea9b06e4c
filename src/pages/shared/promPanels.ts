// Scene panels for Prometheus panel specs.
import { PanelBuilders, SceneQueryRunner, type VizPanel } from '@grafana/scenes';
import type { DataSourceRef } from '@grafana/schema';
import type { PanelSpec } from '../Overview/overviewQueries';

/** What an empty agent-metrics panel says: the usual cause is a Prometheus that does not scrape the agents. */
export const NO_AGENT_METRICS =
  'No flowlens_* metrics in this range. Check that Prometheus scrapes the node agents (OPEN_METRICS=on, port 9109) and that the app points at that Prometheus.';

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
