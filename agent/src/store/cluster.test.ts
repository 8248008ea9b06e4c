/**
 * Many clusters in one store (issue 14), on each store (clickhouse-test-stores.ts): two clusters whose pods share
 * addresses and names report through the hub's own enrichment (the hub's metadata describes its own cluster,
 * `east`; `west` is named only by its own agents). Each cluster's bytes are exact under its filter, the sum without
 * one; no flow, node or edge joins the two; a report without `cluster` lands under the hub's.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { IpRanges } from '../classify/ip-ranges.js';
import type { ReportV1 } from '../contracts/report.js';
import { Enricher } from '../hub/enrich.js';
import { StaticMetadata } from '../metadata/static-file.js';
import { stopTestStandin, testStoreKinds, withTestStore } from './clickhouse-test-stores.js';
import type { RangeQuery } from './flow-store.js';

after(stopTestStandin);

/** The hub's own cluster (`east`): its metadata knows web and db, and a cache pod at an address west also uses. */
const eastMeta = new StaticMetadata({
  nodes: [
    { name: 'e1', zone: 'za' },
    { name: 'e2', zone: 'za' },
  ],
  pods: [
    { ip: '10.0.0.1', name: 'web-1', namespace: 'app', workload: 'web', kind: 'Deployment', node: 'e1' },
    { ip: '10.0.0.2', name: 'db-1', namespace: 'app', workload: 'db', kind: 'StatefulSet', node: 'e2' },
    { ip: '10.0.0.9', name: 'cache-1', namespace: 'app', workload: 'cache', kind: 'Deployment', node: 'e2' },
  ],
  services: [],
});

const T0 = Math.floor(Date.now() / 300_000) * 300_000 - 600_000;
const zero = {
  segmentsSent: 0,
  segmentsReceived: 0,
  retransmits: 0,
  rtos: 0,
  connectionsOpened: 1,
  connectionsClosed: 1,
};
const web = { namespace: 'app', pod: 'web-1', workload: 'web', kind: 'Deployment' };
const db = { namespace: 'app', pod: 'db-1', workload: 'db', kind: 'StatefulSet' };

function report(node: string, cluster: string | undefined, w: number, flows: ReportV1['flows']): ReportV1 {
  return {
    version: 1,
    reportId: crypto.randomUUID(),
    node,
    ...(cluster ? { cluster } : {}),
    zone: 'za',
    start: new Date(T0 + w * 30_000).toISOString(),
    end: new Date(T0 + (w + 1) * 30_000).toISOString(),
    flows,
    other: { bytesSent: 0, bytesReceived: 0, ...zero, connectionsOpened: 0, connectionsClosed: 0 },
  };
}

/**
 * web (10.0.0.1) → db (10.0.0.2:5432), seen from both ends; `up` client→server bytes, `down` back.
 */
function webToDb(cluster: string | undefined, w: number, up: number, down: number): ReportV1[] {
  const [c, s] = cluster === undefined ? ['e1', 'e2'] : [`${cluster}-1`, `${cluster}-2`];
  return [
    report(s, cluster, w, [
      {
        localIp: '10.0.0.2',
        localPort: 5432,
        remoteIp: '10.0.0.1',
        remotePort: 0,
        direction: 'server',
        local: db,
        bytesSent: down,
        bytesReceived: up,
        rttUs: null,
        ...zero,
      },
    ]),
    report(c, cluster, w, [
      {
        localIp: '10.0.0.1',
        localPort: 0,
        remoteIp: '10.0.0.2',
        remotePort: 5432,
        direction: 'client',
        local: web,
        bytesSent: up,
        bytesReceived: down,
        rttUs: { min: 100, avg: 200, max: 300 },
        ...zero,
      },
    ]),
  ];
}

/** West's web calls 10.0.0.9:6379: east's cache pod's address, unknown to west's agents (no server agent there). */
function westToNine(w: number, up: number, down: number): ReportV1 {
  return report('west-1', 'west', w, [
    {
      localIp: '10.0.0.1',
      localPort: 0,
      remoteIp: '10.0.0.9',
      remotePort: 6379,
      direction: 'client',
      local: web,
      bytesSent: up,
      bytesReceived: down,
      rttUs: null,
      ...zero,
    },
  ]);
}

