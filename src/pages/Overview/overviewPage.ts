import { SceneAppPage } from '@grafana/scenes';
import type { AppDatasources } from '../../app/settings';
import { ROUTES } from '../../constants';
import { prefixRoute } from '../../utils/utils.routing';
import { overviewScene } from './overviewScene';

export const overviewPage = (ds: AppDatasources) =>
  new SceneAppPage({
    title: 'Overview',
    subTitle: 'Pod bandwidth, TCP flows, packets, retransmissions and ENA allowances from the node agents.',
    url: prefixRoute(ROUTES.Overview),
    routePath: ROUTES.Overview,
    getScene: () => overviewScene(ds),
  });
