import {
  PanelBuilders,
  QueryVariable,
  SceneDataTransformer,
  SceneFlexItem,
  SceneFlexLayout,
  SceneQueryRunner,
} from '@grafana/scenes';
import type { DataSourceRef } from '@grafana/schema';
import type { AppDatasources } from '../../app/settings';
import { pageScene } from '../shared/pageScene';
import { CONNTRACK_AVAILABLE, ENA_RATE_QUERIES, NODE_TABLE_QUERIES, NODE_VARIABLE_QUERY } from './nodesQueries';

function nodeVariable(prometheus: DataSourceRef) {
  return new QueryVariable({
    name: 'node',
    label: 'Node',
    datasource: prometheus,
    query: { query: NODE_VARIABLE_QUERY, refId: 'node' },
    includeAll: true,
    allValue: '.*',
    defaultToAll: true,
    isMulti: true,
  });
}

function allowanceTable(prometheus: DataSourceRef) {
  const runner = new SceneQueryRunner({
    datasource: prometheus,
    queries: NODE_TABLE_QUERIES.map((q) => ({
      refId: q.refId,
      expr: q.expr,
      datasource: prometheus,
      instant: true,
      range: false,
      format: 'table',
    })),
  });
  // One row per node and interface: merge the instant results, name each value column after its counter.
  const renameByName: Record<string, string> = {};
  for (const q of NODE_TABLE_QUERIES) {
    renameByName[`Value #${q.refId}`] = q.column;
  }
  const data = new SceneDataTransformer({
    $data: runner,
    transformations: [
      { id: 'merge', options: {} },
      { id: 'organize', options: { excludeByName: { Time: true }, renameByName } },
    ],
  });
  return PanelBuilders.table()
    .setTitle('ENA allowances per node')
    .setDescription(
      'How many packets were queued or dropped because an allowance was exceeded over the picked time range, ' +
        'and the connections still available before the conntrack allowance is reached. Nodes without the ENA driver show nothing.'
    )
    .setData(data)
    .setUnit('short')
    .build();
}

export function nodesScene(ds: AppDatasources) {
  const prometheus = ds.prometheus;
  return pageScene({
    from: 'now-6h',
    variables: [nodeVariable(prometheus)],
    body: new SceneFlexLayout({
      direction: 'column',
      children: [
        new SceneFlexItem({ minHeight: 260, body: allowanceTable(prometheus) }),
        new SceneFlexItem({
          minHeight: 300,
          body: PanelBuilders.timeseries()
            .setTitle('Allowances exceeded over time')
            .setUnit('short')
            .setData(
              new SceneQueryRunner({
                datasource: prometheus,
                queries: ENA_RATE_QUERIES.map((q) => ({ ...q, datasource: prometheus, range: true })),
              })
            )
            .build(),
        }),
        new SceneFlexItem({
          minHeight: 300,
          body: PanelBuilders.timeseries()
            .setTitle('Conntrack allowance available')
            .setDescription('Connections the instance can still track before the conntrack allowance is exceeded.')
            .setUnit('short')
            .setData(
              new SceneQueryRunner({
                datasource: prometheus,
                queries: [{ ...CONNTRACK_AVAILABLE, datasource: prometheus, range: true }],
              })
            )
            .build(),
        }),
      ],
    }),
  });
}
