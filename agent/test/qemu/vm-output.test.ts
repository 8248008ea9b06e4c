import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  collectsThrough,
  counterDelta,
  crashedBeforeInit,
  lossComparison,
  parseVmOutput,
  sumCollects,
  tcpDelta,
} from './vm-output.js';

const flow = (port: number, dir: string, sent: number, received: number) =>
  `FLVM loader flow 10.77.0.1 10.77.0.2 ${port} ${dir} ${sent} ${received} 1 1 2 1 1 0 100 1 100 100 - 0`;

const serial = [
  'SeaBIOS noise',
  'FLVM kernel 6.1.0-57-cloud-amd64\r',
  'FLVM loader ready 10 1 65536 16384 0 2 3 storage',
  'FLVM proc loss client before Tcp: RetransSegs OutSegs',
  'FLVM proc loss client before Tcp: 1 10',
  'FLVM proc loss client before TcpExt: TCPTimeouts TCPFastOpenActive',
  'FLVM proc loss client before TcpExt: 0 0',
  'FLVM collect loss open',
  flow(5005, 'client', 1000, 0),
  '[   12.3] a kernel message',
  'FLVM loader stats 1 2 3 4 5 6 0 0 1 0 0 0 0 0 0',
  'FLVM loader end',
  'FLVM proc loss client after Tcp: RetransSegs OutSegs',
  'FLVM proc loss client after Tcp: 5 30',
  'FLVM proc loss client after TcpExt: TCPTimeouts TCPFastOpenActive',
  'FLVM proc loss client after TcpExt: 1 2',
  'FLVM truth loss {"clientSent":3000}',
  'FLVM collect loss end',
  flow(5005, 'client', 2000, 0),
  flow(5006, 'client', 7, 0),
  'FLVM loader stats 1 2 3 4 5 6 0 0 1 0 0 0 0 0 0',
  'FLVM loader end',
  'FLVM done loss ok 100ms',
  'FLVM stderr libbpf: something',
  'FLVM finished 0 12.5',
].join('\n');

test('parseVmOutput reads the loader lines with the protocol parser and ignores console noise', () => {
  const run = parseVmOutput(serial);
  assert.equal(run.kernel, '6.1.0-57-cloud-amd64');
  assert.equal(run.ready?.totalRto, false);
  assert.equal(run.collects.length, 2);
  assert.equal(run.collects[0]!.result.stats.conntrack, 'attached');
  assert.equal(run.ready?.tickMode, 'storage');
  assert.deepEqual(run.truth.loss, { clientSent: 3000 });
  assert.equal(run.done.loss, 'ok');
  assert.deepEqual(run.loaderStderr, ['libbpf: something']);
  assert.equal(run.finished, true);
  assert.deepEqual(run.errors, []);
  const pick = (f: { serverPort: number; direction: string }) => f.serverPort === 5005 && f.direction === 'client';
  assert.equal(sumCollects(run.collects, pick).bytesSent, 3000);
  assert.equal(sumCollects(run.collects, pick).lines, 2);
  assert.equal(sumCollects(collectsThrough(run, 'loss', 'open'), pick).bytesSent, 1000);
  assert.throws(() => collectsThrough(run, 'loss', 'nope'), /no collect loss\/nope/);
});

test('counter deltas come from the namespace tables before and after', () => {
  const side = parseVmOutput(serial).counters.loss!.client;
  assert.equal(tcpDelta(side).retransSegs, 4);
  assert.equal(tcpDelta(side).timeouts, 1);
  assert.equal(counterDelta(side, 'TcpExt', 'TCPFastOpenActive'), 2);
  assert.throws(() => counterDelta(side, 'TcpExt', 'Nope'), /missing/);
});

test('a bad loader line is an error of its collect, not a crash of the parser', () => {
  const run = parseVmOutput('FLVM collect x end\nFLVM loader flow nonsense\nFLVM finished 0 1');
  assert.equal(run.collects.length, 0);
  assert.match(run.errors[0]!, /^x\/end: .*bad flow line/);
});

test('crashedBeforeInit: only an oops before /init printed anything counts', () => {
  assert.equal(
    crashedBeforeInit('[ 6.5] BUG: kernel NULL pointer dereference\r\n[ 6.5] Kernel panic'),
    'BUG: kernel NULL pointer dereference'
  );
  assert.equal(crashedBeforeInit('FLVM kernel 6.12\n[ 9.0] Oops: general protection fault'), null);
  assert.equal(crashedBeforeInit('qemu: timeout'), null);
});

test('lossComparison: each end of a scenario against its own namespace, equal only when both ends agree', () => {
  const line = (port: number, dir: string, retr: number, rtos: number) =>
    `FLVM loader flow 10.77.0.1 10.77.0.2 ${port} ${dir} 10 10 1 1 ${retr} ${rtos} 1 1 100 1 100 100 - 0`;
  const proc = (side: string, when: string, retr: number, timeouts: number) => [
    `FLVM proc synloss ${side} ${when} Tcp: RetransSegs OutSegs`,
    `FLVM proc synloss ${side} ${when} Tcp: ${retr} 10`,
    `FLVM proc synloss ${side} ${when} TcpExt: TCPTimeouts`,
    `FLVM proc synloss ${side} ${when} TcpExt: ${timeouts}`,
  ];
  const vm = (clientRtos: number) =>
    parseVmOutput(
      [
        ...proc('client', 'before', 3, 5),
        ...proc('server', 'before', 0, 0),
        'FLVM collect synloss end',
        line(5012, 'client', 1, clientRtos),
        line(5012, 'server', 0, 0),
        line(5005, 'client', 7, 7),
        'FLVM loader stats 1 2 3 4 5 6 0 0 1 0 0 0 0 0 0',
        'FLVM loader end',
        ...proc('client', 'after', 4, 6),
        ...proc('server', 'after', 0, 0),
      ].join('\n')
    );
  const port = (p: number, dir: string) => (f: { serverPort: number; direction: string }) =>
    f.serverPort === p && f.direction === dir;
  const ok = lossComparison(vm(1), 'synloss', port(5012, 'client'), port(5012, 'server'));
  assert.deepEqual(ok.client, { retransmits: 1, rtos: 1, retransSegs: 1, timeouts: 1 });
  assert.deepEqual(ok.server, { retransmits: 0, rtos: 0, retransSegs: 0, timeouts: 0 });
  assert.equal(ok.equal, true);
  // the SYN's timeout missed by the agent (kernels without total_rto before the fix)
  assert.equal(lossComparison(vm(0), 'synloss', port(5012, 'client'), port(5012, 'server')).equal, false);
  assert.throws(() => lossComparison(vm(1), 'nope', port(1, 'client'), port(1, 'server')), /no namespace counters/);
});
