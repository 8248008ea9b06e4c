/**
 * Service traffic on a faithful two-zone cluster (tests/lib/kube-node.ts): pods behind veths on two node
 * namespaces, kube-proxy's iptables rules in each node, one real node agent per node (host network, the
 * node's cgroup) reporting to the real hub, which has the cluster's metadata (pods, nodes with zones,
 * Services with ClusterIPs and NodePorts).
 *
 * Ground truth is what each backend's application received (the traffic generator's per-connection byte
 * counts; the backends send nothing back, so a flow's bytes are exactly those). For every way in:
 *   - a pod calling a ClusterIP backed by a pod in each zone;
 *   - a pod calling a NodePort (externalTrafficPolicy Cluster, so SNAT) at the other node's address, whose
 *     backends run on both nodes: the called node forwards some connections, SNATed, to the backend on the
 *     caller's node, and reports them (report `forwards`); the hub gives that backend's view back to the client;
 *   - a host outside the cluster (no agent, no metadata) calling the same NodePort at node-b: its connections to
 *     orders-a share node-b's SNAT address with the pod's, and the hub still gives each client its own bytes;
 *   - a host-network client calling a NodePort with externalTrafficPolicy Local at the other node's address;
 *   - a host-network client calling the ClusterIP (kube-proxy's OUTPUT path, masqueraded);
 * each backend pod's row carries exactly the bytes that backend received, INTRA_AZ or INTER_AZ by the two
 * ends' zones, with the Service's name; each client's rows add up to what it sent; no row, map node or edge
 * is a ClusterIP or a NodePort address. And the topology stays faithful: each agent reports only its own node's
 * sockets, and only translations (flows' `via`, forwards) its own node's connection tracking holds; the forwards
 * count exactly the connections the backend on the other node accepted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runClient, startServer, type TrafficServer } from '../../agent/test/lib/traffic.js';
import { isDnat, parseConntrack, type CtEntry } from '../lib/conntrack.js';
import { createKubeCluster, type ClusterSpec, type KubeCluster } from '../lib/kube-node.js';
import { startClusterAgents, type NodeAgent } from '../lib/node-agent.js';
import { fieldReady, flowsOf, foreignFlows, startFieldHub } from './topology.js';

const REPORT_S = 2;
const BACKEND_PORT = 8080;
const BYTES_PER_CONN = 150_000;

const SPEC: ClusterSpec = {
  nodes: [
    { name: 'node-a', zone: 'zone-a' },
    { name: 'node-b', zone: 'zone-b' },
  ],
  pods: [
    { name: 'web-1', namespace: 'shop', workload: 'web', node: 'node-a' },
    { name: 'batch-1', namespace: 'shop', workload: 'batch', node: 'node-a' },
    { name: 'catalog-a', namespace: 'shop', workload: 'catalog', node: 'node-a' },
    { name: 'catalog-b', namespace: 'shop', workload: 'catalog', node: 'node-b' },
    { name: 'orders-a', namespace: 'shop', workload: 'orders', node: 'node-a' },
    { name: 'orders-b', namespace: 'shop', workload: 'orders', node: 'node-b' },
    { name: 'ledger-a', namespace: 'shop', workload: 'ledger', node: 'node-a' },
    { name: 'ledger-b', namespace: 'shop', workload: 'ledger', node: 'node-b' },
  ],
  externals: [{ name: 'laptop' }],
  services: [
    { namespace: 'shop', name: 'catalog', port: 80, targetPort: BACKEND_PORT, backends: ['catalog-a', 'catalog-b'] },
    {
      namespace: 'shop',
      name: 'orders',
      port: 80,
      targetPort: BACKEND_PORT,
      nodePort: 30080,
      externalTrafficPolicy: 'Cluster',
      // One backend on the node called, one on the caller's node: node-b forwards some calls, SNATed, to orders-a.
      backends: ['orders-a', 'orders-b'],
    },
    {
      namespace: 'shop',
      name: 'ledger',
      port: 80,
      targetPort: BACKEND_PORT,
      nodePort: 30081,
      externalTrafficPolicy: 'Local',
      backends: ['ledger-a', 'ledger-b'],
    },
  ],
};

interface End {
  ip: string;
  pod: string | null;
  node: string | null;
  zone: string | null;
  service?: string | null;
}
interface Row {
  category: string;
  local: End;
  remote: End;
  bytes: number;
}
interface ReportedForward {
  clientIp: string;
  via: { ip: string; port: number };
  backendIp: string;
  backendPort: number;
  snatIp: string | null;
  connections: number;
}
interface ServiceMap {
  nodes: Array<{ id: string; title: string; kind: string | null; ip: string | null }>;
  edges: Array<{ source: string; target: string; bytes: number }>;
}

/** One way into a Service: who calls, where, and what each backend's application received. */
interface Scenario {
  what: string;
  clientIp: string;
  /** Null for a host outside the cluster (its rows are UNCLASSIFIED). */
  clientZone: string | null;
  service: string;
  sent: number;
  received: Map<string, number>;
  /** Connections each backend accepted. */
  accepted: Map<string, number>;
}

