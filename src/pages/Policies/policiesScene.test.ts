import { SceneQueryRunner, SceneTimeRange, VizPanel, sceneGraph, type SceneObject } from '@grafana/scenes';
import { appDatasources } from '../../app/settings';
import { policiesPage } from './policiesPage';
import { policiesScene } from './policiesScene';
import { PolicyCheckSummary } from './PolicyCheckSummary';
import { PolicyYamlView } from './PolicyYamlView';
import { checkSummary, DENIED_TITLE, DRAFTS_TITLE } from './policyText';

const ds = appDatasources({ prometheusDatasourceUid: 'prom-1', flowsDatasourceUid: 'flows-1' });
const runners = (scene: SceneObject) => sceneGraph.findDescendents(scene, SceneQueryRunner);

describe('Policies', () => {
  const scene = policiesScene(ds);

  it('is a page of its own in the app', () => {
    expect(policiesPage(ds).state.url).toBe('/a/flowlens-netobs-app/policies');
  });

  it('drafts and checks through the flows datasource, with the page’s variables', () => {
    const queries = runners(scene).map((r) => {
      expect(r.state.datasource?.uid).toBe('flows-1');
      return r.state.queries[0];
    });
    expect(queries).toEqual([
      expect.objectContaining({
        queryType: 'policyDrafts',
        namespace: '$namespace',
        workload: '$workload',
        defaultDeny: '$defaultdeny',
      }),
      expect.objectContaining({
        queryType: 'policyCheck',
        namespace: '$namespace',
        workload: '$workload',
        defaultDeny: '$defaultdeny',
        checkAgainst: '$against',
      }),
    ]);
  });

  it('picks one namespace (no All), an optional workload, default deny off, the current policies, last 24 h', () => {
    const vars = sceneGraph.getVariables(scene).state.variables;
    expect(vars.map((v) => v.state.name)).toEqual(['namespace', 'workload', 'defaultdeny', 'against']);
    const [ns, workload, dd, against] = vars.map((v) => v.state as unknown as Record<string, unknown>);
    expect(ns).toMatchObject({ includeAll: false, query: 'namespaces' });
    expect(workload).toMatchObject({ includeAll: true, allValue: '*', query: 'workloads($namespace)' });
    expect(dd).toMatchObject({ value: 'false', query: 'Off : false, On : true' });
    expect(against).toMatchObject({
      value: 'current',
      query: 'Current policies : current, This draft : draft, Default deny : defaultDeny',
    });
    expect((sceneGraph.getTimeRange(scene) as SceneTimeRange).state.from).toBe('now-24h');
  });

  it('shows the rules table beside the YAML, then the summary and the denied flows', () => {
    expect(sceneGraph.findDescendents(scene, VizPanel).map((p) => [p.state.title, p.state.pluginId])).toEqual([
      [DRAFTS_TITLE, 'table'],
      [DENIED_TITLE, 'table'],
    ]);
    const yaml = sceneGraph.findDescendents(scene, PolicyYamlView)[0]!;
    const summary = sceneGraph.findDescendents(scene, PolicyCheckSummary)[0]!;
    expect((sceneGraph.getData(yaml).state as SceneQueryRunner['state']).queries[0]?.queryType).toBe('policyDrafts');
    expect((sceneGraph.getData(summary).state as SceneQueryRunner['state']).queries[0]?.queryType).toBe('policyCheck');
  });

  it('sums up a check in one sentence', () => {
    expect(checkSummary({ against: 'current', policiesEvaluated: 2, flowsChecked: 4, denied: 1 })).toBe(
      '4 observed flows checked against the cluster’s current policies (2 policies): 1 would be denied.'
    );
    expect(checkSummary({ against: 'draft', policiesEvaluated: 1, flowsChecked: 1, denied: 0 })).toBe(
      '1 observed flow checked against this draft (1 policy): 0 would be denied.'
    );
  });
});
