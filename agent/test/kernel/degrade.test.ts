/**
 * Full maps degrade, never crash or stall traffic: past the socket cap new sockets are counted as sampled out,
 * past the flow table's size the tick leaves the deltas in the sockets and the close path carries them in an
 * overflow table (counted), so every byte is still reported; every connection still delivers every byte.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BpfLoader } from '../../src/bpf/loader-process.js';
import { startTestLoader } from '../lib/kernel-test.js';
import { bpfArtifactPaths } from '../lib/agent-process.js';
import { createStar } from '../lib/netns.js';
import { requireBinary, requireKernel } from '../lib/privileges.js';
import { runClient, startServer } from '../lib/traffic.js';

async function uploads(star: Awaited<ReturnType<typeof createStar>>, port: number): Promise<number[]> {
  const results = await Promise.all(
    star.clients.map((c) =>
      runClient<{ sent: number }>(c.ns, [
        'upload',
        '--bytes',
        '400000',
        '--chunk',
        '10000',
        // 4 s per upload, so the four connections overlap even when a loaded machine staggers their starts (a
        // socket that closes frees the one slot for the next)
        '--pace-ms',
        '100',
        '--host',
        c.serverIp,
        '--port',
        String(port),
      ])
    )
  );
  await new Promise((r) => setTimeout(r, 300));
  return results.map((r) => r.sent);
}

function startLoader(maxSockets: number, maxFlows: number): Promise<BpfLoader> {
  return startTestLoader({ maxSockets, maxFlows });
}

test('socket cap reached, then flow table full: counted, traffic unharmed', async (t) => {
  if (!requireKernel(t) || !bpfArtifactPaths().every((p) => requireBinary(t, p))) {
    return;
  }
  const star = await createStar(4);
  const port = 20000 + Math.floor(Math.random() * 20000);
  let loader: BpfLoader | null = null;
  const server = await startServer(star.server, '0.0.0.0', port, 0);
  try {
    // 1. room for one socket: our 8 (4 connections, both ends) find it taken by at most one of their own or by
    //    some other process's socket on this shared machine, so at least 7 are sampled out
    loader = await startLoader(1, 16384);
    let before = (await loader.collect()).stats;
    assert.deepEqual(await uploads(star, port), [400000, 400000, 400000, 400000]);
    let after = (await loader.collect()).stats;
    assert.ok(after.socketsSampledOut - before.socketsSampledOut >= 7, JSON.stringify({ before, after }));
    await loader.close();
    loader = null;

    // 2. room for every socket but one flow per tick: the tick leaves what does not fit in the sockets, the close
    //    path carries it in the overflow table, so every byte and every open/close still arrives, exactly
    loader = await startLoader(65536, 1);
    const first = await loader.collect();
    const drains = [first];
    let collecting = true;
    const collector = (async () => {
      while (collecting) {
        drains.push(await loader!.collect());
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    assert.deepEqual(await uploads(star, port), [400000, 400000, 400000, 400000]);
    collecting = false;
    await collector;
    await new Promise((r) => setTimeout(r, 300));
    drains.push(await loader.collect());
    const last = drains[drains.length - 1]!.stats;
    const ours = (ip: string, dir: string) =>
      drains.flatMap((d) => d.flows).filter((f) => f.localIp === ip && f.direction === dir && f.serverPort === port);
    const sum = (
      flows: ReturnType<typeof ours>,
      k: 'bytesSent' | 'bytesReceived' | 'connectionsOpened' | 'connectionsClosed'
    ) => flows.reduce((n, f) => n + f[k], 0);
    const client = star.clients.flatMap((c) => ours(c.clientIp, 'client'));
    const srv = star.clients.flatMap((c) => ours(c.serverIp, 'server'));
    const totals = {
      clientSent: sum(client, 'bytesSent'),
      serverReceived: sum(srv, 'bytesReceived'),
      opened: sum(client, 'connectionsOpened') + sum(srv, 'connectionsOpened'),
      closed: sum(client, 'connectionsClosed') + sum(srv, 'connectionsClosed'),
    };
    t.diagnostic(`totals ${JSON.stringify(totals)} stats ${JSON.stringify(last)}`);
    assert.ok(last.flowsDropped - first.stats.flowsDropped > 0, 'the flow table was full');
    assert.ok(last.flowsCarried - first.stats.flowsCarried > 0, 'close-time updates were carried');
    assert.equal(last.flowsLost - first.stats.flowsLost, 0);
    assert.deepEqual(totals, { clientSent: 1_600_000, serverReceived: 1_600_000, opened: 8, closed: 8 });
    assert.equal(server.received.length, 8);
    assert.ok(
      server.received.every((n) => n === 400000),
      'every connection delivered every byte'
    );
  } finally {
    await loader?.close();
    await server.close();
    await star.cleanup();
  }
});
