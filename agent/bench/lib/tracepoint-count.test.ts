import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { requireKernel } from '../../test/lib/privileges.js';
import { buildNativeTools } from './native.js';
import { TracepointCounter } from './tracepoint-count.js';

/** A UDP port on loopback nobody listens on: the kernel drops each datagram (kfree_skb, NO_SOCKET). */
async function sendToClosedPort(datagrams: number): Promise<void> {
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
  const closedPort = probe.address().port;
  probe.close();
  const sender = createSocket('udp4');
  for (let i = 0; i < datagrams; i++) {
    await new Promise<void>((resolve, reject) =>
      sender.send(Buffer.from('x'), closedPort, '127.0.0.1', (err) => (err ? reject(err) : resolve()))
    );
  }
  sender.close();
}

test('tpcount counts every skb:kfree_skb the kernel makes (datagrams to a closed port)', async (t) => {
  if (!requireKernel(t)) {
    return;
  }
  const tools = await buildNativeTools();
  const counter = await TracepointCounter.start(tools.tpcount, 'skb', 'kfree_skb');
  try {
    const before = await counter.read();
    await sendToClosedPort(300);
    const after = await counter.read();
    // every datagram is dropped once; other work on the host may add drops, never remove them
    assert.ok(after - before >= 300, `kfree_skb hits ${after - before} for 300 datagrams to a closed port`);
    assert.ok(after - before < 300 + 100_000, `an implausible count: ${after - before}`);
  } finally {
    counter.stop();
    rmSync(tools.dir, { recursive: true, force: true });
  }
});

test('tpcount refuses a tracepoint that does not exist, with the reason', async (t) => {
  if (!requireKernel(t)) {
    return;
  }
  const tools = await buildNativeTools();
  try {
    await assert.rejects(
      TracepointCounter.start(tools.tpcount, 'skb', 'no_such_event'),
      /no tracepoint skb:no_such_event/
    );
  } finally {
    rmSync(tools.dir, { recursive: true, force: true });
  }
});
