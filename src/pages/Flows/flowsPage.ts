import { SceneAppPage } from '@grafana/scenes';
import type { AppDatasources } from '../../app/settings';
import { ROUTES } from '../../constants';
import { prefixRoute } from '../../utils/utils.routing';
import { FLOW_VIEWS } from './flowViews';
import { flowsScene } from './flowsScene';

const tabUrl = (path: string) => prefixRoute(path ? `${ROUTES.Flows}/${path}` : ROUTES.Flows);

export const flowsPage = (ds: AppDatasources) => {
  const [first] = FLOW_VIEWS;
  return new SceneAppPage({
    title: 'Flows',
    subTitle: 'Top talkers with data transferred, retransmissions, timeouts and round-trip time.',
    url: prefixRoute(ROUTES.Flows),
    routePath: `${ROUTES.Flows}/*`,
    hideFromBreadcrumbs: true,
    getScene: () => flowsScene(ds, first!),
    tabs: FLOW_VIEWS.map(
      (view) =>
        new SceneAppPage({
          title: view.title,
          url: tabUrl(view.path),
          routePath: view.path ? `/${view.path}` : '/',
          getScene: () => flowsScene(ds, view),
        })
    ),
  });
};
