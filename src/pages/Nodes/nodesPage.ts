import { SceneAppPage } from '@grafana/scenes';
import type { AppDatasources } from '../../app/settings';
import { ROUTES } from '../../constants';
import { prefixRoute } from '../../utils/utils.routing';
import { nodesScene } from './nodesScene';

export const nodesPage = (ds: AppDatasources) =>
  new SceneAppPage({
    title: 'Nodes',
    subTitle: 'EC2 ENA allowance counters and conntrack headroom per node.',
    url: prefixRoute(ROUTES.Nodes),
    routePath: ROUTES.Nodes,
    getScene: () => nodesScene(ds),
  });
