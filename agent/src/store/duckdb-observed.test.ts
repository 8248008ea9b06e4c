import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { stopTestStandin, testStoreKinds, withTestStore } from './clickhouse-test-stores.js';
import type { Endpoint, FlowRow, StoredReport } from './flow-store.js';
import { mergeFlows } from './merge.js';

const H = 3600_000;
const ep = (ip: string, ns: string | null, workload: string | null): Endpoint => ({
  ip,
  pod: workload ? `${workload}-1` : null,
  namespace: ns,
  workload,
  kind: workload ? 'Deployment' : null,
  node: workload ? 'n1' : null,
  zone: workload ? 'a' : null,
  service: null,
});
const web = ep('10.0.0.1', 'shop', 'web');
const db = ep('10.0.0.2', 'shop', 'db');
const pay = ep('10.0.1.1', 'payments', 'api');
const ext = ep('203.0.113.9', null, null);

function row(
  client: Endpoint,
  server: Endpoint,
  port: number,
  side: 'client' | 'server',
  up: number,
  down: number
): FlowRow {
  return {
    clientIp: client.ip,
    serverIp: server.ip,
    serverPort: port,
    side,
    category: server.zone === null ? 'UNCLASSIFIED' : 'INTRA_AZ',
    client,
    server,
    bytesSent: side === 'client' ? up : down,
    bytesReceived: side === 'client' ? down : up,
    segmentsSent: 1,
    segmentsReceived: 1,
    retransmits: 0,
    rtos: 0,
    connectionsOpened: 1,
    connectionsClosed: 1,
    rttAvgUs: null,
    rttMaxUs: null,
  };
}

function report(startMs: number, rows: FlowRow[]): StoredReport {
  return {
    reportId: randomUUID(),
    node: 'n1',
    startMs,
    endMs: startMs + 30_000,
    rows,
    other: { flows: 0, bytesSent: 0, bytesReceived: 0, retransmits: 0, rtos: 0 },
  };
}

after(stopTestStandin);

for (const kind of testStoreKinds()) {
  test(`[${kind}] observedFlows: merged by the merge rule, first/last seen per flow, namespace filter, across roll-ups`, async () => {
    await withTestStore(kind, async ({ store }) => {
      // DuckDB reads raw rows until its maintenance pass rolls them up, then the 1-hour buckets; ClickHouse reads
      // raw rows (complete) for whatever lies inside the raw retention.
      const rolledUp = kind === 'clickhouse' ? 1 : 3600;
      const t0 = Math.floor(Date.now() / H) * H - 3 * H;
      const reports: StoredReport[] = [];
      for (let w = 0; w < 20; w++) {
        const rows = [
          row(web, db, 5432, 'client', 100 + w, 1000),
          row(web, db, 5432, 'server', 90, 1200 + w), // the server saw more coming back: the larger view counts
          ...(w >= 5 && w < 12 ? [row(db, ext, 443, 'client', 10, 20)] : []),
          ...(w === 19 ? [row(pay, ext, 443, 'client', 7, 7)] : []),
        ];
        reports.push(report(t0 + w * 30_000, rows));
      }
      await store.append(reports);
      const expected = mergeFlows(reports.flatMap((r) => r.rows));
      const q = { fromMs: t0, toMs: t0 + H, namespace: 'shop' };

      const check = async (label: string, resolutionS: number) => {
        const got = (await store.observedFlows!(q)).result;
        assert.deepEqual(
          got.map((f) => `${f.client.ip}>${f.server.ip}:${f.serverPort}`),
          ['10.0.0.1>10.0.0.2:5432', '10.0.0.2>203.0.113.9:443'],
          `${label}: flows with an end in shop, payments' own flow left out`
        );
        for (const f of got) {
          const e = [...expected.values()].find((x) => x.client.ip === f.client.ip && x.server.ip === f.server.ip)!;
          assert.equal(f.bytes, e.bytes, `${label}: bytes by the merge rule`);
          // Ends come back with their cluster (`default`: these rows name none).
          assert.deepEqual(f.client, { cluster: 'default', ...e.client });
          assert.deepEqual(f.server, { cluster: 'default', ...e.server });
          assert.equal(f.category, e.category);
        }
        const [wd, dx] = got;
        const floor = (ms: number) => Math.floor(ms / 1000 / resolutionS) * resolutionS * 1000;
        assert.deepEqual(
          [wd!.firstSeenMs, wd!.lastSeenMs],
          [floor(t0), floor(t0 + 19 * 30_000)],
          `${label}: web→db seen`
        );
        assert.deepEqual([dx!.firstSeenMs, dx!.lastSeenMs], [floor(t0 + 5 * 30_000), floor(t0 + 11 * 30_000)], label);
      };
      await check('fresh', 1);
      await store.maintain(t0 + 2 * H); // rolled up; the hour-aligned range is then read from the 1-hour buckets
      await check('after a roll-up pass', rolledUp);
    });
  });
}
