/**
 * docker-compose.yaml, checked without a Docker engine: the compose-spec JSON schema (as shipped by
 * the dclint package), pinned or repo-built images, host paths that exist, Grafana's unsigned
 * plugin allow-list, the kind network and the moto addresses behind the ip-ranges override. Then the
 * file walked as Docker would walk it on a newcomer's machine (no Slack, no SNS, a `kind` network left
 * by an earlier kind): interpolation, networks, start order, and Grafana's provisioning as its
 * entrypoint assembles it, checked with Grafana's own rules (tests/alerting/lib).
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DCLinter } from 'dclint';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';
import { assembleAndCheck } from '../alerting/lib/grafana-provisioning-check.js';
import {
  composeNetworkErrors,
  dockerfileStages,
  imageIsPinned,
  inSubnet,
  interpolate,
  interpolateDeep,
  loadCompose,
  type ComposeService,
} from '../lib/compose-model.js';

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
    'grafana/grafana:13.2.2',
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
      const hint = source === './dist' ? ' (the built plugin: run `npm run build:plugin`)' : '';
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
  assert.ok(volumes.includes('./provisioning:/etc/flowlens/provisioning:ro'), volumes.join(' '));
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

test('Grafana, Prometheus, the cluster tool and moto share the kind nodes’ network; moto has fixed addresses', () => {
  const kind = compose.networks?.['flowlens-kind'];
  assert.equal(kind?.name, 'flowlens-kind');
  assert.equal(
    services.cluster!.environment?.KIND_EXPERIMENTAL_DOCKER_NETWORK,
    kind?.name,
    'kind puts its nodes on the network compose created'
  );
  const pool = kind?.ipam?.config?.[0];
  assert.ok(pool?.subnet && pool.ip_range);
  for (const name of ['grafana', 'prometheus', 'cluster', 'moto-s3', 'moto-dynamodb']) {
    const nets = services[name]!.networks;
    const joined = Array.isArray(nets) ? nets : Object.keys(nets ?? {});
    assert.ok(joined.includes('flowlens-kind'), `${name} is not on the kind network`);
  }
  const ranges = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/compose/ip-ranges.json'), 'utf8')) as {
    prefixes: Array<{ ip_prefix: string; region: string; service: string; network_border_group: string }>;
    ipv6_prefixes: unknown[];
  };
  assert.deepEqual(ranges.ipv6_prefixes, []);
  const serviceOf = (svc: ComposeService, wanted: string): void => {
    const nets = svc.networks as Record<string, { ipv4_address?: string }>;
    const ip = nets['flowlens-kind']?.ipv4_address;
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

test('start order: the cluster tool after the images and the tokens; nothing waits for the cluster', () => {
  const deps = (svc: ComposeService): Record<string, { condition: string }> =>
    Array.isArray(svc.depends_on)
      ? Object.fromEntries(svc.depends_on.map((d) => [d, { condition: 'service_started' }]))
      : ((svc.depends_on ?? {}) as Record<string, { condition: string }>);
  const cluster = deps(services.cluster!);
  for (const d of ['agent-image', 'demo-image', 'tokens']) {
    assert.equal(cluster[d]?.condition, 'service_completed_successfully', d);
  }
  // Nothing needs the cluster to have succeeded: Grafana and Prometheus must start when it fails.
  const waiting = Object.entries(services).filter(([, svc]) => 'cluster' in deps(svc));
  assert.deepEqual(
    waiting.map(([n]) => n),
    []
  );
  assert.equal(deps(services.grafana!).tokens?.condition, 'service_completed_successfully');
  assert.equal(services.tokens!.network_mode, 'none', 'the tokens service needs no network and no Docker socket');
  assert.ok(!(services.tokens!.volumes ?? []).map(String).some((v) => v.includes('docker.sock')));
  assert.ok((services.cluster!.volumes ?? []).map(String).includes('/var/run/docker.sock:/var/run/docker.sock'));
});

test('Grafana runs the version the plugin is built against', () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  const built = String(pkg.dependencies['@grafana/runtime']);
  assert.equal(services.grafana!.image, `grafana/grafana:${built}`);
});

// ------------------------------------------------------- a newcomer's machine, walked as Docker would

/** What a newcomer's shell gives compose: no Flowlens variables at all. */
const NEWCOMER_ENV = { HOME: '/home/newcomer', PATH: '/usr/bin:/bin' };
/** The network kind itself created on a machine that ran kind before (labels as kind sets them). */
const KIND_OWN_NETWORK = { name: 'kind', labels: { 'io.x-k8s.kind.network': '' } };

