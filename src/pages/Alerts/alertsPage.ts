import { SceneAppPage } from '@grafana/scenes';
import { ROUTES } from '../../constants';
import { prefixRoute } from '../../utils/utils.routing';
import { alertsScene } from './alertsScene';

export const alertsPage = () =>
  new SceneAppPage({
    title: 'Alerts',
    subTitle: 'ENA allowance alert rules shipped with Flowlens.',
    url: prefixRoute(ROUTES.Alerts),
    routePath: ROUTES.Alerts,
    getScene: alertsScene,
  });
