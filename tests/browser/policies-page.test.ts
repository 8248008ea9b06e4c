/**
 * The Policies page in a real browser: the real Flowlens app booted in Debian's headless Chromium by the app shell
 * (tests/browser/app/), its flows datasource going through the data-proxy stand-in (which adds the query token) to
 * a stand-in for the hub's policy API (tests/browser/lib/policyHub.ts: recorded answers from
 * src/testing/policyFixtures.ts, every other call passed to the live hub of tests/browser/lib/appEnv.ts).
 *
 * It checks the drafts' rules with their evidence as the user reads them (peer, bytes, "assumed" for DNS), the YAML
 * shown and downloaded byte for byte as the hub wrote it, the denied flows of the current policies, of the draft
 * (its YAML POSTed back) and of a default deny (the hub's object POSTed), the switches reaching the hub, the error a
 * down hub gives, and that the token never reaches the browser. Screenshot: docs/img/policies.png.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireBinary } from '../../agent/test/lib/privileges';
import { testIds } from '../../src/components/testIds';
import { policyYamlFileName } from '../../src/frames/policyFrames';
import { ASSUMED, OBSERVED } from '../../src/frames/policyDraftsFrame';
import {
  CHECK_AGAINST_LABELS,
  DENIED_TITLE,
  DRAFTS_TITLE,
  NO_DENIED,
  checkSummary,
} from '../../src/pages/Policies/policyText';
import {
  DEFAULT_DENY_POLICY,
  FROM,
  SHOP_CHECK_CURRENT,
  SHOP_CHECK_DEFAULT_DENY,
  SHOP_CHECK_DRAFT,
  SHOP_DRAFTS,
  SHOP_DRAFTS_DEFAULT_DENY,
  SHOP_DRAFTS_REDIS,
  TO,
} from '../../src/testing/policyFixtures';
import { REPO_ROOT } from '../lib/hub-process';
import { PROMETHEUS_BIN } from '../lib/prometheus-server';
import { appWorkspace } from './lib/appWorkspace';
import { APP_ID, startAppEnv, type AppEnv } from './lib/appEnv';
import { startPolicyHub, type PolicyHub } from './lib/policyHub';
import { CHROMIUM, panelLocator, settled } from './lib/appPage';
import { tableCells } from './lib/table';

const IMG = join(REPO_ROOT, 'docs/img');
const PAGE = `/a/${APP_ID}/policies`;
const RANGE = `from=${FROM}&to=${TO}`;

/** How Grafana shows the fixtures' byte counts (unit decbytes), written out: the expected text, not a formatter. */
const SHOWN_BYTES: Record<number, string> = {
  0: '0 B',
  91_234: '91.2 kB',
  734_003: '734 kB',
  2_000_000: '2 MB',
  5_000_000: '5 MB',
};
const bytes = (n: number) => {
  const shown = SHOWN_BYTES[n];
  assert.ok(shown !== undefined, `no expected text for ${n} bytes`);
  return shown;
};
test('the Policies page in headless Chromium', { timeout: 420_000 }, async (t) => {
  if (!requireBinary(t, CHROMIUM) || !requireBinary(t, PROMETHEUS_BIN)) {
    return;
  }
  const ws = await appWorkspace(t, 'policies-page');
  const { cleanups, built } = ws;
  let policyHub: PolicyHub | undefined;
  const env: AppEnv = await startAppEnv(ws.bundleDir, {
    frontHub: async (hub) => (policyHub = await startPolicyHub(hub)),
  });
  cleanups.push(() => env.close());
  await built;
  const calls = () => policyHub!.calls;

  const { page, consoleErrors } = await ws.openBrowser({ width: 2200, height: 1400 });
  const browserRequests: string[] = [];
  page.on('request', (r) =>
    browserRequests.push(JSON.stringify({ url: r.url(), headers: r.headers(), body: r.postData() }))
  );
  const open = async (query: string, appJsonData: AppEnv['config']['appJsonData'] = {}) => {
    env.config.appJsonData = appJsonData;
    consoleErrors.length = 0;
    await page.goto(`${env.site.origin}${PAGE}?var-namespace=shop&${RANGE}${query}`);
    await page.waitForFunction('window.flowlensApp && window.flowlensApp.booted');
    return settled(page, [DRAFTS_TITLE, DENIED_TITLE]);
  };
  const noConsoleErrors = (what: string) => assert.deepEqual(consoleErrors, [], `${what}: no console errors`);
  const summary = () => page.getByTestId(testIds.policies.checkSummary).innerText();

  await t.test('drafts: every rule with its peer, ports, bytes and evidence; DNS is assumed', async () => {
    const mark = calls().length;
    const got = await open('');
    const drafts = calls()
      .slice(mark)
      .filter((c) => c.path === '/api/v1/policy-drafts');
    assert.equal(drafts.length, 1, 'one drafts call');
    assert.deepEqual(drafts[0]!.params, { namespace: 'shop', from: String(FROM), to: String(TO) });
    assert.equal(drafts[0]!.status, 200, 'the proxy added the token the hub expects');
    assert.deepEqual(got[DRAFTS_TITLE]!.errors, []);
    const rules = SHOP_DRAFTS.policies.flatMap((p) => p.rules.map((r) => ({ policy: p.name, ...r })));
    assert.equal(got[DRAFTS_TITLE]!.frames[0]!.length, rules.length);
    const shown = await tableCells(panelLocator(page, DRAFTS_TITLE));
    assert.equal(shown.length, rules.length, `one table row per rule: ${JSON.stringify(shown)}`);
    for (const r of rules) {
      const row = shown.find((c) => c.Policy === r.policy && c.Peer === r.peer && c.Direction === r.direction);
      assert.ok(row, `a row ${r.policy} ${r.direction} ${r.peer} in ${JSON.stringify(shown)}`);
      assert.equal(row.Ports, r.ports.join(', '));
      assert.equal(row['Data transferred'], bytes(r.bytes), `${r.peer}: bytes`);
      assert.equal(row.Flows, String(r.flows));
      assert.equal(row.Evidence, r.assumed ? ASSUMED : OBSERVED);
    }
    const cartFromFrontend = shown.find((c) => c.Policy === 'flowlens-cart' && c.Peer === 'workload:shop/frontend')!;
    assert.equal(cartFromFrontend['Data transferred'], '2 MB');
    assert.match(cartFromFrontend['First seen'] ?? '', /^2025-11-30 10:53:21$/);
    noConsoleErrors('drafts');
  });

  await t.test('the YAML is the hub’s, shown read-only and downloaded byte for byte', async () => {
    const code = page.getByTestId(testIds.policies.yaml);
    assert.equal(await code.textContent(), SHOP_DRAFTS.yaml);
    assert.equal(await code.evaluate((e) => (e as unknown as { tagName: string }).tagName), 'PRE');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId(testIds.policies.download).click(),
    ]);
    assert.equal(download.suggestedFilename(), policyYamlFileName('shop'));
    assert.equal(download.suggestedFilename(), 'flowlens-policies-shop.yaml');
    const file = await download.path();
    assert.equal(await readFile(file, 'utf8'), SHOP_DRAFTS.yaml);
    assert.equal(new URL(page.url()).pathname, PAGE, 'downloading does not navigate away');
    noConsoleErrors('download');
  });

  await t.test('would be denied by the current policies: the hub’s flows, client → server', async () => {
    const got = await open('');
    const check = calls()
      .filter((c) => c.path === '/api/v1/policy-check')
      .at(-1)!;
    assert.equal(check.method, 'GET');
    assert.deepEqual(check.params, { namespace: 'shop', from: String(FROM), to: String(TO) });
    assert.equal(got[DENIED_TITLE]!.frames[0]!.length, SHOP_CHECK_CURRENT.denied.length);
    const shown = await tableCells(panelLocator(page, DENIED_TITLE));
    assert.equal(shown.length, 1);
    const [flow] = SHOP_CHECK_CURRENT.denied;
    assert.deepEqual(shown[0], {
      Client: '203.0.113.7',
      'Client IP': '203.0.113.7',
      Server: 'shop/frontend',
      'Server IP': flow!.server.ip,
      Port: '8080',
      Protocol: 'TCP',
      'Data transferred': bytes(flow!.bytes),
      'First seen': '2025-11-30 10:55:00',
      'Last seen': '2025-12-01 10:40:00',
      'Denied by': 'ingress',
      Policies: 'shop/frontend-from-gateway',
    });
    assert.equal(
      await summary(),
      checkSummary({ against: 'current', policiesEvaluated: 2, flowsChecked: 4, denied: 1 })
    );
    await page.setViewportSize({ width: 1900, height: 1000 });
    await page.waitForTimeout(500);
    await mkdir(IMG, { recursive: true });
    await page.getByTestId('flowlens-shell-page-body').screenshot({ path: join(IMG, 'policies.png') });
    noConsoleErrors('current policies');
  });

  await t.test('check against this draft: its YAML goes back to the hub as is, and denies nothing', async () => {
    const mark = calls().length;
    const got = await open('&var-against=draft');
    const posted = calls()
      .slice(mark)
      .filter((c) => c.method === 'POST');
    assert.equal(posted.length, 1, 'one POST');
    assert.equal(posted[0]!.path, '/api/v1/policy-check');
    assert.equal(posted[0]!.body, SHOP_DRAFTS.yaml, 'the draft YAML, byte for byte');
    assert.equal(posted[0]!.contentType, 'application/yaml');
    assert.equal(posted[0]!.status, 200);
    assert.equal(got[DENIED_TITLE]!.frames[0]!.length, SHOP_CHECK_DRAFT.denied.length);
    await panelLocator(page, DENIED_TITLE).getByText(NO_DENIED).waitFor();
    assert.equal(await summary(), checkSummary({ against: 'draft', policiesEvaluated: 3, flowsChecked: 4, denied: 0 }));
    const label = page.getByTestId('data-testid Dashboard template variables submenu Label Check against');
    await label.waitFor();
    assert.ok((await page.content()).includes(CHECK_AGAINST_LABELS.draft), 'the switch shows "This draft"');
    noConsoleErrors('draft check');
  });

  await t.test('check against default deny: every observed flow is listed', async () => {
    const mark = calls().length;
    const got = await open('&var-against=defaultDeny');
    const posted = calls()
      .slice(mark)
      .filter((c) => c.method === 'POST');
    assert.equal(posted.length, 1);
    assert.deepEqual(JSON.parse(posted[0]!.body!), DEFAULT_DENY_POLICY.object);
    assert.equal(posted[0]!.contentType, 'application/json');
    assert.equal(got[DENIED_TITLE]!.frames[0]!.length, SHOP_CHECK_DEFAULT_DENY.denied.length);
    const shown = await tableCells(panelLocator(page, DENIED_TITLE));
    assert.deepEqual(
      shown.map((r) => [r.Client, r.Server, r.Port, r['Denied by'], r['Data transferred']]),
      SHOP_CHECK_DEFAULT_DENY.denied.map((d) => [
        d.client.workload ? `shop/${d.client.workload}` : d.client.ip,
        d.server.workload ? `shop/${d.server.workload}` : d.server.ip,
        String(d.serverPort),
        d.deniedBy,
        bytes(d.bytes),
      ])
    );
    noConsoleErrors('default-deny check');
  });

  await t.test('the default-deny switch and the workload reach the hub; the YAML follows', async () => {
    let mark = calls().length;
    await open('&var-defaultdeny=true');
    const drafts = calls()
      .slice(mark)
      .find((c) => c.path === '/api/v1/policy-drafts')!;
    assert.equal(drafts.params.defaultDeny, 'true');
    await page.waitForFunction(
      ([id, yaml]) => (globalThis as any).document.querySelector(`[data-testid="${id}"]`)?.textContent === yaml,
      [testIds.policies.yaml, SHOP_DRAFTS_DEFAULT_DENY.yaml]
    );
    assert.match(await page.getByTestId(testIds.policies.yamlView).innerText(), /4 policies/);

    mark = calls().length;
    await open('&var-workload=redis');
    const redis = calls()
      .slice(mark)
      .find((c) => c.path === '/api/v1/policy-drafts')!;
    assert.equal(redis.params.workload, 'redis');
    assert.equal(await page.getByTestId(testIds.policies.yaml).textContent(), SHOP_DRAFTS_REDIS.yaml);
    const shown = await tableCells(panelLocator(page, DRAFTS_TITLE));
    assert.deepEqual(
      shown.map((r) => r.Peer),
      ['workload:shop/cart', 'dns:kube-system/kube-dns']
    );
    noConsoleErrors('switches');
  });

  await t.test('a hub that is down: both panels and the YAML view say so', async () => {
    const got = await open('', { flowsDatasourceUid: 'flowlens-flows-down' });
    assert.equal(got[DRAFTS_TITLE]!.state, 'Error');
    assert.match(got[DRAFTS_TITLE]!.errors[0] ?? '', /hub unreachable/i);
    assert.match(got[DENIED_TITLE]!.errors[0] ?? '', /hub unreachable/i);
    assert.match(await page.getByTestId(testIds.policies.yamlView).innerText(), /hub unreachable/i);
    assert.ok(await page.getByTestId(testIds.policies.download).isDisabled(), 'nothing to download');
    consoleErrors.length = 0;
  });

  await t.test('the query token never reaches the browser', () => {
    assert.ok(browserRequests.length > 0);
    for (const r of browserRequests) {
      assert.ok(!r.includes(env.queryToken), 'no browser request carries the token');
    }
  });
});
