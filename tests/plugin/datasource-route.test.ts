/**
 * The flows datasource, end to end without a Grafana server: the REAL FlowsDataSource class runs with
 * Grafana's browser fetch and data proxy replaced by faithful stand-ins (tests/lib/grafana-data-proxy.ts).
 * The proxy resolves the route declared in the BUILT dist/datasource/plugin.json (src/ when dist is absent)
 * and forwards to a live hub holding the recorded fixture reports.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { dateTime, type DataFrame, type DataQueryRequest, type DataSourceInstanceSettings } from '@grafana/data';
import { FlowsDataSource } from '../../src/datasource/datasource';
import type { Fetch } from '../../src/datasource/hubClient';
import { CATEGORIES, type TopContributorRow } from '../../src/datasource/hubTypes';
import type { FlowsJsonData, FlowsQuery } from '../../src/datasource/types';
import { freeLoopbackPort } from '../lib/free-port';
import { browserFetch, startDataProxy, type PluginRoute } from '../lib/grafana-data-proxy';
import { REPO_ROOT, fixture, startHubProcess, type HubProcess } from '../lib/hub-process';
import { fixtureReports } from '../lib/report-fixtures';

const UID = 'flowlens-flows';

function datasourcePluginJson(): { path: string; json: { id: string; routes: PluginRoute[] } } {
  const built = join(REPO_ROOT, 'dist/datasource/plugin.json');
  if (process.env.CI === 'true' && !existsSync(built)) {
    throw new Error('dist/datasource/plugin.json missing: CI builds the plugin before this suite');
  }
  const path = existsSync(built) ? built : join(REPO_ROOT, 'src/datasource/plugin.json');
  return { path, json: JSON.parse(readFileSync(path, 'utf8')) };
}

function instanceSettings(url: string, hubUrl: string): DataSourceInstanceSettings<FlowsJsonData> {
  return {
    id: 7,
    uid: UID,
    type: 'flowlens-flows-datasource',
    name: 'Flowlens flows',
    url,
    access: 'proxy',
    jsonData: { hubUrl },
    readOnly: false,
    meta: {} as never,
  } as DataSourceInstanceSettings<FlowsJsonData>;
}

function queryRequest(targets: FlowsQuery[], from: number, to: number): DataQueryRequest<FlowsQuery> {
  return {
    requestId: 'it',
    interval: '30s',
    intervalMs: 30_000,
    range: { from: dateTime(from), to: dateTime(to), raw: { from: dateTime(from), to: dateTime(to) } },
    scopedVars: {},
    targets,
    timezone: 'utc',
    app: 'test',
    startTime: Date.now(),
  } as DataQueryRequest<FlowsQuery>;
}

const column = (frame: DataFrame | undefined, name: string): unknown[] => {
  const f = frame?.fields.find((x) => x.name === name);
  assert.ok(f, `field ${name} in ${frame?.fields.map((x) => x.name).join(', ')}`);
  return [...f.values];
};

async function setup(t: TestContext, hubUrl: string, token: string) {
  const plugin = datasourcePluginJson();
  const proxy = await startDataProxy({
    routes: plugin.json.routes,
    datasources: [{ uid: UID, jsonData: { hubUrl }, secureJsonData: { queryToken: token } }],
  });
  t.after(() => proxy.close());
  const browser = browserFetch(proxy.origin);
  const ds = new FlowsDataSource(instanceSettings(proxy.datasourceUrl(UID), hubUrl), {
    fetch: browser.fetch as unknown as Fetch,
    interpolate: (s) => s,
  });
  return { plugin, proxy, browser, ds };
}

let hub: HubProcess | undefined;

test('flows datasource through the plugin.json route against a live hub', async (t) => {
  hub = await startHubProcess({
    metadataFile: fixture('metadata/three-nodes.json'),
    ipRangesFile: fixture('ip-ranges-override.json'),
  });
  t.after(() => hub?.cleanup());
  const start = Date.now() - 120_000;
  for (const report of fixtureReports({ startMs: start, newId: true })) {
    const r = await hub.postReport(report);
    assert.ok(r.status >= 200 && r.status < 300, `report accepted: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const from = start - 60_000;
  const to = Date.now() + 60_000;
  const { plugin, proxy, browser, ds } = await setup(t, hub.url, hub.queryToken);
  const h = hub;

  await t.test('the route comes from plugin.json and names the hub URL and token by template', () => {
    const route = plugin.json.routes.find((r) => r.path === 'hub');
    assert.ok(route, `a "hub" route in ${plugin.path}`);
    assert.equal(route.url, '{{ .JsonData.hubUrl }}');
    assert.deepEqual(route.headers, [{ name: 'Authorization', content: 'Bearer {{ .SecureJsonData.queryToken }}' }]);
  });

  await t.test('health check passes through the route', async () => {
    const res = await ds.testDatasource();
    assert.equal(res.status, 'success', res.message);
  });

  await t.test('top-talker frames per category equal what the hub stored', async () => {
    for (const category of CATEGORIES) {
      const direct = await h.get(
        `/api/v1/top-contributors?metric=bytes&category=${category}&limit=100&groupBy=flow&from=${from}&to=${to}`
      );
      assert.equal(direct.status, 200);
      const rows = direct.body.rows as TopContributorRow[];
      assert.ok(rows.length > 0, `fixtures hold ${category} flows`);
      const res = await ds.query(
        queryRequest([{ refId: category, queryType: 'topTalkers', categories: [category], limit: 100 }], from, to)
      );
      assert.equal(res.errors, undefined);
      const [frame] = res.data as DataFrame[];
      assert.equal(frame?.refId, category);
      assert.equal(frame?.length, rows.length);
      assert.deepEqual(
        column(frame, 'category'),
        rows.map(() => category)
      );
      assert.deepEqual(
        column(frame, 'bytes'),
        rows.map((r) => r.bytes)
      );
      assert.deepEqual(
        column(frame, 'retransmits'),
        rows.map((r) => r.retransmits)
      );
      assert.deepEqual(
        column(frame, 'rtos'),
        rows.map((r) => r.rtos)
      );
      assert.deepEqual(
        column(frame, 'local_ip'),
        rows.map((r) => r.local.ip)
      );
      assert.deepEqual(
        column(frame, 'local_workload'),
        rows.map((r) => r.local.workload)
      );
      assert.deepEqual(
        column(frame, 'remote_ip'),
        rows.map((r) => r.remote.ip)
      );
      assert.deepEqual(
        column(frame, 'remote_zone'),
        rows.map((r) => r.remote.zone)
      );
      assert.deepEqual(
        column(frame, 'remote_service'),
        rows.map((r) => r.remote.service)
      );
      assert.deepEqual(
        column(frame, 'rtt_us'),
        rows.map((r) => (typeof r.rttUs === 'number' ? r.rttUs : (r.rttUs?.avg ?? null)))
      );
    }
    // The fixtures' known conversations land in the right tables with their names.
    const cluster = await ds.query(
      queryRequest([{ refId: 'C', queryType: 'topTalkers', categories: ['INTRA_AZ', 'INTER_AZ'] }], from, to)
    );
    const c = (cluster.data as DataFrame[])[0];
    const pairs = column(c, 'local_workload').map(
      (w, i) => `${w}->${column(c, 'remote_workload')[i]}:${column(c, 'category')[i]}`
    );
    assert.deepEqual(pairs.sort(), ['frontend->cart:INTRA_AZ', 'frontend->orders:INTER_AZ']);
  });

  await t.test('Node Graph frames equal the hub service map', async () => {
    const direct = await h.get(`/api/v1/service-map?groupBy=workload&from=${from}&to=${to}`);
    assert.equal(direct.status, 200);
    const res = await ds.query(
      queryRequest([{ refId: 'M', queryType: 'serviceMap', mapGroupBy: 'workload' }], from, to)
    );
    assert.equal(res.errors, undefined);
    const [nodes, edges] = res.data as DataFrame[];
    assert.equal(nodes?.meta?.preferredVisualisationType, 'nodeGraph');
    assert.equal(edges?.meta?.preferredVisualisationType, 'nodeGraph');
    for (const name of [
      'id',
      'title',
      'subtitle',
      'mainstat',
      'secondarystat',
      'arc__healthy',
      'arc__lossy',
      'color',
    ]) {
      column(nodes, name);
    }
    for (const name of ['id', 'source', 'target', 'mainstat', 'secondarystat', 'thickness', 'color']) {
      column(edges, name);
    }
    const hubNodes = direct.body.nodes as Array<{ id: string; title: string }>;
    const hubEdges = direct.body.edges as Array<{
      source: string;
      target: string;
      bytes: number;
      retransmits: number;
      rtos: number;
      segments: number | null;
    }>;
    assert.ok(hubEdges.length >= 2, 'fixture map has edges');
    // The hub counts segments (API 1.1), so each edge's ratio is exact: retransmits over segments sent.
    const ratio = column(edges, 'secondarystat');
    const segmentsOf = new Map(hubEdges.map((e) => [`${e.source}->${e.target}`, e]));
    column(edges, 'source').forEach((s, i) => {
      const e = segmentsOf.get(`${s}->${column(edges, 'target')[i]}`);
      assert.equal(typeof e?.segments, 'number', 'the hub sends segments');
      assert.equal(ratio[i], e!.retransmits / e!.segments!, `retransmitted share of ${s}`);
    });
    assert.deepEqual(new Set(column(nodes, 'id')), new Set(hubNodes.map((n) => n.id)));
    const key = (s: unknown, t: unknown) => `${s}->${t}`;
    const byPair = new Map<string, { bytes: number; retransmits: number }>();
    for (const e of hubEdges) {
      const k = key(e.source, e.target);
      const prev = byPair.get(k) ?? { bytes: 0, retransmits: 0 };
      byPair.set(k, { bytes: prev.bytes + e.bytes, retransmits: prev.retransmits + e.retransmits });
    }
    const src = column(edges, 'source');
    const tgt = column(edges, 'target');
    const bytes = column(edges, 'mainstat');
    assert.equal(src.length, byPair.size);
    src.forEach((s, i) => assert.equal(bytes[i], byPair.get(key(s, tgt[i]))?.bytes, `bytes of ${key(s, tgt[i])}`));
    // Node totals: every byte on an edge counts at both of its ends.
    const ids = column(nodes, 'id');
    const nodeBytes = column(nodes, 'mainstat');
    ids.forEach((id, i) => {
      const expected = hubEdges.filter((e) => e.source === id || e.target === id).reduce((a, e) => a + e.bytes, 0);
      assert.equal(nodeBytes[i], expected, `bytes through ${id}`);
    });
    const healthy = column(nodes, 'arc__healthy') as number[];
    const lossy = column(nodes, 'arc__lossy') as number[];
    healthy.forEach((v, i) => assert.ok(Math.abs(v + (lossy[i] ?? NaN) - 1) < 1e-12, 'arcs sum to 1'));
  });

  await t.test('template variables list what the hub knows', async () => {
    const direct = await h.get('/api/v1/namespaces');
    const ns = await ds.metricFindQuery('namespaces');
    assert.deepEqual(
      ns.map((v) => v.text),
      direct.body.namespaces
    );
    assert.ok(ns.some((v) => v.text === 'shop'));
    const wl = await ds.metricFindQuery('workloads(shop)');
    assert.deepEqual(wl.map((v) => v.text).sort(), ['cart', 'frontend', 'orders']);
  });

  await t.test('the token reaches the hub and never the browser', () => {
    assert.ok(browser.sent.length > 0 && proxy.upstream.length === browser.sent.length);
    for (const r of browser.sent) {
      assert.equal(r.headers.authorization ?? r.headers.Authorization, undefined);
      assert.ok(!JSON.stringify(r).includes(h.queryToken), 'browser request carries no token');
      assert.ok(r.url.startsWith(`/api/datasources/proxy/uid/${UID}/hub/api/v1/`), r.url);
    }
    for (const r of proxy.upstream) {
      assert.equal(r.headers.authorization, `Bearer ${h.queryToken}`);
      assert.ok(r.url.startsWith(`${h.url}/api/v1/`), r.url);
    }
  });

  await t.test('a wrong token gives a readable error', async (tt) => {
    const bad = await setup(tt, h.url, 'not-the-token');
    const res = await bad.ds.query(
      queryRequest([{ refId: 'A', queryType: 'topTalkers', categories: ['INTRA_AZ'] }], from, to)
    );
    assert.match(
      res.errors?.[0]?.message ?? '',
      /^Flowlens hub refused the query token while fetching top contributors \(INTRA_AZ\) \(HTTP 40[13]: .+\)\. Check the query token/
    );
  });
});

test('an unreachable hub gives a readable error, not a crash', async (t) => {
  const hubUrl = `http://127.0.0.1:${await freeLoopbackPort()}`;
  const { ds, proxy } = await setup(t, hubUrl, 'token');
  const health = await ds.testDatasource();
  assert.equal(health.status, 'error');
  assert.match(
    health.message,
    /^Flowlens hub unreachable while checking health \(HTTP 502: Bad Gateway\)\. Check the hub URL/
  );
  const res = await ds.query(
    queryRequest([{ refId: 'A', queryType: 'serviceMap' }], Date.now() - 3600_000, Date.now())
  );
  assert.deepEqual(res.data, []);
  assert.match(
    res.errors?.[0]?.message ?? '',
    /^Flowlens hub unreachable while fetching the service map \(HTTP 502: Bad Gateway\)/
  );
  assert.ok(proxy.upstream.every((r) => r.url.startsWith(hubUrl)));
});
