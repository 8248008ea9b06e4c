/**
 * The seed-001 walkthrough without Docker, on the same shape as the kind demo (demo/k8s/demo.yaml): two
 * nodes in two zones (tests/lib/kube-node.ts), frontend, loadgen and catalog-zone-a on node-a (zone-a),
 * catalog-zone-b on node-b (zone-b), each pod in its own namespace behind a veth, and every call made
 * through a Service's ClusterIP translated by kube-proxy's iptables rules on the calling node — loadgen →
 * frontend, frontend → catalog-zone-a / catalog-zone-b. demo/loss-toggle drops 3% of what catalog-b sends
 * (the tc-BPF loss injector of agent/test/lib, on catalog-b's veth in node-b). One real node agent per node
 * reports to the real hub, which shows retransmissions on the catalog-b side only, bounded by the kernel's
 * own counters of each pod's namespace, on rows named after the backend pods with the Service beside them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { bpfArtifactPaths } from '../../agent/test/lib/agent-process.js';
import { requireBinary, requireKernel } from '../../agent/test/lib/privileges.js';
import { diffCounters, readTcpCounters, type TcpCounters } from '../../agent/test/lib/tcp-counters.js';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';
import { startDemo, type DemoProcess } from '../lib/demo-processes.js';
import { startHubProcess } from '../lib/hub-process.js';
import { createKubeCluster, writeMetadataFile, type ClusterSpec, type KubeCluster } from '../lib/kube-node.js';
import { startClusterAgents } from '../lib/node-agent.js';

const REPORT_S = 2;
const TRAFFIC_S = 8;
/** Successful requests the walkthrough needs (the old 8 s at 10 per second), in at most MAX_ROUNDS rounds. */
const REQUESTS = 80;
const MAX_ROUNDS = 6;

interface Row {
  category: string;
  local: { ip: string; pod: string | null; zone: string | null };
  remote: { ip: string; pod: string | null; zone: string | null; service?: string | null };
  bytes: number;
  retransmits: number;
  rtos: number;
}

/** demo/k8s/demo.yaml's pods and Services (port 80 → the pods' 8080), on a two-zone kind-like cluster. */
const DEMO: ClusterSpec = {
  nodes: [
    { name: 'node-a', zone: 'zone-a' },
    { name: 'node-b', zone: 'zone-b' },
  ],
  pods: [
    { name: 'loadgen-1', namespace: 'demo', workload: 'loadgen', node: 'node-a' },
    { name: 'frontend-1', namespace: 'demo', workload: 'frontend', node: 'node-a' },
    { name: 'catalog-zone-a-1', namespace: 'demo', workload: 'catalog-zone-a', node: 'node-a' },
    { name: 'catalog-zone-b-1', namespace: 'demo', workload: 'catalog-zone-b', node: 'node-b' },
  ],
  services: [
    { namespace: 'demo', name: 'frontend', port: 80, targetPort: 8080, backends: ['frontend-1'] },
    { namespace: 'demo', name: 'catalog-zone-a', port: 80, targetPort: 8080, backends: ['catalog-zone-a-1'] },
    { namespace: 'demo', name: 'catalog-zone-b', port: 80, targetPort: 8080, backends: ['catalog-zone-b-1'] },
  ],
};

