/**
 * Acceptance: Debian's real Prometheus scrapes the exporter's /metrics (OpenMetrics negotiated) every second while
 * collector ticks with known counters are fed in; every stored sample equals a running total of what was fed, the
 * last one the exact total; ENA series appear exactly for the stats the (fake) driver reports; `promtool check
 * metrics` finds nothing to complain about in the text form.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FlowDelta } from '../../agent/src/contracts/flow.js';
import { MetadataStore } from '../../agent/src/metadata/store.js';
import { startOpenMetrics, type OpenMetricsHandle } from '../../agent/src/metrics/index.js';
import { flow, tick } from '../../agent/src/metrics/testing.js';
import { requireBinary } from '../../agent/test/lib/privileges.js';
import { FakeEthtool } from '../lib/fake-ethtool.js';
import { PROMETHEUS_BIN, PROMTOOL_BIN, PrometheusServer } from '../lib/prometheus-server.js';
import { waitFor } from '../lib/wait.js';

const NODE = 'node-1';
const ENA_FIXTURES = join(__dirname, '../../agent/src/ena/fixtures');
const PODS = [
  {
    ip: '10.244.1.10',
    name: 'web-6d4cf56db6-abcde',
    namespace: 'shop',
    workload: 'web',
    kind: 'Deployment',
    node: NODE,
  },
  { ip: '10.244.1.11', name: 'db-0', namespace: 'shop', workload: 'db', kind: 'StatefulSet', node: NODE },
];
type Totals = Record<string, number>;
const METRICS: Array<[string, (f: FlowDelta) => number]> = [
  ['flowlens_pod_ingress_flows_total', (f) => (f.direction === 'server' ? f.connectionsOpened : 0)],
  ['flowlens_pod_egress_flows_total', (f) => (f.direction === 'client' ? f.connectionsOpened : 0)],
  ['flowlens_pod_ingress_packets_total', (f) => f.segmentsReceived],
  ['flowlens_pod_egress_packets_total', (f) => f.segmentsSent],
  ['flowlens_pod_ingress_bytes_total', (f) => f.bytesReceived],
  ['flowlens_pod_egress_bytes_total', (f) => f.bytesSent],
  ['flowlens_pod_tcp_retransmits_total', (f) => f.retransmits],
  ['flowlens_pod_tcp_rtos_total', (f) => f.rtos],
];
/** Failure series (contract 1.2): name, the extra label, and what a flow adds; drops carry the kernel's reason. */
const FAILURE_METRICS: Array<[string, string, (f: FlowDelta) => number]> = [
  ['flowlens_pod_tcp_connect_failures_total', '', (f) => f.connectFailures ?? 0],
  ['flowlens_pod_tcp_resets_total', 'direction="sent"', (f) => f.resetsSent ?? 0],
  ['flowlens_pod_tcp_resets_total', 'direction="received"', (f) => f.resetsReceived ?? 0],
  ['flowlens_pod_drops_total', 'reason="NETFILTER_DROP"', (f) => f.drops?.NETFILTER_DROP ?? 0],
  ['flowlens_pod_drops_total', 'reason="NO_SOCKET"', (f) => f.drops?.NO_SOCKET ?? 0],
];

