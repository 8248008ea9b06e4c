/**
 * Stateless hubs on one ClickHouse store (the chdb stand-in, through @clickhouse/client): the same report
 * ingested through two hub processes counts once, whether the two posts race or follow each other; and a hub
 * killed with SIGKILL right after acknowledging loses no acknowledged report (the other hub answers for all).
 * Reports are asynchronous inserts with per-report deduplication: the raw table and every roll-up table are read
 * directly (through the official client) and hold each report once.
 * Ground truth: the bytes and rows of the reports the test posted.
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ReportV1 } from '../../agent/src/contracts/report';
import { fixture, newClickHouseStore, startHubProcess, type HubProcess } from '../lib/hub-process';
import { fixtureReports } from '../lib/report-fixtures';

let a: HubProcess;
let b: HubProcess;
/** The store itself, read apart from the hubs. */
let ch: ClickHouseClient;
const t0 = Date.now() - 10 * 60_000;
const range = `from=${t0 - 10 * 60_000}&to=${Date.now() + 60_000}`;

before(async () => {
  const storeSpec = await newClickHouseStore();
  const u = new URL(storeSpec);
  ch = createClient({
    url: `http://${u.host}`,
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
  });
  const opts = { metadataFile: fixture('metadata/three-nodes.json'), store: 'clickhouse' as const, storeSpec };
  a = await startHubProcess(opts);
  b = await startHubProcess({ ...opts, ingestToken: a.ingestToken, queryToken: a.queryToken });
});
after(async () => {
  await ch?.close();
  await a?.cleanup();
  await b?.cleanup();
});

/** Client → server bytes plus server → client bytes of every flow the reports hold, one end's view each. */
const bytesOf = (reports: ReportV1[]): number =>
  reports
    .flatMap((r) => r.flows)
    .filter((f) => f.direction === 'client')
    .reduce((s, f) => s + f.bytesSent + f.bytesReceived, 0);

async function one(query: string): Promise<number> {
  const rs = await ch.query({ query, format: 'JSONEachRow' });
  const [r] = await rs.json<{ n: string | number }>();
  return Number(r!.n);
}

/** Both ends' bytes as the store holds them: raw rows (one per flow end) and each roll-up (a flow's two ends). */
async function storedBytes(): Promise<{ raw: number; rollups: number[] }> {
  return {
    raw: await one(`SELECT sum(bytes_sent + bytes_received) AS n FROM flows_raw`),
    rollups: await Promise.all(
      [300, 900, 3600].map((s) => one(`SELECT sum(c_sent + c_recv + s_sent + s_recv) AS n FROM flows_${s}`))
    ),
  };
}

/** Every flow end's bytes in the reports (both ends of a flow each report theirs). */
const endBytesOf = (reports: ReportV1[]): number =>
  reports.flatMap((r) => r.flows).reduce((s, f) => s + f.bytesSent + f.bytesReceived, 0);

async function totalBytes(hub: HubProcess, extra = ''): Promise<number> {
  const res = await hub.get(`/api/v1/top-contributors?${range}&limit=500${extra}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body.rows as Array<{ bytes: number }>).reduce((s, r) => s + r.bytes, 0);
}

test('the same report through two hubs is stored once, racing or one after the other', async () => {
  const reports = fixtureReports({ startMs: t0, newId: true });
  // Racing: every report posted to both hubs at once.
  const raced = await Promise.all(reports.flatMap((r) => [a.postReport(r), b.postReport(r)]));
  for (const res of raced) {
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  // One after the other: the second hub finds the report already stored.
  for (const r of reports) {
    const again = await b.postReport(r);
    assert.deepEqual(again.body, { reportId: r.reportId, duplicate: true });
  }
  const expected = bytesOf(reports);
  assert.ok(expected > 0);
  assert.equal(await totalBytes(a), expected, 'hub A: every flow once');
  assert.equal(await totalBytes(b), expected, 'hub B: the same answer from the shared store');
  // The roll-ups (materialized views) saw each report once too: a 15-minute step reads only them.
  const series = await b.get(`/api/v1/timeseries?${range}&step=15m&groupBy=total`);
  assert.equal(series.status, 200, JSON.stringify(series.body));
  const points = (series.body.series as Array<{ points: Array<[number, number]> }>)[0]!.points;
  assert.equal(
    points.reduce((s, [, v]) => s + v, 0),
    expected,
    'roll-ups count each report once'
  );
  // The tables themselves: raw rows and every roll-up hold each flow end's bytes once.
  const ends = endBytesOf(reports);
  assert.deepEqual(await storedBytes(), { raw: ends, rollups: [ends, ends, ends] }, 'raw and every roll-up once');
  assert.equal(
    await one('SELECT count() AS n FROM flows_raw'),
    reports.reduce((s, r) => s + r.flows.length, 0),
    'one raw row per reported flow end'
  );
});

test('many reports through two hubs at once: raw rows and every roll-up hold each report once', async () => {
  const before = await storedBytes();
  const reports = Array.from({ length: 12 }, (_, i) =>
    fixtureReports({ startMs: t0 + 2 * 60_000 + i, newId: true })
  ).flat();
  // Every report to both hubs, all at once (asynchronous inserts with the same token racing).
  const res = await Promise.all(reports.flatMap((r) => [a.postReport(r), b.postReport(r)]));
  for (const r of res) {
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  const ends = endBytesOf(reports);
  const after = await storedBytes();
  assert.equal(after.raw, before.raw + ends, 'raw rows: each report once');
  after.rollups.forEach((v, i) => assert.equal(v, before.rollups[i]! + ends, `roll-up ${i}: each report once`));
  // How many parts asynchronous inserts make is a server's matter: the embedded engine (clickhouse-local) has no
  // asynchronous insert queue and inserts each report on its own (docs/hub.md "The stand-in and what it cannot show").
});

test('a hub killed right after acknowledging loses no acknowledged report', async () => {
  const before = await totalBytes(b);
  const sent: ReportV1[] = [];
  const acked = new Set<string>();
  const posts: Array<Promise<void>> = [];
  for (let i = 0; i < 12; i++) {
    const [r] = fixtureReports({ startMs: t0 + 60_000 + i * 1000, newId: true });
    sent.push(r!);
    posts.push(
      a.postReport(r!).then(
        (res) => {
          if (res.status === 200) {
            acked.add(r!.reportId);
          }
        },
        () => undefined // a post cut off by the kill was never acknowledged
      )
    );
    if (i === 8) {
      await posts[0];
      a.process.kill('SIGKILL');
    }
  }
  await Promise.all(posts);
  assert.ok(acked.size > 0, 'some reports were acknowledged before the kill');
  // Every acknowledged report is in the store: the surviving hub calls it a duplicate. Reports cut off by the
  // kill may or may not have been stored; their agents re-send them, here to the surviving hub.
  for (const r of sent) {
    const res = await b.postReport(r);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (acked.has(r.reportId)) {
      assert.deepEqual(res.body, { reportId: r.reportId, duplicate: true }, 'an acknowledged report was kept');
    }
  }
  assert.equal(
    await totalBytes(b),
    before + bytesOf(sent),
    `every report exactly once (${acked.size} acknowledged by the killed hub)`
  );
});
