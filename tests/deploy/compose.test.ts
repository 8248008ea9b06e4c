/**
 * docker-compose.yaml, checked without a Docker engine: the compose-spec JSON schema (as shipped by
 * the dclint package), pinned or repo-built images, host paths that exist, Grafana's unsigned
 * plugin allow-list, the shared `kind` network and the moto addresses behind the ip-ranges override.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DCLinter } from 'dclint';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';
import { dockerfileStages, imageIsPinned, inSubnet, loadCompose, type ComposeService } from '../lib/compose-model.js';

const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yaml');
const compose = loadCompose(COMPOSE_FILE);
const services = compose.services;

interface LintMessage {
  rule: string;
  message: string;
}

function schemaErrors(file: string): string[] {
  const linter = new DCLinter({ rules: {}, quiet: true, debug: false, exclude: [] });
  // dclint's style rules (key order and the like) are not ours to follow; its schema check is.
  const results: Array<{ messages: LintMessage[] }> = linter.lintFiles([file], false);
  return results
    .flatMap((r) => r.messages)
    .filter((m) => m.rule.startsWith('invalid-'))
    .map((m) => `${m.rule}: ${m.message}`);
}

test('docker-compose.yaml is valid against the compose-spec schema', () => {
  assert.deepEqual(schemaErrors(COMPOSE_FILE), []);
});

test('the schema check rejects an unknown service key (the validator is live)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowlens-compose-'));
  try {
    const broken = join(dir, 'docker-compose.yaml');
    copyFileSync(COMPOSE_FILE, broken);
    writeFileSync(broken, readFileSync(broken, 'utf8').replace('  grafana:\n', '  grafana:\n    imagee: typo\n'));
    const errors = schemaErrors(broken);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /additional properties/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every image is built by this repository or pinned to an exact tag', () => {
  for (const [name, svc] of Object.entries(services)) {
    if (svc.build) {
      const dockerfile = join(REPO_ROOT, svc.build.context ?? '.', svc.build.dockerfile ?? 'Dockerfile');
      assert.ok(existsSync(dockerfile), `${name}: ${dockerfile} does not exist`);
      const stages = dockerfileStages(readFileSync(dockerfile, 'utf8'));
      if (svc.build.target) {
        assert.ok(stages.has(svc.build.target), `${name}: no stage ${svc.build.target} in ${svc.build.dockerfile}`);
      }
      assert.match(svc.image ?? '', /^flowlens\//, `${name}: a repo-built image is tagged flowlens/…`);
      continue;
    }
    assert.ok(svc.image, `${name} has neither build nor image`);
    assert.ok(imageIsPinned(svc.image), `${name}: image ${svc.image} is not pinned to an exact version`);
  }
});

test('the pin rule itself: floating tags are refused', () => {
  for (const floating of ['grafana/grafana', 'grafana/grafana:latest', 'prom/prometheus:v2', 'moto:5.1', 'x:main']) {
    assert.equal(imageIsPinned(floating), false, floating);
  }
  for (const pinned of [
    'grafana/grafana:12.4.0',
    'prom/prometheus:v2.53.4',
    'node:22.15.0-bookworm-slim',
    'a/b@sha256:' + 'a'.repeat(64),
  ]) {
    assert.equal(imageIsPinned(pinned), true, pinned);
  }
});

test('every host path mounted by a service exists in the repository', () => {
  const allowedSystemPaths = new Set(['/var/run/docker.sock']);
  const mounts = Object.entries(services).flatMap(([name, svc]) =>
    (svc.volumes ?? []).map((v) => ({ name, source: typeof v === 'string' ? v.split(':')[0]! : (v.source ?? '') }))
  );
  assert.ok(mounts.length >= 6, 'expected the Grafana, Prometheus and cluster-tool mounts');
  for (const { name, source } of mounts) {
    if (source.startsWith('/')) {
      assert.ok(allowedSystemPaths.has(source), `${name}: absolute host path ${source} is not allowed`);
    } else if (source.startsWith('.')) {
      const hint = source === './dist' ? ' (the built plugin: run `npm run build`)' : '';
      assert.ok(existsSync(join(REPO_ROOT, source)), `${name}: ${source} does not exist${hint}`);
    } else {
      assert.ok(compose.volumes && source in compose.volumes, `${name}: named volume ${source} is not declared`);
    }
  }
});

test('Grafana mounts the built plugin and provisioning/, and allows both plugin ids unsigned', () => {
  const grafana = services.grafana!;
  const appId = JSON.parse(readFileSync(join(REPO_ROOT, 'src/plugin.json'), 'utf8')).id as string;
  const dsId = JSON.parse(readFileSync(join(REPO_ROOT, 'src/datasource/plugin.json'), 'utf8')).id as string;
  assert.deepEqual([appId, dsId], ['flowlens-netobs-app', 'flowlens-flows-datasource']);
  const allowed = String(grafana.environment?.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS ?? '').split(',');
  assert.ok(allowed.includes(appId) && allowed.includes(dsId), `allow-list is ${allowed.join(',')}`);
  const volumes = (grafana.volumes ?? []).map(String);
  assert.ok(volumes.includes(`./dist:/var/lib/grafana/plugins/${appId}:ro`), volumes.join(' '));
  assert.ok(volumes.includes('./provisioning:/etc/grafana/provisioning:ro'), volumes.join(' '));
  // Every ${VAR} the shipped datasource provisioning reads is provided.
  const provisioning = readFileSync(join(REPO_ROOT, 'provisioning/datasources/flowlens.yaml'), 'utf8');
  const needed = [...provisioning.matchAll(/^[^#\n]*\$\{(\w+)\}/gm)].map((m) => m[1]!);
  assert.ok(needed.length >= 2, 'the datasource provisioning reads its URLs from the environment');
  const entrypoint = (grafana.entrypoint ?? []).join(' ');
  for (const v of needed) {
    assert.ok(v in (grafana.environment ?? {}) || entrypoint.includes(`export ${v}`), `Grafana does not set ${v}`);
  }
});

test('Prometheus gets the compose config and the shipped rules', () => {
  const volumes = (services.prometheus!.volumes ?? []).map(String);
  assert.ok(volumes.includes('./deploy/compose/prometheus.yml:/etc/prometheus/prometheus.yml:ro'));
  assert.ok(volumes.includes('./provisioning/prometheus/rules:/etc/prometheus/rules:ro'));
  const config = parse(readFileSync(join(REPO_ROOT, 'deploy/compose/prometheus.yml'), 'utf8'));
  assert.deepEqual(config.rule_files, ['rules/*.yml']);
});

test('Grafana, Prometheus, the cluster tool and moto share Docker network `kind`; moto has fixed addresses', () => {
  const kind = compose.networks?.kind;
  assert.equal(kind?.name, 'kind', 'kind attaches its nodes to the network named `kind`');
  const pool = kind?.ipam?.config?.[0];
  assert.ok(pool?.subnet && pool.ip_range);
  for (const name of ['grafana', 'prometheus', 'cluster', 'moto-s3', 'moto-dynamodb']) {
    const nets = services[name]!.networks;
    const joined = Array.isArray(nets) ? nets : Object.keys(nets ?? {});
    assert.ok(joined.includes('kind'), `${name} is not on the kind network`);
  }
  const ranges = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/compose/ip-ranges.json'), 'utf8')) as {
    prefixes: Array<{ ip_prefix: string; region: string; service: string; network_border_group: string }>;
    ipv6_prefixes: unknown[];
  };
  assert.deepEqual(ranges.ipv6_prefixes, []);
  const serviceOf = (svc: ComposeService, wanted: string): void => {
    const nets = svc.networks as Record<string, { ipv4_address?: string }>;
    const ip = nets.kind?.ipv4_address;
    assert.ok(ip, 'moto needs a fixed address');
    assert.ok(inSubnet(ip, pool.subnet!), `${ip} outside ${pool.subnet}`);
    assert.ok(!inSubnet(ip, pool.ip_range!), `${ip} inside the dynamic range ${pool.ip_range}: it could be taken`);
    const services = ranges.prefixes.filter((p) => p.ip_prefix === `${ip}/32`).map((p) => p.service);
    assert.ok(services.includes(wanted), `${ip} maps to ${services.join(',')}, not ${wanted}`);
    for (const p of ranges.prefixes) {
      assert.ok(p.region && p.network_border_group, 'every prefix has region and network_border_group');
    }
  };
  serviceOf(services['moto-s3']!, 'S3');
  serviceOf(services['moto-dynamodb']!, 'DYNAMODB');
});

test('the cluster tool starts after the images are built and Grafana after the cluster is ready', () => {
  const cluster = services.cluster!;
  const deps = cluster.depends_on as Record<string, { condition: string }>;
  assert.equal(deps['agent-image']?.condition, 'service_completed_successfully');
  assert.equal(deps['demo-image']?.condition, 'service_completed_successfully');
  const gdeps = services.grafana!.depends_on as Record<string, { condition: string }>;
  assert.equal(gdeps.cluster?.condition, 'service_completed_successfully');
  assert.ok((cluster.volumes ?? []).map(String).includes('/var/run/docker.sock:/var/run/docker.sock'));
});
