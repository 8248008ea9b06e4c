/**
 * Browser harness: mounts real plugin components from src/ into one page, the way Grafana would hand them
 * their props, so tests/browser/plugin-ui.test.ts can drive them in Chromium.
 *
 * - the flows datasource ConfigEditor with the settings Grafana sends a browser for a provisioned datasource:
 *   jsonData plus secureJsonFields (`queryToken: true`) and never the secret itself;
 * - the QueryEditor on a top-talkers query;
 * - the real FlowsDataSource querying through Grafana's data proxy path (served by the test's stand-in), its
 *   frame shown with @grafana/ui's Table after Grafana's field overrides (units → display values).
 *
 * Every onOptionsChange / onChange call is pushed to `window.flowlensHarness` for the test to read.
 */
import React, { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import {
  applyFieldOverrides,
  createTheme,
  dateTime,
  type DataFrame,
  type DataQueryRequest,
  type DataSourceInstanceSettings,
  type DataSourceSettings,
} from '@grafana/data';
import { Table, ThemeContext } from '@grafana/ui';
import { ConfigEditor } from '../../../src/datasource/components/ConfigEditor';
import { QueryEditor } from '../../../src/datasource/components/QueryEditor';
import { FlowsDataSource } from '../../../src/datasource/datasource';
import type { Fetch } from '../../../src/datasource/hubClient';
import type { FlowsJsonData, FlowsQuery, FlowsSecureJsonData } from '../../../src/datasource/types';
import { browserFetch } from '../../lib/grafana-data-proxy';
import type { HarnessConfig, HarnessState } from './protocol';

declare global {
  interface Window {
    flowlensHarness: HarnessState;
  }
}

const state: HarnessState = { optionsChanges: [], queryChanges: [], runQueries: 0, tableRows: null, error: null };
window.flowlensHarness = state;

const theme = createTheme({ colors: { mode: 'dark' } });

type Settings = DataSourceSettings<FlowsJsonData, FlowsSecureJsonData>;

/** What Grafana's datasource settings page holds for the provisioned `flowlens-flows` datasource. */
function provisionedSettings(cfg: HarnessConfig): Settings {
  return {
    id: 7,
    uid: cfg.uid,
    orgId: 1,
    name: 'Flowlens flows',
    type: 'flowlens-flows-datasource',
    typeName: 'Flowlens flows',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    jsonData: { hubUrl: cfg.hubUrl },
    secureJsonFields: { queryToken: true },
    readOnly: false,
    withCredentials: false,
  };
}

function ConfigSection({ cfg }: { cfg: HarnessConfig }) {
  const [options, setOptions] = useState<Settings>(() => provisionedSettings(cfg));
  return (
    <section id="config-editor">
      <ConfigEditor
        options={options}
        onOptionsChange={(next) => {
          state.optionsChanges.push(JSON.parse(JSON.stringify(next)));
          setOptions(next);
        }}
      />
    </section>
  );
}

function QuerySection({ ds }: { ds: FlowsDataSource }) {
  const [query, setQuery] = useState<FlowsQuery>({ refId: 'A', queryType: 'topTalkers' });
  return (
    <section id="query-editor">
      <QueryEditor
        datasource={ds}
        query={query}
        onChange={(next) => {
          state.queryChanges.push(JSON.parse(JSON.stringify(next)));
          setQuery(next);
        }}
        onRunQuery={() => {
          state.runQueries += 1;
        }}
      />
    </section>
  );
}

function FlowsTable({ ds, cfg }: { ds: FlowsDataSource; cfg: HarnessConfig }) {
  const [frame, setFrame] = useState<DataFrame | null>(null);
  useEffect(() => {
    const range = { from: dateTime(cfg.from), to: dateTime(cfg.to) };
    const request = {
      requestId: 'browser-harness',
      interval: '30s',
      intervalMs: 30_000,
      range: { ...range, raw: range },
      scopedVars: {},
      targets: [{ refId: 'A', queryType: 'topTalkers', metric: 'bytes', categories: cfg.categories }],
      timezone: 'utc',
      app: 'harness',
      startTime: Date.now(),
    } as DataQueryRequest<FlowsQuery>;
    ds.query(request).then(
      (res) => {
        if (res.error) {
          state.error = res.error.message ?? 'query error';
          return;
        }
        const [processed] = applyFieldOverrides({
          data: res.data as DataFrame[],
          fieldConfig: { defaults: {}, overrides: [] },
          replaceVariables: (s) => s,
          theme,
          timeZone: 'utc',
        });
        state.tableRows = processed?.length ?? 0;
        setFrame(processed ?? null);
      },
      (err: unknown) => {
        state.error = String(err);
      }
    );
  }, [ds, cfg]);
  return (
    <section id="flows-table" style={{ height: 320 }}>
      {frame && <Table data={frame} width={2640} height={300} />}
    </section>
  );
}

async function main() {
  const cfg = (await (await fetch('/harness-config.json')).json()) as HarnessConfig;
  const instance = {
    id: 7,
    uid: cfg.uid,
    type: 'flowlens-flows-datasource',
    name: 'Flowlens flows',
    url: cfg.datasourceUrl,
    access: 'proxy',
    jsonData: { hubUrl: cfg.hubUrl },
    readOnly: false,
    meta: {},
  } as unknown as DataSourceInstanceSettings<FlowsJsonData>;
  const ds = new FlowsDataSource(instance, {
    fetch: browserFetch(window.location.origin).fetch as unknown as Fetch,
    interpolate: (s) => s,
  });
  const root = document.getElementById('root');
  if (!root) {
    throw new Error('no #root');
  }
  createRoot(root).render(
    <ThemeContext.Provider value={theme}>
      <main style={{ background: theme.colors.background.primary, color: theme.colors.text.primary, padding: 16 }}>
        <ConfigSection cfg={cfg} />
        <QuerySection ds={ds} />
        <FlowsTable ds={ds} cfg={cfg} />
      </main>
    </ThemeContext.Provider>
  );
}

main().catch((err: unknown) => {
  state.error = String(err);
});
