import { test, expect } from './fixtures';

test('the flows datasource passes Save & test against the hub', async ({
  readProvisionedDataSource,
  gotoDataSourceConfigPage,
  page,
}) => {
  const ds = await readProvisionedDataSource({ fileName: 'flowlens.yaml', name: 'Flowlens flows' });
  const configPage = await gotoDataSourceConfigPage(ds.uid);
  // A frontend datasource checks health from the browser, through the data-proxy route.
  await expect(configPage.saveAndTest({ path: '**/api/datasources/proxy/uid/*/hub/api/v1/namespaces' })).toBeOK();
  await expect(configPage).toHaveAlert('success');
  // The token is write-only: the page shows it as configured and never its value.
  await expect(page.getByTestId('data-testid flowlens-ds-query-token')).toHaveValue('configured');
});

test('the flows datasource explains an unreachable hub', async ({ createDataSourceConfigPage, page }) => {
  const configPage = await createDataSourceConfigPage({ type: 'flowlens-flows-datasource' });
  await page.getByTestId('data-testid flowlens-ds-hub-url').fill('http://127.0.0.1:9');
  await configPage.saveAndTest({ path: '**/api/datasources/proxy/uid/*/hub/api/v1/health' });
  await expect(configPage).toHaveAlert('error', { hasText: /Flowlens hub unreachable/ });
});
