/**
 * The agent's hub reporter across a hub outage: reports queue (on disk) and retry with backoff while the hub
 * is down, survive a reporter restart, and arrive exactly once when the hub is back: totals are exact.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ReportV1 } from '../../agent/src/contracts/report';
import { HubReporter } from '../../agent/src/reporter/hub-reporter';
import { restartHubProcess, startHubProcess } from '../lib/hub-process';

const T0 = Date.now() - 20 * 60_000;

/** Report i: one client flow from 10.9.0.1 to 10.9.1.(i % 7) with i·1000 + 1 bytes each way. */
function report(i: number): ReportV1 {
  const start = T0 + i * 10_000;
  const counters = { segmentsSent: 1, segmentsReceived: 1, connectionsOpened: 1, connectionsClosed: 1 };
  return {
    version: 1,
    reportId: randomUUID(),
    node: 'node-x',
    zone: null,
    start: new Date(start).toISOString(),
    end: new Date(start + 10_000).toISOString(),
    flows: [
      {
        localIp: '10.9.0.1',
        localPort: 0,
        remoteIp: `10.9.1.${i % 7}`,
        remotePort: 5000,
        direction: 'client',
        local: null,
        bytesSent: i * 1000 + 1,
        bytesReceived: i * 1000 + 1,
        retransmits: i % 3,
        rtos: 0,
        rttUs: null,
        ...counters,
      },
    ],
    other: { bytesSent: 0, bytesReceived: 0, retransmits: 0, rtos: 0, flows: 0, ...counters },
  };
}

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('hub outage: the reporter queues on disk, retries, and totals are exact once the hub is back', async () => {
  const queueDir = await mkdtemp(join(tmpdir(), 'flowlens-queue-'));
  let hub = await startHubProcess();
  const opts = {
    url: hub.url,
    token: hub.ingestToken,
    queueDir,
    retryBaseMs: 50,
    retryMaxMs: 400,
    closeTimeoutMs: 500,
    log: () => {},
  };
  let reporter = new HubReporter(opts);
  try {
    let i = 0;
    for (; i < 10; i++) {
      reporter.send(report(i));
    }
    await until('the first reports', () => reporter.stats().sent === 10);

    await hub.stop();
    for (; i < 30; i++) {
      reporter.send(report(i));
    }
    await until('failed attempts', () => reporter.stats().failures >= 3);
    assert.equal(reporter.stats().queued, 20);
    assert.equal(reporter.stats().sent, 10);

    // The agent restarts during the outage: the disk queue carries the reports over.
    const firstStats = reporter.stats();
    await reporter.close();
    reporter = new HubReporter({ ...opts, closeTimeoutMs: 1000 });
    for (; i < 35; i++) {
      reporter.send(report(i));
    }
    assert.equal(reporter.stats().queued, 25);

    hub = await restartHubProcess(hub);
    await until('the queue to drain', () => reporter.stats().queued === 0);
    assert.equal(firstStats.sent + reporter.stats().sent, 35);
    assert.equal(reporter.stats().dropped, 0);

    const res = await hub.get(`/api/v1/top-contributors?from=${T0 - 600_000}&to=${Date.now()}&limit=500`);
    assert.equal(res.status, 200);
    const rows = res.body.rows as Array<{ bytes: number; retransmits: number }>;
    let bytes = 0;
    let retransmits = 0;
    for (let k = 0; k < 35; k++) {
      bytes += 2 * (k * 1000 + 1);
      retransmits += k % 3;
    }
    assert.equal(rows.length, 7);
    assert.equal(
      rows.reduce((s, r) => s + r.bytes, 0),
      bytes
    );
    assert.equal(
      rows.reduce((s, r) => s + r.retransmits, 0),
      retransmits
    );
    assert.equal((await hub.get('/api/v1/health')).body.reports.accepted, 25, 'no report stored twice');
  } finally {
    await reporter.close();
    await hub.cleanup();
    await rm(queueDir, { recursive: true, force: true });
  }
});

test('a report the hub refuses (422) is dropped, not retried forever', async () => {
  const hub = await startHubProcess();
  const reporter = new HubReporter({ url: hub.url, token: hub.ingestToken, retryBaseMs: 50, log: () => {} });
  try {
    const bad = report(1);
    bad.start = new Date(Date.now() - 30 * 86400_000).toISOString(); // older than the hub keeps
    bad.end = bad.start;
    reporter.send(bad);
    reporter.send(report(2));
    await until('delivery', () => reporter.stats().queued === 0);
    assert.deepEqual({ ...reporter.stats(), failures: 0 }, { queued: 0, sent: 1, dropped: 1, failures: 0 });
  } finally {
    await reporter.close();
    await hub.cleanup();
  }
});

test('a wrong token is retried, never dropped (the report waits for the token to be fixed)', async () => {
  const hub = await startHubProcess();
  const reporter = new HubReporter({
    url: hub.url,
    token: 'wrong',
    retryBaseMs: 20,
    retryMaxMs: 50,
    closeTimeoutMs: 100,
    log: () => {},
  });
  try {
    reporter.send(report(3));
    await until('failures', () => reporter.stats().failures >= 2);
    assert.equal(reporter.stats().queued, 1);
    assert.equal(reporter.stats().dropped, 0);
  } finally {
    await reporter.close().catch(() => undefined);
    await hub.cleanup();
  }
});
