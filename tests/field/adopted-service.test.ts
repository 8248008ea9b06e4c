/**
 * A connection older than the agents, through a ClusterIP (a connection pool, a gRPC stream), on the same faithful
 * two-zone cluster as service-attribution.test.ts (tests/lib/kube-node.ts: kube-proxy's iptables rules in each node
 * namespace, one real node agent per node, the real hub with the cluster's metadata).
 *
 * Each held connection is opened, and carries data both ways, BEFORE the agents start; more is sent both ways once
 * they run. The agent adopts the socket at start (fl_adopt) and finds its translation in what the loader dumped
 * from the node's conntrack table just before. Ground truth is the generator's own count of what each end received
 * after the agents started:
 *   - the client's row lands on the backend pod (never the ClusterIP), with `via` the Service, on the client's
 *     node (the one that translated it);
 *   - the hub merges it with the backend's end into one flow named after the backend, bytes exact to what was sent
 *     both ways after adoption (what came before is not counted), categorised by the two pods' zones: a backend in
 *     the other zone (INTER_AZ, backend's node saw it untranslated) and one on the client's own node (INTRA_AZ, the
 *     backend's socket translated too).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHeld, type HeldPeer } from '../../agent/test/lib/traffic.js';
import { createKubeCluster, type ClusterSpec, type KubeCluster } from '../lib/kube-node.js';
import { startClusterAgents, type NodeAgent } from '../lib/node-agent.js';
import { fieldReady, flowsOf, foreignFlows, startFieldHub } from './topology.js';

const REPORT_S = 2;
const BACKEND_PORT = 8080;
/** Carried before the agents start: never counted. */
const BEFORE_UP = 400_000;
const BEFORE_DOWN = 300_000;
/** Carried after the agents start: exactly what the rows say. */
const AFTER_UP = 2_000_000;
const AFTER_DOWN = 700_000;

const SPEC: ClusterSpec = {
  nodes: [
    { name: 'node-a', zone: 'zone-a' },
    { name: 'node-b', zone: 'zone-b' },
  ],
  pods: [
    { name: 'web-1', namespace: 'shop', workload: 'web', node: 'node-a' },
    { name: 'catalog-b', namespace: 'shop', workload: 'catalog', node: 'node-b' },
    { name: 'orders-a', namespace: 'shop', workload: 'orders', node: 'node-a' },
  ],
  services: [
    // One backend each, so the held connection's backend is known before it is opened.
    { namespace: 'shop', name: 'catalog', port: 80, targetPort: BACKEND_PORT, backends: ['catalog-b'] },
    { namespace: 'shop', name: 'orders', port: 80, targetPort: BACKEND_PORT, backends: ['orders-a'] },
  ],
};

interface End {
  ip: string;
  pod: string | null;
  zone: string | null;
  service?: string | null;
}
interface Row {
  category: string;
  local: End;
  remote: End;
  bytes: number;
}