test('Service traffic lands on the backend pods, exact to the byte, by zone, named after the Service', async (t) => {
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

    const servers = new Map<string, TrafficServer>();
    cleanups.push(() => Promise.all([...servers.values()].map((s) => s.close())));
    await Promise.all(
      c.pods
        .filter((p) => !['web-1', 'batch-1'].includes(p.name))
        .map(async (pod) => servers.set(pod.name, await startServer(pod.ns, '0.0.0.0', BACKEND_PORT)))
    );

    const running = await startClusterAgents(c, hub, work, { reportIntervalS: REPORT_S, collectIntervalS: 1 });
    agents.push(...running.agents);
    cleanups.push(() => running.stop());

    /** Runs `count` connections from `ns` to host:port and returns what each backend received meanwhile. */
    const call = async (
      what: string,
      ns: string,
      clientIp: string,
      clientZone: string | null,
      service: string,
      host: string,
      port: number,
      count: number
    ): Promise<Scenario> => {
      const before = new Map([...servers].map(([name, s]) => [name, s.received.length]));
      const res = await runClient<{ connections: number; sent: number }>(ns, [
        'short',
        '--host',
        host,
        '--port',
        String(port),
        '--count',
        String(count),
        '--bytes',
        String(BYTES_PER_CONN),
      ]);
      // Each backend prints a connection's count before the client sees it close; wait for the pipes.
      const news = (): Array<[string, number[]]> =>
        [...servers].map(([name, s]) => [name, s.received.slice(before.get(name)!)]);
      for (let i = 0; i < 50 && news().reduce((n, [, r]) => n + r.length, 0) < count; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const received = new Map(
        news()
          .filter(([, r]) => r.length > 0)
          .map(([name, r]) => [name, r.reduce((a, b) => a + b, 0)])
      );
      const accepted = new Map(
        news()
          .filter(([, r]) => r.length > 0)
          .map(([name, r]) => [name, r.length])
      );
      assert.equal(
        [...received.values()].reduce((a, b) => a + b, 0),
        res.sent,
        `${what}: backends ≠ client`
      );
      log(
        `${what}: sent ${res.sent} in ${count} connections; received ${JSON.stringify(Object.fromEntries(received))}`
      );
      return { what, clientIp, clientZone, service, sent: res.sent, received, accepted };
    };

    const nodeA = c.node('node-a');
    const nodeB = c.node('node-b');
    const web = c.pod('web-1');
    const batch = c.pod('batch-1');
    const laptop = c.external('laptop');
    const scenarios = [
      await call('pod → ClusterIP', web.ns, web.ip, 'zone-a', 'catalog', c.service('catalog').clusterIp, 80, 16),
      await call('pod → NodePort (Cluster) at node-b', batch.ns, batch.ip, 'zone-a', 'orders', nodeB.ip, 30080, 16),
      await call('external → NodePort (Cluster) at node-b', laptop.ns, laptop.ip, null, 'orders', nodeB.ip, 30080, 16),
      await call('host → NodePort (Local) at node-b', nodeA.ns, nodeA.ip, 'zone-a', 'ledger', nodeB.ip, 30081, 8),
      await call('host → ClusterIP', nodeA.ns, nodeA.ip, 'zone-a', 'catalog', c.service('catalog').clusterIp, 80, 8),
    ];
    // The topology itself: random endpoint choice reached both zones, and ETP Local kept node-b's traffic local.
    assert.equal(scenarios[0]!.received.size, 2, 'the ClusterIP spread 16 connections over both backends');
    assert.deepEqual(
      [...scenarios[1]!.received.keys()].sort(),
      ['orders-a', 'orders-b'],
      'node-b spread 16 NodePort (Cluster) connections over its own backend and the one on node-a'
    );
    assert.deepEqual([...scenarios[2]!.received.keys()].sort(), ['orders-a', 'orders-b'], 'from outside too');
    assert.deepEqual([...scenarios[3]!.received.keys()], ['ledger-b'], 'externalTrafficPolicy Local');

    // The last collection tick and report reach the hub; stopping flushes what is left.
    await new Promise((r) => setTimeout(r, (REPORT_S + 1) * 1000));
    const codes = await running.stop();
    agents.forEach((a, i) => assert.equal(codes[i], 0, `${a.node} agent:\n${a.stderr()}`));
    // Each node's own connection tracking (entries linger 120 s in TIME_WAIT): what that node translated.
    const tracked = new Map<string, CtEntry[]>();
    for (const n of c.nodes) {
      tracked.set(n.name, parseConntrack(await c.conntrack(n.name)).filter(isDnat));
    }
    for (const a of agents) {
      const flows = flowsOf(a);
      const via = flows.filter((f) => f.via);
      log(`${a.node}: ${a.reports.length} reports, ${flows.length} flows, ${via.length} with via`);
      log(`${a.node} agent log:\n${a.stderr().split('\n').slice(0, 12).join('\n')}`);
    }

    await t.test("each agent reports its own node's sockets only (the node's cgroup)", () => {
      for (const a of agents) {
        assert.deepEqual(foreignFlows(c, a), [], `${a.node} reported sockets of another node`);
        assert.ok(flowsOf(a).length > 0, `${a.node} reported no flows`);
      }
    });

    await t.test("each agent resolves translations from its own node's connection tracking only", () => {
      // One kernel runs every node here; on a real cluster a node never sees another node's translations.
      for (const a of agents) {
        const mine = tracked.get(a.node)!;
        for (const f of flowsOf(a).filter((fl) => fl.via)) {
          const via = f.via!;
          const found =
            f.direction === 'client'
              ? mine.some(
                  (e) =>
                    e.orig.src === f.localIp &&
                    e.orig.dst === via.ip &&
                    e.orig.dport === via.port &&
                    e.reply.src === f.remoteIp &&
                    e.reply.sport === f.remotePort
                )
              : mine.some(
                  (e) =>
                    e.reply.src === f.localIp &&
                    e.reply.sport === f.localPort &&
                    e.orig.src === f.remoteIp &&
                    e.orig.dst === via.ip &&
                    e.orig.dport === via.port
                );
          assert.ok(found, `${a.node} reported ${JSON.stringify(f)}, a translation ${a.node} did not make`);
        }
      }
    });

    const forwardsOf = (a: NodeAgent) =>
      a.reports.flatMap((r) => ((r as { forwards?: ReportedForward[] }).forwards ?? []) as ReportedForward[]);
    await t.test('the called node reports the connections it forwarded, from its own connection tracking', () => {
      for (const a of agents) {
        const mine = tracked.get(a.node)!;
        for (const f of forwardsOf(a)) {
          const found = mine.filter(
            (e) =>
              e.orig.src === f.clientIp &&
              e.orig.dst === f.via.ip &&
              e.orig.dport === f.via.port &&
              e.reply.src === f.backendIp &&
              e.reply.sport === f.backendPort &&
              (f.snatIp === null ? e.reply.dst === f.clientIp : e.reply.dst === f.snatIp)
          );
          assert.ok(found.length > 0, `${a.node} reported ${JSON.stringify(f)}, a translation ${a.node} did not make`);
        }
      }
      const ordersA = c.pod('orders-a');
      const agentB = agents.find((a) => a.node === 'node-b')!;
      for (const s of scenarios.filter((x) => x.what.includes('NodePort (Cluster)'))) {
        const forwarded = forwardsOf(agentB).filter(
          (f) => f.clientIp === s.clientIp && f.backendIp === ordersA.ip && f.via.ip === nodeB.ip
        );
        assert.ok(forwarded.length > 0, `${s.what}: no forward to orders-a: ${JSON.stringify(forwardsOf(agentB))}`);
        assert.ok(
          forwarded.every((f) => f.via.port === 30080 && f.snatIp === nodeB.ip && f.backendPort === BACKEND_PORT)
        );
        // Ground truth twice over: the connections orders-a accepted, and the entries node-b's conntrack holds.
        const conns = forwarded.reduce((n, f) => n + f.connections, 0);
        assert.equal(conns, s.accepted.get('orders-a'), `${s.what}: forwarded = connections orders-a accepted`);
        const inConntrack = tracked
          .get('node-b')!
          .filter((e) => e.orig.src === s.clientIp && e.orig.dport === 30080 && e.reply.src === ordersA.ip).length;
        assert.equal(conns, inConntrack, `${s.what}: forwarded = node-b's conntrack entries`);
        log(`${s.what}: node-b forwarded ${conns} connections to orders-a`);
      }
      // Nothing forwarded with a local end: those ends' flows carry the translation themselves.
      const local = new Set([...c.pods.map((p) => `${p.node}|${p.ip}`), ...c.nodes.map((n) => `${n.name}|${n.ip}`)]);
      for (const a of agents) {
        const bad = forwardsOf(a).filter(
          (f) => local.has(`${a.node}|${f.clientIp}`) || local.has(`${a.node}|${f.backendIp}`)
        );
        assert.deepEqual(bad, [], `${a.node} reported forwards with a local end`);
      }
    });

    const to = Date.now() + 60_000;
    const top = await hub.get(`/api/v1/top-contributors?metric=bytes&from=0&to=${to}&limit=500`);
    assert.equal(top.status, 200, JSON.stringify(top.body));
    const rows = (top.body as { rows: Row[] }).rows;
    const map = await hub.get(`/api/v1/service-map?groupBy=pod&from=0&to=${to}`);
    assert.equal(map.status, 200, JSON.stringify(map.body));
    const graph = map.body as ServiceMap;
    const show = (rs: Row[]) =>
      JSON.stringify(
        rs.map((r) => ({
          c: r.category,
          l: `${r.local.pod ?? r.local.ip}`,
          r: `${r.remote.pod ?? r.remote.ip}`,
          svc: r.remote.service,
          b: r.bytes,
        }))
      );
    log(`hub rows: ${show(rows)}`);

    const zoneOf = (pod: string) => c.node(c.pod(pod).node).zone;
    const translated = new Set([...c.services.map((s) => s.clusterIp), ...c.nodes.map((n) => n.ip)]);
    const serviceIps = new Set(c.services.map((s) => s.clusterIp));

    await t.test('no row, map node or edge is a ClusterIP or a NodePort address', () => {
      const bad = rows.filter((r) => translated.has(r.remote.ip) || serviceIps.has(r.local.ip));
      assert.deepEqual(show(bad), '[]');
      const byId = new Map(graph.nodes.map((n) => [n.id, n]));
      const isTranslated = (id: string): boolean => {
        const n = byId.get(id);
        return n?.kind === 'Service' || (n?.ip != null && translated.has(n.ip));
      };
      assert.deepEqual(
        graph.edges.filter((e) => isTranslated(e.target) || serviceIps.has(byId.get(e.source)?.ip ?? '')),
        []
      );
      assert.deepEqual(
        graph.nodes.filter((n) => n.kind === 'Service' || (n.ip !== null && serviceIps.has(n.ip))),
        []
      );
    });

    for (const s of scenarios) {
      for (const [backend, bytes] of s.received) {
        const pod = c.pod(backend);
        // Which node translated: the client's own (ClusterIP), or the node whose address was called (NodePort).
        const where = s.what.includes('NodePort') ? 'node-b' : 'node-a';
        const how =
          pod.node === where
            ? `translated on ${where}, the backend's node`
            : `translated on ${where}, backend on ${pod.node}`;
        await t.test(
          `${s.what} → ${backend} (${how}): the row carries what it received, by zone, via ${s.service}`,
          () => {
            const mine = rows.filter((r) => r.local.ip === s.clientIp && r.remote.ip === pod.ip);
            assert.equal(mine.length, 1, `${s.what} → ${backend}: ${show(mine)}`);
            const row = mine[0]!;
            assert.equal(row.bytes, bytes, `${s.what} → ${backend}: hub ${row.bytes}, backend received ${bytes}`);
            assert.equal(row.remote.pod, backend);
            assert.equal(row.remote.zone, zoneOf(backend));
            assert.equal(row.local.zone, s.clientZone);
            assert.equal(
              row.category,
              s.clientZone === null ? 'UNCLASSIFIED' : zoneOf(backend) === s.clientZone ? 'INTRA_AZ' : 'INTER_AZ'
            );
            assert.equal(row.remote.service, s.service, `the Service's name on ${s.what} → ${backend}`);
          }
        );
      }
    }

    await t.test("each client's rows over all categories add up to what it sent", () => {
      for (const clientIp of new Set(scenarios.map((s) => s.clientIp))) {
        const sent = scenarios.filter((s) => s.clientIp === clientIp).reduce((n, s) => n + s.sent, 0);
        const mine = rows.filter((r) => r.local.ip === clientIp);
        assert.equal(
          mine.reduce((n, r) => n + r.bytes, 0),
          sent,
          `client ${clientIp}: ${show(mine)}`
        );
      }
    });

    await t.test("each backend pod's rows add up to what it received (no half counted twice)", () => {
      for (const [backend] of servers) {
        const received = scenarios.reduce((n, s) => n + (s.received.get(backend) ?? 0), 0);
        const ip = c.pod(backend).ip;
        const mine = rows.filter((r) => r.remote.ip === ip || r.local.ip === ip);
        assert.equal(
          mine.reduce((n, r) => n + r.bytes, 0),
          received,
          `${backend}: ${show(mine)}`
        );
      }
    });

    await t.test('the service map joins the pods with edges carrying the same bytes', () => {
      const s = scenarios[0]!;
      for (const [backend, bytes] of s.received) {
        const edge = graph.edges.find((e) => e.source === 'shop/web-1' && e.target === `shop/${backend}`);
        assert.ok(edge, `edge web-1 → ${backend}: ${JSON.stringify(graph.edges)}`);
        assert.equal(edge.bytes, bytes);
      }
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
