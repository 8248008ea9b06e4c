/**
 * Two clusters in the app, in a real browser (issue 14): the real Flowlens app booted in Debian's headless Chromium
 * by the app shell (tests/browser/app/) against a live hub process (tests/browser/lib/appEnv.ts) that is cluster
 * `east` (`--cluster east`, the fixture reports and metadata) and is also fed cluster `west`'s reports: the same
 * three nodes, the same pod addresses and pod names (overlapping IPs, the case that must not be joined), three times
 * east's bytes, and the `ops` namespace called `batch`.
 *
 * Choosing a cluster in the Cluster picker: the Flows table and the service map hold only that cluster's flows with
 * that cluster's exact bytes, and the Namespace picker lists only its namespaces. With All: every table row says its
 * cluster, each map node says its cluster, no node or edge joins east's and west's pods, and a drilldown from a
 * west edge stays in west. Bytes are compared with what the test posted (tests/browser/lib/postedFlows.ts), not
 * with the hub's answers.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireBinary } from '../../agent/test/lib/privileges';
import type { ReportV1 } from '../../agent/src/contracts/report';
import { FLOW_COUNT_TITLE } from '../../src/pages/shared/pageText';
import { PROMETHEUS_BIN } from '../lib/prometheus-server';
import { fixtureReports } from '../lib/report-fixtures';
import type { RecordedFrame } from './app/protocol';
import { appWorkspace } from './lib/appWorkspace';
import { APP_ID, startAppEnv, type AppEnv } from './lib/appEnv';
import { CHROMIUM, chooseVariable, panelLocator, recordedPanels, settled, variableOptions } from './lib/appPage';
import {
  flowKey,
  postedEdges,
  postedFlows,
  postedNamespaces,
  postedPods,
  type MapLevel,
  type PostedFlow,
} from './lib/postedFlows';
import { tableCells } from './lib/table';

const APP = `/a/${APP_ID}`;
const EAST = 'east';
const WEST = 'west';
const WEST_BYTES_FACTOR = 3;
const FLOWS = 'Cluster flows';
const MAP = 'Service map';

/** West's copy of a fixture report: its cluster, its own id, three times the bytes, `ops` called `batch`. */
function westOf(r: ReportV1): ReportV1 {
  return {
    ...r,
    reportId: randomUUID(),
    cluster: WEST,
    flows: r.flows.map((f) => ({
      ...f,
      bytesSent: f.bytesSent * WEST_BYTES_FACTOR,
      bytesReceived: f.bytesReceived * WEST_BYTES_FACTOR,
      local: f.local?.namespace === 'ops' ? { ...f.local, namespace: 'batch' } : f.local,
    })),
  };
}

/** A flow table frame's rows as posted flows (cluster, addresses, port, bytes), sorted by key. */
function frameFlows(frame: RecordedFrame | undefined): PostedFlow[] {
  assert.ok(frame, 'the table got a frame');
  const col = (name: string) => {
    const f = frame.fields.find((x) => x.name === name);
    assert.ok(f, `the frame has ${name}: ${frame.fields.map((x) => x.name).join(', ')}`);
    return f.values;
  };
  const [cluster, local, remote, port, bytes] = ['cluster', 'local_ip', 'remote_ip', 'server_port', 'bytes'].map(col);
  return Array.from({ length: frame.length }, (_, i) => ({
    cluster: String(cluster![i]),
    clientIp: String(local![i]),
    serverIp: String(remote![i]),
    serverPort: Number(port![i]),
    bytes: Number(bytes![i]),
  })).sort((a, b) => flowKey(a).localeCompare(flowKey(b)));
}

/** The map's frames as edges (source → target: bytes) and node ids with their Cluster detail. */
function mapOf(frames: RecordedFrame[]) {
  const [nodes, edges] = frames;
  assert.ok(nodes && edges, 'the map got nodes and edges');
  const col = (f: RecordedFrame, name: string) => f.fields.find((x) => x.name === name)?.values ?? [];
  const ids = col(nodes, 'id').map(String);
  const clusterOfNode = new Map(ids.map((id, i) => [id, String(col(nodes, 'detail__cluster')[i])]));
  const subtitles = new Map(ids.map((id, i) => [id, String(col(nodes, 'subtitle')[i])]));
  const list = Array.from({ length: edges.length }, (_, i) => ({
    source: String(col(edges, 'source')[i]),
    target: String(col(edges, 'target')[i]),
    bytes: Number(col(edges, 'mainstat')[i]),
  })).sort((a, b) => `${a.source} → ${a.target}`.localeCompare(`${b.source} → ${b.target}`));
  return { ids: new Set(ids), clusterOfNode, subtitles, edges: list };
}

