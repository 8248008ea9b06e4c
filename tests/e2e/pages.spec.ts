import { test, expect } from './fixtures';
import { ROUTES } from '../../src/constants';

test.describe('app pages', () => {
  test('Overview shows the pod and ENA panels', async ({ gotoPage, page }) => {
    await gotoPage(`/${ROUTES.Overview}`);
    for (const title of [
      'Top 10 pods by ingress bandwidth',
      'Top 10 pods by egress bandwidth',
      'TCP flows per pod',
      'Packet rates',
      'TCP retransmits and timeouts',
      'ENA allowances exceeded per node',
    ]) {
      await expect(page.getByText(title, { exact: true })).toBeVisible();
    }
  });

  test('Flows has the three views and lists the hub flows', async ({ gotoPage, page }) => {
    await gotoPage(`/${ROUTES.Flows}`);
    for (const tab of ['Cluster', 'AWS services', 'External']) {
      await expect(page.getByRole('tab', { name: tab })).toBeVisible();
    }
    // The CI job posts tests/fixtures/reports/*.json: frontend talks to cart within a zone.
    await expect(page.getByRole('cell', { name: 'frontend' }).first()).toBeVisible();
    await page.getByRole('tab', { name: 'External' }).click();
    await expect(page.getByText('External flows')).toBeVisible();
  });

  test('Service map draws the workloads from the hub', async ({ gotoPage, page }) => {
    await gotoPage(`/${ROUTES.ServiceMap}`);
    await expect(page.getByText('Service map', { exact: true }).first()).toBeVisible();
    await expect(page.getByText('frontend').first()).toBeVisible();
    await expect(page.getByText('cart').first()).toBeVisible();
  });

  test('a service-map drilldown lists the flows of both directions', async ({ gotoPage, page }) => {
    await gotoPage(`/${ROUTES.ServiceMap}/edge/workload~shop~frontend/workload~shop~cart`);
    await expect(page.getByText('Flows between shop/frontend and shop/cart')).toBeVisible();
    await expect(page.getByRole('cell', { name: 'outbound' }).first()).toBeVisible();
  });

  test('Nodes shows the ENA allowance table', async ({ gotoPage, page }) => {
    await gotoPage(`/${ROUTES.Nodes}`);
    await expect(page.getByText('ENA allowances per node')).toBeVisible();
    await expect(page.getByText('Conntrack allowance available')).toBeVisible();
  });

  test('Alerts links each shipped rule', async ({ gotoPage, page }) => {
    await gotoPage(`/${ROUTES.Alerts}`);
    for (const rule of [
      'FlowlensBwInAllowanceExceeded',
      'FlowlensBwOutAllowanceExceeded',
      'FlowlensPpsAllowanceExceeded',
      'FlowlensConntrackAllowanceExceeded',
      'FlowlensLinklocalAllowanceExceeded',
    ]) {
      await expect(page.getByRole('link', { name: rule })).toBeVisible();
    }
  });
});
