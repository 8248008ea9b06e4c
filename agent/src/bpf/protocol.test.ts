import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CollectParser, emptyKernelStats, parseReady, ProtocolError } from './protocol.js';
import { effectiveCapabilities, findCgroup2Mount, kernelVersionProblem, privilegeProblem } from './preflight.js';

test('a collect answer: flows, stats, end', () => {
  const p = new CollectParser();
  assert.equal(
    p.push('flow 10.0.0.2 10.0.0.1 8080 client 8000000 500 5600 1 128 2 1 1 9000 3 100 5000 10.96.0.10 80'),
    null
  );
  // a later loader may add fields at the end of a line: they are ignored
  assert.equal(p.push('flow fd00::1 fd00::2 443 server 1 2 3 4 0 0 0 0 0 0 0 0 - 0 extra'), null);
  assert.equal(
    p.push('stats 49182 29 4 1 0 2 7 1 2 250000 9000 30 2 0 5 netlink 6 1 3 0 0 2 1 40000 7000 310000'),
    null
  );
  const r = p.push('end');
  assert.ok(r);
  assert.equal(r.flows.length, 2);
  assert.deepEqual(r.flows[0], {
    localIp: '10.0.0.2',
    remoteIp: '10.0.0.1',
    serverPort: 8080,
    direction: 'client',
    bytesSent: 8_000_000,
    bytesReceived: 500,
    segmentsSent: 5600,
    segmentsReceived: 1,
    retransmits: 128,
    rtos: 2,
    connectionsOpened: 1,
    connectionsClosed: 1,
    rttSumUs: 9000,
    rttCount: 3,
    rttMinUs: 100,
    rttMaxUs: 5000,
    via: { ip: '10.96.0.10', port: 80 },
  });
  assert.equal(r.flows[1]?.via, null);
  assert.deepEqual(r.stats, {
    runTimeNs: 49182,
    runCount: 29,
    socketsTracked: 4,
    socketsSampledOut: 1,
    flowsDropped: 0,
    flowsDrained: 2,
    socketsAdopted: 7,
    natTranslated: 1,
    conntrack: 'failed',
    tickIterNs: 250000,
    iterRunTimeNs: 9000,
    iterRunCount: 30,
    flowsCarried: 2,
    flowsLost: 0,
    natRecorded: 5,
    natSource: 'netlink',
    natNetlink: 6,
    natNetlinkOverruns: 1,
    natParked: 3,
    flowLines: 2,
    flowsUnsummed: 1,
    tickSyncNs: 40000,
    tickDrainNs: 7000,
    collectNs: 310000,
  });
  // a loader without the translation-source fields (older) reads as none
  p.push('stats 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0');
  const older = p.push('end')?.stats;
  assert.equal(older?.natSource, 'none');
  // nor the sums' fields (a loader that printed one line per drained entry)
  assert.equal(older?.flowLines, 0);
  assert.equal(older?.flowsUnsummed, 0);
  // nor the parts of its wall time: not measured, never 0
  assert.equal(older?.tickSyncNs, null);
  assert.equal(older?.collectNs, null);
  // the parser is ready for the next answer
  p.push('stats 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0');
  assert.deepEqual(p.push('end')?.flows, []);
});

