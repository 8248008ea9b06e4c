import { QueryVariable, sceneGraph, type SceneObject } from '@grafana/scenes';
import { appDatasources } from '../../app/settings';
import { FLOW_VIEWS } from '../Flows/flowViews';
import { flowsScene } from '../Flows/flowsScene';
import { policiesScene } from '../Policies/policiesScene';
import { serviceMapScene } from '../ServiceMap/serviceMapScene';

const ds = appDatasources({ prometheusDatasourceUid: 'prom-1', flowsDatasourceUid: 'flows-1' });
const variable = (scene: SceneObject, name: string) => {
  const v = sceneGraph.lookupVariable(name, scene);
  expect(v).toBeInstanceOf(QueryVariable);
  return v as QueryVariable;
};

describe('the Namespace variable and the Cluster variable', () => {
  it.each([
    ['Flows', flowsScene(ds, FLOW_VIEWS[0]!)],
    ['Service map', serviceMapScene(ds)],
  ])('%s lists the chosen cluster’s namespaces and lists them again when Cluster changes', (_, scene) => {
    const namespace = variable(scene, 'namespace');
    expect(namespace.state.query).toBe('namespaces($cluster)');
    // Scenes re-runs a variable's query when a variable its query names changes.
    expect(namespace.variableDependency?.hasDependencyOn('cluster')).toBe(true);
    expect(variable(scene, 'cluster').state.query).toBe('clusters');
  });

  it('Policies (the hub’s own cluster only) lists namespaces without a cluster', () => {
    const namespace = variable(policiesScene(ds), 'namespace');
    expect(namespace.state.query).toBe('namespaces');
    expect(namespace.variableDependency?.hasDependencyOn('cluster')).toBe(false);
  });
});
