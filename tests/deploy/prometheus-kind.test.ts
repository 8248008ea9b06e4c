/**
 * The compose Prometheus config (real promtool, with the shipped rule files resolved exactly as in
 * the container) and the kind cluster config (kind's v1alpha4 Cluster fields, strictly), and that
 * the two agree: Prometheus scrapes port 9109 on every kind node, labelled with the node's zone.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { requireBinary } from '../../agent/test/lib/privileges.js';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';
import { kindNodeNames, parseKindConfig } from '../lib/kind-config.js';
import { runBinary } from '../lib/run-binary.js';

const PROMTOOL = '/usr/bin/promtool';
const KIND_CONFIG = join(REPO_ROOT, 'deploy/kind/cluster.yaml');
const PROM_CONFIG = join(REPO_ROOT, 'deploy/compose/prometheus.yml');

test('promtool check config passes on the compose Prometheus config with the shipped rules', async (t) => {
  if (!requireBinary(t, PROMTOOL)) {
    return;
  }
  // Same layout as in the container: /etc/prometheus/prometheus.yml and /etc/prometheus/rules/.
  const dir = mkdtempSync(join(tmpdir(), 'flowlens-prom-'));
  try {
    copyFileSync(PROM_CONFIG, join(dir, 'prometheus.yml'));
    symlinkSync(join(REPO_ROOT, 'provisioning/prometheus/rules'), join(dir, 'rules'));
    const result = await runBinary(PROMTOOL, ['check', 'config', join(dir, 'prometheus.yml')], { timeoutMs: 60_000 });
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 0, output);
    const found = /SUCCESS: (\d+) rule files found/.exec(output);
    assert.ok(found && Number(found[1]) >= 1, `the shipped rule files were not loaded:\n${output}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the kind config has one control plane and workers in two zones, on a pinned node image', () => {
  const config = parseKindConfig(readFileSync(KIND_CONFIG, 'utf8'));
  assert.equal(config.nodes.filter((n) => n.role === 'control-plane').length, 1);
  const workers = config.nodes.filter((n) => n.role === 'worker');
  const zones = new Set(workers.map((n) => n.labels?.['topology.kubernetes.io/zone']));
  assert.equal(zones.size, 2, `worker zones: ${[...zones].join(',')}`);
  assert.ok(!zones.has(undefined));
  for (const node of config.nodes) {
    assert.match(node.image ?? '', /^kindest\/node:v\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?$/);
  }
});

test('the kind config parser refuses unknown fields and wrong roles (the check is live)', () => {
  const good = readFileSync(KIND_CONFIG, 'utf8');
  assert.throws(() => parseKindConfig(good.replace('role: worker', 'role: workr')), /role/);
  assert.throws(() => parseKindConfig(good.replace('    labels:', '    lables:')), /lables/);
  assert.throws(
    () => parseKindConfig(good.replace('apiVersion: kind.x-k8s.io/v1alpha4', 'apiVersion: v1')),
    /apiVersion/
  );
});

test('Prometheus scrapes the agent on port 9109 of every kind node, with that node’s zone', () => {
  const config = parseKindConfig(readFileSync(KIND_CONFIG, 'utf8'));
  const expected = new Map(
    kindNodeNames(config).map((n) => [`${n.name}:9109`, n.labels?.['topology.kubernetes.io/zone'] ?? null])
  );
  const prom = parse(readFileSync(PROM_CONFIG, 'utf8')) as {
    scrape_configs: Array<{
      job_name: string;
      honor_labels?: boolean;
      static_configs: Array<{ targets: string[]; labels?: Record<string, string> }>;
    }>;
  };
  const job = prom.scrape_configs.find((j) => j.job_name === 'flowlens-agent');
  assert.ok(job, 'no flowlens-agent job');
  assert.equal(job.honor_labels, true, 'the agent’s own node/pod labels must win over target labels');
  const scraped = new Map(job.static_configs.flatMap((g) => g.targets.map((t) => [t, g.labels?.zone ?? null])));
  assert.deepEqual(scraped, expected);
});

test('Grafana reaches the hub through the control-plane node name and the chart’s NodePort', () => {
  const config = parseKindConfig(readFileSync(KIND_CONFIG, 'utf8'));
  const controlPlane = kindNodeNames(config).find((n) => n.role === 'control-plane')!;
  const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yaml'), 'utf8'));
  const values = parse(readFileSync(join(REPO_ROOT, 'deploy/compose/helm-values.yaml'), 'utf8'));
  assert.equal(
    compose.services.grafana.environment.FLOWLENS_HUB_URL,
    `http://${controlPlane.name}:${values.hub.service.nodePort}`
  );
});