test('bad lines are errors, never silently skipped', () => {
  assert.throws(
    () => new CollectParser().push('flow 1.2.3.4 5.6.7.8 80 sideways 1 1 1 1 1 1 1 1 1 1 1 1 - 0'),
    ProtocolError
  );
  assert.throws(() => new CollectParser().push('flow 1.2.3.4 5.6.7.8 80 client 1 1'), ProtocolError);
  assert.throws(
    () => new CollectParser().push('flow 1.2.3.4 5.6.7.8 80 client -1 1 1 1 1 1 1 1 1 1 1 1 - 0'),
    ProtocolError
  );
  // a line of the previous protocol (no via) is too short, never read with shifted fields
  assert.throws(
    () => new CollectParser().push('flow 1.2.3.4 5.6.7.8 80 client 1 1 1 1 1 1 1 1 1 1 1 1'),
    ProtocolError
  );
  assert.throws(() => new CollectParser().push('stats 1 1 0 0 0 0 0 0 9 0 0 0 0 0 0'), /conntrack state/);
  assert.throws(() => new CollectParser().push('stats 1 1 0 0 0 0 0 0 1 0 0 0 0 0 0 kprobe 0 0'), /translation source/);
  assert.throws(() => new CollectParser().push('stats 1 1 0 0 0 0 0 0 1 0 0 0 0 0 0 netlink x 0'), /nat netlink/);
  assert.throws(
    () => new CollectParser().push('stats 1 1 0 0 0 0 0 0 1 0 0 0 0 0 0 netlink 0 0 0 0 0 x 0'),
    /flow lines/
  );
  assert.throws(
    () => new CollectParser().push('stats 1 1 0 0 0 0 0 0 1 0 0 0 0 0 0 netlink 0 0 0 0 0 0 0 5 x 9'),
    /tick drain ns/
  );
  assert.throws(() => new CollectParser().push('end'), /without 'stats'/);
  assert.throws(() => new CollectParser().push('error swapping flow maps: EPERM'), /swapping flow maps/);
  assert.throws(() => parseReady('error loading'), ProtocolError);
  assert.deepEqual(parseReady('ready 10 20 65536 16384 1 122 3 storage'), {
    progId: 10,
    linkId: 20,
    maxSockets: 65536,
    maxFlows: 16384,
    totalRto: true,
    socketsAdopted: 122,
    netnsVisited: 3,
    tickMode: 'storage',
    natSource: 'none',
    // a loader from before --bpf-stats always held the stats
    bpfStats: true,
    // and attached sock_ops
    connPath: 'sockops',
  });
  assert.equal(parseReady('ready 10 20 65536 16384 1 0 1 tcp netlink 0 state').connPath, 'state');
  assert.equal(parseReady('ready 10 20 65536 16384 0 0 1 tcp netlink 0 sockops').connPath, 'sockops');
  assert.throws(() => parseReady('ready 10 20 65536 16384 1 0 1 tcp netlink 0 kprobe'), /conn path/);
  assert.equal(parseReady('ready 10 20 65536 16384 0 0 1 tcp netlink 0').bpfStats, false);
  assert.equal(parseReady('ready 10 20 65536 16384 0 0 1 tcp netlink 1').bpfStats, true);
  assert.throws(() => parseReady('ready 10 20 65536 16384 0 0 1 tcp netlink x'), /bpf stats/);
  assert.equal(parseReady('ready 10 20 65536 16384 0 0 1 tcp').tickMode, 'tcp');
  assert.equal(parseReady('ready 10 20 65536 16384 0 0 1 tcp netlink').natSource, 'netlink');
  assert.throws(() => parseReady('ready 10 20 65536 16384 0 0 1 tcp kprobe'), /translation source/);
  assert.throws(() => parseReady('ready 10 20 65536 16384 1 122 3 sideways'), /tick mode/);
  assert.equal(emptyKernelStats().conntrack, 'waiting');
});

test('preflight: cgroup2 mount, capabilities', () => {
  const mounts = [
    'tmpfs /sys/fs/cgroup tmpfs rw 0 0',
    'cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0',
    'cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0',
  ].join('\n');
  assert.equal(findCgroup2Mount(mounts), '/sys/fs/cgroup/unified');
  assert.equal(findCgroup2Mount('cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n'), null);
  assert.equal(effectiveCapabilities('Name:\tx\nCapEff:\t000001ffffffffff\n'), 0x1ffffffffffn);
  assert.equal(privilegeProblem(0x1ffffffffffn), null);
  assert.equal(privilegeProblem((1n << 39n) | (1n << 38n) | (1n << 12n)), null, 'CAP_BPF+PERFMON+NET_ADMIN suffice');
  assert.match(privilegeProblem(1n << 39n) ?? '', /CAP_PERFMON, CAP_NET_ADMIN/);
  assert.match(privilegeProblem(0n) ?? '', /run as root/);
  assert.equal(kernelVersionProblem('6.1.0-28-cloud-amd64'), null);
  assert.equal(kernelVersionProblem('6.12.12-cloud-amd64'), null);
  assert.equal(kernelVersionProblem('7.0.1'), null);
  assert.match(kernelVersionProblem('5.15.0-91-generic') ?? '', /needs Linux 6\.1 or newer/);
  assert.match(kernelVersionProblem('6.0.9') ?? '', /too old/);
});

