/**
 * Everything the app shell talks to, started for tests/browser/app-pages.test.ts:
 *
 * - a live hub holding the recorded fixture reports (three nodes, two zones), reached through the data-proxy
 *   stand-in with the route from src/datasource/plugin.json; besides the provisioned `flowlens-flows`, two broken
 *   instances: `flowlens-flows-notoken` (no secureJsonData) and `flowlens-flows-down` (a hub URL nothing listens on);
 * - the node agent's real OpenMetrics exporter for node-a1 (its pods from the fixture metadata, ENA statistics from
 *   the driver fixtures through a fake ethtool), fed node-a1's fixture flows as collector ticks, scraped every second
 *   by Debian's Prometheus (`flowlens-prometheus`); a second Prometheus that scrapes nothing
 *   (`flowlens-prometheus-empty`: a cluster without agents);
 * - the shell's origin: the bundle, /harness-config.json, the data proxy, Grafana's proxy to a Prometheus
 *   datasource's URL (`/api/datasources/proxy/uid/<uid>/…`, recorded), and the app settings endpoint
 *   (`POST /api/plugins/<id>/settings`, recorded).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { FlowDelta } from '../../../agent/src/contracts/flow.js';
import { emptyCounters, type ReportV1 } from '../../../agent/src/contracts/report.js';
import { MetadataStore } from '../../../agent/src/metadata/store.js';
import { startOpenMetrics, type OpenMetricsHandle } from '../../../agent/src/metrics/index.js';
import { tick } from '../../../agent/src/metrics/testing.js';
import { FakeEthtool } from '../../lib/fake-ethtool.js';
import { freeLoopbackPort } from '../../lib/free-port.js';
import { startDataProxy, type DataProxy, type PluginRoute } from '../../lib/grafana-data-proxy.js';
import { REPO_ROOT, fixture, startHubProcess, type HubProcess } from '../../lib/hub-process.js';
import { PrometheusServer } from '../../lib/prometheus-server.js';
import { fixtureReports } from '../../lib/report-fixtures.js';
import { waitFor } from '../../lib/wait.js';
import type { ShellConfig } from '../app/protocol.js';
import { serveHarness, type HarnessServer } from '../harness/server.js';

export const APP_ID = 'flowlens-netobs-app';
export const FLOWS_UID = 'flowlens-flows';
export const PROM_UID = 'flowlens-prometheus';
export const METRICS_NODE = 'node-a1';
const ENA_FIXTURES = join(REPO_ROOT, 'agent/src/ena/fixtures');
/** Ticks fed to the exporter, one every TICK_MS: long enough for several scrapes and a rate. */
const TICKS = 8;
const TICK_MS = 500;

export interface PromCall {
  uid: string;
  path: string;
  params: Record<string, string>;
  status: number;
  body: unknown;
}

export interface AppEnv {
  hub: HubProcess;
  prom: PrometheusServer;
  emptyProm: PrometheusServer;
  proxy: DataProxy;
  site: HarnessServer;
  config: ShellConfig;
  queryToken: string;
  /** Reports as posted: the hub's input. */
  reports: ReportV1[];
  /** Time window the fixtures fall in (epoch ms). */
  window: { from: number; to: number };
  /** Every Prometheus API call the page made, with Prometheus's answer. */
  promCalls: PromCall[];
  settingsPosts: unknown[];
  /** Fed into the exporter: flows per tick (node-a1's fixture flows). */
  fedFlows: FlowDelta[];
  /** Set to make the next Prometheus answers for matching queries fail (a test breaking a query on purpose). */
  breakPromQuery: RegExp | null;
  close(): Promise<void>;
}

/**
 * The fixtures' calls all run frontend → backends. One more report from node-a2 has cart call frontend back
 * (port 8081), so the frontend ⇄ cart pair has flows in both directions for the drilldown to show. That call
 * also fails now and then (report contract 1.2): the Flows page's failure columns and its "Failing" view have
 * values to show.
 */
export const REVERSE_CALL_FAILURES = {
  connectAttempts: 6,
  connectFailures: 2,
  connectRefused: 1,
  synRetransmits: 3,
  resetsReceived: 1,
  drops: { NETFILTER_DROP: 4, NO_SOCKET: 1 },
};

