import { SceneQueryRunner, VizPanel, sceneGraph, type SceneAppPage, type SceneObject } from '@grafana/scenes';
import { appDatasources } from '../app/settings';
import { buildSceneApp, missingDatasources } from '../components/App/App';
import type { FlowsQuery } from '../datasource/types';
import { ALERT_RULES, alertsMarkdown } from './Alerts/alertRules';
import { flowsPage } from './Flows/flowsPage';
import { nodesScene } from './Nodes/nodesScene';
import { overviewScene } from './Overview/overviewScene';
import { serviceMapPage } from './ServiceMap/serviceMapPage';
import { serviceMapScene } from './ServiceMap/serviceMapScene';

const ds = appDatasources({ prometheusDatasourceUid: 'prom-1', flowsDatasourceUid: 'flows-1' });
const runners = (scene: SceneObject) => sceneGraph.findDescendents(scene, SceneQueryRunner);
const panels = (scene: SceneObject) => sceneGraph.findDescendents(scene, VizPanel);
const sceneOf = (page: SceneAppPage | { state: unknown }): SceneObject => {
  const p = page as SceneAppPage;
  if (!p.state.getScene) {
    throw new Error(`page ${p.state.title} has no scene`);
  }
  return p.state.getScene(p as never) as SceneObject;
};
const exprs = (scene: SceneObject) => runners(scene).flatMap((r) => r.state.queries.map((q) => String(q.expr)));

describe('app', () => {
  it('has the six pages at their routes, with the chosen datasources', () => {
    const app = buildSceneApp(ds);
    expect(app.state.pages.map((p) => p.state.url)).toEqual([
      '/a/flowlens-netobs-app/overview',
      '/a/flowlens-netobs-app/service-map',
      '/a/flowlens-netobs-app/flows',
      '/a/flowlens-netobs-app/nodes',
      '/a/flowlens-netobs-app/policies',
      '/a/flowlens-netobs-app/alerts',
    ]);
  });

  it('defaults to the provisioned uids and reports the ones Grafana lacks', () => {
    expect(appDatasources({})).toEqual({
      prometheus: { type: 'prometheus', uid: 'flowlens-prometheus' },
      flows: { type: 'flowlens-flows-datasource', uid: 'flowlens-flows' },
    });
    expect(missingDatasources(ds, { Prom: { uid: 'prom-1' } })).toEqual(['flows-1']);
    expect(missingDatasources(ds, { a: { uid: 'prom-1' }, b: { uid: 'flows-1' } })).toEqual([]);
  });
});

describe('Overview', () => {
  const scene = overviewScene(ds);

  it('queries the contract metrics on the chosen Prometheus', () => {
    expect(runners(scene).every((r) => r.state.datasource?.uid === 'prom-1')).toBe(true);
    const all = exprs(scene).join('\n');
    for (const metric of [
      'flowlens_pod_ingress_bytes_total',
      'flowlens_pod_egress_bytes_total',
      'flowlens_pod_ingress_flows_total',
      'flowlens_pod_egress_flows_total',
      'flowlens_pod_ingress_packets_total',
      'flowlens_pod_egress_packets_total',
      'flowlens_pod_tcp_retransmits_total',
      'flowlens_pod_tcp_rtos_total',
      'flowlens_ena_bw_in_allowance_exceeded_total',
      'flowlens_ena_bw_out_allowance_exceeded_total',
      'flowlens_ena_pps_allowance_exceeded_total',
      'flowlens_ena_conntrack_allowance_exceeded_total',
      'flowlens_ena_linklocal_allowance_exceeded_total',
    ]) {
      expect(all).toContain(metric);
    }
    expect(exprs(scene)[0]).toBe(
      'topk(10, sum by (namespace, pod) (rate(flowlens_pod_ingress_bytes_total{namespace=~"$namespace"}[$__rate_interval])))'
    );
  });

  it('titles and units every panel', () => {
    const ps = panels(scene);
    expect(ps.map((p) => p.state.title)).toEqual([
      'Top 10 pods by ingress bandwidth',
      'Top 10 pods by egress bandwidth',
      'TCP flows per pod',
      'Packet rates',
      'TCP retransmits and timeouts',
      'ENA allowances exceeded per node',
    ]);
    expect(ps.map((p) => p.state.fieldConfig.defaults.unit)).toEqual(['Bps', 'Bps', 'cps', 'pps', 'cps', 'short']);
  });
});

