import { test, expect } from './fixtures';

test('the configuration page chooses the Prometheus and flows datasources', async ({ appConfigPage, page }) => {
  await expect(page.getByText('Datasources')).toBeVisible();
  await expect(page.getByTestId('data-testid ac-prometheus-datasource')).toContainText('Flowlens Prometheus');
  await expect(page.getByTestId('data-testid ac-flows-datasource')).toContainText('Flowlens flows');
  const saved = appConfigPage.waitForSettingsResponse();
  await page.getByRole('button', { name: /Save settings/i }).click();
  await expect(saved).toBeOK();
});
