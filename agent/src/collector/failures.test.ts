import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlowDelta } from '../contracts/flow.js';
import { emptyCounters } from '../contracts/report.js';
import type { KernelFailure } from '../bpf/protocol.js';
import { describeFailureHooks, mergeFailures } from './failures.js';

function failure(over: Partial<KernelFailure>): KernelFailure {
  return {
    localIp: '10.0.0.1',
    remoteIp: '10.0.0.2',
    serverPort: 80,
    direction: 'client',
    via: null,
    reason: null,
    connectAttempts: 0,
    connectFailures: 0,
    connectRefused: 0,
    synRetransmits: 0,
    resetsSent: 0,
    resetsReceived: 0,
    drops: 0,
    ...over,
  };
}

test('failures join the flow with the same key; drops by reason add up; zeros stay absent', () => {
  const flow: FlowDelta = {
    localIp: '10.0.0.1',
    remoteIp: '10.0.0.2',
    serverPort: 80,
    direction: 'client',
    via: null,
    ...emptyCounters(),
    bytesSent: 500,
    rttUs: null,
  };
  const out = mergeFailures(
    [flow],
    [
      failure({ connectAttempts: 3, connectFailures: 1, connectRefused: 1 }),
      failure({ reason: 'NETFILTER_DROP', drops: 2 }),
      failure({ reason: 'NETFILTER_DROP', drops: 1 }),
      failure({ reason: 'NO_SOCKET', drops: 1 }),
    ]
  );
  assert.equal(out.length, 1);
  assert.equal(out[0]!.bytesSent, 500);
  assert.equal(out[0]!.connectAttempts, 3);
  assert.equal(out[0]!.connectFailures, 1);
  assert.equal(out[0]!.connectRefused, 1);
  assert.equal('resetsSent' in out[0]!, false);
  assert.deepEqual(out[0]!.drops, { NETFILTER_DROP: 3, NO_SOCKET: 1 });
});

test('a flow that only failed becomes a flow with zero traffic; via is part of the key', () => {
  const out = mergeFailures(
    [],
    [
      failure({ direction: 'server', reason: 'NO_SOCKET', drops: 2 }),
      failure({ via: { ip: '10.96.0.1', port: 80 }, resetsReceived: 1 }),
      failure({ resetsSent: 1 }),
    ]
  );
  assert.equal(out.length, 3);
  assert.deepEqual(out[0]!.drops, { NO_SOCKET: 2 });
  assert.equal(out[0]!.direction, 'server');
  assert.equal(out[0]!.bytesSent + out[0]!.connectionsOpened, 0);
  assert.equal(out[0]!.rttUs, null);
  assert.equal(out[1]!.resetsReceived, 1);
  assert.deepEqual(out[1]!.via, { ip: '10.96.0.1', port: 80 });
  assert.equal(out[2]!.resetsSent, 1);
  assert.equal(out[2]!.resetsReceived, undefined);
});

test('the hook log line says what is and is not counted', () => {
  assert.equal(describeFailureHooks({}), null);
  assert.match(describeFailureHooks({ dropsAttached: true, resetsAttached: true })!, /drops counted.*resets counted/);
  assert.match(
    describeFailureHooks({ dropsAttached: false, resetsAttached: false })!,
    /drops NOT counted.*resets sent NOT counted/
  );
});