describe('Service map', () => {
  it('draws a Node Graph from the flows datasource with view, cluster and namespace variables', () => {
    const scene = serviceMapScene(ds);
    const [panel] = panels(scene);
    expect(panel?.state.pluginId).toBe('nodeGraph');
    const [runner] = runners(scene);
    expect(runner?.state.datasource?.uid).toBe('flows-1');
    expect(runner?.state.queries[0]).toMatchObject({
      queryType: 'serviceMap',
      mapGroupBy: '$view',
      cluster: '$cluster',
      namespace: '$namespace',
    });
    const vars = sceneGraph.getVariables(scene).state.variables.map((v) => v.state.name);
    expect(vars).toEqual(['view', 'cluster', 'namespace']);
  });

  it('drills down from an edge to the flows between both ends', () => {
    const page = serviceMapPage(ds);
    const edge = page.state.drilldowns?.find((d) => d.routePath.startsWith('edge'));
    const sub = edge!.getPage(
      { params: { source: 'workload~shop~cart', target: 'workload~shop~redis' }, isExact: true, path: '', url: '' },
      page
    ) as SceneAppPage;
    expect(sub.state.title).toBe('shop/cart ⇄ shop/redis');
    const scene = sceneOf(sub);
    const q = runners(scene)[0]?.state.queries[0] as FlowsQuery;
    expect(q).toMatchObject({
      queryType: 'topTalkers',
      endpoint: { kind: 'workload', namespace: 'shop', name: 'cart' },
      peer: { kind: 'workload', namespace: 'shop', name: 'redis' },
      cluster: '$cluster',
    });
    expect(sub.state.preserveUrlKeys).toContain('var-cluster');
  });

  it('drills down from a node, and explains a broken link instead of querying', () => {
    const page = serviceMapPage(ds);
    const node = page.state.drilldowns?.find((d) => d.routePath.startsWith('node'));
    const ok = node!.getPage(
      { params: { endpoint: 'pod~shop~cart-1' }, isExact: true, path: '', url: '' },
      page
    ) as SceneAppPage;
    const q = runners(sceneOf(ok))[0]?.state.queries[0] as FlowsQuery;
    expect(q.endpoint).toEqual({ kind: 'pod', namespace: 'shop', name: 'cart-1' });
    expect(q.peer).toBeUndefined();
    const bad = node!.getPage(
      { params: { endpoint: 'garbage' }, isExact: true, path: '', url: '' },
      page
    ) as SceneAppPage;
    const badScene = sceneOf(bad);
    expect(runners(badScene)).toHaveLength(0);
    expect(panels(badScene)[0]?.state.title).toBe('Cannot show these flows');
  });
});

describe('Flows', () => {
  it('has Cluster, AWS services and External tabs over the matching categories, and Failing over all', () => {
    const page = flowsPage(ds);
    const tabs = page.state.tabs ?? [];
    expect(tabs.map((t) => t.state.title)).toEqual(['Cluster', 'AWS services', 'External', 'Failing']);
    const categories = tabs.map((t) => {
      const scene = sceneOf(t);
      const q = runners(scene)[0]?.state.queries[0] as FlowsQuery;
      expect(q.queryType).toBe('topTalkers');
      // "Failing" ranks by failures (failing connections first); the others by the page's "Rank by".
      expect(q.metric).toBe(t.state.title === 'Failing' ? 'failures' : '$metric');
      // A flow count over the same rows, then the table.
      expect(panels(scene).map((p) => p.state.pluginId)).toEqual(['stat', 'table']);
      const sortBy = (panels(scene)[1]?.state.options as { sortBy?: Array<{ displayName: string }> }).sortBy;
      expect(sortBy?.[0]?.displayName).toBe(t.state.title === 'Failing' ? 'Failures (ranked)' : 'Data transferred');
      return q.categories;
    });
    expect(categories).toEqual([
      ['INTRA_AZ', 'INTER_AZ'],
      ['AMAZON_S3', 'AMAZON_DYNAMODB'],
      ['UNCLASSIFIED'],
      ['INTRA_AZ', 'INTER_AZ', 'AMAZON_S3', 'AMAZON_DYNAMODB', 'UNCLASSIFIED'],
    ]);
  });
});

describe('Nodes', () => {
  it('shows every ENA counter and conntrack available per node', () => {
    const scene = nodesScene(ds);
    const all = exprs(scene).join('\n');
    for (const name of ['bw_in', 'bw_out', 'pps', 'conntrack', 'linklocal']) {
      expect(all).toContain(`flowlens_ena_${name}_allowance_exceeded_total`);
    }
    expect(all).toContain('flowlens_ena_conntrack_allowance_available');
    expect(runners(scene).every((r) => r.state.datasource?.uid === 'prom-1')).toBe(true);
  });
});

describe('Alerts', () => {
  it('links every shipped rule by its fixed name', () => {
    const md = alertsMarkdown();
    expect(ALERT_RULES.map((r) => r.name)).toEqual([
      'FlowlensBwInAllowanceExceeded',
      'FlowlensBwOutAllowanceExceeded',
      'FlowlensPpsAllowanceExceeded',
      'FlowlensConntrackAllowanceExceeded',
      'FlowlensLinklocalAllowanceExceeded',
      'FlowlensPolicyDrops',
    ]);
    for (const r of ALERT_RULES) {
      expect(md).toContain(`[${r.name}](/alerting/list?search=rule%3A${r.name})`);
    }
  });
});
