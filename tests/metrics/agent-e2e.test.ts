/**
 * End to end: the real agent (`flowlens-agent node`, real eBPF) with OPEN_METRICS=on, test hosts in network
 * namespaces mapped to pods by a metadata file, and Debian's Prometheus scraping it every second. What Prometheus
 * stores must equal the traffic generated: bytes (the generator's own counts), connections (the namespaces'
 * ActiveOpens / PassiveOpens), and packets (the agent's own reports, which the kernel suite checks against ground truth).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { MetadataFile } from '../../agent/src/contracts/metadata.js';
import type { FlowRecord } from '../../agent/src/contracts/report.js';
import { bpfArtifactPaths, startAgent, sumFlows, type AgentHandle } from '../../agent/test/lib/agent-process.js';
import { createStar, type Star } from '../../agent/test/lib/netns.js';
import { requireBinary, requireKernel } from '../../agent/test/lib/privileges.js';
import { diffCounters, readTcpCounters } from '../../agent/test/lib/tcp-counters.js';
import { runClient, startServer, type TrafficServer } from '../../agent/test/lib/traffic.js';
import { freeLoopbackPort } from '../lib/free-port.js';
import { PROMETHEUS_BIN, PrometheusServer } from '../lib/prometheus-server.js';
import { waitFor } from '../lib/wait.js';

const NODE = 'e2e-node';
const PORT = 20000 + Math.floor(Math.random() * 20000);
const REPLY = 700;
const UPLOAD = 3_000_000;
const SHORT = 25;

let star: Star | undefined;
let server: TrafficServer | undefined;
let agent: AgentHandle | undefined;
let prom: PrometheusServer | undefined;
let dir: string | undefined;

after(async () => {
  await agent?.stop('SIGKILL');
  await prom?.stop();
  await server?.close();
  await star?.cleanup();
  if (dir) {
    await rm(dir, { recursive: true, force: true });
  }
});

test(
  'Prometheus stores per-pod counters equal to the traffic the namespaces generated',
  { timeout: 120_000 },
  async (t) => {
    if (
      !requireKernel(t) ||
      !requireBinary(t, PROMETHEUS_BIN) ||
      !bpfArtifactPaths().every((p) => requireBinary(t, p))
    ) {
      return;
    }
    assert.ok(bpfArtifactPaths().every((p) => existsSync(p)));
    star = await createStar(2);
    const [up, many] = star.clients as [Star['clients'][0], Star['clients'][0]];

    // The server namespace is pod db-0 (one IP per link), the clients are two loadgen pods.
    dir = await mkdtemp(join(tmpdir(), 'flowlens-e2e-'));
    const pod = (ip: string, name: string, workload: string, kind: string) => ({
      ip,
      name,
      namespace: 'shop',
      workload,
      kind,
      node: NODE,
    });
    const metadata: MetadataFile = {
      nodes: [{ name: NODE, zone: 'zone-a' }],
      pods: [
        pod(up.serverIp, 'db-0', 'db', 'StatefulSet'),
        pod(many.serverIp, 'db-0', 'db', 'StatefulSet'),
        pod(up.clientIp, 'loadgen-7d9c-up', 'loadgen', 'Deployment'),
        pod(many.clientIp, 'loadgen-7d9c-many', 'loadgen', 'Deployment'),
      ],
      services: [],
    };
    const metadataPath = join(dir, 'metadata.json');
    await writeFile(metadataPath, JSON.stringify(metadata));

    server = await startServer(star.server, '0.0.0.0', PORT, REPLY);
    const metricsPort = await freeLoopbackPort();
    agent = await startAgent(['--collect-interval', '1', '--report-interval', '1'], {
      NODE_NAME: NODE,
      OPEN_METRICS: 'on',
      OPEN_METRICS_PORT: String(metricsPort),
      FLOWLENS_METADATA: 'file',
      FLOWLENS_METADATA_FILE: metadataPath,
      FLOWLENS_ENA_STATS: 'off',
    });
    prom = await PrometheusServer.start(`127.0.0.1:${metricsPort}`);
    await waitFor('the first scrape', async () => (await prom!.query('up'))[0]?.value === 1, 20_000, 200);

    const before = {
      up: await readTcpCounters(up.ns),
      many: await readTcpCounters(many.ns),
      srv: await readTcpCounters(star.server),
    };
    const [upload, shorts] = await Promise.all([
      runClient(up.ns, ['upload', '--bytes', String(UPLOAD), '--host', up.serverIp, '--port', String(PORT)]),
      runClient(many.ns, [
        'short',
        '--count',
        String(SHORT),
        '--bytes',
        '1000',
        '--host',
        many.serverIp,
        '--port',
        String(PORT),
      ]),
    ]);
    await new Promise((r) => setTimeout(r, 300)); // sockets reach CLOSE just after the clients see EOF
    const delta = {
      up: diffCounters(await readTcpCounters(up.ns), before.up),
      many: diffCounters(await readTcpCounters(many.ns), before.many),
      srv: diffCounters(await readTcpCounters(star.server), before.srv),
    };
    assert.equal(upload.sent, UPLOAD);
    assert.equal(upload.received, REPLY);
    assert.equal(shorts.received, SHORT * REPLY);

    const expected: Record<string, Record<string, number>> = {
      'loadgen-7d9c-up': {
        flowlens_pod_egress_bytes_total: upload.sent!,
        flowlens_pod_ingress_bytes_total: upload.received!,
        flowlens_pod_egress_flows_total: delta.up.activeOpens,
        flowlens_pod_ingress_flows_total: 0,
      },
      'loadgen-7d9c-many': {
        flowlens_pod_egress_bytes_total: shorts.sent!,
        flowlens_pod_ingress_bytes_total: shorts.received!,
        flowlens_pod_egress_flows_total: delta.many.activeOpens,
        flowlens_pod_ingress_flows_total: 0,
      },
      'db-0': {
        flowlens_pod_ingress_bytes_total: upload.sent! + shorts.sent!,
        flowlens_pod_egress_bytes_total: upload.received! + shorts.received!,
        flowlens_pod_ingress_flows_total: delta.srv.passiveOpens,
        flowlens_pod_egress_flows_total: 0,
      },
    };
    assert.equal(delta.up.activeOpens, 1);
    assert.equal(delta.many.activeOpens, SHORT);
    assert.equal(delta.srv.passiveOpens, SHORT + 1);

    // Wait until Prometheus holds the final values (the agent ticks every second, Prometheus scrapes every second).
    const value = async (metric: string, podName: string) =>
      (await prom!.query(`${metric}{namespace="shop",pod="${podName}",node="${NODE}"}`))[0]?.value ?? 0;
    await waitFor(
      'Prometheus to store the generated traffic',
      async () => {
        for (const [podName, metrics] of Object.entries(expected)) {
          for (const [metric, want] of Object.entries(metrics)) {
            if ((await value(metric, podName)) !== want) {
              return false;
            }
          }
        }
        return true;
      },
      15_000,
      250
    ).catch(async (err: Error) => {
      const got: string[] = [];
      for (const [podName, metrics] of Object.entries(expected)) {
        for (const [metric, want] of Object.entries(metrics)) {
          got.push(`${podName} ${metric}: ${await value(metric, podName)} (want ${want})`);
        }
      }
      throw new Error(`${err.message}\n${got.join('\n')}\n${agent?.stderr()}`);
    });
    // Let one more tick and scrape pass, then check nothing moved (no double counting).
    await new Promise((r) => setTimeout(r, 2500));
    for (const [podName, metrics] of Object.entries(expected)) {
      for (const [metric, want] of Object.entries(metrics)) {
        assert.equal(await value(metric, podName), want, `${podName} ${metric}`);
      }
    }

    // Workload labels from the metadata file.
    const series = await prom.query('flowlens_pod_egress_bytes_total');
    assert.deepEqual(series.map((s) => `${s.metric.pod}/${s.metric.workload}`).sort(), [
      'db-0/db',
      'loadgen-7d9c-many/loadgen',
      'loadgen-7d9c-up/loadgen',
    ]);

    // Packets and retransmits equal the agent's own reports over the same ticks.
    const packetsBefore = {
      up: await value('flowlens_pod_egress_packets_total', 'loadgen-7d9c-up'),
      upIn: await value('flowlens_pod_ingress_packets_total', 'loadgen-7d9c-up'),
      db: await value('flowlens_pod_ingress_packets_total', 'db-0'),
      dbRetrans: await value('flowlens_pod_tcp_retransmits_total', 'db-0'),
      upRetrans: await value('flowlens_pod_tcp_retransmits_total', 'loadgen-7d9c-up'),
    };
    assert.equal(await agent.stop('SIGTERM'), 0, agent.stderr());
    const reports = agent.reports;
    const sum = (pick: (f: FlowRecord) => boolean) => sumFlows(reports, pick)!;
    const upFlows = sum((f) => f.localIp === up.clientIp);
    const dbFlows = sum((f) => f.localIp === up.serverIp || f.localIp === many.serverIp);
    assert.ok(upFlows.segmentsSent > 0);
    assert.equal(packetsBefore.up, upFlows.segmentsSent);
    assert.equal(packetsBefore.upIn, upFlows.segmentsReceived);
    assert.equal(packetsBefore.db, dbFlows.segmentsReceived);
    assert.equal(packetsBefore.upRetrans, upFlows.retransmits);
    assert.equal(packetsBefore.dbRetrans, dbFlows.retransmits);
    assert.equal(upFlows.bytesSent, UPLOAD);
    t.diagnostic(`upload: ${upFlows.segmentsSent} data segments out, ${upFlows.retransmits} retransmits`);
  }
);
