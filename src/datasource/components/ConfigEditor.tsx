import React, { type ChangeEvent } from 'react';
import type { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { Alert, Field, FieldSet, Input, SecretInput } from '@grafana/ui';
import { testIds } from '../../components/testIds';
import type { FlowsJsonData, FlowsSecureJsonData } from '../types';

type Props = DataSourcePluginOptionsEditorProps<FlowsJsonData, FlowsSecureJsonData>;

/** Hub URL (plain settings) and query token (encrypted; only Grafana's data proxy route ever reads it). */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields } = options;
  const secureJsonData = options.secureJsonData ?? {};
  const hubUrl = jsonData.hubUrl ?? '';
  const urlProblem =
    hubUrl !== '' && !/^https?:\/\/[^\s/]+/.test(hubUrl) ? 'Use an http:// or https:// URL' : undefined;

  const onHubUrlChange = (event: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({ ...options, jsonData: { ...jsonData, hubUrl: event.target.value.trim() } });
  };
  const onTokenChange = (event: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, queryToken: event.target.value } });
  };
  const onTokenReset = () => {
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, queryToken: false },
      secureJsonData: { ...secureJsonData, queryToken: '' },
    });
  };

  return (
    <FieldSet label="Flowlens hub" data-testid={testIds.datasourceConfig.container}>
      <Field
        label="Hub URL"
        description="Base URL of the hub as the Grafana server reaches it (the browser never calls the hub)."
        invalid={urlProblem !== undefined}
        error={urlProblem}
        required
      >
        <Input
          id="flowlens-hub-url"
          data-testid={testIds.datasourceConfig.hubUrl}
          width={50}
          value={hubUrl}
          placeholder="http://flowlens-hub.flowlens.svc:8080"
          onChange={onHubUrlChange}
        />
      </Field>
      <Field
        label="Query token"
        description="The hub's read token (FLOWLENS_HUB_QUERY_TOKEN). Stored encrypted; Grafana adds it to requests on the server side."
      >
        <SecretInput
          id="flowlens-query-token"
          data-testid={testIds.datasourceConfig.queryToken}
          width={50}
          isConfigured={Boolean(secureJsonFields?.queryToken)}
          value={secureJsonData.queryToken ?? ''}
          placeholder="query token"
          onChange={onTokenChange}
          onReset={onTokenReset}
        />
      </Field>
      {options.access === 'direct' && (
        <Alert severity="error" title="Browser access is not supported">
          This datasource works only with server access: the query token is added by Grafana&apos;s data proxy.
        </Alert>
      )}
    </FieldSet>
  );
}
