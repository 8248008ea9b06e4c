/**
 * The seed-001 walkthrough without Docker: the demo services run as processes in network
 * namespaces (frontend and catalog-a in "zone-a", catalog-b in "zone-b", joined by a router
 * namespace), demo/loss-toggle drops 3% of what catalog-b sends (the tc-BPF loss injector of
 * agent/test/lib, attached where catalog-b's link enters the router), the real node agent reports
 * to the real hub, and the hub shows retransmissions on the catalog-b side only, bounded by the
 * kernel's own counters of each namespace.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { CLI as AGENT_CLI, bpfArtifactPaths } from '../../agent/test/lib/agent-process.js';
import { createStar, type Star } from '../../agent/test/lib/netns.js';
import { requireBinary, requireKernel } from '../../agent/test/lib/privileges.js';
import { diffCounters, readTcpCounters, type TcpCounters } from '../../agent/test/lib/tcp-counters.js';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';
import { startDemo, type DemoProcess } from '../lib/demo-processes.js';
import { startHubProcess, type HubProcess } from '../lib/hub-process.js';

const REPORT_S = 2;
const TRAFFIC_S = 8;

interface Row {
  category: string;
  local: { ip: string; pod: string | null; zone: string | null };
  remote: { ip: string; pod: string | null; zone: string | null };
  bytes: number;
  retransmits: number;
  rtos: number;
}

/** The real agent reporting to the hub with `node --hub`. */
async function startReportingAgent(hub: HubProcess, log: (line: string) => void): Promise<{ stop(): Promise<void> }> {
  const args = ['--report-interval', String(REPORT_S), '--collect-interval', '1', '--node-name', 'demo-node'];
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', AGENT_CLI, 'node', '--hub', hub.url, ...args],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FLOWLENS_HUB_INGEST_TOKEN: hub.ingestToken },
    }
  );
  let stderr = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // Running = attached and still alive a moment later (a missing sink fails right after attaching).
  const attached = await new Promise<boolean>((resolve, reject) => {
    const deadline = Date.now() + 30_000;
    let attachedAt = 0;
    const timer = setInterval(() => {
      if (attachedAt === 0 && /sock_ops program \d+ attached/.test(stderr)) {
        attachedAt = Date.now();
      }
      if (attachedAt > 0 && Date.now() - attachedAt > 1500) {
        clearInterval(timer);
        resolve(true);
      } else if (Date.now() > deadline) {
        clearInterval(timer);
        reject(new Error(`agent did not attach:\n${stderr}`));
      }
    }, 100);
    void exited.then(() => {
      clearInterval(timer);
      resolve(false);
    });
  });
  if (attached) {
    return {
      stop: async () => {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      },
    };
  }
  throw new Error(`flowlens-agent node --hub failed:\n${stderr}`);
}

