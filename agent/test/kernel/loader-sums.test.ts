/**
 * The loader sums one tick's drained entries per flow key before printing (loader.c sum_flow, agent/bpf/flow_sum.h):
 * a tick prints one `flow` line per flow, not one per closed connection. Many short connections of one flow, driven
 * through the real kernel while the loader ticks, with each translation source: the fentry program where the kernel
 * allows it (closes land in the flow table), and conntrack netlink events (forced by naming a conntrack object that
 * does not exist), where every connection closing before its first tick is parked on its own (late_ring) and
 * was one line each. Ground truth: what the generator sent and received, connection by connection.
 *  - opens, closes, bytes each way and connect() attempts of both ends are exact over the ticks,
 *  - every tick's `flow` lines (the loader's own count, stats flowLines) equal the distinct flows it reported: no
 *    flow printed twice; and at least one tick summed several closed connections of our flow,
 *  - with a sum table of one flow (--sum-flows 1) what does not fit is printed alone (flowsUnsummed grows, a tick
 *    has more lines than flows) and every number is still exact.
 * The C unit test of flow_sum.h (ASan/UBSan, no privileges) runs first.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import type { BpfLoader } from '../../src/bpf/loader-process.js';
import type { CollectResult, KernelFailure, KernelFlow } from '../../src/bpf/protocol.js';
import { startTestLoader } from '../lib/kernel-test.js';
import { bpfArtifactPaths } from '../lib/agent-process.js';
import { createStar } from '../lib/netns.js';
import { requireBinary, requireKernel } from '../lib/privileges.js';
import { runClient, startServer } from '../lib/traffic.js';

const run = promisify(execFile);
const BPF_DIR = join(import.meta.dirname, '../../bpf');
const CONNECTIONS = 300;
const REQUEST = 100; // connection i sends REQUEST + i bytes (traffic-gen short)
const REPLY = 100;

test('flow_sum.h: counters add, RTT extremes from entries with samples, a full table refuses only new flows', async (t) => {
  if (!requireBinary(t, '/usr/bin/cc') || !requireBinary(t, '/usr/bin/make')) {
    return;
  }
  await run('make', ['-s', '-C', BPF_DIR, 'build/flow-sum-test'], { timeout: 120_000 });
  const { stdout } = await run(join(BPF_DIR, 'build/flow-sum-test'), [], {
    timeout: 60_000,
    env: { ...process.env, UBSAN_OPTIONS: 'halt_on_error=1', ASAN_OPTIONS: 'detect_leaks=0' },
  });
  assert.match(stdout, /^ok \d+ checks$/m);
});

interface Totals {
  opened: number;
  closed: number;
  sent: number;
  received: number;
  attempts: number;
  /** the most connections of this flow closed in one tick */
  maxClosedPerTick: number;
}

function totals(results: CollectResult[], flow: (f: KernelFlow | KernelFailure) => boolean): Totals {
  const t: Totals = { opened: 0, closed: 0, sent: 0, received: 0, attempts: 0, maxClosedPerTick: 0 };
  for (const r of results) {
    const mine = r.flows.filter(flow);
    assert.ok(mine.length <= 1, 'the parser sums a flow into one object');
    for (const f of mine) {
      t.opened += f.connectionsOpened;
      t.closed += f.connectionsClosed;
      t.sent += f.bytesSent;
      t.received += f.bytesReceived;
      t.maxClosedPerTick = Math.max(t.maxClosedPerTick, f.connectionsClosed);
    }
    for (const f of (r.failures ?? []).filter((x) => x.reason === null && flow(x))) {
      t.attempts += f.connectAttempts;
    }
  }
  return t;
}