test('3% loss on the zone-b catalog shows as retransmissions on exactly that side', async (t) => {
  if (!requireKernel(t)) {
    return;
  }
  for (const path of bpfArtifactPaths()) {
    if (!requireBinary(t, path)) {
      return;
    }
  }
  for (const path of ['/usr/sbin/iptables-restore', '/usr/sbin/conntrack']) {
    if (!requireBinary(t, path)) {
      return;
    }
  }
  const cleanups: Array<() => Promise<unknown>> = [];
  const log = (line: string): void => t.diagnostic(line);
  let cluster: KubeCluster | undefined;
  try {
    // Segment offloads off on every link: the injector then drops single MTU-sized segments, not
    // 64 KB super-packets, so 3% of packets means 3% of segments (as netem does on a real NIC).
    cluster = await createKubeCluster(DEMO, { offloadsOff: true });
    const c = cluster;
    cleanups.push(() => c.cleanup());
    const front = c.pod('frontend-1');
    const catA = c.pod('catalog-zone-a-1');
    const catB = c.pod('catalog-zone-b-1');
    const loadgenPod = c.pod('loadgen-1');
    const clusterIp = (name: string) => c.service(name).clusterIp;

    const work = mkdtempSync(join(tmpdir(), 'flowlens-demo-'));
    cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
    const hub = await startHubProcess({
      metadataFile: writeMetadataFile(join(work, 'metadata.json'), c.hubMetadata()),
    });
    cleanups.push(async () => {
      await hub.stop();
      await hub.cleanup();
    });

    const pods = [front, catA, catB];
    const before = new Map<string, TcpCounters>();
    for (const p of pods) {
      before.set(p.ns, await readTcpCounters(p.ns));
    }
    const agents = await startClusterAgents(c, hub, work, { reportIntervalS: REPORT_S, collectIntervalS: 1 });
    cleanups.push(() => agents.stop());

    const services: DemoProcess[] = [];
    cleanups.push(() => Promise.all(services.map((p) => p.stop())));
    const serve = async (role: string, pod: { ns: string; ip: string }, env: Record<string, string>) => {
      const p = await startDemo(
        role,
        { HOST: '0.0.0.0', PORT: '8080', ...env },
        { netns: pod.ns, advertiseHost: pod.ip }
      );
      services.push(p);
      return p;
    };
    await Promise.all([
      serve('catalog', catA, { ITEM_BYTES: String(256 * 1024) }),
      serve('catalog', catB, { ITEM_BYTES: String(256 * 1024) }),
      // As in demo.yaml: the frontend calls the catalogs by their Services (http://catalog-zone-a.demo.svc/items).
      serve('frontend', front, {
        CATALOG_URLS: `http://${clusterIp('catalog-zone-a')}/items,http://${clusterIp('catalog-zone-b')}/items`,
      }),
    ]);

    // demo/loss-toggle, local mode: 3% of what catalog-b sends is lost on its link into node-b.
    const toggle = spawn(
      join(REPO_ROOT, 'demo/loss-toggle'),
      ['hold', '--netns', c.node('node-b').ns, '--dev', catB.hostDev, '--percent', '3'],
      { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] }
    );
    const toggleLines: string[] = [];
    let toggleErr = '';
    toggle.stderr!.on('data', (d: Buffer) => (toggleErr += d.toString()));
    const toggleExited = new Promise<number | null>((r) => toggle.on('close', (code) => r(code)));
    cleanups.push(async () => {
      if (toggle.exitCode === null) {
        toggle.kill('SIGKILL');
      }
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`loss-toggle did not turn loss on:\n${toggleErr}`)), 20_000);
      createInterface({ input: toggle.stdout! }).on('line', (line) => {
        toggleLines.push(line);
        if (line.startsWith('loss on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void toggleExited.then((code) => reject(new Error(`loss-toggle exited ${code}:\n${toggleErr}`)));
    });

    // Enough requests through the lossy link, however busy the machine is: the loadgen runs in rounds of
    // TRAFFIC_S seconds until REQUESTS have succeeded (a count, not a rate: speed is for benchmarks).
    const load = { sent: 0, ok: 0, failed: 0 };
    for (let round = 0; round < MAX_ROUNDS && load.ok < REQUESTS; round++) {
      const loadgen = await startDemo(
        'loadgen',
        // The loadgen pod calls the frontend Service (http://frontend.demo.svc/).
        {
          TARGET_URLS: `http://${clusterIp('frontend')}/`,
          REQUESTS_PER_SECOND: '20',
          DURATION_SECONDS: String(TRAFFIC_S),
        },
        { netns: loadgenPod.ns }
      );
      services.push(loadgen);
      assert.equal(await loadgen.exited, 0);
      const r = JSON.parse(loadgen.lines.at(-1)!) as { sent: number; ok: number; failed: number };
      load.sent += r.sent;
      load.ok += r.ok;
      load.failed += r.failed;
    }
    log(`loadgen: ${JSON.stringify(load)}`);
    assert.ok(load.ok >= REQUESTS, `too few successful requests: ${JSON.stringify(load)}`);

    toggle.stdin!.end(); // loss off
    assert.equal(await toggleExited, 0, toggleErr);
    const offLine = toggleLines.find((l) => l.startsWith('loss off'));
    log(offLine ?? 'no loss off line');
    assert.match(offLine ?? '', /dropped [1-9]\d* of \d+ TCP packets/);

    // Let the last collection tick and report reach the hub, then stop the agents (they flush).
    await new Promise((r) => setTimeout(r, (REPORT_S + 1) * 1000));
    const codes = await agents.stop();
    agents.agents.forEach((a, i) => assert.equal(codes[i], 0, `${a.node} agent:\n${a.stderr()}`));
    const kernel = new Map<string, TcpCounters>();
    for (const p of pods) {
      kernel.set(p.ns, diffCounters(await readTcpCounters(p.ns), before.get(p.ns)!));
    }

    const res = await hub.get(`/api/v1/top-contributors?metric=retransmits&from=0&to=${Date.now() + 60_000}&limit=500`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const rows = (res.body as { rows: Row[] }).rows;
    const flowTo = (ip: string): Row => {
      const matching = rows.filter((r) => r.local.ip === front.ip && r.remote.ip === ip);
      assert.equal(matching.length, 1, `frontend → ${ip}: ${JSON.stringify(rows.slice(0, 10))}`);
      return matching[0]!;
    };
    const toA = flowTo(catA.ip);
    const toB = flowTo(catB.ip);
    const k = (p: { ns: string }) => kernel.get(p.ns)!;
    log(
      `hub: →catalog-a retransmits ${toA.retransmits} (${toA.category}), →catalog-b retransmits ${toB.retransmits} (${toB.category}); ` +
        `kernel RetransSegs frontend ${k(front).retransSegs}, catalog-a ${k(catA).retransSegs}, catalog-b ${k(catB).retransSegs}`
    );

    // Names and zones from the metadata: the walkthrough's per-AZ view.
    assert.equal(toA.remote.pod, 'catalog-zone-a-1');
    assert.equal(toB.remote.pod, 'catalog-zone-b-1');
    assert.equal(toA.category, 'INTRA_AZ');
    assert.equal(toB.category, 'INTER_AZ');
    // Through the Services: named after the backend pods, the Service beside them, never a ClusterIP row.
    assert.equal(toA.remote.service, 'catalog-zone-a');
    assert.equal(toB.remote.service, 'catalog-zone-b');
    const serviceIps = new Set(c.services.map((svc) => svc.clusterIp));
    assert.deepEqual(
      rows.filter((r) => serviceIps.has(r.remote.ip)).map((r) => `${r.local.pod ?? r.local.ip} -> ${r.remote.ip}`),
      [],
      'rows pointing at a ClusterIP'
    );
    const toFrontend = rows.filter((r) => r.local.ip === loadgenPod.ip && r.remote.ip === front.ip);
    assert.equal(toFrontend.length, 1, `loadgen → frontend: ${JSON.stringify(toFrontend)}`);
    assert.equal(toFrontend[0]!.remote.service, 'frontend');
    assert.equal(toFrontend[0]!.category, 'INTRA_AZ');
    assert.ok(toA.bytes > 1_000_000 && toB.bytes > 1_000_000, `bytes a=${toA.bytes} b=${toB.bytes}`);

    // Exact against the kernel: a flow's retransmits are the server's own (all of that namespace's,
    // each catalog talks only to the frontend) plus the frontend's towards it (at most all of the
    // frontend's).
    assert.ok(k(catB).retransSegs >= 20, `3% loss produced only ${k(catB).retransSegs} retransmissions`);
    assert.ok(toB.retransmits >= k(catB).retransSegs, 'hub lost some of catalog-b’s retransmissions');
    assert.ok(toB.retransmits <= k(catB).retransSegs + k(front).retransSegs, 'hub counts more than the kernel');
    assert.ok(toA.retransmits >= k(catA).retransSegs);
    assert.ok(toA.retransmits <= k(catA).retransSegs + k(front).retransSegs);
    // Exactly the lossy side: the clean side shows at most veth reordering noise.
    assert.ok(
      toB.retransmits >= 3 * toA.retransmits,
      `lossy side ${toB.retransmits} vs clean side ${toA.retransmits}: not clearly apart`
    );
  } catch (err) {
    for (const n of cluster?.nodes ?? []) {
      log(`${n.name} conntrack:\n${await cluster!.conntrack(n.name)}`);
    }
    throw err;
  } finally {
    for (const fn of cleanups.reverse()) {
      await fn().catch((err: unknown) => log(`cleanup: ${String(err)}`));
    }
  }
});
