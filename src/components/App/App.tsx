import React, { useMemo } from 'react';
import { SceneApp, useSceneApp } from '@grafana/scenes';
import type { AppRootProps } from '@grafana/data';
import { config } from '@grafana/runtime';
import { Alert } from '@grafana/ui';
import { appDatasources, type AppDatasources, type AppSettings } from '../../app/settings';
import { PluginPropsContext } from '../../utils/utils.plugin';
import { overviewPage } from '../../pages/Overview/overviewPage';
import { serviceMapPage } from '../../pages/ServiceMap/serviceMapPage';
import { flowsPage } from '../../pages/Flows/flowsPage';
import { nodesPage } from '../../pages/Nodes/nodesPage';
import { alertsPage } from '../../pages/Alerts/alertsPage';
import { policiesPage } from '../../pages/Policies/policiesPage';
import { testIds } from '../testIds';

export function buildSceneApp(ds: AppDatasources) {
  return new SceneApp({
    pages: [overviewPage(ds), serviceMapPage(ds), flowsPage(ds), nodesPage(ds), policiesPage(ds), alertsPage()],
    urlSyncOptions: { updateUrlOnInit: true, createBrowserHistorySteps: true },
  });
}

/** uids among `ds` that this Grafana does not know. */
export function missingDatasources(ds: AppDatasources, known: Record<string, unknown>): string[] {
  const byUid = new Set(Object.values(known).map((d) => (d as { uid?: string }).uid));
  return [ds.prometheus.uid, ds.flows.uid].filter((uid): uid is string => !!uid && !byUid.has(uid));
}

function AppWithScenes({ settings }: { settings?: AppSettings }) {
  const prometheusDatasourceUid = settings?.prometheusDatasourceUid;
  const flowsDatasourceUid = settings?.flowsDatasourceUid;
  const ds = useMemo(
    () => appDatasources({ prometheusDatasourceUid, flowsDatasourceUid }),
    [prometheusDatasourceUid, flowsDatasourceUid]
  );
  // useSceneApp caches by factory identity: one factory per datasource choice.
  const factory = useMemo(() => () => buildSceneApp(ds), [ds]);
  const scene = useSceneApp(factory);
  const missing = missingDatasources(ds, config.datasources);
  return (
    <>
      {missing.length > 0 && (
        <Alert title="Datasource not found" severity="warning" data-testid={testIds.pages.missingDatasource}>
          Flowlens expects datasources with uid {missing.join(' and ')}. Provision them or pick others on the app&apos;s
          configuration page.
        </Alert>
      )}
      <scene.Component model={scene} />
    </>
  );
}

function App(props: AppRootProps<AppSettings>) {
  return (
    <PluginPropsContext.Provider value={props}>
      <AppWithScenes settings={props.meta.jsonData} />
    </PluginPropsContext.Provider>
  );
}

export default App;