function reverseCallReport(reports: ReportV1[]): ReportV1 {
  const a2 = reports.find((r) => r.node === 'node-a2')!;
  const served = a2.flows[0]!;
  return {
    ...a2,
    reportId: randomUUID(),
    flows: [
      {
        ...served,
        localIp: served.localIp,
        localPort: 0,
        remoteIp: served.remoteIp,
        remotePort: 8081,
        direction: 'client',
        bytesSent: 31_000,
        bytesReceived: 9_000,
        retransmits: 2,
        rtos: 1,
        rttUs: { min: 300, avg: 450, max: 900 },
        ...REVERSE_CALL_FAILURES,
      },
    ],
    other: { ...a2.other, ...emptyCounters() },
  };
}

function flowsOf(report: ReportV1): FlowDelta[] {
  return report.flows.map((f) => ({
    localIp: f.localIp,
    remoteIp: f.remoteIp,
    serverPort: f.direction === 'client' ? f.remotePort : f.localPort,
    direction: f.direction,
    bytesSent: f.bytesSent,
    bytesReceived: f.bytesReceived,
    segmentsSent: f.segmentsSent,
    segmentsReceived: f.segmentsReceived,
    retransmits: f.retransmits,
    rtos: f.rtos,
    rttUs: f.rttUs,
    connectionsOpened: f.connectionsOpened,
    connectionsClosed: f.connectionsClosed,
  })) as unknown as FlowDelta[];
}

async function startAgentMetrics(): Promise<{ handle: OpenMetricsHandle; ethtool: FakeEthtool }> {
  const ethtool = await FakeEthtool.create(
    {
      eth0: readFileSync(join(ENA_FIXTURES, 'ena-2.2.10-eth0.txt'), 'utf8'),
      ens5: readFileSync(join(ENA_FIXTURES, 'ena-2.8.9-ens5.txt'), 'utf8'),
    },
    ['lo']
  );
  const metadata = new MetadataStore();
  const meta = JSON.parse(readFileSync(fixture('metadata/three-nodes.json'), 'utf8')) as {
    pods: Array<{ ip: string; name: string; namespace: string; workload: string; kind: string; node: string }>;
  };
  meta.pods.filter((p) => p.node === METRICS_NODE).forEach((p, i) => metadata.setPod(`uid-${i}`, [p]));
  const handle = await startOpenMetrics({
    env: {
      OPEN_METRICS: 'on',
      OPEN_METRICS_PORT: '0',
      FLOWLENS_ETHTOOL: ethtool.command,
      FLOWLENS_SYS_CLASS_NET: ethtool.sysClassNet,
    },
    nodeName: METRICS_NODE,
    metadata,
    log: () => undefined,
  });
  return { handle, ethtool };
}

export interface AppEnvOptions {
  /**
   * Puts a server in front of the live hub for the working flows datasources (e.g. a stand-in for an API the hub
   * build under test lacks); it gets the hub's URL and query token and returns the URL the data proxy should use.
   */
  frontHub?: (hub: { url: string; queryToken: string }) => Promise<{ url: string; close(): Promise<void> }>;
  /** The hub's own cluster (`--cluster`): the cluster of the fixture reports, which name none. Default `default`. */
  cluster?: string;
  /**
   * More reports, posted after the fixtures (e.g. another cluster's); `start` is the fixtures' window start. They
   * join `reports`.
   */
  moreReports?: (start: number) => ReportV1[];
}

