/**
 * End to end with the real Debian binaries: Prometheus scrapes a local target whose ENA allowance
 * counters rise on two interfaces (and stay flat everywhere else), evaluates the SHIPPED rule files
 * unchanged, and sends to Alertmanager, which runs the shipped example config (routing, grouping,
 * templates) with only its endpoints and timings pointed at this test: a local Slack webhook and a
 * local SNS endpoint that verifies the SigV4 signature of every Publish.
 *
 * Asserts: exactly one Slack message and one SNS Publish per rising (alert, node, interface), each
 * naming the alert, node, interface and counter; no notification and no alert state at all for flat
 * counters. The same target serves per-pod drop counters (issue 15): a pod whose NETFILTER_DROP count rises
 * gets one FlowlensPolicyDrops message naming it and the reason; a flat pod and a pod dropping for another
 * reason get none. Takes about 70 s (the shipped rules wait `for: 1m`).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { requireBinary } from '../../agent/test/lib/privileges.js';
import { Daemon } from '../lib/daemon.js';
import { freeLoopbackPort } from '../lib/free-port.js';
import { SlackWebhookReceiver } from '../lib/slack-webhook-receiver.js';
import { SnsEndpoint } from '../lib/sns-endpoint.js';

const PROMETHEUS = '/usr/bin/prometheus';
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const ROOT = join(__dirname, '../..');
const RULES_DIR = join(ROOT, 'provisioning/prometheus/rules');
const AM_DIR = join(ROOT, 'provisioning/alertmanager');
const DELIVERY_DEADLINE_MS = 150_000;

const COUNTERS = ['bw_in', 'bw_out', 'pps', 'conntrack', 'linklocal'] as const;
type Counter = (typeof COUNTERS)[number];
const ALERT_OF: Record<Counter, string> = {
  bw_in: 'FlowlensBwInAllowanceExceeded',
  bw_out: 'FlowlensBwOutAllowanceExceeded',
  pps: 'FlowlensPpsAllowanceExceeded',
  conntrack: 'FlowlensConntrackAllowanceExceeded',
  linklocal: 'FlowlensLinklocalAllowanceExceeded',
};

interface Iface {
  node: string;
  interface: string;
  rising: Counter[];
}
/** Ground truth: which counters rise where. Everything not listed stays flat. */
const IFACES: Iface[] = [
  { node: 'ip-10-0-1-17.ec2.internal', interface: 'eth0', rising: ['bw_in'] },
  { node: 'ip-10-0-2-33.ec2.internal', interface: 'eth1', rising: ['conntrack'] },
  { node: 'ip-10-0-3-5.ec2.internal', interface: 'eth0', rising: [] },
];
const EXPECTED = IFACES.flatMap((i) =>
  i.rising.map((c) => ({
    alert: ALERT_OF[c],
    counter: `${c}_allowance_exceeded`,
    node: i.node,
    interface: i.interface,
  }))
);

interface PodDrops {
  namespace: string;
  pod: string;
  workload: string;
  node: string;
  reason: string;
  rising: boolean;
}
/** Ground truth for FlowlensPolicyDrops: only a rising NETFILTER_DROP count alerts. */
const POD_DROPS: PodDrops[] = [
  {
    namespace: 'shop',
    pod: 'checkout-7d9f-abcde',
    workload: 'checkout',
    node: 'ip-10-0-1-17.ec2.internal',
    reason: 'NETFILTER_DROP',
    rising: true,
  },
  {
    namespace: 'shop',
    pod: 'cart-1',
    workload: 'cart',
    node: 'ip-10-0-1-17.ec2.internal',
    reason: 'NETFILTER_DROP',
    rising: false,
  },
  {
    namespace: 'shop',
    pod: 'api-1',
    workload: 'api',
    node: 'ip-10-0-2-33.ec2.internal',
    reason: 'NO_SOCKET',
    rising: true,
  },
];
const EXPECTED_DROPS = POD_DROPS.filter((p) => p.rising && p.reason === 'NETFILTER_DROP');
const EXPECTED_MESSAGES = EXPECTED.length + EXPECTED_DROPS.length;