test('compose interpolation as Docker does it: $$, ${VAR:-default}, ${VAR-default}, unset', () => {
  assert.equal(interpolate('$$(cat x)', {}), '$(cat x)');
  assert.equal(interpolate('${A:-d}|${A-d}|${A}', {}), 'd|d|');
  assert.equal(interpolate('${A:-d}|${A-d}', { A: '' }), 'd|');
  assert.equal(interpolate('${A:-d}', { A: 'x' }), 'x');
  assert.throws(() => interpolate('${A:?set A}', {}), /set A/);
});

test('the networks compose creates do not collide with a `kind` network left by kind (and the old file did)', () => {
  const model = interpolateDeep(parse(readFileSync(COMPOSE_FILE, 'utf8')), NEWCOMER_ENV);
  const project = String(model.name);
  assert.deepEqual(composeNetworkErrors(project, model, [KIND_OWN_NETWORK]), []);
  // The check is live: the previous file declared `kind` itself and compose refused it.
  const before = { ...model, networks: { kind: { name: 'kind' } } };
  assert.deepEqual(composeNetworkErrors(project, before, [KIND_OWN_NETWORK]), [
    'network kind was found but has incorrect label com.docker.compose.network set to "" (expected: "kind")',
  ]);
  // A second `up` finds its own network, labelled by compose: fine.
  const own = {
    name: 'flowlens-kind',
    labels: { 'com.docker.compose.network': 'flowlens-kind', 'com.docker.compose.project': project },
  };
  assert.deepEqual(composeNetworkErrors(project, model, [KIND_OWN_NETWORK, own]), []);
});

test("a newcomer's Grafana: its entrypoint assembles provisioning that passes Grafana's own validation", () => {
  const model = interpolateDeep(parse(readFileSync(COMPOSE_FILE, 'utf8')), NEWCOMER_ENV) as {
    services: Record<string, ComposeService>;
  };
  const grafana = model.services.grafana!;
  const entry = (grafana.entrypoint ?? []).join(' ');
  const env = Object.fromEntries(Object.entries(grafana.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]));
  // The entrypoint runs the repository's assembler on the mounted provisioning/ into Grafana's path.
  assert.match(
    entry,
    /sh \/etc\/flowlens\/provisioning\/assemble\.sh \/etc\/flowlens\/provisioning "\$GF_PATHS_PROVISIONING"/
  );
  assert.match(entry, /exec \/run\.sh$/);
  assert.ok(env.GF_PATHS_PROVISIONING?.startsWith('/tmp/'), 'a writable place inside the container');
  assert.equal(env.FLOWLENS_SLACK_WEBHOOK_URL, '');
  assert.equal(env.FLOWLENS_SNS_TOPIC_ARN, '');
  const got = assembleAndCheck(REPO_ROOT, { ...env, FLOWLENS_HUB_QUERY_TOKEN: 'from-the-state-volume' });
  assert.deepEqual(got.problems, []);
  assert.ok(got.files.has('alerting/flowlens-rules.yaml'), 'the alert rules always load');
  // The same walk with Slack configured in the newcomer's shell: Slack is provisioned, still valid.
  const withSlack = interpolateDeep(parse(readFileSync(COMPOSE_FILE, 'utf8')), {
    ...NEWCOMER_ENV,
    FLOWLENS_SLACK_WEBHOOK_URL: 'https://hooks.example.test/services/T/B/x',
  }) as { services: Record<string, ComposeService> };
  const slackEnv = Object.fromEntries(
    Object.entries(withSlack.services.grafana!.environment ?? {}).map(([k, v]) => [k, String(v ?? '')])
  );
  const slack = assembleAndCheck(REPO_ROOT, slackEnv);
  assert.deepEqual(slack.problems, []);
  assert.deepEqual([...slack.contactPoints.keys()], ['Flowlens']);
});