export async function startAppEnv(bundleDir: string, options: AppEnvOptions = {}): Promise<AppEnv> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of cleanups.reverse()) {
      await c().catch(() => undefined);
    }
  };
  try {
    const queryToken = `flowlens-canary-${randomBytes(16).toString('hex')}`;
    const hub = await startHubProcess({
      metadataFile: fixture('metadata/three-nodes.json'),
      ipRangesFile: fixture('ip-ranges-override.json'),
      queryToken,
      args: options.cluster ? ['--cluster', options.cluster] : [],
    });
    cleanups.push(() => hub.cleanup());
    const start = Date.now() - 120_000;
    const reports = fixtureReports({ startMs: start, newId: true });
    reports.push(reverseCallReport(reports), ...(options.moreReports?.(start) ?? []));
    for (const report of reports) {
      const r = await hub.postReport(report);
      if (r.status < 200 || r.status >= 300) {
        throw new Error(`report refused: ${r.status} ${JSON.stringify(r.body)}`);
      }
    }

    const { handle, ethtool } = await startAgentMetrics();
    cleanups.push(() => ethtool.remove());
    cleanups.push(() => handle.close());
    const prom = await PrometheusServer.start(handle.url!.replace('http://', ''));
    cleanups.push(() => prom.stop());
    const emptyProm = await PrometheusServer.start(`127.0.0.1:${await freeLoopbackPort()}`);
    cleanups.push(() => emptyProm.stop());
    const fedFlows = flowsOf(reports.find((r) => r.node === METRICS_NODE)!);
    await waitFor('the first scrape', async () => (await prom.query('up'))[0]?.value === 1, 20_000, 200);
    for (let i = 0; i < TICKS; i++) {
      handle.onTick(tick(fedFlows, Date.now()));
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
    const egress = fedFlows.filter((f) => f.localIp === '10.1.1.10').reduce((s, f) => s + f.bytesSent, 0);
    await waitFor(
      'Prometheus to store the last tick',
      async () =>
        (await prom.query('sum(flowlens_pod_egress_bytes_total{pod="frontend-7d9f8-abcde"})'))[0]?.value ===
        egress * TICKS,
      15_000,
      200
    );

    const routes = (
      JSON.parse(await readFile(join(REPO_ROOT, 'src/datasource/plugin.json'), 'utf8')) as { routes: PluginRoute[] }
    ).routes;
    const front = options.frontHub ? await options.frontHub({ url: hub.url, queryToken }) : undefined;
    if (front) {
      cleanups.push(() => front.close());
    }
    const hubUrl = front?.url ?? hub.url;
    const proxy = await startDataProxy({
      routes,
      datasources: [
        { uid: FLOWS_UID, jsonData: { hubUrl }, secureJsonData: { queryToken } },
        { uid: 'flowlens-flows-notoken', jsonData: { hubUrl }, secureJsonData: {} },
        {
          uid: 'flowlens-flows-down',
          jsonData: { hubUrl: `http://127.0.0.1:${await freeLoopbackPort()}` },
          secureJsonData: {},
        },
      ],
    });
    cleanups.push(() => proxy.close());

    const flowsDs = (uid: string, name: string) => ({
      uid,
      name,
      type: 'flowlens-flows-datasource',
      url: proxy.datasourceUrl(uid),
      jsonData: { hubUrl: hub.url },
    });
    const promDs = (uid: string, name: string) => ({
      uid,
      name,
      type: 'prometheus',
      url: `/api/datasources/proxy/uid/${uid}`,
      jsonData: { timeInterval: '1s' },
    });
    const config: ShellConfig = {
      datasources: [
        flowsDs(FLOWS_UID, 'Flowlens flows'),
        flowsDs('flowlens-flows-notoken', 'Flowlens flows (no token)'),
        flowsDs('flowlens-flows-down', 'Flowlens flows (hub down)'),
        promDs(PROM_UID, 'Prometheus'),
        promDs('flowlens-prometheus-empty', 'Prometheus (no agents)'),
      ],
      appJsonData: {},
    };
    const promByUid: Record<string, PrometheusServer> = { [PROM_UID]: prom, 'flowlens-prometheus-empty': emptyProm };
    const env: AppEnv = {
      hub,
      prom,
      emptyProm,
      proxy,
      site: undefined as unknown as HarnessServer,
      config,
      queryToken,
      reports,
      window: { from: start - 60_000, to: Date.now() + 60_000 },
      promCalls: [],
      settingsPosts: [],
      fedFlows,
      breakPromQuery: null,
      close,
    };
    const handleExtra = (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
      const m = /^\/api\/datasources\/proxy\/uid\/([^/]+)(\/api\/v1\/.*)$/.exec(url.pathname);
      const target = m ? promByUid[m[1]!] : undefined;
      if (m && target) {
        const params = Object.fromEntries(url.searchParams);
        const broken = env.breakPromQuery && env.breakPromQuery.test(params.query ?? '');
        const upstream = broken
          ? `${target.url}/api/v1/query_range?query=${encodeURIComponent('broken on purpose(')}`
          : `${target.url}${m[2]}${url.search}`;
        fetch(upstream, { signal: AbortSignal.timeout(10_000) }).then(
          async (r) => {
            const text = await r.text();
            env.promCalls.push({ uid: m[1]!, path: m[2]!, params, status: r.status, body: JSON.parse(text) });
            res.writeHead(r.status, { 'Content-Type': 'application/json' });
            res.end(text);
          },
          () => {
            res.writeHead(502);
            res.end();
          }
        );
        return true;
      }
      if (url.pathname === `/api/plugins/${APP_ID}/settings` && req.method === 'POST') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          env.settingsPosts.push(JSON.parse(body));
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end('{"message":"Plugin settings updated"}');
        });
        return true;
      }
      return false;
    };
    env.site = await serveHarness({ dir: bundleDir, config, apiOrigin: proxy.origin, spa: true, handle: handleExtra });
    cleanups.push(() => env.site.close());
    return env;
  } catch (err) {
    await close();
    throw err;
  }
}