/** Prometheus text exposition of the ENA counters and the per-pod drops, as the agent's exporter names them. */
function enaExposition(startedAt: number): string {
  const elapsed = (Date.now() - startedAt) / 1000;
  const lines: string[] = [
    '# HELP flowlens_pod_drops_total Packets dropped',
    '# TYPE flowlens_pod_drops_total counter',
  ];
  for (const p of POD_DROPS) {
    const value = p.rising ? 10 + Math.floor(elapsed * 3) : 12;
    lines.push(
      `flowlens_pod_drops_total{namespace="${p.namespace}",pod="${p.pod}",workload="${p.workload}",node="${p.node}",reason="${p.reason}"} ${value}`
    );
  }
  for (const c of COUNTERS) {
    const name = `flowlens_ena_${c}_allowance_exceeded_total`;
    lines.push(`# HELP ${name} ENA ${c}_allowance_exceeded`, `# TYPE ${name} counter`);
    for (const i of IFACES) {
      const value = i.rising.includes(c) ? 1000 + Math.floor(elapsed * 7) : 4711;
      lines.push(`${name}{node="${i.node}",interface="${i.interface}"} ${value}`);
    }
  }
  lines.push(
    '# HELP flowlens_ena_conntrack_allowance_available ENA conntrack_allowance_available',
    '# TYPE flowlens_ena_conntrack_allowance_available gauge'
  );
  for (const i of IFACES) {
    lines.push(`flowlens_ena_conntrack_allowance_available{node="${i.node}",interface="${i.interface}"} 250000`);
  }
  return `${lines.join('\n')}\n`;
}

async function startTarget(): Promise<{ server: Server; port: number; scrapes: () => number }> {
  const startedAt = Date.now();
  let scrapes = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    scrapes += 1;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(enaExposition(startedAt));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, scrapes: () => scrapes };
}

