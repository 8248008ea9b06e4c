/**
 * Stateless hubs on one ClickHouse store (the chdb stand-in, through @clickhouse/client): the same report
 * ingested through two hub processes counts once, whether the two posts race or follow each other; and a hub
 * killed with SIGKILL right after acknowledging loses no acknowledged report (the other hub answers for all).
 * Ground truth: the bytes of the reports the test posted.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ReportV1 } from '../../agent/src/contracts/report';
import { fixture, newClickHouseStore, startHubProcess, type HubProcess } from '../lib/hub-process';
import { fixtureReports } from '../lib/report-fixtures';

let a: HubProcess;
let b: HubProcess;
const t0 = Date.now() - 10 * 60_000;
const range = `from=${t0 - 10 * 60_000}&to=${Date.now() + 60_000}`;

before(async () => {
  const storeSpec = await newClickHouseStore();
  const opts = { metadataFile: fixture('metadata/three-nodes.json'), store: 'clickhouse' as const, storeSpec };
  a = await startHubProcess(opts);
  b = await startHubProcess({ ...opts, ingestToken: a.ingestToken, queryToken: a.queryToken });
});
after(async () => {
  await a?.cleanup();
  await b?.cleanup();
});

/** Client → server bytes plus server → client bytes of every flow the reports hold, one end's view each. */
const bytesOf = (reports: ReportV1[]): number =>
  reports
    .flatMap((r) => r.flows)
    .filter((f) => f.direction === 'client')
    .reduce((s, f) => s + f.bytesSent + f.bytesReceived, 0);

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
