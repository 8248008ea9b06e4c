/**
 * Full maps degrade, never crash or stall traffic: with room for 4 sockets and 1 flow per tick, 8 concurrent
 * connections still all deliver every byte, the sockets beyond the cap are counted as sampled out, and the flow
 * updates that found no room are counted as dropped.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BpfLoader } from '../../src/bpf/loader-process.js';
import { bpfArtifacts, findCgroup2Mount } from '../../src/bpf/preflight.js';
import { bpfArtifactPaths } from '../lib/agent-process.js';
import { createStar } from '../lib/netns.js';
import { requireBinary, requireKernel } from '../lib/privileges.js';
import { runClient, startServer } from '../lib/traffic.js';

test('socket cap and flow table full: counted, traffic unharmed', async (t) => {
  if (!requireKernel(t) || !bpfArtifactPaths().every((p) => requireBinary(t, p))) {
    return;
  }
  const star = await createStar(4);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const art = bpfArtifacts();
  let loader: BpfLoader | null = null;
  const server = await startServer(star.server, '0.0.0.0', port, 0);
  try {
    loader = await BpfLoader.start({
      loader: art.loader,
      object: art.object,
      cgroup: findCgroup2Mount(readFileSync('/proc/mounts', 'utf8'))!,
      maxSockets: 4,
      maxFlows: 1,
    });
    const first = await loader.collect();
    const results = await Promise.all(
      star.clients.map((c) =>
        runClient<{ sent: number }>(c.ns, [
          'upload',
          '--bytes',
          '400000',
          '--chunk',
          '20000',
          '--pace-ms',
          '25',
          '--host',
          c.serverIp,
          '--port',
          String(port),
        ])
      )
    );
    await new Promise((r) => setTimeout(r, 300));
    const after = await loader.collect();
    assert.deepEqual(
      results.map((r) => r.sent),
      [400000, 400000, 400000, 400000]
    );
    assert.deepEqual(
      [...server.received].sort(),
      [400000, 400000, 400000, 400000],
      'every connection delivered every byte'
    );
    // other processes on this machine open sockets too: our cap counts them, so only lower bounds are exact here
    assert.ok(after.stats.socketsSampledOut - first.stats.socketsSampledOut >= 4, JSON.stringify(after.stats));
    assert.ok(after.stats.flowsDropped - first.stats.flowsDropped > 0, JSON.stringify(after.stats));
    // a soft cap: two CPUs may each take the last place at the same moment
    assert.ok(after.stats.socketsTracked <= 4 + 2, JSON.stringify(after.stats));
    assert.ok(after.flows.length <= 1, 'one flow per tick fits');
  } finally {
    await loader?.close();
    await server.close();
    await star.cleanup();
  }
});
