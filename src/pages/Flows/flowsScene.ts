import { SceneFlexItem, SceneFlexLayout } from '@grafana/scenes';
import type { AppDatasources } from '../../app/settings';
import type { Metric } from '../../datasource/hubTypes';
import { flowTablePanel, flowTableRunner } from '../shared/flowTable';
import { pageScene } from '../shared/pageScene';
import { flowsNamespaceVariable, metricVariable } from '../shared/variables';
import type { FlowView } from './flowViews';

export function flowsScene(ds: AppDatasources, view: FlowView) {
  const runner = flowTableRunner(ds.flows, {
    queryType: 'topTalkers',
    // Interpolated by the datasource (applyTemplateVariables) like the namespace.
    metric: '$metric' as Metric,
    categories: view.categories,
    namespace: '$namespace',
    groupBy: 'flow',
    limit: 500,
  });
  return pageScene({
    variables: [flowsNamespaceVariable(ds.flows), metricVariable()],
    body: new SceneFlexLayout({
      direction: 'column',
      children: [
        new SceneFlexItem({ minHeight: 600, body: flowTablePanel(`${view.title} flows`, view.description, runner) }),
      ],
    }),
  });
}