test('3% loss on the zone-b catalog shows as retransmissions on exactly that side', async (t) => {
  if (!requireKernel(t)) {
    return;
  }
  for (const path of bpfArtifactPaths()) {
    if (!requireBinary(t, path)) {
      return;
    }
  }
  const cleanups: Array<() => Promise<unknown>> = [];
  const log = (line: string): void => t.diagnostic(line);
  let star: Star | undefined;
  try {
    // Router namespace + three hosts: c0 frontend (zone-a), c1 catalog-a (zone-a), c2 catalog-b (zone-b).
    star = await createStar(3);
    cleanups.push(() => star!.cleanup());
    await star.exec(star.server, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const c of star.clients) {
      await star.exec(c.ns, ['ip', 'route', 'add', 'default', 'via', c.serverIp]);
    }
    const [front, catA, catB] = star.clients as [Star['clients'][0], Star['clients'][0], Star['clients'][0]];
    // Segment offloads off on every link: the injector then drops single MTU-sized segments, not
    // 64 KB super-packets, so 3% of packets means 3% of segments (as netem does on a real NIC).
    for (const c of star.clients) {
      await star.exec(c.ns, ['ethtool', '-K', c.clientDev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
      await star.exec(star.server, ['ethtool', '-K', c.serverDev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    }

    const work = mkdtempSync(join(tmpdir(), 'flowlens-demo-'));
    cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
    const metadataFile = join(work, 'metadata.json');
    const pod = (ip: string, name: string, workload: string, node: string) => ({
      ip,
      name,
      namespace: 'demo',
      workload,
      kind: 'Deployment',
      node,
    });
    writeFileSync(
      metadataFile,
      JSON.stringify({
        nodes: [
          { name: 'node-a', zone: 'zone-a' },
          { name: 'node-b', zone: 'zone-b' },
        ],
        pods: [
          pod(front.clientIp, 'frontend-1', 'frontend', 'node-a'),
          pod(catA.clientIp, 'catalog-zone-a-1', 'catalog-zone-a', 'node-a'),
          pod(catB.clientIp, 'catalog-zone-b-1', 'catalog-zone-b', 'node-b'),
        ],
        services: [],
      })
    );
    const hub = await startHubProcess({ metadataFile });
    cleanups.push(async () => {
      await hub.stop();
      await hub.cleanup();
    });

    const before = new Map<string, TcpCounters>();
    for (const c of star.clients) {
      before.set(c.ns, await readTcpCounters(c.ns));
    }
    const agent = await startReportingAgent(hub, log);
    cleanups.push(() => agent.stop());

    const services: DemoProcess[] = [];
    cleanups.push(() => Promise.all(services.map((s) => s.stop())));
    const serve = async (role: string, ns: string, ip: string, env: Record<string, string>) => {
      const p = await startDemo(role, { HOST: '0.0.0.0', PORT: '8080', ...env }, { netns: ns, advertiseHost: ip });
      services.push(p);
      return p;
    };
    await serve('catalog', catA.ns, catA.clientIp, { ITEM_BYTES: String(256 * 1024) });
    await serve('catalog', catB.ns, catB.clientIp, { ITEM_BYTES: String(256 * 1024) });
    const frontend = await serve('frontend', front.ns, front.clientIp, {
      CATALOG_URLS: `http://${catA.clientIp}:8080/items,http://${catB.clientIp}:8080/items`,
    });

    // demo/loss-toggle, local mode: 3% of what catalog-b sends is lost on its link.
    const toggle = spawn(
      join(REPO_ROOT, 'demo/loss-toggle'),
      ['hold', '--netns', star.server, '--dev', catB.serverDev, '--percent', '3'],
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

    const loadgen = await startDemo(
      'loadgen',
      { TARGET_URLS: `${frontend.url}/`, REQUESTS_PER_SECOND: '20', DURATION_SECONDS: String(TRAFFIC_S) },
      { netns: front.ns }
    );
    services.push(loadgen);
    assert.equal(await loadgen.exited, 0);
    const load = JSON.parse(loadgen.lines.at(-1)!) as { sent: number; ok: number; failed: number };
    log(`loadgen: ${JSON.stringify(load)}`);
    assert.ok(load.ok >= TRAFFIC_S * 10, `too few successful requests: ${JSON.stringify(load)}`);

    toggle.stdin!.end(); // loss off
    assert.equal(await toggleExited, 0, toggleErr);
    const offLine = toggleLines.find((l) => l.startsWith('loss off'));
    log(offLine ?? 'no loss off line');
    assert.match(offLine ?? '', /dropped [1-9]\d* of \d+ TCP packets/);

    // Let the last collection tick and report reach the hub, then stop the agent (it flushes).
    await new Promise((r) => setTimeout(r, (REPORT_S + 1) * 1000));
    await agent.stop();
    const kernel = new Map<string, TcpCounters>();
    for (const c of star.clients) {
      kernel.set(c.ns, diffCounters(await readTcpCounters(c.ns), before.get(c.ns)!));
    }

    const res = await hub.get(`/api/v1/top-contributors?metric=retransmits&from=0&to=${Date.now() + 60_000}&limit=500`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const rows = (res.body as { rows: Row[] }).rows;
    const flowTo = (ip: string): Row => {
      const matching = rows.filter((r) => r.local.ip === front.clientIp && r.remote.ip === ip);
      assert.equal(matching.length, 1, `frontend → ${ip}: ${JSON.stringify(rows.slice(0, 10))}`);
      return matching[0]!;
    };
    const toA = flowTo(catA.clientIp);
    const toB = flowTo(catB.clientIp);
    const k = (c: { ns: string }) => kernel.get(c.ns)!;
    log(
      `hub: →catalog-a retransmits ${toA.retransmits} (${toA.category}), →catalog-b retransmits ${toB.retransmits} (${toB.category}); ` +
        `kernel RetransSegs frontend ${k(front).retransSegs}, catalog-a ${k(catA).retransSegs}, catalog-b ${k(catB).retransSegs}`
    );

    // Names and zones from the metadata: the walkthrough's per-AZ view.
    assert.equal(toA.remote.pod, 'catalog-zone-a-1');
    assert.equal(toB.remote.pod, 'catalog-zone-b-1');
    assert.equal(toA.category, 'INTRA_AZ');
    assert.equal(toB.category, 'INTER_AZ');
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
  } finally {
    for (const c of cleanups.reverse()) {
      await c().catch((err: unknown) => log(`cleanup: ${String(err)}`));
    }
  }
});
