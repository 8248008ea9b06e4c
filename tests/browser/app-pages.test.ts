/**
 * The app's pages in a real browser: the real Flowlens app (src/module.tsx, its SceneApp and pages) booted in
 * Debian's headless Chromium by the app shell (tests/browser/app/), with Grafana's runtime services wired as
 * Grafana wires them, against a live hub holding the recorded reports and Debian's Prometheus scraping the node
 * agent's real exporter (tests/browser/lib/appEnv.ts). The bundle is built once per run.
 *
 * For every page: it renders without console errors; its variables hold what the hub and Prometheus list; every
 * panel got the frames the hub's and Prometheus's answers imply (the flow tables cell by cell); drilldown links
 * open the right page with the right parameters; error states (hub down, no token, no agent metrics, unknown
 * datasource) say what is wrong. The investigation path of EKS's console is walked step by step on the Service
 * map and Flows pages, and a query broken on purpose shows the checks catch a wrong or empty frame.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { requireBinary } from '../../agent/test/lib/privileges';
import type { ServiceMapResponse, TopContributorRow } from '../../src/datasource/hubTypes';
import { edgeDrilldownUrl } from '../../src/frames/drilldownLinks';
import { directionOf, type Direction } from '../../src/frames/endpoints';
import { ALERT_RULES, alertListUrl } from '../../src/pages/Alerts/alertRules';
import { FLOW_VIEWS } from '../../src/pages/Flows/flowViews';
import { OVERVIEW_PANELS } from '../../src/pages/Overview/overviewQueries';
import { FLOW_COUNT_TITLE, NO_AGENT_METRICS } from '../../src/pages/shared/pageText';
import { FLOW_QUICK_RANGES } from '../../src/pages/shared/quickRanges';
import { testIds } from '../../src/components/testIds';
import { REPO_ROOT } from '../lib/hub-process';
import { PROMETHEUS_BIN } from '../lib/prometheus-server';
import { appWorkspace } from './lib/appWorkspace';
import { APP_ID, METRICS_NODE, PROM_UID, REVERSE_CALL_FAILURES, startAppEnv, type AppEnv } from './lib/appEnv';
import { assertFlowFrame, assertPanelHealthy, assertPromFrames } from './lib/pageChecks';
import { CHROMIUM, chooseVariable, panelLocator, recordedPanels, settled } from './lib/appPage';
import { tableCells, tableHeaders } from './lib/table';

const IMG = join(REPO_ROOT, 'docs/img');
const APP = `/a/${APP_ID}`;

/** Columns shown in the screenshots (the column chooser's URL form), so the docs' images fit a page. */
const SCREENSHOT_COLUMNS = [
  'Direction',
  'Category',
  'Local pod',
  'Local IP',
  'Remote pod',
  'Remote IP',
  'Server port',
  'Data transferred',
  'Retransmits',
  'RTOs',
  'RTT',
]
  .map((c) => `var-columns=${encodeURIComponent(c)}`)
  .join('&');

/**
 * Screenshot of the app's own content only (scenes, panels, variables): the shell's page header is a stand-in for
 * Grafana's and stays out of the docs' images.
 */
async function screenshotApp(page: Page, file: string, width: number): Promise<void> {
  await page.setViewportSize({ width, height: 900 });
  await page.waitForTimeout(500);
  await mkdir(IMG, { recursive: true });
  await page.getByTestId('flowlens-shell-page-body').screenshot({ path: join(IMG, file) });
  await page.setViewportSize({ width: 2700, height: 1100 });
}

