import {
  EmbeddedScene,
  SceneControlsSpacer,
  SceneCSSGridLayout,
  SceneRefreshPicker,
  SceneTimePicker,
  SceneTimeRange,
  SceneVariableSet,
  VariableValueSelectors,
} from '@grafana/scenes';
import type { AppDatasources } from '../../app/settings';
import { promTimeseriesPanel } from '../shared/promPanels';
import { promNamespaceVariable } from '../shared/variables';
import { OVERVIEW_PANELS } from './overviewQueries';

export function overviewScene(ds: AppDatasources) {
  return new EmbeddedScene({
    $timeRange: new SceneTimeRange({ from: 'now-1h', to: 'now' }),
    $variables: new SceneVariableSet({ variables: [promNamespaceVariable(ds.prometheus)] }),
    body: new SceneCSSGridLayout({
      templateColumns: 'repeat(auto-fit, minmax(480px, 1fr))',
      autoRows: '320px',
      children: OVERVIEW_PANELS.map((spec) => promTimeseriesPanel(spec, ds.prometheus)),
    }),
    controls: [
      new VariableValueSelectors({}),
      new SceneControlsSpacer(),
      new SceneTimePicker({ isOnCanvas: true }),
      new SceneRefreshPicker({ intervals: ['30s', '1m', '5m'], isOnCanvas: true }),
    ],
  });
}
