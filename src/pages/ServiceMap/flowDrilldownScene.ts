import { SceneFlexItem, SceneFlexLayout } from '@grafana/scenes';
import type { AppDatasources } from '../../app/settings';
import type { EndpointRef } from '../../datasource/types';
import { describeEndpoint } from '../../frames/endpoints';
import { flowTablePanel, flowTableRunner } from '../shared/flowTable';
import { pageScene } from '../shared/pageScene';

/** Flows of one endpoint, or between two, in both directions (the Direction column says which way). */
export function flowDrilldownScene(ds: AppDatasources, endpoint: EndpointRef, peer?: EndpointRef) {
  const runner = flowTableRunner(ds.flows, {
    queryType: 'topTalkers',
    metric: 'bytes',
    categories: [],
    groupBy: 'flow',
    endpoint,
    peer,
  });
  const title = peer
    ? `Flows between ${describeEndpoint(endpoint)} and ${describeEndpoint(peer)}`
    : `Flows of ${describeEndpoint(endpoint)}`;
  return pageScene({
    body: new SceneFlexLayout({
      direction: 'column',
      children: [
        new SceneFlexItem({
          minHeight: 500,
          body: flowTablePanel(
            title,
            'Outbound: the first endpoint opened the connection; inbound: it accepted it.',
            runner
          ),
        }),
      ],
    }),
  });
}
