/**
 * Grafana's index.html sets `window.grafanaBootData` before its bundle runs; @grafana/runtime's config reads it
 * when first imported. This module is the shell's first import: it fetches the test's settings and sets bootData
 * (datasources, user, build info) before anything else is evaluated.
 */
import type { ShellConfig, ShellState } from './protocol';

declare global {
  interface Window {
    grafanaBootData?: unknown;
    flowlensApp: ShellState;
  }
}

export const shellConfig = (await (await fetch('/harness-config.json')).json()) as ShellConfig;

window.flowlensApp = { booted: false, panels: {}, backendCalls: [], errors: [] };

window.grafanaBootData = {
  assets: { dark: '', light: '' },
  navTree: [],
  user: {
    id: 1,
    login: 'admin',
    name: 'admin',
    orgId: 1,
    orgRole: 'Admin',
    isSignedIn: true,
    isGrafanaAdmin: true,
    timezone: 'utc',
    weekStart: '',
    theme: 'dark',
    locale: 'en-US',
    language: 'en-US',
    permissions: {},
  },
  settings: {
    appSubUrl: '',
    appUrl: window.location.origin + '/',
    buildInfo: { version: '13.2.2', commit: 'flowlens-shell', env: 'production' },
    featureToggles: {},
    minRefreshInterval: '5s',
    datasources: Object.fromEntries(
      shellConfig.datasources.map((d) => [
        d.name,
        {
          ...d,
          id: 0,
          access: 'proxy',
          meta: {
            id: d.type,
            name: d.type,
            type: 'datasource',
            info: { logos: { small: '', large: '' } },
            metrics: true,
          },
          readOnly: true,
        },
      ])
    ),
    panels: {},
    apps: {},
  },
};
