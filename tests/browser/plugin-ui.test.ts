/**
 * Real plugin UI in real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core).
 * No Grafana server runs here, so the page stands in for Grafana's frontend: it mounts the flows
 * datasource's ConfigEditor and QueryEditor with the props Grafana gives them, and runs the real
 * FlowsDataSource through Grafana's data-proxy path (tests/lib/grafana-data-proxy.ts, routes from
 * src/datasource/plugin.json) to a live hub holding the recorded fixture reports. The table shows that frame.
 *
 * The hub's query token exists only on the "server" side (the proxy's secureJsonData); the test checks it
 * never reaches the page's DOM or any request the browser makes, while the proxy did sign the hub calls.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { requireBinary } from '../../agent/test/lib/privileges';
import { testIds } from '../../src/components/testIds';
import { CATEGORIES, type TopContributorRow } from '../../src/datasource/hubTypes';
import { startDataProxy, type PluginRoute } from '../lib/grafana-data-proxy';
import { REPO_ROOT, fixture, startHubProcess } from '../lib/hub-process';
import { fixtureReports } from '../lib/report-fixtures';
import { buildHarness } from './harness/build';
import type { HarnessConfig, HarnessState } from './harness/protocol';
import { serveHarness } from './harness/server';
import { CHROMIUM, CHROMIUM_ARGS } from './lib/appPage';
import { tableCells } from './lib/table';

const UID = 'flowlens-flows';
const SCREENSHOTS = join(REPO_ROOT, '.test-results/browser');

const DECIMAL_BYTE_UNITS: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };

/** `shown` is `bytes` in Grafana's decbytes unit (SI): same value within the rounding of the digits shown. */
function assertDecBytes(shown: string | undefined, bytes: number, what: string): void {
  const m = /^(\d+)(?:\.(\d+))? (B|kB|MB|GB|TB)$/.exec(shown ?? '');
  assert.ok(m, `${what}: "${shown}" is a number with a byte unit`);
  const [, whole, frac = '', unit] = m;
  const scale = DECIMAL_BYTE_UNITS[unit as string] as number;
  const value = Number(`${whole}.${frac || '0'}`) * scale;
  const halfStep = (0.5 * scale) / 10 ** frac.length;
  assert.ok(Math.abs(value - bytes) <= halfStep, `${what}: "${shown}" shows ${bytes} bytes`);
  assert.ok(bytes < 1000 || unit !== 'B', `${what}: ${bytes} bytes scaled to a larger unit`);
}

const harnessState = (page: Page): Promise<HarnessState> => page.evaluate<HarnessState>('window.flowlensHarness');

