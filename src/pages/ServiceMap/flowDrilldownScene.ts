import {
  EmbeddedScene,
  SceneControlsSpacer,
  SceneFlexItem,
  SceneFlexLayout,
  SceneRefreshPicker,
  SceneTimePicker,
  SceneTimeRange,
} from '@grafana/scenes';
import type { AppDatasources } from '../../app/settings';
import type { EndpointRef } from '../../datasource/types';
import { describeEndpoint } from '../../frames/endpoints';
import { flowTablePanel, flowTableRunner } from '../shared/flowTable';

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
  return new EmbeddedScene({
    $timeRange: new SceneTimeRange({ from: 'now-1h', to: 'now' }),
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
    controls: [
      new SceneControlsSpacer(),
      new SceneTimePicker({ isOnCanvas: true }),
      new SceneRefreshPicker({ intervals: ['30s', '1m', '5m'], isOnCanvas: true }),
    ],
  });
}
