// A flow table section: a "Flows" count and a sortable table of flows from the flows datasource, both over the
// same rows. The page's "Local pod" variable narrows the rows (count and table alike); its "Columns" variable
// picks the table's columns.
import { map } from 'rxjs';
import {
  CustomVariable,
  PanelBuilders,
  SceneDataTransformer,
  SceneFlexItem,
  SceneFlexLayout,
  SceneQueryRunner,
  TextBoxVariable,
  type CustomTransformOperator,
} from '@grafana/scenes';
import type { DataSourceRef } from '@grafana/schema';
import { METRICS } from '../../datasource/hubTypes';
import type { FlowsQuery } from '../../datasource/types';
import { TOP_TALKER_COLUMNS, rankedColumnName } from '../../frames/topTalkersFrame';
import { keepLocalPod } from './localPodFilter';
import { FLOW_COUNT_TITLE } from './pageText';

export const LOCAL_POD_VARIABLE = 'localpod';
export const COLUMNS_VARIABLE = 'columns';

/** Every column a flow table can show, by the name in its header. */
export const FLOW_TABLE_COLUMNS: string[] = [
  'Direction',
  ...TOP_TALKER_COLUMNS.map((c) => String(c.config.displayName)),
  ...METRICS.map(rankedColumnName),
];

export function flowTableRunner(flows: DataSourceRef, query: Omit<FlowsQuery, 'refId'>): SceneQueryRunner {
  return new SceneQueryRunner({
    datasource: flows,
    queries: [{ refId: 'A', datasource: flows, ...query }],
  });
}

/** Type a pod's name to keep its flows (as the local side); empty shows all. */
export const localPodVariable = () => new TextBoxVariable({ name: LOCAL_POD_VARIABLE, label: 'Local pod', value: '' });

/** The table's columns, all shown until the user picks fewer. */
export const columnsVariable = () =>
  new CustomVariable({
    name: COLUMNS_VARIABLE,
    label: 'Columns',
    query: FLOW_TABLE_COLUMNS.join(', '),
    isMulti: true,
    includeAll: true,
    defaultToAll: true,
  });

const localPodOperator: CustomTransformOperator = (ctx) => (source) =>
  source.pipe(map((frames) => keepLocalPod(frames, ctx.interpolate(`\${${LOCAL_POD_VARIABLE}}`))));

function flowRows(runner: SceneQueryRunner): SceneDataTransformer {
  return new SceneDataTransformer({
    $data: runner,
    transformations: [
      // A no-op that names the variable, so the rows are filtered again when it changes (scenes tracks the
      // variables a transformer's configs mention; the operator below reads it at run time).
      { id: 'noop', options: { dependsOn: `\${${LOCAL_POD_VARIABLE}}` } },
      localPodOperator,
    ],
  });
}

export function flowTableSection(
  title: string,
  description: string,
  runner: SceneQueryRunner,
  opts: { minHeight?: number; sortBy?: string } = {}
): SceneFlexLayout {
  const { minHeight = 600, sortBy = 'Data transferred' } = opts;
  const count = PanelBuilders.stat()
    .setTitle(FLOW_COUNT_TITLE)
    .setDescription('Rows in the table below.')
    .setOption('reduceOptions', { calcs: ['count'], fields: '/^Data transferred$/', values: false })
    .setOverrides((b) => b.matchFieldsWithName('Data transferred').overrideUnit('none').overrideDecimals(0))
    .build();
  const table = PanelBuilders.table()
    .setTitle(title)
    .setDescription(description)
    .setData(
      new SceneDataTransformer({
        transformations: [
          { id: 'filterFieldsByName', options: { include: { variable: `\${${COLUMNS_VARIABLE}}` }, byVariable: true } },
        ],
      })
    )
    .setOption('sortBy', [{ displayName: sortBy, desc: true }])
    .setOption('showHeader', true)
    // Shown when there are no rows; an empty cell stays empty (a field-level noValue would fill it).
    .setNoValue('No flows in this time range')
    .setOverrides((b) => b.matchFieldsByQuery('A').overrideNoValue(''))
    .build();
  return new SceneFlexLayout({
    direction: 'column',
    $data: flowRows(runner),
    children: [new SceneFlexItem({ height: 110, body: count }), new SceneFlexItem({ minHeight, body: table })],
  });
}