describe('Prometheus scrapes the exporter', { timeout: 90_000 }, () => {
  let prom: PrometheusServer | undefined;
  let handle: OpenMetricsHandle | undefined;
  let ethtool: FakeEthtool | undefined;
  const log: string[] = [];

  before(async () => {
    ethtool = await FakeEthtool.create(
      {
        eth0: readFileSync(join(ENA_FIXTURES, 'ena-2.2.10-eth0.txt'), 'utf8'),
        ens5: readFileSync(join(ENA_FIXTURES, 'ena-2.8.9-ens5.txt'), 'utf8'),
        eth1: readFileSync(join(ENA_FIXTURES, 'virtio_net-eth0.txt'), 'utf8'),
      },
      ['lo', 'veth1a2b3c4d']
    );
  });
  after(async () => {
    await handle?.close();
    await prom?.stop();
    await ethtool?.remove();
  });

  test('stored values equal the traffic fed in, ENA series exactly as reported, promtool clean', async (t) => {
    if (!requireBinary(t, PROMETHEUS_BIN) || !requireBinary(t, PROMTOOL_BIN)) {
      return;
    }
    const metadata = new MetadataStore();
    PODS.forEach((p, i) => metadata.setPod(`uid-${i}`, [p]));
    handle = await startOpenMetrics({
      env: {
        OPEN_METRICS: 'on',
        OPEN_METRICS_PORT: '0',
        FLOWLENS_ETHTOOL: ethtool!.command,
        FLOWLENS_SYS_CLASS_NET: ethtool!.sysClassNet,
      },
      nodeName: NODE,
      metadata,
      log: (m) => log.push(m),
    });
    const target = handle.url!.replace('http://', '');
    assert.equal(await (await fetch(`${handle.url}/readyz`)).status, 503, 'not ready before the first tick');
    prom = await PrometheusServer.start(target);
    await waitFor('the first scrape', async () => (await prom!.query('up'))[0]?.value === 1, 20_000, 200);

    // Feed ~5 s of ticks (one every 250 ms) with varied counters; keep the running totals per pod.
    const totals = new Map<string, Totals>(PODS.map((p) => [p.name, {}]));
    const history = new Map<string, Set<number>>(); // every running total each series went through
    const record = (pod: string, metric: string, value: number) => {
      const key = `${pod}|${metric}`;
      if (!history.has(key)) {
        history.set(key, new Set([0]));
      }
      history.get(key)!.add(value);
    };
    for (let i = 0; i < 20; i++) {
      const flows: FlowDelta[] = [];
      for (const [j, pod] of PODS.entries()) {
        const n = i * 7 + j * 3 + 1;
        flows.push(
          flow({
            localIp: pod.ip,
            remoteIp: PODS[1 - j]!.ip,
            direction: j === 0 ? 'client' : 'server',
            serverPort: 5432,
            connectionsOpened: n % 3,
            connectionsClosed: n % 2,
            segmentsSent: 10 * n,
            segmentsReceived: 9 * n,
            bytesSent: 14_480 * n + i,
            bytesReceived: 1_000 * n + j,
            retransmits: n % 4,
            rtos: n % 5 === 0 ? 1 : 0,
            connectFailures: n % 3 === 1 ? 1 : 0,
            resetsSent: j === 1 ? n % 2 : 0,
            resetsReceived: j === 0 ? n % 2 : 0,
            // a policy dropping the db's packets; only the web pod ever sees NO_SOCKET
            drops: j === 0 ? { NETFILTER_DROP: n % 4, NO_SOCKET: 1 } : { NETFILTER_DROP: 2 * n },
          }),
          // traffic from the node's own address is no pod's
          flow({ localIp: '192.168.0.5', direction: 'client', bytesSent: 999, segmentsSent: 3 })
        );
      }
      handle.onTick(tick(flows, i * 250));
      for (const f of flows) {
        const pod = PODS.find((p) => p.ip === f.localIp);
        if (!pod) {
          continue;
        }
        const tot = totals.get(pod.name)!;
        for (const [metric, of] of METRICS) {
          tot[metric] = (tot[metric] ?? 0) + of(f);
          record(pod.name, metric, tot[metric]);
        }
        for (const [metric, label, of] of FAILURE_METRICS) {
          const key = `${metric}{${label}}`;
          tot[key] = (tot[key] ?? 0) + of(f);
          record(pod.name, key, tot[key]);
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal((await fetch(`${handle.url}/readyz`)).status, 200);

    // Wait for a scrape after the last tick.
    const last = totals.get(PODS[0]!.name)!['flowlens_pod_egress_bytes_total']!;
    await waitFor(
      'Prometheus to store the final total',
      async () => (await prom!.query(`flowlens_pod_egress_bytes_total{pod="${PODS[0]!.name}"}`))[0]?.value === last,
      10_000,
      200
    );

    for (const pod of PODS) {
      for (const [metric] of METRICS) {
        const sel = `${metric}{namespace="shop",pod="${pod.name}",workload="${pod.workload}",node="${NODE}"}`;
        const [now] = await prom.query(sel);
        assert.equal(now?.value, totals.get(pod.name)![metric], `${sel} latest`);
        const [series] = await prom.samples(sel);
        assert.ok(series && series.values.length >= 3, `${sel}: several scrapes stored`);
        for (const v of series.values) {
          assert.ok(history.get(`${pod.name}|${metric}`)!.has(v), `${sel}: ${v} is no running total`);
        }
        // the series was born with its first tick, so its stored increase is its first sample plus the rise after it
        assert.equal(series.values[0]! + (series.values.at(-1)! - series.values[0]!), totals.get(pod.name)![metric]);
      }
    }
    for (const pod of PODS) {
      for (const [metric, label] of FAILURE_METRICS) {
        const key = `${metric}{${label}}`;
        const want = totals.get(pod.name)![key]!;
        const sel = `${metric}{namespace="shop",pod="${pod.name}",workload="${pod.workload}",node="${NODE}"${label ? `,${label}` : ''}}`;
        const [series] = await prom.samples(sel);
        if (want === 0 && metric === 'flowlens_pod_drops_total') {
          assert.equal(series, undefined, `${sel}: no series for a reason that never dropped`);
          continue;
        }
        assert.ok(series && series.values.length >= 3, `${sel}: several scrapes stored`);
        assert.equal(series.values.at(-1), want, `${sel} latest`);
        for (const v of series.values) {
          assert.ok(history.get(`${pod.name}|${key}`)!.has(v), `${sel}: ${v} is no running total`);
        }
      }
    }
    const drops = await prom.query('flowlens_pod_drops_total');
    assert.deepEqual(
      drops.map((d) => `${d.metric.pod} ${d.metric.reason}`).sort(),
      ['db-0 NETFILTER_DROP', 'web-6d4cf56db6-abcde NETFILTER_DROP', 'web-6d4cf56db6-abcde NO_SOCKET'],
      'one series per pod and kernel reason, the reason label as the kernel names it'
    );
    const podSeries = await prom.query('count({__name__=~"flowlens_pod_.*"})');
    // per pod: the traffic series, connect failures, resets sent/received; plus the three drop series above
    assert.equal(podSeries[0]?.value, PODS.length * (METRICS.length + 3) + 3, 'no series for non-pod IPs');

    // ENA: eth0 (older driver) has the five counters, ens5 (newer) also the gauge; virtio and veths nothing.
    const ena = await prom.query('{__name__=~"flowlens_ena_.*"}');
    const got = ena.map((s) => `${s.metric.__name__}{${s.metric.interface}} ${s.value}`).sort();
    assert.deepEqual(got, [
      'flowlens_ena_bw_in_allowance_exceeded_total{ens5} 0',
      'flowlens_ena_bw_in_allowance_exceeded_total{eth0} 1843',
      'flowlens_ena_bw_out_allowance_exceeded_total{ens5} 93012',
      'flowlens_ena_bw_out_allowance_exceeded_total{eth0} 27',
      'flowlens_ena_conntrack_allowance_available{ens5} 449210',
      'flowlens_ena_conntrack_allowance_exceeded_total{ens5} 2',
      'flowlens_ena_conntrack_allowance_exceeded_total{eth0} 0',
      'flowlens_ena_linklocal_allowance_exceeded_total{ens5} 0',
      'flowlens_ena_linklocal_allowance_exceeded_total{eth0} 411',
      'flowlens_ena_pps_allowance_exceeded_total{ens5} 17',
      'flowlens_ena_pps_allowance_exceeded_total{eth0} 5',
    ]);
    assert.ok(ena.every((s) => s.metric.node === NODE));

    // Prometheus parsed OpenMetrics: its metadata carries the OpenMetrics family names (no _total) as counters.
    const meta = await prom.api<Record<string, Array<{ type: string }>>>('/api/v1/metadata', {});
    assert.equal(meta['flowlens_pod_egress_bytes']?.[0]?.type, 'counter', JSON.stringify(Object.keys(meta)));
    assert.equal(meta['flowlens_ena_conntrack_allowance_available']?.[0]?.type, 'gauge');
    const [up] = await prom.query('up');
    assert.equal(up?.value, 1);

    // promtool lints the Prometheus text form.
    const text = await (
      await fetch(`${handle.url}/metrics`, { headers: { accept: 'text/plain;version=0.0.4' } })
    ).text();
    assert.ok(text.includes('flowlens_pod_egress_bytes_total{'));
    const check = spawnSync(PROMTOOL_BIN, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
    assert.equal((check.stdout + check.stderr).trim(), '', 'promtool has remarks');
  });
});
