/**
 * Many clusters in one hub (issue 14), the hub as a process: `--cluster east` with east's metadata; the same three
 * fixture nodes report once without a cluster (east's) and once as cluster `west` (same addresses, same pod names).
 * Each cluster's answers are its own and equal to what one cluster alone gives, the sum without a filter, no edge
 * joins the two, `/api/v1/clusters` lists both, and a bad cluster name is refused naming the field.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fixture, startHubProcess, type HubProcess } from '../lib/hub-process';
import { fixtureReports } from '../lib/report-fixtures';

let hub: HubProcess;
const windowStart = Date.now() - 3 * 60_000;
const range = `from=${windowStart - 60_000}&to=${Date.now() + 60_000}`;

interface Row {
  cluster: string;
  category: string;
  local: Record<string, string | null>;
  remote: Record<string, string | null>;
  bytes: number;
}
interface MapAnswer {
  nodes: Array<{ id: string; cluster: string }>;
  edges: Array<{ id: string; source: string; target: string; cluster: string; bytes: number }>;
}
const sum = (rows: Array<{ bytes: number }>): number => rows.reduce((s, r) => s + r.bytes, 0);

before(async () => {
  hub = await startHubProcess({
    metadataFile: fixture('metadata/three-nodes.json'),
    ipRangesFile: fixture('ip-ranges-override.json'),
    args: ['--cluster', 'east'],
  });
  // West's agents first describe their pods (an earlier window, outside the queried range): a hub names another
  // cluster's addresses only from what that cluster's agents said.
  for (const r of fixtureReports({ startMs: windowStart - 10 * 60_000, newId: true })) {
    assert.equal((await hub.postReport({ ...r, cluster: 'west' })).status, 200);
  }
  for (const r of fixtureReports({ startMs: windowStart, newId: true })) {
    assert.equal((await hub.postReport(r)).status, 200, 'a report without cluster');
    assert.equal((await hub.postReport({ ...r, reportId: crypto.randomUUID(), cluster: 'west' })).status, 200);
  }
});
after(async () => {
  await hub?.cleanup();
});

const top = async (q: string): Promise<Row[]> => {
  const res = await hub.get(`/api/v1/top-contributors?${range}&limit=500${q}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.rows as Row[];
};

test('each cluster is its own: same bytes as one cluster alone, summed without a filter, rows labelled', async () => {
  const east = await top('&cluster=east');
  const west = await top('&cluster=west');
  const all = await top('');
  assert.ok(east.length > 0);
  assert.ok(
    east.every((r) => r.cluster === 'east'),
    'a report without cluster is the hub cluster (--cluster)'
  );
  assert.ok(west.every((r) => r.cluster === 'west'));
  assert.equal(sum(west), sum(east), 'the same reports give the same bytes in either cluster');
  assert.equal(west.length, east.length, 'and the same flows: nothing merged across, nothing split');
  assert.equal(all.length, east.length + west.length);
  assert.equal(sum(all), sum(east) + sum(west));
  assert.deepEqual((await top('&cluster=north')).length, 0);
  // East's names come from its metadata; west's only from west's agents (every local end of these fixtures).
  const web = east.find((r) => r.local.ip === '10.1.1.10' && r.remote.ip === '10.1.2.20');
  const webWest = west.find((r) => r.local.ip === '10.1.1.10' && r.remote.ip === '10.1.2.20');
  assert.ok(web && webWest);
  assert.equal(webWest.bytes, web.bytes);
  assert.equal(webWest.remote.pod, web.remote.pod, "west's own agent named its server pod");
  assert.equal(webWest.remote.zone, web.remote.zone, "and its zone is the one west's agent on that node reported");
  const categories = (rows: Row[]) => rows.map((r) => `${r.local.ip}>${r.remote.ip} ${r.category}`).sort();
  assert.deepEqual(categories(west), categories(east), 'so every flow falls in the same category');
});

test('service map: no node or edge shared between the clusters', async () => {
  const res = await hub.get(`/api/v1/service-map?${range}&groupBy=workload`);
  assert.equal(res.status, 200);
  const map = res.body as MapAnswer;
  const nodes = new Map(map.nodes.map((n) => [n.id, n]));
  for (const e of map.edges) {
    assert.equal(nodes.get(e.source)?.cluster, e.cluster, `${e.id}: source in its cluster`);
    assert.equal(nodes.get(e.target)?.cluster, e.cluster, `${e.id}: target in its cluster`);
  }
  assert.ok(map.nodes.filter((n) => n.cluster === 'west').every((n) => n.id.startsWith('west/')));
  assert.ok(map.nodes.filter((n) => n.cluster === 'east').every((n) => n.id.startsWith('east/')));
  const east = (await hub.get(`/api/v1/service-map?${range}&groupBy=workload&cluster=east`)).body as MapAnswer;
  const west = (await hub.get(`/api/v1/service-map?${range}&groupBy=workload&cluster=west`)).body as MapAnswer;
  assert.equal(sum(east.edges) + sum(west.edges), sum(map.edges));
  assert.equal(sum(west.edges), sum(east.edges));
  assert.equal(west.edges.length + east.edges.length, map.edges.length);
});

test('clusters, namespaces and workloads per cluster; bad cluster names refused naming the field', async () => {
  const res = await hub.get(`/api/v1/clusters?${range}`);
  assert.equal(res.status, 200);
  assert.deepEqual(
    res.body.clusters.map((c: { name: string }) => c.name),
    ['east', 'west']
  );
  for (const c of res.body.clusters as Array<{ lastSeen: number }>) {
    assert.ok(c.lastSeen >= windowStart - 300_000 && c.lastSeen <= windowStart, `last seen ${c.lastSeen}`);
  }
  assert.deepEqual(
    (await hub.get(`/api/v1/namespaces?cluster=west`)).body.namespaces,
    (await hub.get(`/api/v1/namespaces?cluster=east`)).body.namespaces
  );
  for (const path of ['top-contributors', 'service-map', 'timeseries', 'namespaces', 'workloads']) {
    const bad = await hub.get(`/api/v1/${path}?${range}&cluster=${encodeURIComponent('a~b')}`);
    assert.equal(bad.status, 400, path);
    assert.match(bad.body.error, /^cluster: expected a cluster name/);
  }
  const other = await hub.get(`/api/v1/policy-drafts?namespace=shop&cluster=west`);
  assert.equal(other.status, 400);
  assert.match(other.body.error, /^cluster: policies are drafted and checked for this hub's own cluster 'east'/);
  const [r] = fixtureReports({ startMs: windowStart, newId: true });
  const refused = await hub.postReport({ ...r, cluster: 'a b' });
  assert.equal(refused.status, 422);
  assert.match(refused.body.error, /^schema violation: cluster: /);
});
