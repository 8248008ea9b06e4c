import React, { useState } from 'react';
import { css } from '@emotion/css';
import { lastValueFrom } from 'rxjs';
import type { AppPluginMeta, GrafanaTheme2, PluginConfigPageProps, PluginMeta } from '@grafana/data';
import { DataSourcePicker, getBackendSrv, locationService } from '@grafana/runtime';
import { Alert, Button, Field, FieldSet, useStyles2 } from '@grafana/ui';
import { FLOWS_DATASOURCE_TYPE } from '../../constants';
import { appDatasources, type AppSettings } from '../../app/settings';
import { testIds } from '../testIds';

export interface AppConfigProps extends PluginConfigPageProps<AppPluginMeta<AppSettings>> {}

/** Chooses the Prometheus datasource (agent metrics) and the flows datasource (the hub) the pages query. */
const AppConfig = ({ plugin }: AppConfigProps) => {
  const s = useStyles2(getStyles);
  const { enabled, pinned, jsonData } = plugin.meta;
  const defaults = appDatasources(jsonData);
  const [prometheusDatasourceUid, setPrometheusUid] = useState(defaults.prometheus.uid ?? '');
  const [flowsDatasourceUid, setFlowsUid] = useState(defaults.flows.uid ?? '');
  const [error, setError] = useState<string | undefined>();

  const onSubmit = async (event: React.SyntheticEvent) => {
    event.preventDefault();
    try {
      await updatePlugin(plugin.meta.id, {
        enabled,
        pinned,
        jsonData: { ...jsonData, prometheusDatasourceUid, flowsDatasourceUid },
      });
      // The app reads its settings at load; a reload applies them everywhere.
      locationService.reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Saving the settings failed');
    }
  };

  return (
    <form onSubmit={onSubmit} data-testid={testIds.appConfig.container}>
      <FieldSet label="Datasources" className={s.marginTop}>
        <Field label="Prometheus" description="Where the node agents' flowlens_* metrics are scraped into.">
          <div data-testid={testIds.appConfig.prometheus}>
            <DataSourcePicker
              pluginId="prometheus"
              current={prometheusDatasourceUid}
              noDefault
              width={40}
              onChange={(ds) => setPrometheusUid(ds.uid)}
            />
          </div>
        </Field>
        <Field label="Flows" description="The Flowlens flows datasource that queries the hub.">
          <div data-testid={testIds.appConfig.flows}>
            <DataSourcePicker
              pluginId={FLOWS_DATASOURCE_TYPE}
              current={flowsDatasourceUid}
              noDefault
              width={40}
              onChange={(ds) => setFlowsUid(ds.uid)}
            />
          </div>
        </Field>
        {error && (
          <Alert severity="error" title="Could not save">
            {error}
          </Alert>
        )}
        <Button
          type="submit"
          data-testid={testIds.appConfig.submit}
          disabled={!prometheusDatasourceUid || !flowsDatasourceUid}
        >
          Save settings
        </Button>
      </FieldSet>
    </form>
  );
};

export default AppConfig;

const getStyles = (theme: GrafanaTheme2) => ({
  marginTop: css`
    margin-top: ${theme.spacing(3)};
  `,
});

async function updatePlugin(pluginId: string, data: Partial<PluginMeta<AppSettings>>) {
  const response = getBackendSrv().fetch({ url: `/api/plugins/${pluginId}/settings`, method: 'POST', data });
  return (await lastValueFrom(response)).data;
}
