import { SceneAppPage } from '@grafana/scenes';
import type { AppDatasources } from '../../app/settings';
import { ROUTES } from '../../constants';
import { prefixRoute } from '../../utils/utils.routing';
import { policiesScene } from './policiesScene';

export const policiesPage = (ds: AppDatasources) =>
  new SceneAppPage({
    title: 'Policies',
    subTitle: 'NetworkPolicy drafts from observed traffic, and the flows a policy would deny.',
    url: prefixRoute(ROUTES.Policies),
    routePath: ROUTES.Policies,
    getScene: () => policiesScene(ds),
  });
