import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PodInfo } from '../contracts/metadata.js';
import { MetadataStore } from '../metadata/store.js';
import { Exporter } from './exporter.js';
import { flow, samples, tick } from './testing.js';

const pod = (ip: string, name: string, workload = name.replace(/-[^-]+$/, '')): PodInfo => ({
  ip,
  name,
  namespace: 'shop',
  workload,
  kind: 'Deployment',
  node: 'n1',
});
const lbl = (name: string, workload: string) => `{namespace="shop",pod="${name}",workload="${workload}",node="n1"}`;

function setup(graceMs = 10_000) {
  let now = 0;
  const metadata = new MetadataStore();
  const exporter = new Exporter({ node: 'n1', metadata, podGraceMs: graceMs, now: () => now });
  return {
    metadata,
    exporter,
    advance: (ms: number) => (now += ms),
    read: async () => samples(await exporter.render('prometheus')),
  };
}

test('every contract counter maps from the right flow counter and direction', async () => {
  const { metadata, exporter, read } = setup();
  metadata.setPod('a', [pod('10.0.0.1', 'web-1')]);
  exporter.onTick(
    tick([
      flow({
        localIp: '10.0.0.1',
        direction: 'server',
        connectionsOpened: 3,
        connectionsClosed: 2,
        segmentsReceived: 11,
        segmentsSent: 13,
        bytesReceived: 1700,
        bytesSent: 1900,
        retransmits: 4,
        rtos: 1,
      }),
      flow({
        localIp: '10.0.0.1',
        direction: 'client',
        serverPort: 5432,
        connectionsOpened: 5,
        segmentsReceived: 100,
        segmentsSent: 200,
        bytesReceived: 10_000,
        bytesSent: 20_000,
        retransmits: 6,
        rtos: 2,
      }),
    ])
  );
  const s = await read();
  const l = lbl('web-1', 'web');
  assert.equal(s.get(`flowlens_pod_ingress_flows_total${l}`), 3);
  assert.equal(s.get(`flowlens_pod_egress_flows_total${l}`), 5);
  assert.equal(s.get(`flowlens_pod_ingress_packets_total${l}`), 111);
  assert.equal(s.get(`flowlens_pod_egress_packets_total${l}`), 213);
  assert.equal(s.get(`flowlens_pod_ingress_bytes_total${l}`), 11_700);
  assert.equal(s.get(`flowlens_pod_egress_bytes_total${l}`), 21_900);
  assert.equal(s.get(`flowlens_pod_tcp_retransmits_total${l}`), 10);
  assert.equal(s.get(`flowlens_pod_tcp_rtos_total${l}`), 3);
});

test('counters accumulate over ticks; traffic of non-pod IPs is no pod series', async () => {
  const { metadata, exporter, read } = setup();
  metadata.setPod('a', [pod('10.0.0.1', 'web-1')]);
  metadata.setPod('h', [{ ...pod('192.168.1.5', 'kube-proxy-x', 'kube-proxy'), hostNetwork: true }]);
  for (let i = 0; i < 3; i++) {
    exporter.onTick(
      tick([
        flow({ localIp: '10.0.0.1', direction: 'client', bytesSent: 7 }),
        flow({ localIp: '192.168.1.5', direction: 'client', bytesSent: 1000, bytesReceived: 10 }),
        flow({ localIp: '172.16.0.1', direction: 'server', bytesSent: 1, bytesReceived: 2 }),
      ])
    );
  }
  const s = await read();
  assert.equal(s.get(`flowlens_pod_egress_bytes_total${lbl('web-1', 'web')}`), 21);
  const podSeries = [...s.keys()].filter((k) => k.startsWith('flowlens_pod_egress_bytes_total'));
  assert.equal(podSeries.length, 1, podSeries.join('\n'));
  assert.equal(s.get('flowlens_agent_unattributed_bytes_total{direction="egress"}'), 3003);
  assert.equal(s.get('flowlens_agent_unattributed_bytes_total{direction="ingress"}'), 36);
  assert.equal(s.get('flowlens_agent_pod_series'), 1);
});

test('a relabel shows on the next tick; the old series goes after the grace period, not before', async () => {
  const { metadata, exporter, advance, read } = setup(10_000);
  metadata.setPod('a', [pod('10.0.0.1', 'web-1', 'web')]);
  exporter.onTick(tick([flow({ localIp: '10.0.0.1', direction: 'client', bytesSent: 5 })]));
  metadata.setPod('a', [pod('10.0.0.1', 'web-1', 'web-v2')]);
  advance(5000);
  exporter.onTick(tick([flow({ localIp: '10.0.0.1', direction: 'client', bytesSent: 8 })]));
  let s = await read();
  assert.equal(s.get(`flowlens_pod_egress_bytes_total${lbl('web-1', 'web-v2')}`), 8);
  assert.equal(s.get(`flowlens_pod_egress_bytes_total${lbl('web-1', 'web')}`), 5, 'kept during grace');
  advance(9999);
  exporter.onTick(tick([]));
  s = await read();
  assert.equal(s.get(`flowlens_pod_egress_bytes_total${lbl('web-1', 'web')}`), 5);
  advance(1);
  exporter.onTick(tick([]));
  s = await read();
  assert.equal(s.get(`flowlens_pod_egress_bytes_total${lbl('web-1', 'web')}`), undefined);
  assert.equal(s.get(`flowlens_pod_egress_bytes_total${lbl('web-1', 'web-v2')}`), 8);
});

