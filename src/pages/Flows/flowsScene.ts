import type { AppDatasources } from '../../app/settings';
import type { Metric } from '../../datasource/hubTypes';
import { columnsVariable, flowTableRunner, flowTableSection, localPodVariable } from '../shared/flowTable';
import { FLOW_QUICK_RANGES, pageScene } from '../shared/pageScene';
import { clusterVariable, flowsNamespaceVariable, metricVariable } from '../shared/variables';
import { rankedColumnName } from '../../frames/topTalkersFrame';
import type { FlowView } from './flowViews';

export function flowsScene(ds: AppDatasources, view: FlowView) {
  const runner = flowTableRunner(ds.flows, {
    queryType: 'topTalkers',
    // Interpolated by the datasource (applyTemplateVariables) like the namespace; a view may fix it.
    metric: view.rank ?? ('$metric' as Metric),
    categories: view.categories,
    cluster: '$cluster',
    namespace: '$namespace',
    groupBy: 'flow',
    limit: 500,
  });
  return pageScene({
    variables: [
      clusterVariable(ds.flows),
      flowsNamespaceVariable(ds.flows, { byCluster: true }),
      ...(view.rank ? [] : [metricVariable()]),
      localPodVariable(),
      columnsVariable(),
    ],
    quickRanges: FLOW_QUICK_RANGES,
    body: flowTableSection(`${view.title} flows`, view.description, runner, {
      sortBy: view.rank ? rankedColumnName(view.rank) : undefined,
    }),
  });
}