for (const kind of testStoreKinds()) {
  test(`[${kind}] two clusters sharing pod IPs and names: exact per cluster, summed without a filter, never joined`, async () => {
    await withTestStore(kind, async ({ store }) => {
      const enricher = new Enricher(eastMeta, new IpRanges(), Date.now, 'east');
      const reports: ReportV1[] = [];
      let east = 0;
      let west = 0;
      let nine = 0;
      for (let w = 0; w < 6; w++) {
        reports.push(...webToDb(undefined, w, 1000 + w, 5000 + w));
        east += 6000 + 2 * w;
        reports.push(...webToDb('west', w, 7000 + w, 3000 + w));
        west += 10_000 + 2 * w;
        reports.push(westToNine(w, 40 + w, 60));
        nine += 100 + w;
      }
      // A running hub has heard from every agent before: the first window's reports teach it each agent's pods.
      reports.slice(0, 5).forEach((r) => enricher.enrich(r));
      await store.append(reports.map((r) => enricher.enrich(r)));
      const range: RangeQuery = { fromMs: T0, toMs: T0 + 3600_000 };
      const top = (q: Partial<RangeQuery>) =>
        store.topContributors({ ...range, ...q, metric: 'bytes', limit: 100, groupBy: 'flow' }).then((a) => a.result);

      const eastRows = await top({ cluster: 'east' });
      assert.deepEqual(
        eastRows.map((r) => [r.cluster, r.local.pod, r.remote.pod, r.bytes]),
        [['east', 'web-1', 'db-1', east]],
        "a report without cluster is the hub cluster's; its bytes exact"
      );
      const westRows = await top({ cluster: 'west' });
      assert.deepEqual(
        westRows.map((r) => [r.cluster, r.local.pod, r.remote.ip, r.remote.pod, r.bytes]),
        [
          ['west', 'web-1', '10.0.0.2', 'db-1', west],
          // East's metadata names 10.0.0.9 `cache-1`; west's agents never did, so west's flow keeps the bare address.
          ['west', 'web-1', '10.0.0.9', null, nine],
        ]
      );
      assert.equal(westRows[1]!.remote.zone, null, 'no zone borrowed from the hub cluster either');
      assert.deepEqual(
        westRows.map((r) => [r.category, r.remote.zone]),
        [
          ['INTRA_AZ', 'za'], // db's zone from its own node's agent (west-2 reported zone za)
          ['UNCLASSIFIED', null],
        ]
      );
      const all = await top({});
      assert.equal(all.length, 3, 'the same pods and addresses in two clusters are two flows');
      assert.equal(
        all.reduce((s, r) => s + r.bytes, 0),
        east + west + nine
      );
      assert.deepEqual(all.map((r) => r.cluster).sort(), ['east', 'west', 'west']);
      assert.deepEqual(await top({ cluster: 'north' }), []);

      const grouped = await store.topContributors({ ...range, metric: 'bytes', limit: 100, groupBy: 'workload' });
      assert.deepEqual(
        grouped.result.map((r) => [r.cluster, r.local.workload, r.remote.workload ?? r.remote.ip, r.bytes]).sort(),
        [
          ['east', 'web', 'db', east],
          ['west', 'web', '10.0.0.9', nine],
          ['west', 'web', 'db', west],
        ],
        'workloads of the same name in two clusters are two groups'
      );

      const map = (await store.serviceMap({ ...range, groupBy: 'workload', limit: 100 })).result;
      const nodes = new Map(map.nodes.map((n) => [n.id, n]));
      assert.equal(map.edges.length, 3);
      assert.deepEqual(map.nodes.map((n) => n.id).sort(), [
        'east/app/db',
        'east/app/web',
        'west/10.0.0.9',
        'west/app/db',
        'west/app/web',
      ]);
      for (const e of map.edges) {
        assert.equal(nodes.get(e.source)!.cluster, e.cluster, `edge ${e.id}: source in the edge's cluster`);
        assert.equal(nodes.get(e.target)!.cluster, e.cluster, `edge ${e.id}: target in the edge's cluster`);
      }
      assert.deepEqual(map.edges.map((e) => [e.id, e.bytes]).sort(), [
        ['east/app/web->east/app/db', east],
        ['west/app/web->west/10.0.0.9', nine],
        ['west/app/web->west/app/db', west],
      ]);
      const westMap = (await store.serviceMap({ ...range, cluster: 'west', groupBy: 'pod', limit: 100 })).result;
      assert.ok(westMap.nodes.every((n) => n.cluster === 'west'));
      assert.equal(
        westMap.edges.reduce((s, e) => s + e.bytes, 0),
        west + nine
      );

      for (const [cluster, total] of [
        ['east', east],
        ['west', west + nine],
        [undefined, east + west + nine],
      ] as const) {
        const series = (
          await store.timeseries({
            ...range,
            ...(cluster ? { cluster } : {}),
            metric: 'bytes',
            stepMs: 30_000,
            groupBy: 'total',
            limit: 10,
          })
        ).result;
        assert.equal(
          series[0]!.points.reduce((s, [, v]) => s + v, 0),
          total,
          `time series of ${cluster ?? 'every cluster'}`
        );
      }

      const clusters = (await store.clusters(range)).result;
      assert.deepEqual(
        clusters.map((c) => c.name),
        ['east', 'west']
      );
      for (const c of clusters) {
        assert.equal(c.lastSeenMs, T0 + 5 * 30_000, `${c.name}: last seen at its latest report window`);
      }
      assert.deepEqual((await store.clusters({ fromMs: T0 - 3600_000, toMs: T0 - 1800_000 })).result, []);
      assert.deepEqual(await store.namespaces('west'), ['app']);
      assert.deepEqual(
        (await store.workloads('app', 'west')).map((w) => w.workload),
        ['db', 'web'],
        "west's own agents named web and db; cache is east's only"
      );
      assert.deepEqual(
        (await store.workloads('app', 'east')).map((w) => w.workload),
        ['db', 'web']
      );

      if (store.observedFlows) {
        const observed = (await store.observedFlows({ ...range, cluster: 'west', namespace: 'app' })).result;
        assert.deepEqual(
          observed.map((f) => [f.client.cluster, f.server.ip, f.bytes]),
          [
            ['west', '10.0.0.2', west],
            ['west', '10.0.0.9', nine],
          ]
        );
      }
    });
  });
}