test('deleted pods leave nothing behind after the grace period; a pod that comes back in time is kept', async () => {
  const { metadata, exporter, advance, read } = setup(1000);
  for (let i = 0; i < 50; i++) {
    metadata.setPod(`u${i}`, [pod(`10.0.1.${i}`, `job-${i}`, 'job')]);
  }
  exporter.onTick(
    tick(Array.from({ length: 50 }, (_, i) => flow({ localIp: `10.0.1.${i}`, direction: 'client', bytesSent: 1 })))
  );
  assert.equal(exporter.pods.seriesCount, 50);
  for (let i = 0; i < 50; i++) {
    metadata.removePod(`u${i}`);
  }
  metadata.setPod('u0b', [pod('10.0.1.0', 'job-0', 'job')]); // same pod seen again (e.g. after a re-list)
  advance(500);
  exporter.onTick(tick([]));
  advance(999);
  exporter.onTick(tick([]));
  assert.equal(exporter.pods.seriesCount, 50, 'all kept during the grace period');
  advance(1);
  exporter.onTick(tick([]));
  assert.equal(exporter.pods.seriesCount, 1);
  const s = await read();
  const left = [...s.keys()].filter((k) => k.startsWith('flowlens_pod_'));
  // 8 traffic series + connect failures + resets sent/received (created at 0 with the pod's first traffic)
  assert.equal(left.length, 11, left.join('\n'));
  assert.ok(left.every((k) => k.includes('pod="job-0"')));
});

test('self-metrics come from the tick stats and the reporter', async () => {
  const metadata = new MetadataStore();
  let sent = 3;
  const exporter = new Exporter({
    node: 'n1',
    metadata,
    podGraceMs: 0,
    reporterStats: () => ({ queued: 2, sent, dropped: 1, failures: 4 }),
  });
  exporter.onTick({
    ...tick([]),
    stats: {
      lastTickSeconds: 0.004,
      maps: { flows: { used: 256, max: 1024 }, sockets: { used: 0, max: 0 } },
      socketsSampledOut: 9,
      bpfRunTimeNs: 2_500_000_000,
      bpfRunCount: 123456,
      activeFlows: 17,
      tickPhaseSeconds: { passes: 0.0025, sync: 0.001, drain: 0.0001, loader: 0.0001, node: 0.0003 },
    },
  });
  sent = 4;
  const s = samples(await exporter.render('prometheus'));
  assert.equal(s.get('flowlens_agent_map_fill_ratio{map="flows"}'), 0.25);
  assert.equal(s.get('flowlens_agent_map_fill_ratio{map="sockets"}'), undefined);
  assert.equal(s.get('flowlens_agent_sockets_sampled_out_total'), 9);
  assert.equal(s.get('flowlens_agent_bpf_run_time_seconds_total'), 2.5);
  assert.equal(s.get('flowlens_agent_bpf_runs_total'), 123456);
  assert.equal(s.get('flowlens_agent_active_flows'), 17);
  assert.equal(s.get('flowlens_agent_reports_queued'), 2);
  assert.equal(s.get('flowlens_agent_reports_sent_total'), 4);
  assert.equal(s.get('flowlens_agent_reports_dropped_total'), 1);
  assert.equal(s.get('flowlens_agent_report_failures_total'), 4);
  assert.equal(s.get('flowlens_agent_collection_duration_seconds_count'), 1);
  assert.equal(s.get('flowlens_agent_collection_duration_seconds_bucket{le="0.005"}'), 1);
  assert.equal(s.get('flowlens_agent_collection_duration_seconds_bucket{le="0.0025"}'), 0);
  assert.equal(s.get('flowlens_agent_collection_phase_seconds_total{phase="passes"}'), 0.0025);
  assert.equal(s.get('flowlens_agent_collection_phase_seconds_total{phase="sync"}'), 0.001);
  assert.equal(s.get('flowlens_agent_collection_phase_seconds_total{phase="node"}'), 0.0003);
});