test('flows datasource editors and flows table in headless Chromium', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, CHROMIUM)) {
    return;
  }
  // Cleanups run last-in, first-out: the browser closes before the servers, the temp dir goes last.
  const cleanups: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch(() => undefined);
    }
  });
  const tmp = await mkdtemp(join(tmpdir(), 'flowlens-browser-'));
  cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  const bundleDir = join(tmp, 'site');
  await mkdir(bundleDir);
  const built = buildHarness(bundleDir);
  built.catch(() => undefined); // awaited below; this only keeps an early failure from being "unhandled"

  // A distinctive secret that only the Grafana server side (the data proxy) holds.
  const queryToken = `flowlens-canary-${randomBytes(16).toString('hex')}`;
  const hub = await startHubProcess({
    metadataFile: fixture('metadata/three-nodes.json'),
    ipRangesFile: fixture('ip-ranges-override.json'),
    queryToken,
  });
  cleanups.push(() => hub.cleanup());
  const start = Date.now() - 120_000;
  for (const report of fixtureReports({ startMs: start, newId: true })) {
    const r = await hub.postReport(report);
    assert.ok(r.status >= 200 && r.status < 300, `report accepted: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const from = start - 60_000;
  const to = Date.now() + 60_000;

  const pluginJson = JSON.parse(await readFile(join(REPO_ROOT, 'src/datasource/plugin.json'), 'utf8')) as {
    routes: PluginRoute[];
  };
  const proxy = await startDataProxy({
    routes: pluginJson.routes,
    datasources: [{ uid: UID, jsonData: { hubUrl: hub.url }, secureJsonData: { queryToken } }],
  });
  cleanups.push(() => proxy.close());

  await built;
  const config: HarnessConfig = {
    uid: UID,
    datasourceUrl: proxy.datasourceUrl(UID),
    hubUrl: hub.url,
    from,
    to,
    categories: [...CATEGORIES],
  };
  const site = await serveHarness({ dir: bundleDir, config, apiOrigin: proxy.origin });
  cleanups.push(() => site.close());

  const context: BrowserContext = await chromium.launchPersistentContext(join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 2700, height: 900 },
  });
  cleanups.push(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);

  const browserRequests: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
  page.on('request', (req) => {
    browserRequests.push({ url: req.url(), headers: req.headers(), body: req.postData() ?? '' });
  });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));

  await page.goto(`${site.origin}/`);
  await page.getByTestId(testIds.datasourceConfig.container).waitFor();

  await t.test('config editor shows the provisioned hub URL and the token as configured', async () => {
    const url = page.getByTestId(testIds.datasourceConfig.hubUrl);
    assert.equal(await url.inputValue(), hub.url);
    const token = page.locator('#flowlens-query-token');
    assert.equal(await token.inputValue(), 'configured');
    assert.equal(await token.isDisabled(), true, 'a configured secret is read-only until reset');
    // Scoped and exact: the flows table on the same page has a "Sort by column Resets" button.
    await page
      .getByTestId(testIds.datasourceConfig.container)
      .getByRole('button', { name: 'Reset', exact: true })
      .waitFor();
  });

  await t.test('typing a hub URL calls onOptionsChange with jsonData.hubUrl and no secret', async () => {
    const url = page.getByTestId(testIds.datasourceConfig.hubUrl);
    await url.fill('http://flowlens-hub.flowlens.svc:8080');
    const { optionsChanges } = await harnessState(page);
    const last = optionsChanges.at(-1);
    assert.equal(last?.jsonData.hubUrl, 'http://flowlens-hub.flowlens.svc:8080');
    assert.equal(last?.secureJsonData, undefined, 'no secureJsonData is sent back when the token is untouched');
    assert.equal(await url.inputValue(), 'http://flowlens-hub.flowlens.svc:8080');
    await url.fill('ftp://nowhere');
    await page.getByText('Use an http:// or https:// URL').waitFor();
    await url.fill(hub.url);
    assert.equal(await page.getByText('Use an http:// or https:// URL').count(), 0);
  });

  await t.test('query editor changes the metric and the categories', async () => {
    const before = (await harnessState(page)).runQueries;
    const editor = page.locator('#query-editor');
    await editor.getByRole('radio', { name: 'Retransmits', exact: true }).click();
    let s = await harnessState(page);
    assert.equal(s.queryChanges.at(-1)?.metric, 'retransmits');
    assert.equal(s.runQueries, before + 1);
    await editor.getByText('Amazon S3', { exact: true }).click();
    assert.equal(await editor.getByRole('checkbox', { name: 'Amazon S3' }).isChecked(), true);
    s = await harnessState(page);
    assert.deepEqual(s.queryChanges.at(-1)?.categories, ['INTRA_AZ', 'INTER_AZ', 'AMAZON_S3']);
    assert.equal(s.runQueries, before + 2);
  });

  await t.test('flows table shows the hub top talkers with units', async () => {
    await page.waitForFunction('window.flowlensHarness.tableRows !== null || window.flowlensHarness.error !== null');
    const s = await harnessState(page);
    assert.equal(s.error, null);
    // Ground truth: what the hub answers for the same window, asked directly with the token.
    const rows: TopContributorRow[] = [];
    for (const category of CATEGORIES) {
      const r = await hub.get(
        `/api/v1/top-contributors?from=${from}&to=${to}&metric=bytes&category=${category}&limit=100`
      );
      assert.equal(r.status, 200, JSON.stringify(r.body));
      rows.push(...(r.body.rows as TopContributorRow[]));
    }
    assert.ok(rows.length > 0, 'the fixtures produce flows');
    assert.equal(s.tableRows, rows.length);
    const shown = await tableCells(page.locator('#flows-table'));
    assert.equal(shown.length, rows.length, 'one table row per hub row');
    for (const row of rows) {
      const key = `${row.category} ${row.local.ip} → ${row.remote.ip}:${row.serverPort}`;
      const cells = shown.find(
        (c) =>
          c.Category === row.category &&
          c['Local IP'] === row.local.ip &&
          c['Remote IP'] === (row.remote.ip ?? '') &&
          c['Server port'] === String(row.serverPort ?? '')
      );
      assert.ok(cells, `table row for ${key} in ${JSON.stringify(shown)}`);
      assert.equal(cells['Local pod'], row.local.pod ?? '', key);
      assert.equal(cells.Retransmits, String(row.retransmits), key);
      assertDecBytes(cells['Data transferred'], row.bytes, key);
    }
  });

  await t.test('screenshot', async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'plugin-ui.png'), fullPage: true });
  });

  await t.test('the query token never reaches the browser', async () => {
    const html = await page.content();
    const text = await page.locator('body').innerText();
    assert.ok(!html.includes(queryToken) && !text.includes(queryToken), 'token absent from the DOM');
    const hubCalls = browserRequests.filter((r) => r.url.includes('/api/datasources/proxy/uid/'));
    assert.ok(hubCalls.length >= CATEGORIES.length, `the page queried through the proxy (${hubCalls.length})`);
    for (const r of browserRequests) {
      assert.ok(!JSON.stringify(r).includes(queryToken), `browser request carries no token: ${r.url}`);
    }
    for (const r of site.requests) {
      assert.ok(!JSON.stringify(r).includes(queryToken), `request as received carries no token: ${r.url}`);
      assert.equal(r.headers.authorization, undefined);
    }
    // The proxy (Grafana's server side) did sign every hub call with it.
    assert.ok(proxy.upstream.length >= CATEGORIES.length);
    for (const u of proxy.upstream) {
      assert.equal(u.headers.authorization, `Bearer ${queryToken}`);
    }
    assert.deepEqual(pageErrors, []);
  });
});