async function shortConnections(t: TestContext, source: 'auto' | 'netlink', sumFlows?: number): Promise<void> {
  if (!requireKernel(t) || !bpfArtifactPaths().every((p) => requireBinary(t, p))) {
    return;
  }
  const star = await createStar(1);
  const link = star.clients[0]!;
  const port = 20000 + Math.floor(Math.random() * 20000);
  let loader: BpfLoader | null = null;
  try {
    const server = await startServer(star.server, '0.0.0.0', port, REPLY);
    loader = await startTestLoader({
      ...(source === 'netlink' ? { conntrackObject: '/nonexistent/conntrack.bpf.o' } : {}),
      ...(sumFlows === undefined ? {} : { sumFlows }),
    });
    const first = await loader.collect();
    t.diagnostic(`translation source: ${first.stats.natSource} (conntrack program ${first.stats.conntrack})`);
    if (source === 'netlink') {
      assert.equal(first.stats.natSource, 'netlink');
    }
    const unsummedBefore = first.stats.flowsUnsummed;
    const parkedBefore = first.stats.natParked;
    const results: CollectResult[] = [];
    let done = false;
    const client = runClient<{ connections: number; sent: number; received: number }>(link.ns, [
      'short',
      '--host',
      link.serverIp,
      '--port',
      String(port),
      '--count',
      String(CONNECTIONS),
      '--bytes',
      String(REQUEST),
    ]).finally(() => (done = true));
    while (!done) {
      await new Promise((r) => setTimeout(r, 400));
      results.push(await loader.collect());
    }
    const generated = await client;
    for (let i = 0; i < 50 && server.received.length < CONNECTIONS; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    results.push(await loader.collect());
    results.push(await loader.collect());
    await server.close();

    const sentWant = CONNECTIONS * REQUEST + (CONNECTIONS * (CONNECTIONS - 1)) / 2;
    assert.deepEqual(generated, {
      ...generated,
      connections: CONNECTIONS,
      sent: sentWant,
      received: CONNECTIONS * REPLY,
    });
    assert.equal(server.received.length, CONNECTIONS, 'the server saw every connection');

    const ours = (direction: 'client' | 'server') => (f: KernelFlow | KernelFailure) =>
      f.direction === direction &&
      f.serverPort === port &&
      f.localIp === (direction === 'client' ? link.clientIp : link.serverIp) &&
      f.remoteIp === (direction === 'client' ? link.serverIp : link.clientIp);
    const c = totals(results, ours('client'));
    const s = totals(results, ours('server'));
    t.diagnostic(
      `lines/flows per tick: ${results.map((r) => `${r.stats.flowLines}/${r.flows.length}`).join(' ')}; ` +
        `most closes of the client flow in one tick: ${c.maxClosedPerTick}`
    );
    assert.deepEqual(
      { opened: c.opened, closed: c.closed, sent: c.sent, received: c.received, attempts: c.attempts },
      {
        opened: CONNECTIONS,
        closed: CONNECTIONS,
        sent: sentWant,
        received: CONNECTIONS * REPLY,
        attempts: CONNECTIONS,
      },
      'client flow exact (bytes, opens, closes, connect attempts)'
    );
    assert.deepEqual(
      { opened: s.opened, closed: s.closed, sent: s.sent, received: s.received },
      { opened: CONNECTIONS, closed: CONNECTIONS, sent: CONNECTIONS * REPLY, received: sentWant },
      'server flow exact'
    );
    assert.ok(c.maxClosedPerTick > 1 && s.maxClosedPerTick > 1, 'a tick held several closed connections of a flow');
    const parked = results[results.length - 1]!.stats.natParked - parkedBefore;
    t.diagnostic(`connections parked for the loader (late_ring): ${parked}`);
    if (source === 'netlink') {
      // the totals above went through the parked connections' ring, not only through the flow table
      assert.ok(parked > 0, 'connections closing before their first tick were parked');
    }

    const unsummed = results[results.length - 1]!.stats.flowsUnsummed - unsummedBefore;
    if (sumFlows === undefined) {
      assert.equal(unsummed, 0, 'the default sum table held every flow');
      for (const r of results) {
        assert.equal(r.stats.flowLines, r.flows.length, 'one flow line per flow in every tick');
      }
    } else {
      assert.ok(unsummed > 0, 'entries that did not fit were printed alone');
      assert.ok(
        results.some((r) => r.stats.flowLines > r.flows.length),
        'a tick printed more lines than flows (the table was full)'
      );
      for (const r of results) {
        assert.ok(r.stats.flowLines >= r.flows.length, 'every flow has at least one line');
      }
    }
  } finally {
    await loader?.close();
    await star.cleanup();
  }
}

test('short connections of one flow: one line per flow per tick, exact totals (fentry where allowed)', (t) =>
  shortConnections(t, 'auto'));

test('the same from conntrack netlink events (each connection parked on its own: summed by the loader)', (t) =>
  shortConnections(t, 'netlink'));

test('a sum table too small for the tick (--sum-flows 1): entries printed alone, nothing lost', (t) =>
  shortConnections(t, 'netlink', 1));