/** Polls a held peer's `status` until `ok` (the generator's own count of what its end received). */
async function until(peer: HeldPeer, ok: (received: number) => boolean, what: string): Promise<number> {
  let last = -1;
  for (let i = 0; i < 200; i++) {
    last = (await peer.command<{ received: number }>('status')).received;
    if (ok(last)) {
      return last;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: received ${last}`);
}

test('a connection through a ClusterIP opened before the agents lands on the backend, merged, exact', async (t) => {
  if (!fieldReady(t)) {
    return;
  }
  const log = (line: string): void => t.diagnostic(line);
  const cleanups: Array<() => Promise<unknown>> = [];
  let cluster: KubeCluster | undefined;
  const agents: NodeAgent[] = [];
  try {
    cluster = await createKubeCluster(SPEC);
    const c = cluster;
    cleanups.push(() => c.cleanup());
    const { hub, work } = await startFieldHub(c, cleanups);

    const web = c.pod('web-1');
    const held = [] as Array<{ backend: string; service: string; srv: HeldPeer; cli: HeldPeer }>;
    cleanups.push(() => Promise.all(held.flatMap((h) => [h.cli.stop(), h.srv.stop()])));
    // 1. Before the agents: each held connection opened through its ClusterIP and used both ways.
    for (const [backend, service] of [
      ['catalog-b', 'catalog'],
      ['orders-a', 'orders'],
    ] as const) {
      const pod = c.pod(backend);
      const srv = await startHeld(pod.ns, 'server', '0.0.0.0', BACKEND_PORT);
      const cli = await startHeld(web.ns, 'client', c.service(service).clusterIp, 80);
      held.push({ backend, service, srv, cli });
      await srv.next(); // accepted
      await cli.command(`send ${BEFORE_UP}`);
      await srv.command(`send ${BEFORE_DOWN}`);
      await until(srv, (n) => n === BEFORE_UP, `${backend} before`);
      await until(cli, (n) => n === BEFORE_DOWN, `web-1 from ${backend} before`);
    }

    // 2. The agents start (adoption), then each connection carries more both ways.
    const running = await startClusterAgents(c, hub, work, { reportIntervalS: REPORT_S, collectIntervalS: 1 });
    agents.push(...running.agents);
    cleanups.push(() => running.stop());
    const truth = new Map<string, { up: number; down: number }>();
    for (const h of held) {
      await h.cli.command(`send ${AFTER_UP}`);
      await h.srv.command(`send ${AFTER_DOWN}`);
      const up = (await until(h.srv, (n) => n === BEFORE_UP + AFTER_UP, `${h.backend} after`)) - BEFORE_UP;
      const down = (await until(h.cli, (n) => n === BEFORE_DOWN + AFTER_DOWN, `web-1 after`)) - BEFORE_DOWN;
      truth.set(h.backend, { up, down });
      log(`web-1 → ${h.service} → ${h.backend}: after adoption ${up} up, ${down} down (generator's count)`);
    }

    // The last tick and report reach the hub; stopping flushes what is left. The connections stay open.
    await new Promise((r) => setTimeout(r, (REPORT_S + 1) * 1000));
    const codes = await running.stop();
    agents.forEach((a, i) => assert.equal(codes[i], 0, `${a.node} agent:\n${a.stderr()}`));
    const agentOf = (node: string) => agents.find((a) => a.node === node)!;

    await t.test("each agent adopted and reports its own node's sockets only", () => {
      for (const a of agents) {
        assert.deepEqual(foreignFlows(c, a), [], `${a.node} reported sockets of another node`);
        assert.ok(flowsOf(a).length > 0, `${a.node} reported no flows`);
      }
    });

    const zoneOf = (pod: string) => c.node(c.pod(pod).node).zone;
    for (const h of held) {
      const pod = c.pod(h.backend);
      const clusterIp = c.service(h.service).clusterIp;
      const { up, down } = truth.get(h.backend)!;

      await t.test(`web-1's agent reports the adopted client socket on ${h.backend}, via ${h.service}`, () => {
        const own = flowsOf(agentOf('node-a')).filter((f) => f.localIp === web.ip && f.direction === 'client');
        const toService = own.filter((f) => f.remoteIp === clusterIp);
        assert.deepEqual(toService, [], 'a row on the ClusterIP: the adopted socket was not translated');
        const mine = own.filter((f) => f.remoteIp === pod.ip);
        assert.ok(mine.length > 0, `no client flow to ${h.backend}: ${JSON.stringify(own)}`);
        for (const f of mine) {
          assert.equal(f.remotePort, BACKEND_PORT);
          assert.deepEqual(f.via, { ip: clusterIp, port: 80 });
          assert.equal(f.connectionsOpened, 0, 'adopted, not opened');
        }
        assert.equal(
          mine.reduce((n, f) => n + f.bytesSent, 0),
          up,
          'bytes sent after adoption'
        );
        assert.equal(
          mine.reduce((n, f) => n + f.bytesReceived, 0),
          down,
          'bytes received after adoption'
        );
      });

      await t.test(`${h.backend}'s agent reports the adopted server socket, exact`, () => {
        const mine = flowsOf(agentOf(pod.node)).filter(
          (f) => f.localIp === pod.ip && f.remoteIp === web.ip && f.direction === 'server'
        );
        assert.ok(mine.length > 0, `no server flow on ${pod.node}`);
        assert.equal(
          mine.reduce((n, f) => n + f.bytesReceived, 0),
          up
        );
        assert.equal(
          mine.reduce((n, f) => n + f.bytesSent, 0),
          down
        );
        // The backend's socket is translated only where its node translated the connection (the client's node).
        const expectVia = pod.node === 'node-a' ? { ip: clusterIp, port: 80 } : null;
        for (const f of mine) {
          assert.deepEqual(f.via ?? null, expectVia);
        }
      });
    }

    const to = Date.now() + 60_000;
    const top = await hub.get(`/api/v1/top-contributors?metric=bytes&from=0&to=${to}&limit=500`);
    assert.equal(top.status, 200, JSON.stringify(top.body));
    const rows = (top.body as { rows: Row[] }).rows;
    const show = (rs: Row[]) =>
      JSON.stringify(
        rs.map((r) => ({
          c: r.category,
          l: r.local.pod ?? r.local.ip,
          r: r.remote.pod ?? r.remote.ip,
          svc: r.remote.service,
          b: r.bytes,
        }))
      );
    log(`hub rows: ${show(rows)}`);

    await t.test('no row points at a ClusterIP', () => {
      const serviceIps = new Set(c.services.map((s) => s.clusterIp));
      assert.deepEqual(show(rows.filter((r) => serviceIps.has(r.remote.ip) || serviceIps.has(r.local.ip))), '[]');
    });

    for (const h of held) {
      const { up, down } = truth.get(h.backend)!;
      const category = zoneOf(h.backend) === zoneOf('web-1') ? 'INTRA_AZ' : 'INTER_AZ';
      await t.test(`hub: web-1 → ${h.backend} is one ${category} flow via ${h.service}, exact both ways`, () => {
        const mine = rows.filter((r) => r.local.ip === web.ip && r.remote.ip === c.pod(h.backend).ip);
        assert.equal(mine.length, 1, show(mine));
        const row = mine[0]!;
        assert.equal(row.bytes, up + down, `hub ${row.bytes}, generator ${up} up + ${down} down`);
        assert.equal(row.remote.pod, h.backend);
        assert.equal(row.local.pod, 'web-1');
        assert.equal(row.remote.service, h.service);
        assert.equal(row.local.zone, 'zone-a');
        assert.equal(row.remote.zone, zoneOf(h.backend));
        assert.equal(row.category, category);
      });
    }

    await t.test("web-1's rows add up to what its connections carried after adoption", () => {
      const total = [...truth.values()].reduce((n, x) => n + x.up + x.down, 0);
      const mine = rows.filter((r) => r.local.ip === web.ip || r.remote.ip === web.ip);
      assert.equal(
        mine.reduce((n, r) => n + r.bytes, 0),
        total,
        show(mine)
      );
    });
  } catch (err) {
    if (cluster) {
      for (const n of cluster.nodes) {
        log(`${n.name} conntrack:\n${await cluster.conntrack(n.name)}`);
      }
    }
    for (const a of agents) {
      log(`${a.node} agent stderr:\n${a.stderr().slice(-4000)}`);
    }
    throw err;
  } finally {
    for (const c of cleanups.reverse()) {
      await c().catch((err: unknown) => log(`cleanup: ${String(err)}`));
    }
  }
});
