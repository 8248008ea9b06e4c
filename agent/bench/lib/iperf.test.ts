import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIperf, sharedOneCpu } from './iperf.js';

// The end of real 1-stream runs on this machine (iperf3 3.12 -J), trimmed to what is read.
const run = (bps: number, host: number, remote: number) =>
  JSON.stringify({
    start: { connected: [] },
    end: {
      sum_sent: { bits_per_second: bps * 1.001, retransmits: 0 },
      sum_received: { bits_per_second: bps },
      cpu_utilization_percent: { host_total: host, host_user: 0.1, remote_total: remote, remote_user: 2 },
    },
  });

test('parseIperf reads the received throughput and both ends’ CPU', () => {
  assert.deepEqual(parseIperf(run(17.34e9, 65.2, 50.1)), { gbps: 17.34, clientCpuPct: 65.2, serverCpuPct: 50.1 });
});

test('parseIperf refuses what is not a client result', () => {
  assert.throws(() => parseIperf('{"error":"unable to connect to server"}'), /not an iperf3 client result/);
});

test('sharedOneCpu: ends summing to about one CPU shared it, clearly more did not', () => {
  // measured here: 12.61 Gbit/s at 25 + 64 %, 10.66 at 18 + 75 %, 13.24 at 42 + 63 %; 18.69 at 78 + 43 %, 14.64 at
  // 64 + 50 %
  assert.equal(sharedOneCpu(parseIperf(run(12.61e9, 25, 64))), true);
  assert.equal(sharedOneCpu(parseIperf(run(10.66e9, 18, 75))), true);
  assert.equal(sharedOneCpu(parseIperf(run(13.24e9, 42, 63))), true);
  assert.equal(sharedOneCpu(parseIperf(run(18.69e9, 78, 43))), false);
  assert.equal(sharedOneCpu(parseIperf(run(14.64e9, 64, 50))), false);
  assert.equal(sharedOneCpu(parseIperf(run(17.9e9, 57, 50))), false); // 107 %: a run that moved
});

test('sharedOneCpu is null when iperf3 reported no CPU use', () => {
  const json = JSON.stringify({ end: { sum_received: { bits_per_second: 1e9 } } });
  assert.equal(sharedOneCpu(parseIperf(json)), null);
});
