// Scene panels for Prometheus panel specs.
import { PanelBuilders, SceneQueryRunner, type VizPanel } from '@grafana/scenes';
import type { DataSourceRef } from '@grafana/schema';
import type { PanelSpec } from '../Overview/overviewQueries';

/** What a Prometheus panel with no series means for Flowlens, and where to look. */
export const NO_AGENT_METRICS =
  'No agent metrics: Prometheus has no flowlens_* series here. Check that the Flowlens agents run and that Prometheus scrapes them (Status → Targets).';

export function promTimeseriesPanel(spec: PanelSpec, datasource: DataSourceRef): VizPanel {
  return (
    PanelBuilders.timeseries()
      .setTitle(spec.title)
      .setDescription(spec.description)
      .setUnit(spec.unit)
      // An empty panel says why instead of a bare "No data" (e.g. the compose cluster failed).
      .setNoValue(NO_AGENT_METRICS)
      .setData(
        new SceneQueryRunner({
          datasource,
          queries: spec.queries.map((q) => ({ ...q, datasource, range: true })),
        })
      )
      .build()
  );
}
