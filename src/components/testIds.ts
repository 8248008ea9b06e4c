// Every data-testid in the app, so jest and Playwright tests find elements the same way.
export const testIds = {
  appConfig: {
    container: 'data-testid ac-container',
    prometheus: 'data-testid ac-prometheus-datasource',
    flows: 'data-testid ac-flows-datasource',
    submit: 'data-testid ac-submit-form',
  },
  datasourceConfig: {
    container: 'data-testid flowlens-ds-config',
    hubUrl: 'data-testid flowlens-ds-hub-url',
    queryToken: 'data-testid flowlens-ds-query-token',
  },
  queryEditor: {
    container: 'data-testid flowlens-query-editor',
    queryType: 'data-testid flowlens-query-type',
    metric: 'data-testid flowlens-query-metric',
    category: (c: string) => `data-testid flowlens-query-category-${c}`,
    namespace: 'data-testid flowlens-query-namespace',
    workload: 'data-testid flowlens-query-workload',
    groupBy: 'data-testid flowlens-query-group-by',
    mapGroupBy: 'data-testid flowlens-query-map-view',
    limit: 'data-testid flowlens-query-limit',
  },
  pages: {
    missingDatasource: 'data-testid flowlens-missing-datasource',
  },
  policies: {
    yamlView: 'data-testid flowlens-policies-yaml-view',
    yaml: 'data-testid flowlens-policies-yaml',
    download: 'data-testid flowlens-policies-download',
    checkSummary: 'data-testid flowlens-policies-check-summary',
  },
};
