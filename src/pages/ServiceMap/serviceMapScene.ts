import { PanelBuilders, SceneFlexItem, SceneFlexLayout, SceneQueryRunner } from '@grafana/scenes';
import type { AppDatasources } from '../../app/settings';
import type { MapGroupBy } from '../../datasource/hubTypes';
import type { FlowsQuery } from '../../datasource/types';
import { FLOW_QUICK_RANGES, pageScene } from '../shared/pageScene';
import { clusterVariable, flowsNamespaceVariable, mapViewVariable } from '../shared/variables';

export function serviceMapQuery(): FlowsQuery {
  return {
    refId: 'A',
    queryType: 'serviceMap',
    mapGroupBy: '$view' as MapGroupBy,
    cluster: '$cluster',
    namespace: '$namespace',
  };
}

export function serviceMapScene(ds: AppDatasources) {
  return pageScene({
    variables: [mapViewVariable(), clusterVariable(ds.flows), flowsNamespaceVariable(ds.flows, { byCluster: true })],
    quickRanges: FLOW_QUICK_RANGES,
    body: new SceneFlexLayout({
      direction: 'column',
      children: [
        new SceneFlexItem({
          minHeight: 640,
          body: PanelBuilders.nodegraph()
            .setTitle('Service map')
            .setDescription(
              'Who talks to whom, client → server. Edge width: data transferred; colour: share of retransmitted segments ' +
                '(green < 0.1%, yellow < 1%, red ≥ 1%); node ring: share of bytes on links with retransmissions. ' +
                'Click a node or an edge and choose "Show flows" for both directions.'
            )
            .setData(
              new SceneQueryRunner({ datasource: ds.flows, queries: [{ ...serviceMapQuery(), datasource: ds.flows }] })
            )
            .build(),
        }),
      ],
    }),
  });
}