test('the app pages in headless Chromium', { timeout: 540_000 }, async (t) => {
  if (!requireBinary(t, CHROMIUM) || !requireBinary(t, PROMETHEUS_BIN)) {
    return;
  }
  // the bundle builds once for the whole run, while the hub and Prometheus start
  const ws = await appWorkspace(t, 'app-pages');
  const { cleanups, built } = ws;
  const env: AppEnv = await startAppEnv(ws.bundleDir);
  cleanups.push(() => env.close());
  await built;

  const { page, consoleErrors } = await ws.openBrowser({ width: 2700, height: 1100 });
  const browserRequests: string[] = [];
  page.on('request', (r) =>
    browserRequests.push(JSON.stringify({ url: r.url(), headers: r.headers(), body: r.postData() }))
  );

  /** Opens `path` in a fresh page load with the app settings given (the provisioned defaults otherwise). */
  const open = async (path: string, appJsonData: AppEnv['config']['appJsonData'] = {}) => {
    env.config.appJsonData = appJsonData;
    consoleErrors.length = 0;
    await page.goto(`${env.site.origin}${path}`);
    await page.waitForFunction('window.flowlensApp && window.flowlensApp.booted');
  };
  const noConsoleErrors = (what: string) => assert.deepEqual(consoleErrors, [], `${what}: no console errors`);

  /** Hub query API calls the proxy made since `mark` (index into proxy.upstream), as URLs. */
  const hubCalls = (mark: number, path: string) =>
    env.proxy.upstream
      .slice(mark)
      .map((u) => new URL(u.url))
      .filter((u) => u.pathname === path);
  /** The hub's rows for the same top-contributors requests the page made since `mark`, asked directly. */
  const hubRowsFor = async (mark: number): Promise<TopContributorRow[]> => {
    const calls = hubCalls(mark, '/api/v1/top-contributors');
    assert.ok(calls.length > 0, 'the page asked the hub for top contributors');
    const seen = new Set<string>();
    const rows: TopContributorRow[] = [];
    for (const u of calls) {
      if (seen.has(u.search)) {
        continue;
      }
      seen.add(u.search);
      const r = await env.hub.get(u.pathname + u.search);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      rows.push(...(r.body.rows as TopContributorRow[]));
    }
    return rows;
  };
  const lastCallOf = (mark: number, path: string) => {
    const calls = hubCalls(mark, path);
    assert.ok(calls.length > 0, `the page called ${path}`);
    return calls.at(-1)!;
  };

  await t.test(
    'Overview: namespaces from Prometheus, every panel holds Prometheus’s answers for the fed pods',
    async () => {
      const mark = env.promCalls.length;
      await open(`${APP}/overview?from=now-5m&to=now`);
      const got = await settled(
        page,
        OVERVIEW_PANELS.map((p) => p.title)
      );
      // The namespace variable lists the namespaces of the pods the agent saw, as Prometheus holds them.
      const labelCall = env.promCalls.slice(mark).find((c) => c.path === '/api/v1/label/namespace/values');
      assert.ok(labelCall, 'the namespace variable asked Prometheus');
      assert.deepEqual(labelCall.body, { status: 'success', data: ['ops', 'shop'] });
      const fedPods = new Set(['shop/frontend-7d9f8-abcde', 'ops/backup-29012345-x7k2p']);
      for (const spec of OVERVIEW_PANELS) {
        assertPanelHealthy(spec.title, got[spec.title]);
        const answers = spec.queries.map((q) => {
          const pattern = new RegExp(
            `^${q.expr.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\$\w+/g, '[^\\]}"]+')}$`
          );
          const call = env.promCalls
            .slice(mark)
            .filter((c) => c.path === '/api/v1/query_range' && pattern.test(c.params.query ?? ''))
            .at(-1);
          assert.ok(call, `${spec.title}: the page sent ${q.expr}`);
          return { refId: q.refId, legendFormat: q.legendFormat, result: (call.body as any).data.result };
        });
        assertPromFrames(spec.title, got[spec.title], answers);
        if (spec.queries[0]!.legendFormat.includes('{{pod}}')) {
          const shown = new Set(got[spec.title]!.frames.map((f) => f.fields[1]!.displayName.split(' ').at(-1)));
          assert.deepEqual(shown, fedPods, `${spec.title}: one series per pod the agent saw`);
        }
      }
      const ena = got['ENA allowances exceeded per node']!;
      assert.deepEqual(
        ena.frames.map((f) => f.fields[1]!.displayName).sort(),
        ['bw in', 'bw out', 'conntrack', 'link-local', 'pps'].map((l) => `${METRICS_NODE} ${l}`)
      );
      noConsoleErrors('Overview');
    }
  );

  let mapRange: { from: number; to: number } | undefined;
  await t.test('Service map: the graph is the hub’s map, in Node Graph’s contract, with drilldown links', async () => {
    const mark = env.proxy.upstream.length;
    await open(`${APP}/service-map?from=${env.window.from}&to=${env.window.to}`);
    const got = await settled(page, ['Service map']);
    assertPanelHealthy('Service map', got['Service map']);
    assert.deepEqual(got['Service map']!.nodeGraphViolations, [], 'frames keep the Node Graph contract');
    const call = lastCallOf(mark, '/api/v1/service-map');
    assert.equal(call.searchParams.get('groupBy'), 'workload');
    mapRange = { from: Number(call.searchParams.get('from')), to: Number(call.searchParams.get('to')) };
    assert.deepEqual(mapRange, env.window, 'the map is drawn for the page’s time range');
    const map = (await env.hub.get(call.pathname + call.search)).body as ServiceMapResponse;
    const [nodes, edges] = got['Service map']!.frames;
    const ids = nodes!.fields.find((f) => f.name === 'id')!.values;
    assert.deepEqual(
      new Set(ids),
      new Set([...map.nodes.map((n) => n.id), ...map.edges.flatMap((e) => [e.source, e.target])])
    );
    const pairs = new Map<string, number>();
    for (const e of map.edges) {
      pairs.set(`${e.source}→${e.target}`, (pairs.get(`${e.source}→${e.target}`) ?? 0) + e.bytes);
    }
    const col = (name: string) => edges!.fields.find((f) => f.name === name)!.values;
    assert.equal(edges!.length, pairs.size, 'one edge per client → server pair');
    for (let i = 0; i < edges!.length; i++) {
      const pair = `${col('source')[i]}→${col('target')[i]}`;
      assert.equal(col('mainstat')[i], pairs.get(pair), `${pair}: data transferred`);
    }
    // Every edge in the list links to its pair's drilldown for the same time range.
    const byId = new Map(map.nodes.map((n) => [n.id, n]));
    const links = await page.getByTestId('flowlens-node-graph-edge').evaluateAll((els) =>
      els.map((e: any) => ({
        s: e.getAttribute('data-source'),
        t: e.getAttribute('data-target'),
        href: e.querySelector('a')?.getAttribute('href'),
      }))
    );
    assert.equal(links.length, pairs.size);
    for (const l of links) {
      assert.equal(
        l.href,
        edgeDrilldownUrl(byId.get(l.s!)!, byId.get(l.t!)!, 'workload', mapRange),
        `${l.s}→${l.t} link`
      );
    }
    noConsoleErrors('Service map');
  });

  await t.test('Investigation: view switch to pods asks the hub for the pod map', async () => {
    const mark = env.proxy.upstream.length;
    await chooseVariable(page, 'View', 'Pods');
    await page.waitForURL(/var-view=pod/);
    const got = await settled(page, ['Service map']);
    const call = lastCallOf(mark, '/api/v1/service-map');
    assert.equal(call.searchParams.get('groupBy'), 'pod');
    const map = (await env.hub.get(call.pathname + call.search)).body as ServiceMapResponse;
    const ids = got['Service map']!.frames[0]!.fields.find((f) => f.name === 'id')!.values;
    assert.ok(
      map.nodes.some((n) => n.pod),
      'the pod map names pods'
    );
    assert.deepEqual(
      new Set(ids),
      new Set([...map.nodes.map((n) => n.id), ...map.edges.flatMap((e) => [e.source, e.target])])
    );
    noConsoleErrors('Service map (pods)');
  });

  await t.test(
    'Investigation: an edge’s "Show flows" opens the pair’s flows, both directions, with bytes, retransmits, RTOs and RTT',
    async () => {
      await open(`${APP}/service-map?from=${env.window.from}&to=${env.window.to}`);
      await settled(page, ['Service map']);
      const edge = page.locator(
        '[data-testid="flowlens-node-graph-edge"][data-source="shop/frontend"][data-target="shop/cart"]'
      );
      const href = await edge.locator('a').getAttribute('href');
      const mark = env.proxy.upstream.length;
      await edge.getByText('Show flows (both directions)').click();
      await page.waitForURL((u) => u.pathname === new URL(href!, env.site.origin).pathname);
      assert.equal(
        new URL(page.url()).pathname,
        `${APP}/service-map/edge/workload~shop~frontend/workload~shop~cart`,
        'the edge drilldown of frontend → cart'
      );
      const url = new URL(page.url());
      // The link carries the map's range in epoch ms; scenes writes the same instants back as ISO times.
      const instant = (v: string | null) => (/^\d+$/.test(v ?? '') ? Number(v) : Date.parse(v ?? ''));
      assert.equal(instant(url.searchParams.get('from')), mapRange!.from);
      assert.equal(instant(url.searchParams.get('to')), mapRange!.to);
      const title = 'Flows between shop/frontend and shop/cart';
      const got = await settled(page, [title, FLOW_COUNT_TITLE]);
      assertPanelHealthy(title, got[title]);
      for (const u of hubCalls(mark, '/api/v1/top-contributors')) {
        assert.equal(u.searchParams.get('from'), String(mapRange!.from), 'the drilldown asks for the map’s range');
        assert.equal(u.searchParams.get('to'), String(mapRange!.to));
      }
      const focus = { kind: 'workload' as const, namespace: 'shop', name: 'frontend' };
      const peer = { kind: 'workload' as const, namespace: 'shop', name: 'cart' };
      const all = await hubRowsFor(mark);
      const pair: TopContributorRow[] = [];
      const directions: Direction[] = [];
      for (const r of all) {
        const d = directionOf(r, focus, peer);
        if (d) {
          pair.push(r);
          directions.push(d);
        }
      }
      assert.deepEqual(new Set(directions), new Set(['outbound', 'inbound']), 'flows of the pair in both directions');
      assertFlowFrame(title, got[title]!.frames[0], pair, directions);
      const shown = await tableCells(panelLocator(page, title));
      assert.equal(shown.length, pair.length, 'one table row per flow');
      for (const [i, r] of pair.entries()) {
        const row = shown.find(
          (c) => c['Local IP'] === r.local.ip && c['Remote IP'] === r.remote.ip && c.Direction === directions[i]
        );
        assert.ok(row, `a row ${r.local.ip} → ${r.remote.ip} in ${JSON.stringify(shown)}`);
        assert.equal(row.Retransmits, String(r.retransmits));
        assert.equal(row.RTOs, String(r.rtos));
        assert.match(row.RTT ?? '', /^\d+(\.\d+)? (µs|ms|s)$/);
        assert.match(row['Data transferred'] ?? '', /^\d+(\.\d+)? (B|kB|MB|GB)$/);
      }
      const count = await panelLocator(page, FLOW_COUNT_TITLE).innerText();
      assert.match(count, new RegExp(`\\b${pair.length}\\b`), 'the flow count is the number of rows');
      noConsoleErrors('edge drilldown');
      await page.goto(
        `${env.site.origin}${url.pathname}?from=${mapRange!.from}&to=${mapRange!.to}&${SCREENSHOT_COLUMNS}`
      );
      await settled(page, [title]);
      await page.waitForFunction(
        (t) => (globalThis as any).flowlensApp.panels[t]?.frames[0]?.fields.length === 11,
        title
      );
      await screenshotApp(page, 'drilldown.png', 1900);
    }
  );

  await t.test(
    'Flows: each tab’s table is the hub’s rows cell by cell, with local and remote IPs, and a matching count',
    async () => {
      for (const view of FLOW_VIEWS) {
        const mark = env.proxy.upstream.length;
        await open(`${APP}/flows${view.path ? `/${view.path}` : ''}?from=${env.window.from}&to=${env.window.to}`);
        const title = `${view.title} flows`;
        const got = await settled(page, [title, FLOW_COUNT_TITLE]);
        const rows = await hubRowsFor(mark);
        const categories = new Set(
          hubCalls(mark, '/api/v1/top-contributors').map((u) => u.searchParams.get('category'))
        );
        assert.deepEqual(categories, new Set(view.categories), `${view.title}: the tab's categories`);
        assertFlowFrame(title, got[title]!.frames[0], rows);
        const shown = await tableCells(panelLocator(page, title));
        assert.equal(shown.length, rows.length, `${view.title}: one table row per hub row`);
        for (const r of rows) {
          assert.ok(
            shown.some(
              (c) =>
                c['Local IP'] === r.local.ip &&
                c['Remote IP'] === (r.remote.ip ?? '') &&
                c['Local pod'] === (r.local.pod ?? '')
            ),
            `${view.title}: a row ${r.local.ip} → ${r.remote.ip}`
          );
        }
        const count = (await panelLocator(page, FLOW_COUNT_TITLE).innerText()).replace(FLOW_COUNT_TITLE, '').trim();
        assert.equal(count, String(rows.length), `${view.title}: the flow count is the table's row count`);
        noConsoleErrors(view.title);
        if (view.id === 'cluster') {
          assert.ok(rows.length >= 2, 'the fixtures have cluster flows');
          await page.goto(
            `${env.site.origin}${APP}/flows?from=${env.window.from}&to=${env.window.to}&${SCREENSHOT_COLUMNS}`
          );
          await settled(page, [title]);
          await page.waitForFunction(
            (t) => (globalThis as any).flowlensApp.panels[t]?.frames[0]?.fields.length === 10,
            title
          );
          await screenshotApp(page, 'flow-table.png', 1900);
        }
      }
    }
  );

  await t.test(
    'Failing: the flow whose connections fail comes first, its failure columns show the hub’s values',
    async () => {
      const mark = env.proxy.upstream.length;
      const columns = [
        'Local IP',
        'Remote IP',
        'Server port',
        'Connect attempts',
        'Connect failures',
        'Refused',
        'SYN retransmits',
        'Resets',
        'Drops',
        'Drop reasons',
        'Failures (ranked)',
      ];
      await open(
        `${APP}/flows/failing?from=${env.window.from}&to=${env.window.to}&${columns.map((c) => `var-columns=${encodeURIComponent(c)}`).join('&')}`
      );
      const title = 'Failing flows';
      await settled(page, [title]);
      const calls = hubCalls(mark, '/api/v1/top-contributors');
      assert.ok(calls.length > 0 && calls.every((u) => u.searchParams.get('metric') === 'failures'));
      const rows = await hubRowsFor(mark);
      const failing = rows.filter((r) => (r.failures ?? 0) > 0);
      assert.equal(failing.length, 1, 'the fixtures have one failing flow (cart → frontend:8081)');
      const f = failing[0]!;
      const d = REVERSE_CALL_FAILURES;
      // The hub's merge of the stand-in report (one end monitored: its own counts stand).
      assert.deepEqual(
        [f.connectAttempts, f.connectFailures, f.connectRefused, f.synRetransmits, f.resets, f.drops],
        [d.connectAttempts, d.connectFailures, d.connectRefused, d.synRetransmits, d.resetsReceived, 5]
      );
      const shown = await tableCells(panelLocator(page, title));
      assert.equal(shown.length, rows.length, 'one table row per hub row');
      assert.deepEqual(
        shown[0],
        {
          'Local IP': f.local.ip,
          'Remote IP': f.remote.ip,
          'Server port': '8081',
          'Connect attempts': '6',
          'Connect failures': '2',
          Refused: '1',
          'SYN retransmits': '3',
          Resets: '1',
          Drops: '5',
          'Drop reasons': 'NETFILTER_DROP 4, NO_SOCKET 1',
          'Failures (ranked)': String(2 + 1 + 5),
        },
        'the failing flow is listed first, with its failures'
      );
      assert.ok(
        shown.slice(1).every((c) => c['Connect failures'] === '0' && c.Drops === '0'),
        'flows without failures show zeros'
      );
      noConsoleErrors('Failing');
    }
  );

  await t.test(
    'Investigation: filter by local pod, choose columns, time ranges from 5 minutes to 2 hours',
    async () => {
      const mark = env.proxy.upstream.length;
      await open(`${APP}/flows?from=${env.window.from}&to=${env.window.to}`);
      const title = 'Cluster flows';
      await settled(page, [title]);
      const rows = await hubRowsFor(mark);
      const pod = rows.map((r) => r.local.pod).find((p): p is string => !!p)!;
      const podRows = rows.filter((r) => r.local.pod === pod);
      assert.ok(podRows.length < rows.length || rows.every((r) => r.local.pod === pod));
      const box = page
        .getByTestId('data-testid Dashboard template variables submenu Label Local pod')
        .locator('..')
        .locator('input');
      await box.fill(pod);
      await box.press('Enter');
      await page.waitForURL(new RegExp(`var-localpod=${encodeURIComponent(pod)}`));
      await page.waitForFunction(
        (n) => (globalThis as any).flowlensApp.panels['Cluster flows']?.frames[0]?.length === n,
        podRows.length
      );
      let got = await recordedPanels(page);
      assertFlowFrame(title, got[title]!.frames[0], podRows);
      assert.equal(got[FLOW_COUNT_TITLE]!.frames[0]!.length, podRows.length, 'the count follows the filter');
      await page.waitForFunction(
        ([t, n]) =>
          (globalThis as any).document
            .querySelector(`[data-testid="data-testid Panel header ${t}"]`)
            ?.textContent?.replace(t as string, '')
            .trim() === String(n),
        [FLOW_COUNT_TITLE, podRows.length]
      );

      // Columns: keep three.
      await page.goto(
        `${env.site.origin}${APP}/flows?from=${env.window.from}&to=${env.window.to}&var-columns=Local%20pod&var-columns=Remote%20IP&var-columns=Data%20transferred`
      );
      await settled(page, [title]);
      await page.waitForFunction(
        (t) => (globalThis as any).flowlensApp.panels[t]?.frames[0]?.fields.length === 3,
        title
      );
      assert.deepEqual(await tableHeaders(panelLocator(page, title)), ['Local pod', 'Remote IP', 'Data transferred']);
      got = await recordedPanels(page);
      assert.deepEqual(
        got[title]!.frames[0]!.fields.map((f) => f.name),
        ['local_pod', 'remote_ip', 'bytes']
      );
      assert.equal(got[FLOW_COUNT_TITLE]!.frames[0]!.length, rows.length, 'choosing columns keeps every row');

      // Time ranges: the picker offers 5 minutes to 2 hours, and the hub is asked for exactly that window.
      await page.getByTestId('data-testid TimePicker Open Button').click();
      for (const r of FLOW_QUICK_RANGES) {
        await page.getByText(r.display, { exact: true }).waitFor();
      }
      for (const [label, minutes] of [
        ['Last 5 minutes', 5],
        ['Last 2 hours', 120],
      ] as const) {
        const before = env.proxy.upstream.length;
        if (!(await page.getByText(label, { exact: true }).isVisible())) {
          await page.getByTestId('data-testid TimePicker Open Button').click();
        }
        await page.getByText(label, { exact: true }).click();
        await page.waitForURL(new RegExp(`from=now-${minutes}m`));
        // The query that follows asks the hub for exactly that window (bounded wait for it to be sent).
        const spanOf = (u: URL) => Number(u.searchParams.get('to')) - Number(u.searchParams.get('from'));
        let spans: number[] = [];
        for (let i = 0; i < 100; i++) {
          spans = hubCalls(before, '/api/v1/top-contributors').map(spanOf);
          if (spans.length > 0) {
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(spans.length > 0, `${label}: the page asked the hub again`);
        for (const span of spans) {
          assert.ok(
            Math.abs(span - minutes * 60_000) <= 1000,
            `${label}: the hub is asked for ${minutes} min (got ${span} ms)`
          );
        }
      }
      noConsoleErrors('Flows investigation');
    }
  );

  await t.test(
    'Nodes: the node variable lists the agent’s node, the table its ENA counters per interface',
    async () => {
      const mark = env.promCalls.length;
      await open(`${APP}/nodes?from=now-5m&to=now`);
      const got = await settled(page, [
        'ENA allowances per node',
        'Allowances exceeded over time',
        'Conntrack allowance available',
      ]);
      for (const title of Object.keys(got)) {
        assertPanelHealthy(title, got[title]);
      }
      const labelCall = env.promCalls.slice(mark).find((c) => c.path === '/api/v1/label/node/values');
      assert.deepEqual((labelCall?.body as any)?.data, [METRICS_NODE]);
      const table = got['ENA allowances per node']!.frames[0]!;
      const iface = table.fields.find((f) => f.name === 'interface')!.values;
      assert.deepEqual([...iface].sort(), ['ens5', 'eth0'], 'one row per ENA interface');
      const available = table.fields.find((f) => f.displayName === 'conntrack available');
      assert.ok(available, JSON.stringify(table.fields.map((f) => f.displayName)));
      const [truth] = await env.prom.query(`flowlens_ena_conntrack_allowance_available{node="${METRICS_NODE}"}`);
      assert.equal(available.values[iface.indexOf('ens5')], truth!.value);
      noConsoleErrors('Nodes');
    }
  );

  await t.test('Alerts: one link per shipped rule into Grafana’s alert list', async () => {
    await open(`${APP}/alerts`);
    await settled(page, ['Provisioned alert rules']);
    for (const r of ALERT_RULES) {
      const link = panelLocator(page, 'Provisioned alert rules').getByRole('link', { name: r.name, exact: true });
      assert.equal(await link.getAttribute('href'), alertListUrl(r.name));
    }
    noConsoleErrors('Alerts');
  });

  await t.test('Configuration page: shows the provisioned datasources and saves the ones picked', async () => {
    await open(`/plugins/${APP_ID}`);
    await page.getByTestId(testIds.appConfig.container).waitFor();
    await page.getByTestId(testIds.appConfig.prometheus).getByText('Prometheus', { exact: true }).waitFor();
    await page.getByTestId(testIds.appConfig.flows).getByText('Flowlens flows', { exact: true }).waitFor();
    await page.setViewportSize({ width: 900, height: 600 });
    await mkdir(IMG, { recursive: true });
    await page.getByTestId(testIds.appConfig.container).screenshot({ path: join(IMG, 'app-config.png') });
    await page.setViewportSize({ width: 2700, height: 1100 });
    await page.getByTestId(testIds.appConfig.flows).locator('input').click();
    await page.getByText('Flowlens flows (no token)', { exact: true }).click();
    const before = env.settingsPosts.length;
    await page.getByTestId(testIds.appConfig.submit).click();
    await page.waitForFunction(() => true);
    for (let i = 0; i < 50 && env.settingsPosts.length === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual((env.settingsPosts.at(-1) as any)?.jsonData, {
      prometheusDatasourceUid: PROM_UID,
      flowsDatasourceUid: 'flowlens-flows-notoken',
    });
    noConsoleErrors('Configuration');
  });

  const errorOf = async (title: string) => {
    const status = panelLocator(page, title).getByTestId('data-testid Panel status error');
    await status.waitFor();
    await status.hover();
    return page.getByRole('tooltip').innerText();
  };

  await t.test('Error states say what is wrong', async () => {
    await open(`${APP}/flows?from=${env.window.from}&to=${env.window.to}`, {
      flowsDatasourceUid: 'flowlens-flows-down',
    });
    let got = await settled(page, ['Cluster flows']);
    assert.equal(got['Cluster flows']!.state, 'Error');
    const down = await errorOf('Cluster flows');
    assert.match(down, /hub/i, `hub down: "${down}"`);

    await open(`${APP}/flows?from=${env.window.from}&to=${env.window.to}`, {
      flowsDatasourceUid: 'flowlens-flows-notoken',
    });
    got = await settled(page, ['Cluster flows']);
    const noToken = await errorOf('Cluster flows');
    assert.match(noToken, /token/i, `no token: "${noToken}"`);

    await open(`${APP}/overview?from=now-5m&to=now`, { prometheusDatasourceUid: 'flowlens-prometheus-empty' });
    got = await settled(
      page,
      OVERVIEW_PANELS.map((p) => p.title)
    );
    for (const spec of OVERVIEW_PANELS) {
      assert.equal(got[spec.title]!.frames.length, 0);
      await panelLocator(page, spec.title).getByText(NO_AGENT_METRICS).waitFor();
    }

    await open(`${APP}/overview`, { prometheusDatasourceUid: 'no-such-prometheus' });
    const warning = page.getByTestId(testIds.pages.missingDatasource);
    await warning.waitFor();
    assert.match(await warning.innerText(), /no-such-prometheus/);
    consoleErrors.length = 0;
  });

  await t.test('The checks catch a broken query: an empty frame and a wrong cell both fail', async () => {
    env.breakPromQuery = /flowlens_pod_ingress_bytes_total/;
    try {
      await open(`${APP}/overview?from=now-5m&to=now`);
      const got = await settled(
        page,
        OVERVIEW_PANELS.map((p) => p.title)
      );
      const broken = OVERVIEW_PANELS[0]!.title;
      assert.throws(() => assertPanelHealthy(broken, got[broken]), /query errors|non-empty/);
      assertPanelHealthy(OVERVIEW_PANELS[1]!.title, got[OVERVIEW_PANELS[1]!.title]);
    } finally {
      env.breakPromQuery = null;
    }
    // A hub answer altered on its way (one byte count off by one) fails the cell-by-cell comparison.
    await page.route('**/api/v1/top-contributors*category=INTRA_AZ*', async (route) => {
      const r = await route.fetch();
      const body = await r.json();
      body.rows[0].bytes += 1;
      await route.fulfill({ response: r, json: body });
    });
    try {
      const mark = env.proxy.upstream.length;
      await open(`${APP}/flows?from=${env.window.from}&to=${env.window.to}`);
      const got = await settled(page, ['Cluster flows']);
      const rows = await hubRowsFor(mark);
      assert.throws(() => assertFlowFrame('Cluster flows', got['Cluster flows']!.frames[0], rows), /column bytes/);
    } finally {
      await page.unrouteAll();
    }
  });

  await t.test('the query token never reaches the browser', async () => {
    for (const r of browserRequests) {
      assert.ok(!r.includes(env.queryToken), 'no browser request carries the token');
    }
    assert.ok(!(await page.content()).includes(env.queryToken));
  });
});
