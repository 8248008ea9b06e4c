import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBpfStatsEnv } from './bpf-stats-env.js';
import { parseNodeOptions, UsageError } from './options.js';

test('defaults: 5 s ticks, 30 s reports, top 500, node name from NODE_NAME, zone from FLOWLENS_ZONE', () => {
  const o = parseNodeOptions([], { NODE_NAME: 'ip-10-0-0-1', FLOWLENS_ZONE: 'eu-west-1a' }, 'host');
  assert.equal(o.collectIntervalS, 5);
  assert.equal(o.reportIntervalS, 30);
  assert.equal(o.topN, 500);
  assert.equal(o.nodeName, 'ip-10-0-0-1');
  assert.equal(o.zone, 'eu-west-1a');
  assert.equal(o.stdout, false);
  assert.equal(o.hub, null);
  assert.equal(parseNodeOptions([], {}, 'host').nodeName, 'host');
  assert.equal(parseNodeOptions([], {}, 'host').zone, null);
});

test('flags', () => {
  const o = parseNodeOptions(
    [
      '--stdout',
      '--report-interval',
      '2',
      '--collect-interval',
      '0.5',
      '--hub',
      'http://hub:8080',
      '--node-name',
      'n9',
    ],
    { FLOWLENS_HUB_INGEST_TOKEN: 's3cret' },
    'host'
  );
  assert.equal(o.stdout, true);
  assert.equal(o.reportIntervalS, 2);
  assert.equal(o.collectIntervalS, 0.5);
  assert.equal(o.hub, 'http://hub:8080');
  assert.equal(o.hubToken, 's3cret');
  assert.equal(o.nodeName, 'n9');
});

test('bad input is a usage error that names the flag', () => {
  assert.throws(() => parseNodeOptions(['--report-interval', '0'], {}, 'h'), /--report-interval must be a positive/);
  assert.throws(() => parseNodeOptions(['--collect-interval', 'x'], {}, 'h'), UsageError);
  assert.throws(
    () => parseNodeOptions(['--collect-interval', '10', '--report-interval', '5'], {}, 'h'),
    /must not be longer/
  );
  assert.throws(() => parseNodeOptions(['--hub', 'ftp://x'], {}, 'h'), /http\(s\) URL/);
  assert.throws(() => parseNodeOptions(['--top-n', '1.5'], {}, 'h'), /positive integer/);
  // One constant bounds --top-n and the hub's per-report limit (MAX_FLOWS_PER_REPORT).
  assert.equal(parseNodeOptions(['--top-n', '10000'], {}, 'h').topN, 10_000);
  assert.throws(() => parseNodeOptions(['--top-n', '10001'], {}, 'h'), /at most 10000/);
  assert.throws(() => parseNodeOptions(['--bogus'], {}, 'h'), UsageError);
});

test('a bad --hub value is refused without echoing it (it may carry credentials)', () => {
  for (const value of ['http://user:s3cret@[bad', 'ftp://user:s3cret@hub:21']) {
    assert.throws(
      () => parseNodeOptions(['--hub', value], {}, 'h'),
      (err: Error) => err instanceof UsageError && /--hub must be/.test(err.message) && !err.message.includes('s3cret')
    );
  }
});

test('--cluster / FLOWLENS_CLUSTER: the cluster every report names; a bad name is refused naming the flag', () => {
  assert.equal(parseNodeOptions([], {}, 'host').cluster, null);
  assert.equal(parseNodeOptions([], { FLOWLENS_CLUSTER: 'eu-prod' }, 'host').cluster, 'eu-prod');
  assert.equal(
    parseNodeOptions(['--cluster', 'us.east_1'], { FLOWLENS_CLUSTER: 'eu-prod' }, 'host').cluster,
    'us.east_1'
  );
  for (const bad of ['a~b', '-x', 'has space', 'x'.repeat(254)]) {
    assert.throws(
      () => parseNodeOptions([`--cluster=${bad}`], {}, 'host'),
      (e: unknown) => {
        return e instanceof UsageError && e.message.startsWith('--cluster');
      }
    );
  }
});

test('--bpf-stats: off by default; the flag or FLOWLENS_BPF_STATS=on turns it on; a bad value is refused', () => {
  assert.equal(parseNodeOptions([], {}, 'h').bpfStats, false);
  assert.equal(parseNodeOptions(['--bpf-stats'], {}, 'h').bpfStats, true);
  for (const on of ['on', 'true', '1', 'ON']) {
    assert.equal(parseNodeOptions([], { FLOWLENS_BPF_STATS: on }, 'h').bpfStats, true, on);
  }
  for (const off of ['off', 'false', '0', '']) {
    assert.equal(parseNodeOptions([], { FLOWLENS_BPF_STATS: off }, 'h').bpfStats, false, off);
  }
  assert.equal(parseNodeOptions(['--bpf-stats'], { FLOWLENS_BPF_STATS: 'off' }, 'h').bpfStats, true, 'the flag wins');
  assert.throws(
    () => parseNodeOptions([], { FLOWLENS_BPF_STATS: 'yes please' }, 'h'),
    /FLOWLENS_BPF_STATS must be on or off/
  );
  assert.throws(() => parseNodeOptions(['--bpf-stats=on'], {}, 'h'), UsageError);
});

test('FLOWLENS_BPF_STATS is read by one rule (the agent and the compose cluster tool)', () => {
  assert.equal(parseBpfStatsEnv(undefined), false);
  assert.equal(parseBpfStatsEnv(' On '), true);
  assert.throws(() => parseBpfStatsEnv('maybe'), /FLOWLENS_BPF_STATS must be on or off, got 'maybe'/);
});
