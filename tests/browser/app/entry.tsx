/**
 * The app shell: boots the real Flowlens app (src/module.tsx: its AppPlugin, SceneApp and pages) with Grafana's
 * runtime services wired as Grafana's frontend wires them at boot, for tests/browser/app-pages.test.ts.
 *
 * bootData (datasources, user) → @grafana/runtime config; locationService's history drives a react-router Router
 * (Grafana's AppWrapper); same-origin link clicks go through locationService.push (Grafana's link interceptor);
 * backendSrv, templateSrv, dataSourceSrv and runRequest from ./services; panel plugins from ./panels;
 * PluginPage from ./pluginPage. Routes as Grafana's: /a/<app id>/* renders the app's root page with its meta
 * and /plugins/<app id> its configuration page.
 */
import { shellConfig } from './bootData';
import React, { useLayoutEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Route, Router, Routes } from 'react-router-dom';
import { EventBusSrv, type AppPluginMeta, type DataSourceInstanceSettings, type PluginMeta } from '@grafana/data';
import {
  LocationServiceProvider,
  config,
  getBackendSrv,
  getTemplateSrv,
  locationService,
  setAppEvents,
  setBackendSrv,
  setDataSourceSrv,
  setPluginImportUtils,
  setRunRequest,
  setTemplateSrv,
} from '@grafana/runtime';
import { setPluginPage } from 'grafana-runtime-plugin-page';
import { GlobalStyles, ThemeContext } from '@grafana/ui';
import { plugin } from '../../../src/module';
import { GrafanaFlowsDataSource } from '../../../src/datasource/grafanaDataSource';
import type { FlowsJsonData } from '../../../src/datasource/types';
import type { AppSettings } from '../../../src/app/settings';
import pluginJson from '../../../src/plugin.json';
import { PANEL_PLUGINS } from './panels';
import { ShellPluginPage } from './pluginPage';
import { MinimalPrometheusDatasource, type PromJsonData } from './prometheus';
import { registerStandardOptions } from './registries';
import { createBackendSrv, createDataSourceSrv, createTemplateSrv, runRequest } from './services';

const state = window.flowlensApp;
window.addEventListener('error', (e) => state.errors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) =>
  state.errors.push(`unhandled rejection: ${String(e.reason?.message ?? e.reason)}`)
);

registerStandardOptions();
setAppEvents(new EventBusSrv());
setBackendSrv(createBackendSrv(window.location.origin, state.backendCalls));
setTemplateSrv(createTemplateSrv());
setRunRequest(runRequest as never);
setPluginPage(ShellPluginPage);
setPluginImportUtils({
  importPanelPlugin: async (id: string) => {
    const p = PANEL_PLUGINS[id];
    if (!p) {
      throw new Error(`Panel plugin ${id} is not installed`);
    }
    return p;
  },
  getPanelPluginFromCache: (id: string) => PANEL_PLUGINS[id],
});
setDataSourceSrv(
  createDataSourceSrv(Object.values(config.datasources) as DataSourceInstanceSettings[], {
    'flowlens-flows-datasource': (s) => new GrafanaFlowsDataSource(s as DataSourceInstanceSettings<FlowsJsonData>),
    prometheus: (s) =>
      new MinimalPrometheusDatasource(s as DataSourceInstanceSettings<PromJsonData>, getBackendSrv, getTemplateSrv),
  })
);

// Grafana's interceptLinkClicks: a click on a same-origin link navigates inside the single-page app.
document.addEventListener('click', (event) => {
  const anchor = (event.target as HTMLElement | null)?.closest?.('a');
  const href = anchor?.getAttribute('href');
  if (
    !anchor ||
    !href ||
    anchor.target === '_blank' ||
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey
  ) {
    return;
  }
  const url = new URL(href, window.location.href);
  if (url.origin === window.location.origin) {
    event.preventDefault();
    locationService.push(url.pathname + url.search + url.hash);
  }
});

const meta = {
  id: pluginJson.id,
  name: pluginJson.name,
  type: 'app',
  enabled: true,
  pinned: true,
  jsonData: shellConfig.appJsonData,
  info: pluginJson.info,
  module: `public/plugins/${pluginJson.id}/module.js`,
  baseUrl: `public/plugins/${pluginJson.id}`,
} as unknown as AppPluginMeta<AppSettings>;
plugin.meta = meta;
plugin.init(meta as PluginMeta<AppSettings>);

function GrafanaRouter({ children }: { children: React.ReactNode }) {
  const history = locationService.getHistory();
  const [location, setLocation] = useState(history.location);
  useLayoutEffect(() => history.listen((l: unknown) => setLocation(l as never)), [history]);
  return (
    <Router navigator={history as never} location={location}>
      <LocationServiceProvider service={locationService}>{children}</LocationServiceProvider>
    </Router>
  );
}

function AppRoot() {
  const Root = plugin.root!;
  return (
    <Root
      meta={meta}
      basename={`/a/${pluginJson.id}`}
      onNavChanged={() => undefined}
      query={locationService.getSearchObject() as never}
      path={locationService.getLocation().pathname}
    />
  );
}

function ConfigRoot() {
  const page = plugin.configPages?.[0];
  if (!page) {
    return <p>no configuration page</p>;
  }
  const Body = page.body;
  // Grafana shows an app's configuration under the plugin's page header, on a "Configuration" tab.
  return (
    <ShellPluginPage
      pageNav={{
        text: pluginJson.name,
        subTitle: pluginJson.info.description,
        children: [{ text: page.title, active: true, url: `/plugins/${pluginJson.id}` }],
      }}
    >
      <Body plugin={plugin} query={locationService.getSearchObject() as never} />
    </ShellPluginPage>
  );
}

const root = document.getElementById('root');
if (!root) {
  throw new Error('no #root');
}
createRoot(root).render(
  <ThemeContext.Provider value={config.theme2}>
    <GlobalStyles />
    <GrafanaRouter>
      <Routes>
        <Route path={`/a/${pluginJson.id}/*`} element={<AppRoot />} />
        <Route path={`/plugins/${pluginJson.id}`} element={<ConfigRoot />} />
        <Route path="*" element={<p>Not the app</p>} />
      </Routes>
    </GrafanaRouter>
  </ThemeContext.Provider>
);
state.booted = true;
