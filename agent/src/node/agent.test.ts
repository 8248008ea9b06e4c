import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyKernelStats, type CollectResult } from '../bpf/protocol.js';
import type { CollectorTick } from '../contracts/flow.js';
import type { ReportV1 } from '../contracts/report.js';
import { runNodeAgent } from './agent.js';

function fakeSource() {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    async collect(): Promise<CollectResult> {
      calls++;
      return {
        flows: [
          {
            localIp: '10.0.0.2',
            remoteIp: '10.0.0.1',
            serverPort: 80,
            direction: 'client',
            bytesSent: 1000,
            bytesReceived: 10,
            segmentsSent: 1,
            segmentsReceived: 1,
            retransmits: 1,
            rtos: 0,
            connectionsOpened: 1,
            connectionsClosed: 1,
            rttSumUs: 300,
            rttCount: 3,
            rttMinUs: 50,
            rttMaxUs: 150,
            via: null,
          },
        ],
        stats: {
          ...emptyKernelStats(),
          runTimeNs: 100 * calls,
          runCount: calls,
          socketsTracked: 0,
          socketsSampledOut: 0,
          flowsDropped: 0,
          flowsDrained: 1,
        },
      };
    },
  };
}

test('ticks feed listeners, reports tile time, and stopping flushes a last tick and report', async () => {
  const source = fakeSource();
  const reports: ReportV1[] = [];
  const ticks: CollectorTick[] = [];
  const stop = new AbortController();
  const done = runNodeAgent(
    {
      nodeName: 'n1',
      zone: 'z1',
      collectIntervalS: 0.05,
      reportIntervalS: 0.1,
      topN: 500,
      capacity: { maxSockets: 10, maxFlows: 10 },
    },
    {
      source,
      sinks: [{ send: (r) => reports.push(r), close: async () => undefined }],
      listeners: [(t) => ticks.push(t)],
      localOf: () => null,
      log: () => undefined,
    },
    stop.signal
  );
  await new Promise((r) => setTimeout(r, 420));
  stop.abort();
  await done;
  assert.equal(ticks.length, source.calls);
  assert.ok(ticks.length >= 4, `ticks: ${ticks.length}`);
  assert.ok(reports.length >= 2, `reports: ${reports.length}`);
  for (let i = 1; i < reports.length; i++) {
    assert.equal(reports[i]!.start, reports[i - 1]!.end);
  }
  // nothing collected is lost: every tick's bytes are in exactly one report
  const reported = reports.reduce((s, r) => s + r.flows.reduce((a, f) => a + f.bytesSent, 0) + r.other.bytesSent, 0);
  assert.equal(reported, 1000 * source.calls);
  assert.deepEqual(reports[0]!.flows[0]!.rttUs, { min: 50, avg: 100, max: 150 });
  assert.equal(ticks.at(-1)!.stats?.bpfRunCount, source.calls);
  assert.equal(ticks.at(-1)!.stats?.maps.flows?.max, 10);
});

test('a failing sink or listener never stops collection', async () => {
  const source = fakeSource();
  const good: ReportV1[] = [];
  const logs: string[] = [];
  const stop = new AbortController();
  const done = runNodeAgent(
    {
      nodeName: 'n1',
      zone: null,
      collectIntervalS: 0.03,
      reportIntervalS: 0.03,
      topN: 1,
      capacity: { maxSockets: 1, maxFlows: 1 },
    },
    {
      source,
      sinks: [
        {
          send: () => {
            throw new Error('hub down');
          },
          close: async () => undefined,
        },
        { send: (r) => good.push(r), close: async () => undefined },
      ],
      listeners: [
        () => {
          throw new Error('metrics broke');
        },
      ],
      localOf: () => null,
      log: (m) => logs.push(m),
    },
    stop.signal
  );
  await new Promise((r) => setTimeout(r, 150));
  stop.abort();
  await done;
  assert.ok(good.length >= 2);
  assert.ok(logs.some((l) => l.includes('hub down')));
  assert.ok(logs.some((l) => l.includes('metrics broke')));
});

test('a failed collect ends the agent with its error, after reporting the ticks collected before it', async () => {
  const source = fakeSource();
  const failing = {
    async collect(): Promise<CollectResult> {
      if (source.calls === 2) {
        throw new Error('flowlens-loader exited (signal SIGKILL)');
      }
      return source.collect();
    },
  };
  const reports: ReportV1[] = [];
  const done = runNodeAgent(
    {
      nodeName: 'n1',
      zone: null,
      collectIntervalS: 0.02,
      reportIntervalS: 60,
      topN: 500,
      capacity: { maxSockets: 1, maxFlows: 1 },
    },
    {
      source: failing,
      sinks: [{ send: (r) => reports.push(r), close: async () => undefined }],
      listeners: [],
      localOf: () => null,
      log: () => undefined,
    },
    new AbortController().signal
  );
  await assert.rejects(done, /flowlens-loader exited/);
  assert.equal(reports.length, 1);
  assert.equal(reports[0]!.flows.length, 1);
  assert.equal(reports[0]!.flows[0]!.bytesSent, 2000);
});