interface PromVectorSample {
  metric: Record<string, string>;
  value: [number, string];
}
async function promQuery(base: string, query: string): Promise<PromVectorSample[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`, {
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await res.json()) as { status: string; error?: string; data?: { result: PromVectorSample[] } };
  assert.equal(body.status, 'success', `${query}: ${body.error}`);
  return body.data?.result ?? [];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('rising ENA counters and policy drops reach Slack and SigV4-signed SNS through real Prometheus and Alertmanager; flat ones send nothing', async (t) => {
  if (!requireBinary(t, PROMETHEUS) || !requireBinary(t, ALERTMANAGER)) {
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'flowlens-alerting-'));
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  t.after(async () => {
    for (const c of cleanups.reverse()) {
      await c();
    }
  });

  const credentials = {
    accessKeyId: 'AKIDFLOWLENSTEST',
    secretAccessKey: randomBytes(30).toString('base64'),
    region: 'eu-central-1',
  };
  const topicArn = 'arn:aws:sns:eu-central-1:123456789012:flowlens-alerts-test';
  const slack = await SlackWebhookReceiver.start();
  cleanups.push(() => slack.close());
  const sns = await SnsEndpoint.start(credentials);
  cleanups.push(() => sns.close());
  const target = await startTarget();
  cleanups.push(() => new Promise<void>((r) => target.server.close(() => r())));

  // Alertmanager: the shipped example, endpoints and timings pointed at this test.
  const am = parse(readFileSync(join(AM_DIR, 'alertmanager.yml'), 'utf8'));
  am.route.group_wait = '1s';
  am.route.group_interval = '1m';
  const receiver = am.receivers.find((r: { name: string }) => r.name === am.route.receiver);
  assert.ok(
    receiver?.slack_configs?.length === 1 && receiver?.sns_configs?.length === 1,
    'shipped receiver has one Slack and one SNS config'
  );
  delete receiver.slack_configs[0].api_url_file;
  receiver.slack_configs[0].api_url = slack.url;
  receiver.sns_configs[0].api_url = sns.url;
  receiver.sns_configs[0].topic_arn = topicArn;
  receiver.sns_configs[0].sigv4 = {
    region: credentials.region,
    access_key: credentials.accessKeyId,
    secret_key: credentials.secretAccessKey,
  };
  am.templates = (am.templates as string[]).map((glob) => join(AM_DIR, glob));
  writeFileSync(join(dir, 'alertmanager.yml'), stringify(am));
  const amPort = await freeLoopbackPort();
  const alertmanager = Daemon.start('alertmanager', ALERTMANAGER, [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'am')}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    '--cluster.listen-address=',
  ]);
  cleanups.push(() => alertmanager.stop());
  await alertmanager.waitReady(`http://127.0.0.1:${amPort}/-/ready`);

  // Prometheus: short intervals, the shipped rule files as they are.
  const ruleFiles = readdirSync(RULES_DIR)
    .filter((n) => n.endsWith('.yml'))
    .map((n) => join(RULES_DIR, n));
  const promConfig = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: ruleFiles,
    alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
    scrape_configs: [
      { job_name: 'flowlens-agent', honor_labels: true, static_configs: [{ targets: [`127.0.0.1:${target.port}`] }] },
    ],
  };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(promConfig));
  const promPort = await freeLoopbackPort();
  const prometheus = Daemon.start('prometheus', PROMETHEUS, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'prom')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ]);
  cleanups.push(() => prometheus.stop());
  const promBase = `http://127.0.0.1:${promPort}`;
  await prometheus.waitReady(`${promBase}/-/ready`);

  const deadline = Date.now() + DELIVERY_DEADLINE_MS;
  while (
    Date.now() < deadline &&
    (slack.messages.length < EXPECTED_MESSAGES || sns.published.length < EXPECTED_MESSAGES)
  ) {
    await sleep(500);
  }
  // Give a wrongly firing alert the same chance to arrive before judging the quiet case.
  await sleep(3_000);
  const diagnostics = () =>
    `slack=${JSON.stringify(slack.messages)}\nsns=${JSON.stringify(sns.published)}\nrejected=${[...slack.rejected, ...sns.rejected]}\nscrapes=${target.scrapes()}\n--- alertmanager\n${alertmanager.logs().slice(-3000)}\n--- prometheus\n${prometheus.logs().slice(-3000)}`;

  if (process.env.FLOWLENS_TEST_VERBOSE) {
    console.log(JSON.stringify({ slack: slack.messages, sns: sns.published }, null, 2));
  }
  assert.deepEqual(sns.rejected, [], `SNS requests refused: ${diagnostics()}`);
  assert.deepEqual(slack.rejected, [], `Slack requests refused: ${diagnostics()}`);
  assert.equal(slack.messages.length, EXPECTED_MESSAGES, `one Slack message per rising counter\n${diagnostics()}`);
  assert.equal(sns.published.length, EXPECTED_MESSAGES, `one SNS Publish per rising counter\n${diagnostics()}`);

  for (const e of EXPECTED) {
    const names = (text: string) =>
      text.includes(e.alert) && text.includes(e.node) && text.includes(e.interface) && text.includes(e.counter);
    const slackHits = slack.messages.filter((m) =>
      (m.body.attachments ?? []).some((a) => names(`${a.title ?? ''}\n${a.text ?? ''}`))
    );
    assert.equal(slackHits.length, 1, `Slack message naming ${JSON.stringify(e)}\n${diagnostics()}`);
    const title = slackHits[0]?.body.attachments?.[0]?.title ?? '';
    assert.match(
      title,
      new RegExp(`^\\[FIRING:1\\] ${e.alert} on node ${e.node.replace(/\./g, '\\.')} interface ${e.interface}$`)
    );

    const snsHits = sns.published.filter((p) => names(p.message));
    assert.equal(snsHits.length, 1, `SNS message naming ${JSON.stringify(e)}\n${diagnostics()}`);
    const published = snsHits[0]!;
    assert.equal(published.topicArn, topicArn);
    assert.equal(published.subject, title, 'SNS subject is the same one-line title as Slack');
    assert.match(
      published.message,
      new RegExp(`node: ${e.node.replace(/\./g, '\\.')}\\ninterface: ${e.interface}\\ncounter: ${e.counter}\\n`)
    );
    assert.ok(published.signedHeaders.includes('host') && published.signedHeaders.includes('x-amz-date'));
  }

  for (const d of EXPECTED_DROPS) {
    const names = (text: string) => text.includes('FlowlensPolicyDrops') && text.includes(`pod: ${d.pod}`);
    const slackHits = slack.messages.filter((m) =>
      (m.body.attachments ?? []).some((a) => names(`${a.title ?? ''}\n${a.text ?? ''}`))
    );
    assert.equal(slackHits.length, 1, `Slack message naming ${d.pod}\n${diagnostics()}`);
    const title = slackHits[0]?.body.attachments?.[0]?.title ?? '';
    assert.match(
      title,
      new RegExp(
        `^\\[FIRING:1\\] FlowlensPolicyDrops on node ${d.node.replace(/\./g, '\\.')} workload ${d.namespace}/${d.workload}$`
      )
    );
    const snsHits = sns.published.filter((p) => names(p.message));
    assert.equal(snsHits.length, 1, `SNS message naming ${d.pod}\n${diagnostics()}`);
    assert.equal(snsHits[0]!.subject, title);
    assert.match(
      snsHits[0]!.message,
      new RegExp(
        `node: ${d.node.replace(/\./g, '\\.')}\\nworkload: ${d.workload}\\npod: ${d.pod}\\nreason: NETFILTER_DROP\\n`
      )
    );
  }

  // Quiet case, from Prometheus' own record: no flat counter was ever pending or firing.
  const everActive = await promQuery(
    promBase,
    'group by (alertname, node, interface, pod) (max_over_time(ALERTS[10m]))'
  );
  const seen = everActive
    .map((s) => `${s.metric.alertname} ${s.metric.node} ${s.metric.interface ?? '-'} ${s.metric.pod ?? '-'}`)
    .sort();
  assert.deepEqual(
    seen,
    [
      ...EXPECTED.map((e) => `${e.alert} ${e.node} ${e.interface} -`),
      ...EXPECTED_DROPS.map((d) => `FlowlensPolicyDrops ${d.node} - ${d.pod}`),
    ].sort(),
    diagnostics()
  );
  // And the flat interfaces were really scraped (the quiet case is not an absent one).
  const flatSeries = await promQuery(promBase, 'flowlens_ena_pps_allowance_exceeded_total');
  assert.equal(flatSeries.length, IFACES.length);
});