test('two clusters with overlapping pod IPs in headless Chromium', { timeout: 420_000 }, async (t) => {
  if (!requireBinary(t, CHROMIUM) || !requireBinary(t, PROMETHEUS_BIN)) {
    return;
  }
  const ws = await appWorkspace(t, 'two-clusters');
  const { cleanups, built } = ws;
  let westInWindow: ReportV1[] = [];
  const env: AppEnv = await startAppEnv(ws.bundleDir, {
    cluster: EAST,
    moreReports: (start) => {
      // West's agents describe their pods first, in a window before the one the pages show: a hub names another
      // cluster's addresses only from what that cluster's agents said (docs/hub.md, Clusters).
      const described = fixtureReports({ startMs: start - 10 * 60_000, newId: true }).map(westOf);
      westInWindow = fixtureReports({ startMs: start, newId: true }).map(westOf);
      return [...described, ...westInWindow];
    },
  });
  cleanups.push(() => env.close());
  await built;

  // Ground truth: east is every report in the window that names no cluster (the fixtures and the reverse call).
  const eastReports = env.reports.filter((r) => r.cluster === undefined);
  const truth = postedFlows([...eastReports, ...westInWindow], EAST);
  const pods = postedPods(env.reports, EAST);
  const onlyPods = (flows: PostedFlow[]) =>
    flows.filter((f) => pods.get(f.cluster)?.has(f.clientIp) && pods.get(f.cluster)?.has(f.serverIp));
  const of = (cluster: string) => truth.filter((f) => f.cluster === cluster);
  assert.ok(of(EAST).length > 0 && of(WEST).length > 0);
  const westFrontendCart = of(WEST).find((f) => f.clientIp === '10.1.1.10' && f.serverIp === '10.1.2.20');
  const eastFrontendCart = of(EAST).find((f) => f.clientIp === '10.1.1.10' && f.serverIp === '10.1.2.20');
  assert.equal(westFrontendCart?.bytes, WEST_BYTES_FACTOR * eastFrontendCart!.bytes, 'the same IPs, other bytes');

  const { page, consoleErrors } = await ws.openBrowser({ width: 2700, height: 1100 });
  const noConsoleErrors = (what: string) => assert.deepEqual(consoleErrors, [], `${what}: no console errors`);
  const range = `from=${env.window.from}&to=${env.window.to}`;
  const open = async (path: string) => {
    consoleErrors.length = 0;
    await page.goto(`${env.site.origin}${path}`);
    await page.waitForFunction('window.flowlensApp && window.flowlensApp.booted');
  };
  /** The hub API calls the page made since `mark` to `path`. */
  const hubCalls = (mark: number, path: string) =>
    env.proxy.upstream
      .slice(mark)
      .map((u) => new URL(u.url))
      .filter((u) => u.pathname === path);
  /** Waits until the panel's first frame holds only `cluster`'s rows (the page re-ran its query). */
  const waitForCluster = async (title: string, cluster: string, field: string) => {
    try {
      await onlyCluster(title, cluster, field);
    } catch {
      const frame = (await recordedPanels(page))[title]?.frames[0];
      assert.fail(
        `${title}: expected only ${cluster}'s rows, the panel holds ${field} ` +
          JSON.stringify(frame?.fields.find((f) => f.name === field)?.values ?? 'no frame')
      );
    }
  };
  const onlyCluster = (title: string, cluster: string, field: string) =>
    page.waitForFunction(
      ([t, c, f]) => {
        const frame = (globalThis as any).flowlensApp.panels[t]?.frames[0];
        const values: unknown[] | undefined = frame?.fields.find((x: { name: string }) => x.name === f)?.values;
        return (
          (globalThis as any).flowlensApp.panels[t]?.state === 'Done' &&
          !!values &&
          values.length > 0 &&
          values.every((v) => (f === 'id' ? String(v).startsWith(`${c}/`) : v === c))
        );
      },
      [title, cluster, field] as const
    );

  /** The Flows table shows exactly `expected`: the frame cell by cell, the DOM's Cluster and address columns. */
  const assertFlowsTable = async (expected: PostedFlow[], what: string) => {
    const got = await recordedPanels(page);
    assert.deepEqual(frameFlows(got[FLOWS]!.frames[0]), expected, `${what}: the table's flows and bytes`);
    const shown = await tableCells(panelLocator(page, FLOWS));
    assert.deepEqual(
      shown.map((c) => `${c.Cluster} ${c['Local IP']} → ${c['Remote IP']}:${c['Server port']}`).sort(),
      expected.map(flowKey).sort(),
      `${what}: each shown row names its cluster`
    );
    assert.equal(got[FLOW_COUNT_TITLE]!.frames[0]!.length, expected.length, `${what}: the count`);
  };

  await t.test('Flows, all clusters: both clusters’ flows, each row labelled with its cluster', async () => {
    const mark = env.proxy.upstream.length;
    await open(`${APP}/flows?${range}`);
    await settled(page, [FLOWS, FLOW_COUNT_TITLE]);
    const calls = hubCalls(mark, '/api/v1/top-contributors');
    assert.ok(calls.length > 0);
    assert.ok(
      calls.every((u) => !u.searchParams.has('cluster')),
      'All: no cluster filter'
    );
    const expected = onlyPods(truth);
    assert.ok(expected.some((f) => f.cluster === EAST) && expected.some((f) => f.cluster === WEST));
    await assertFlowsTable(expected, 'All');
    assert.deepEqual(await variableOptions(page, 'Cluster'), ['All', EAST, WEST], 'the clusters with flows');
    assert.deepEqual(
      await variableOptions(page, 'Namespace'),
      ['All', ...new Set([...postedNamespaces(pods, EAST), ...postedNamespaces(pods, WEST)])].sort((a, b) =>
        a === 'All' ? -1 : b === 'All' ? 1 : a.localeCompare(b)
      ),
      'All: every cluster’s namespaces'
    );
    noConsoleErrors('Flows (All)');
  });

  for (const cluster of [EAST, WEST]) {
    await t.test(
      `Flows, ${cluster} chosen in the Cluster picker: its rows and bytes only, its namespaces`,
      async () => {
        const mark = env.proxy.upstream.length;
        await chooseVariable(page, 'Cluster', cluster);
        await page.waitForURL(new RegExp(`var-cluster=${cluster}(&|$)`));
        await waitForCluster(FLOWS, cluster, 'cluster');
        await settled(page, [FLOWS, FLOW_COUNT_TITLE]);
        const calls = hubCalls(mark, '/api/v1/top-contributors');
        assert.ok(calls.length > 0, 'the page asked the hub again');
        assert.ok(
          calls.every((u) => u.searchParams.get('cluster') === cluster),
          `every request names ${cluster}`
        );
        await assertFlowsTable(onlyPods(of(cluster)), cluster);
        const nsMark = env.proxy.upstream.length;
        assert.deepEqual(
          await variableOptions(page, 'Namespace'),
          ['All', ...postedNamespaces(pods, cluster)],
          `${cluster}: the Namespace picker lists ${cluster}'s namespaces`
        );
        const listed = [...hubCalls(mark, '/api/v1/namespaces'), ...hubCalls(nsMark, '/api/v1/namespaces')];
        assert.ok(
          listed.length > 0 && listed.every((u) => u.searchParams.get('cluster') === cluster),
          'the namespaces were listed again, for the chosen cluster'
        );
        noConsoleErrors(`Flows (${cluster})`);
      }
    );
  }

  const edgesOf = (cluster?: string, level: MapLevel = 'workload') =>
    postedEdges(cluster ? of(cluster) : truth, pods, level).sort((a, b) =>
      `${a.source} → ${a.target}`.localeCompare(`${b.source} → ${b.target}`)
    );

  await t.test('Service map, one cluster at a time: only its nodes and edges, with its bytes', async () => {
    await open(`${APP}/service-map?${range}&var-cluster=${EAST}`);
    await waitForCluster(MAP, EAST, 'id');
    for (const cluster of [EAST, WEST]) {
      const mark = env.proxy.upstream.length;
      if (cluster === WEST) {
        await chooseVariable(page, 'Cluster', WEST);
        await page.waitForURL(new RegExp(`var-cluster=${WEST}(&|$)`));
        await waitForCluster(MAP, WEST, 'id');
        const calls = hubCalls(mark, '/api/v1/service-map');
        assert.ok(calls.length > 0 && calls.every((u) => u.searchParams.get('cluster') === WEST));
      }
      const got = await settled(page, [MAP]);
      assert.deepEqual(got[MAP]!.nodeGraphViolations, [], 'frames keep the Node Graph contract');
      const map = mapOf(got[MAP]!.frames);
      assert.deepEqual(map.edges, edgesOf(cluster), `${cluster}: the map's edges and bytes`);
      assert.deepEqual(
        map.ids,
        new Set(edgesOf(cluster).flatMap((e) => [e.source, e.target])),
        `${cluster}: the nodes of its edges only`
      );
      assert.ok([...map.clusterOfNode.values()].every((c) => c === cluster));
      noConsoleErrors(`Service map (${cluster})`);
    }
  });

  await t.test(
    'Service map, all clusters: no node or edge joins east’s and west’s pods; nodes say their cluster',
    async () => {
      const mark = env.proxy.upstream.length;
      await open(`${APP}/service-map?${range}`);
      const got = await settled(page, [MAP]);
      assert.ok(hubCalls(mark, '/api/v1/service-map').every((u) => !u.searchParams.has('cluster')));
      const map = mapOf(got[MAP]!.frames);
      assert.deepEqual(map.edges, edgesOf(), 'both clusters’ edges, each with its own bytes');
      for (const e of map.edges) {
        const c = map.clusterOfNode.get(e.source);
        assert.ok(c === EAST || c === WEST, `${e.source}: a cluster`);
        assert.equal(map.clusterOfNode.get(e.target), c, `${e.source} → ${e.target} stays in ${c}`);
      }
      // The pods that share an address in both clusters are two nodes, each labelled with its cluster.
      for (const cluster of [EAST, WEST]) {
        const id = `${cluster}/shop/frontend`;
        assert.ok(map.ids.has(id), `${id} on the map`);
        assert.equal(map.subtitles.get(id), `${cluster} · shop`);
        const node = page.locator(`[data-testid="flowlens-node-graph-node"][data-id="${id}"]`);
        assert.match(await node.innerText(), new RegExp(`^frontend ${cluster} · shop ·`));
      }
      noConsoleErrors('Service map (All)');
    }
  );

  await t.test('a drilldown from a west edge on the all-clusters map stays in west', async () => {
    const edge = page.locator(
      `[data-testid="flowlens-node-graph-edge"][data-source="${WEST}/shop/frontend"][data-target="${WEST}/shop/cart"]`
    );
    const link = edge.getByRole('link', { name: 'Show flows (both directions)', exact: true });
    assert.match((await link.getAttribute('href')) ?? '', new RegExp(`[?&]var-cluster=${WEST}(&|$)`));
    const mark = env.proxy.upstream.length;
    await link.click();
    await page.waitForURL(/\/service-map\/edge\//);
    assert.equal(new URL(page.url()).searchParams.get('var-cluster'), WEST, 'the page keeps the cluster');
    const title = 'Flows between shop/frontend and shop/cart';
    await waitForCluster(title, WEST, 'cluster');
    const got = await settled(page, [title]);
    const calls = hubCalls(mark, '/api/v1/top-contributors');
    assert.ok(calls.length > 0 && calls.every((u) => u.searchParams.get('cluster') === WEST));
    assert.deepEqual(frameFlows(got[title]!.frames[0]), [westFrontendCart], 'west’s flow with west’s bytes, only');
    const shown = await tableCells(panelLocator(page, title));
    assert.deepEqual(
      shown.map((c) => c.Cluster),
      [WEST]
    );
    noConsoleErrors('drilldown (west)');
  });

  await t.test(
    'Service map, all clusters, per pod: the pods sharing an address stay two nodes, one per cluster',
    async () => {
      await open(`${APP}/service-map?${range}`);
      await settled(page, [MAP]);
      const mark = env.proxy.upstream.length;
      await chooseVariable(page, 'View', 'Pods');
      await page.waitForURL(/var-view=pod(&|$)/);
      const frontend = (c: string) => `${c}/shop/frontend-7d9f8-abcde`;
      await page.waitForFunction(
        (id) => (globalThis as any).flowlensApp.panels['Service map']?.frames[0]?.fields[0]?.values.includes(id),
        frontend(WEST)
      );
      const got = await settled(page, [MAP]);
      const calls = hubCalls(mark, '/api/v1/service-map');
      assert.ok(
        calls.length > 0 &&
          calls.every((u) => u.searchParams.get('groupBy') === 'pod' && !u.searchParams.has('cluster'))
      );
      const map = mapOf(got[MAP]!.frames);
      assert.deepEqual(map.edges, edgesOf(undefined, 'pod'), 'both clusters’ pod edges, each with its own bytes');
      for (const e of map.edges) {
        assert.equal(map.clusterOfNode.get(e.target), map.clusterOfNode.get(e.source), `${e.source} → ${e.target}`);
      }
      for (const c of [EAST, WEST]) {
        assert.equal(map.clusterOfNode.get(frontend(c)), c, `10.1.1.10 is ${frontend(c)} in ${c}`);
      }
      noConsoleErrors('Service map (All, pods)');
    }
  );
});
