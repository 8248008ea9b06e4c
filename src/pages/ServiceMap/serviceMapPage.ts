import { SceneAppPage, type SceneAppPageLike, type SceneRouteMatch } from '@grafana/scenes';
import type { AppDatasources } from '../../app/settings';
import { ROUTES } from '../../constants';
import { EDGE_DRILLDOWN, NODE_DRILLDOWN } from '../../frames/drilldownLinks';
import { decodeEndpoint, describeEndpoint } from '../../frames/endpoints';
import { prefixRoute } from '../../utils/utils.routing';
import { flowDrilldownScene } from './flowDrilldownScene';
import { serviceMapScene } from './serviceMapScene';
import { invalidDrilldownScene } from './invalidDrilldownScene';

const base = prefixRoute(ROUTES.ServiceMap);

function nodeDrilldown(ds: AppDatasources, match: SceneRouteMatch<{ endpoint: string }>, parent: SceneAppPageLike) {
  const endpoint = decodeEndpoint(match.params.endpoint);
  return new SceneAppPage({
    title: endpoint ? describeEndpoint(endpoint) : 'Unknown endpoint',
    url: `${base}/${NODE_DRILLDOWN}/${match.params.endpoint}`,
    routePath: `${NODE_DRILLDOWN}/:endpoint`,
    getParentPage: () => parent,
    preserveUrlKeys: ['from', 'to', 'var-cluster'],
    getScene: () => (endpoint ? flowDrilldownScene(ds, endpoint) : invalidDrilldownScene(match.params.endpoint)),
  });
}

function edgeDrilldown(
  ds: AppDatasources,
  match: SceneRouteMatch<{ source: string; target: string }>,
  parent: SceneAppPageLike
) {
  const a = decodeEndpoint(match.params.source);
  const b = decodeEndpoint(match.params.target);
  return new SceneAppPage({
    title: a && b ? `${describeEndpoint(a)} ⇄ ${describeEndpoint(b)}` : 'Unknown edge',
    url: `${base}/${EDGE_DRILLDOWN}/${match.params.source}/${match.params.target}`,
    routePath: `${EDGE_DRILLDOWN}/:source/:target`,
    getParentPage: () => parent,
    preserveUrlKeys: ['from', 'to', 'var-cluster'],
    getScene: () =>
      a && b ? flowDrilldownScene(ds, a, b) : invalidDrilldownScene(`${match.params.source}/${match.params.target}`),
  });
}

export const serviceMapPage = (ds: AppDatasources) =>
  new SceneAppPage({
    title: 'Service map',
    subTitle: 'Workloads or pods and the TCP flows between them, coloured by retransmissions.',
    url: base,
    routePath: `${ROUTES.ServiceMap}/*`,
    getScene: () => serviceMapScene(ds),
    drilldowns: [
      { routePath: `${NODE_DRILLDOWN}/:endpoint`, getPage: (m, p) => nodeDrilldown(ds, m, p) },
      { routePath: `${EDGE_DRILLDOWN}/:source/:target`, getPage: (m, p) => edgeDrilldown(ds, m, p) },
    ],
  });
