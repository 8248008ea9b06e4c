import type { AppDatasources } from '../../app/settings';
import type { EndpointRef } from '../../datasource/types';
import { describeEndpoint } from '../../frames/endpoints';
import { columnsVariable, flowTableRunner, flowTableSection, localPodVariable } from '../shared/flowTable';
import { FLOW_QUICK_RANGES, pageScene } from '../shared/pageScene';
import { clusterVariable } from '../shared/variables';

/**
 * Flows of one endpoint, or between two, in both directions (the Direction column says which way), in the cluster
 * the map's link names (`var-cluster`; All: the names in every cluster).
 */
export function flowDrilldownScene(ds: AppDatasources, endpoint: EndpointRef, peer?: EndpointRef) {
  const runner = flowTableRunner(ds.flows, {
    queryType: 'topTalkers',
    metric: 'bytes',
    categories: [],
    groupBy: 'flow',
    cluster: '$cluster',
    endpoint,
    peer,
  });
  const title = peer
    ? `Flows between ${describeEndpoint(endpoint)} and ${describeEndpoint(peer)}`
    : `Flows of ${describeEndpoint(endpoint)}`;
  return pageScene({
    variables: [clusterVariable(ds.flows), localPodVariable(), columnsVariable()],
    quickRanges: FLOW_QUICK_RANGES,
    body: flowTableSection(
      title,
      'Outbound: the first endpoint opened the connection; inbound: it accepted it.',
      runner,
      { minHeight: 500 }
    ),
  });
}