test('ENA series exist exactly for the stats the driver reported', async () => {
  let snap = new Map([
    ['eth0', { bw_in_allowance_exceeded: 3, pps_allowance_exceeded: 0 }],
    ['ens6', { conntrack_allowance_available: 1200, linklocal_allowance_exceeded: 2 }],
  ]);
  const exporter = new Exporter({ node: 'n1', metadata: new MetadataStore(), podGraceMs: 0, enaSnapshot: () => snap });
  let s = samples(await exporter.render('openmetrics'));
  const ena = [...s.entries()].filter(([k]) => k.startsWith('flowlens_ena_'));
  assert.deepEqual(
    new Map(ena),
    new Map([
      ['flowlens_ena_bw_in_allowance_exceeded_total{node="n1",interface="eth0"}', 3],
      ['flowlens_ena_pps_allowance_exceeded_total{node="n1",interface="eth0"}', 0],
      ['flowlens_ena_linklocal_allowance_exceeded_total{node="n1",interface="ens6"}', 2],
      ['flowlens_ena_conntrack_allowance_available{node="n1",interface="ens6"}', 1200],
    ])
  );
  snap = new Map();
  s = samples(await exporter.render('openmetrics'));
  assert.equal([...s.keys()].filter((k) => k.startsWith('flowlens_ena_')).length, 0);
});

test('failures per pod: drops by kernel reason, connect failures, resets by direction; removed with the pod', async () => {
  const { metadata, exporter, advance, read } = setup(1000);
  metadata.setPod('a', [pod('10.0.0.1', 'web-1')]);
  exporter.onTick(
    tick([
      flow({ localIp: '10.0.0.1', direction: 'client', connectAttempts: 4, connectFailures: 3, connectRefused: 1 }),
      flow({ localIp: '10.0.0.1', direction: 'server', resetsSent: 2, drops: { NETFILTER_DROP: 5, NO_SOCKET: 1 } }),
      flow({
        localIp: '10.0.0.1',
        direction: 'client',
        serverPort: 5432,
        resetsReceived: 1,
        drops: { NETFILTER_DROP: 2 },
      }),
      flow({ localIp: '10.5.5.5', direction: 'client', drops: { NETFILTER_DROP: 9 } }), // no pod: no pod series
    ])
  );
  let s = await read();
  const l = lbl('web-1', 'web');
  const withLabel = (extra: string) => l.replace('}', `,${extra}}`);
  assert.equal(s.get(`flowlens_pod_drops_total${withLabel('reason="NETFILTER_DROP"')}`), 7);
  assert.equal(s.get(`flowlens_pod_drops_total${withLabel('reason="NO_SOCKET"')}`), 1);
  assert.equal(s.get(`flowlens_pod_tcp_connect_failures_total${l}`), 3);
  assert.equal(s.get(`flowlens_pod_tcp_resets_total${withLabel('direction="sent"')}`), 2);
  assert.equal(s.get(`flowlens_pod_tcp_resets_total${withLabel('direction="received"')}`), 1);
  assert.equal([...s.keys()].filter((k) => k.includes('10.5.5.5') || k.includes('reason="NETFILTER_DROP"')).length, 1);

  exporter.onTick(tick([flow({ localIp: '10.0.0.1', direction: 'server', drops: { NETFILTER_DROP: 1 } })]));
  s = await read();
  assert.equal(s.get(`flowlens_pod_drops_total${withLabel('reason="NETFILTER_DROP"')}`), 8, 'counters accumulate');

  metadata.removePod('a');
  exporter.onTick(tick([]));
  advance(1000);
  exporter.onTick(tick([]));
  s = await read();
  assert.deepEqual(
    [...s.keys()].filter((k) => k.startsWith('flowlens_pod_')),
    [],
    'every failure series of a gone pod is removed'
  );
});

test('the drop and reset hooks show as flowlens_agent_*_attached', async () => {
  const { exporter, read } = setup();
  exporter.onTick({
    ...tick([]),
    stats: {
      lastTickSeconds: 0.01,
      maps: {},
      socketsSampledOut: 0,
      activeFlows: 0,
      dropsAttached: false,
      resetsAttached: true,
      failuresLost: 2,
      dropMisses: 3,
      flowMisses: 0,
    },
  });
  const s = await read();
  assert.equal(s.get('flowlens_agent_drops_attached'), 0);
  assert.equal(s.get('flowlens_agent_resets_attached'), 1);
  assert.equal(s.get('flowlens_agent_failures_lost_total'), 2);
  assert.equal(s.get('flowlens_agent_bpf_recursion_misses_total{programs="failures"}'), 3);
  assert.equal(s.get('flowlens_agent_bpf_recursion_misses_total{programs="flows"}'), 0);
  // run times not measured (the agent without --bpf-stats): absent, not 0
  assert.equal(s.get('flowlens_agent_bpf_run_time_seconds_total'), undefined);
  assert.equal(s.get('flowlens_agent_bpf_runs_total'), undefined);
  const text = await exporter.render('prometheus');
  assert.doesNotMatch(text, /^flowlens_agent_bpf_run(s|_time_seconds)_total/m, 'no sample, not even 0');
});
