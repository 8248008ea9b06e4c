import { SceneCSSGridLayout } from '@grafana/scenes';
import type { AppDatasources } from '../../app/settings';
import { pageScene } from '../shared/pageScene';
import { promTimeseriesPanel } from '../shared/promPanels';
import { promNamespaceVariable } from '../shared/variables';
import { OVERVIEW_PANELS } from './overviewQueries';

export function overviewScene(ds: AppDatasources) {
  return pageScene({
    variables: [promNamespaceVariable(ds.prometheus)],
    body: new SceneCSSGridLayout({
      templateColumns: 'repeat(auto-fit, minmax(480px, 1fr))',
      autoRows: '320px',
      children: OVERVIEW_PANELS.map((spec) => promTimeseriesPanel(spec, ds.prometheus)),
    }),
  });
}