test('fail and failstats lines: failures per flow and drop reason, and the state of the drop hooks', () => {
  const p = new CollectParser();
  p.push('fail 10.77.0.1 10.77.0.2 7001 client - 0 - 2 2 0 2 0 0 0');
  p.push('fail 10.77.0.2 10.77.0.1 7001 server 10.96.0.1 80 NETFILTER_DROP 0 0 0 0 0 0 4 extra');
  p.push('stats 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0');
  p.push('failstats 1 0 3 1500 4 127');
  const r = p.push('end');
  assert.ok(r);
  assert.deepEqual(r.failures, [
    {
      localIp: '10.77.0.1',
      remoteIp: '10.77.0.2',
      serverPort: 7001,
      direction: 'client',
      via: null,
      reason: null,
      connectAttempts: 2,
      connectFailures: 2,
      connectRefused: 0,
      synRetransmits: 2,
      resetsSent: 0,
      resetsReceived: 0,
      drops: 0,
    },
    {
      localIp: '10.77.0.2',
      remoteIp: '10.77.0.1',
      serverPort: 7001,
      direction: 'server',
      via: { ip: '10.96.0.1', port: 80 },
      reason: 'NETFILTER_DROP',
      connectAttempts: 0,
      connectFailures: 0,
      connectRefused: 0,
      synRetransmits: 0,
      resetsSent: 0,
      resetsReceived: 0,
      drops: 4,
    },
  ]);
  assert.deepEqual(r.failureStats, {
    dropsAttached: true,
    resetsAttached: false,
    failuresLost: 3,
    runTimeNs: 1500,
    runCount: 4,
    reasons: 127,
    dropMisses: 0,
    flowMisses: 0,
  });
  // the next answer starts empty
  p.push('stats 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0');
  const next = p.push('end');
  assert.deepEqual(next?.failures, []);
  assert.equal(next?.failureStats, undefined);
});

test("failstats line: the programs' recursion misses after the listening ports; an older line reads 0", () => {
  const p = new CollectParser();
  p.push('stats 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0');
  p.push('failstats 1 1 2 900 7 127 3 5 1');
  assert.deepEqual(p.push('end')?.failureStats, {
    dropsAttached: true,
    resetsAttached: true,
    failuresLost: 2,
    runTimeNs: 900,
    runCount: 7,
    reasons: 127,
    dropMisses: 5,
    flowMisses: 1,
  });
  p.push('stats 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0');
  p.push('failstats 1 1 0 0 0 127 3');
  const old = p.push('end')?.failureStats;
  assert.equal(old?.dropMisses, 0);
  assert.equal(old?.flowMisses, 0);
  assert.throws(() => p.push('failstats 1 1 0 0 0 127 3 x 0'), /bad drop misses/);
  assert.throws(() => p.push('failstats 1 1 0 0 0 127 3 0 -2'), /bad flow misses/);
});

test('bad fail lines are refused with the line in the error', () => {
  const p = new CollectParser();
  assert.throws(() => p.push('fail 10.0.0.1 10.0.0.2 80 client - 0 nf_drop 0 0 0 0 0 0 1'), /bad drop reason/);
  assert.throws(() => p.push('fail 10.0.0.1 10.0.0.2 80 sideways - 0 - 0 0 0 0 0 0 1'), /bad direction/);
  assert.throws(() => p.push('fail 10.0.0.1 10.0.0.2 80 client - 0 - 1 1'), /bad fail line/);
  assert.throws(() => p.push('failstats 2 0 0 0 0 0'), /bad drops attached/);
  assert.throws(() => p.push('failstats 1 1 -1 0 0 0'), /bad failures lost/);
});

test("without --bpf-stats the run-time fields read '-': null (not measured), never 0", () => {
  const p = new CollectParser();
  p.push('stats - - 4 1 0 2 7 1 2 250000 - - 2 0 5 netlink 6 1 3 0 0 2 1');
  p.push('failstats 1 1 0 - - 127 3 5 1');
  const r = p.push('end');
  assert.ok(r);
  assert.equal(r.stats.runTimeNs, null);
  assert.equal(r.stats.runCount, null);
  assert.equal(r.stats.iterRunTimeNs, null);
  assert.equal(r.stats.iterRunCount, null);
  // wall time of the tick's iterator pass is the loader's own clock: measured either way
  assert.equal(r.stats.tickIterNs, 250000);
  assert.equal(r.stats.socketsTracked, 4);
  assert.equal(r.failureStats?.runTimeNs, null);
  assert.equal(r.failureStats?.runCount, null);
  assert.equal(r.failureStats?.dropMisses, 5);
  // '-' is accepted only where a figure may be unmeasured
  assert.throws(() => new CollectParser().push('stats 1 1 - 0 0 0 0 0 1 0 0 0 0 0 0'), /sockets tracked/);
  assert.throws(() => new CollectParser().push('failstats 1 1 - 0 0 127 3'), /failures lost/);
  assert.throws(() => new CollectParser().push('stats x 1 0 0 0 0 0 0 1 0 0 0 0 0 0'), /run time/);
});
