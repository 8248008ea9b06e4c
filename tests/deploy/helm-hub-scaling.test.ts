/**
 * The chart's hub on ClickHouse (issue 14): stateless replicas behind one Service, the ClickHouse section, the
 * cluster name. Rendered by the real helm (as helm-chart.test.ts does), every object validated against the
 * Kubernetes schemas, the store URL parsed by the hub's own parser (agent/src/store/clickhouse-config.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { parseStoreSpec, type ClickHouseConfig } from '../../agent/src/store/clickhouse-config.js';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';
import { CHART_DIR, helmTemplate, parseManifests, type RenderOptions } from '../../deploy/tools/render.js';
import { requireK8sTools } from '../lib/k8s-tools.js';
import { validateK8sObject, type K8sObject } from '../lib/k8s-validate.js';
import { runBinary } from '../lib/run-binary.js';

type Obj = K8sObject & { spec?: any; data?: Record<string, string> };

const EXAMPLE_DIR = join(REPO_ROOT, 'deploy/helm/examples/clickhouse');
const EXAMPLE_VALUES = join(EXAMPLE_DIR, 'values.yaml');
const EXAMPLE_CHI = join(EXAMPLE_DIR, 'clickhouse-installation.yaml');

/** Values that stand for secrets: none may appear in a rendered object outside a Secret's data. */
const INGEST = 'sentinel-ingest-5f1c2a';
const QUERY = 'sentinel-query-8e9d4b';

const CLICKHOUSE_3 = {
  'tokens.ingestToken': INGEST,
  'tokens.queryToken': QUERY,
  'hub.replicas': '3',
  'clickhouse.enabled': 'true',
  'clickhouse.host': 'clickhouse-flows.db.svc',
  'clickhouse.user': 'flowlens',
  'clickhouse.database': 'flows',
  'clickhouse.existingSecret': 'ch-credentials',
  'clickhouse.passwordKey': 'pw',
  'clickhouse.cluster': 'flows_cluster',
  cluster: 'prod-eu-1',
};

async function render(helm: string, options: RenderOptions): Promise<Obj[]> {
  const objs = parseManifests(await helmTemplate(helm, options)) as Obj[];
  const problems = (await Promise.all(objs.map((o) => validateK8sObject(o)))).flat();
  assert.deepEqual(problems, [], 'every rendered object is valid against the Kubernetes schemas');
  return objs;
}

const one = (objs: Obj[], kind: string, suffix = ''): Obj => {
  const found = objs.filter((o) => o.kind === kind && (o.metadata?.name ?? '').endsWith(suffix));
  assert.equal(
    found.length,
    1,
    `one ${kind} *${suffix} in ${objs.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`
  );
  return found[0]!;
};

const envOf = (container: any): Record<string, any> =>
  Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));

/** The ClickHouse config the hub builds from its rendered args and env, through the hub's own parser. */
function hubStoreConfig(hubContainer: any, env: NodeJS.ProcessEnv = {}): ClickHouseConfig {
  const args: string[] = hubContainer.args;
  assert.ok(!args.includes('--data-dir'), 'a hub on ClickHouse has no data directory');
  const i = args.indexOf('--store');
  assert.ok(i > 0, `no --store in ${args.join(' ')}`);
  const spec = parseStoreSpec(args[i + 1]!, env);
  assert.equal(spec.kind, 'clickhouse');
  return (spec as { kind: 'clickhouse'; config: ClickHouseConfig }).config;
}

test('replicas 3 on ClickHouse: a stateless Deployment, no data volume, the password Secret, PDB, anti-affinity', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const objs = await render(tools.helm, { set: CLICKHOUSE_3 });
  assert.equal(
    objs.filter((o) => o.kind === 'PersistentVolumeClaim').length,
    0,
    'no PVC: the hub keeps nothing on disk'
  );
  assert.equal(objs.filter((o) => o.kind === 'StatefulSet').length, 0);

  const hub = one(objs, 'Deployment', '-hub');
  assert.equal(hub.spec.replicas, 3);
  assert.deepEqual(hub.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  const pod = hub.spec.template.spec;
  const container = pod.containers[0];
  assert.deepEqual(
    pod.volumes.map((v: any) => Object.keys(v).filter((k) => k !== 'name')),
    [['emptyDir']],
    'only the /tmp emptyDir: no PVC, no data emptyDir'
  );
  assert.deepEqual(
    container.volumeMounts.map((m: any) => m.mountPath),
    ['/tmp']
  );
  assert.equal(container.readinessProbe.httpGet.path, '/api/v1/health');
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);

  const env = envOf(container);
  assert.deepEqual(env.FLOWLENS_CLICKHOUSE_PASSWORD, { secretKeyRef: { name: 'ch-credentials', key: 'pw' } });
  assert.deepEqual(hubStoreConfig(container), {
    url: 'http://clickhouse-flows.db.svc:8123',
    username: 'flowlens',
    password: '',
    database: 'flows',
    cluster: 'flows_cluster',
  });
  assert.equal(
    hubStoreConfig(container, { FLOWLENS_CLICKHOUSE_PASSWORD: 'from-the-secret' }).password,
    'from-the-secret',
    'the hub takes the password from the env the Secret fills'
  );

  const selector = hub.spec.selector.matchLabels;
  const pdb = one(objs, 'PodDisruptionBudget', '-hub');
  assert.equal(pdb.apiVersion, 'policy/v1');
  assert.equal(pdb.spec.maxUnavailable, 1);
  assert.deepEqual(pdb.spec.selector.matchLabels, selector);
  const service = one(objs, 'Service', '-hub');
  for (const [k, v] of Object.entries(service.spec.selector)) {
    assert.equal(hub.spec.template.metadata.labels[k], v, 'one Service over every replica');
  }

  const preferred = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  assert.equal(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution, undefined);
  assert.equal(preferred.length, 1);
  assert.equal(preferred[0].podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
  assert.deepEqual(preferred[0].podAffinityTerm.labelSelector.matchLabels, selector);

  // A user's own hub.affinity replaces the default spread.
  const own = await render(tools.helm, {
    set: {
      ...CLICKHOUSE_3,
      'hub.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key':
        'pool',
      'hub.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator':
        'Exists',
    },
  });
  const ownAffinity = one(own, 'Deployment', '-hub').spec.template.spec.affinity;
  assert.equal(ownAffinity.podAntiAffinity, undefined);
  assert.ok(ownAffinity.nodeAffinity);
});

test('ClickHouse with 1 replica: no PDB (it would block every drain), no spread, still no PVC; TLS and IPv6 URLs parse', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const objs = await render(tools.helm, {
    set: {
      ...CLICKHOUSE_3,
      'hub.replicas': '1',
      'clickhouse.host': 'fd00::15',
      'clickhouse.secure': 'true',
      'clickhouse.port': '8443',
      'clickhouse.user': 'flow@lens',
      'clickhouse.cluster': '',
    },
  });
  assert.equal(objs.filter((o) => o.kind === 'PodDisruptionBudget').length, 0);
  assert.equal(objs.filter((o) => o.kind === 'PersistentVolumeClaim').length, 0);
  const hub = one(objs, 'Deployment', '-hub');
  assert.equal(hub.spec.replicas, 1);
  assert.equal(hub.spec.template.spec.affinity, undefined);
  assert.deepEqual(hubStoreConfig(hub.spec.template.spec.containers[0]), {
    url: 'https://[fd00::15]:8443',
    username: 'flow@lens',
    password: '',
    database: 'flows',
    cluster: null,
  });
});

test('DuckDB (the default): replicas 2 is refused with the reason; replicas 1 keeps the PVC and Recreate', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const tokens = { 'tokens.existingSecret': 'tokens' };
  await assert.rejects(
    helmTemplate(tools.helm, { set: { ...tokens, 'hub.replicas': '2' } }),
    /hub\.replicas=2 needs the shared ClickHouse store: the embedded DuckDB store is one file that one hub writes\. Set clickhouse\.enabled=true/
  );
  const objs = await render(tools.helm, { set: tokens });
  const hub = one(objs, 'Deployment', '-hub');
  assert.equal(hub.spec.replicas, 1);
  assert.equal(hub.spec.strategy.type, 'Recreate');
  const pvc = one(objs, 'PersistentVolumeClaim', '-hub-data');
  const data = hub.spec.template.spec.volumes.find((v: any) => v.name === 'data');
  assert.equal(data.persistentVolumeClaim.claimName, pvc.metadata?.name);
  assert.equal(objs.filter((o) => o.kind === 'PodDisruptionBudget').length, 0);
  assert.ok(hub.spec.template.spec.containers[0].args.includes('--data-dir'));
});

test('bad ClickHouse values fail the render with a clear message', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const base = { 'tokens.existingSecret': 'tokens', 'clickhouse.enabled': 'true' };
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{}, /clickhouse\.enabled needs clickhouse\.url .* or clickhouse\.host/],
    [{ 'clickhouse.url': 'http://ch:8123/flows' }, /clickhouse\.url must start with clickhouse:\/\//],
    [
      { 'clickhouse.url': 'clickhouse://ch:8123/flows?cluster=x' },
      /takes no parameters: give the ClickHouse cluster name as clickhouse\.cluster/,
    ],
  ];
  for (const [set, message] of cases) {
    await assert.rejects(helmTemplate(tools.helm, { set: { ...base, ...set } }), message);
  }
  // A password offered as a value is refused, and the refusal never repeats it.
  const offered: Array<Record<string, string>> = [
    { 'clickhouse.url': 'clickhouse://hub:hunter2secret@ch:8123/flows' },
    { 'clickhouse.host': 'ch', 'clickhouse.password': 'hunter2secret' },
  ];
  for (const set of offered) {
    await assert.rejects(helmTemplate(tools.helm, { set: { ...base, ...set } }), (err: Error & { stderr?: string }) => {
      // helm's own output (the Error's message also repeats our command line, which holds the value).
      const said = err.stderr ?? '';
      assert.match(said, /put (it|the password) in a Secret and set clickhouse\.existingSecret/);
      assert.ok(!said.includes('hunter2secret'), said);
      return true;
    });
  }
});

test('the cluster name reaches both workloads as FLOWLENS_CLUSTER; global.cluster too; none by default', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const clusterEnv = (objs: Obj[]): Array<string | undefined> =>
    [one(objs, 'DaemonSet', '-agent'), one(objs, 'Deployment', '-hub')].map(
      (w) => envOf(w.spec.template.spec.containers[0]).FLOWLENS_CLUSTER
    );
  assert.deepEqual(clusterEnv(await render(tools.helm, { set: CLICKHOUSE_3 })), ['prod-eu-1', 'prod-eu-1']);
  const tokens = { 'tokens.existingSecret': 'tokens' };
  assert.deepEqual(clusterEnv(await render(tools.helm, { set: { ...tokens, 'global.cluster': 'from-global' } })), [
    'from-global',
    'from-global',
  ]);
  assert.deepEqual(
    clusterEnv(await render(tools.helm, { set: { ...tokens, 'global.cluster': 'from-global', cluster: 'own' } })),
    ['own', 'own'],
    'cluster wins over global.cluster'
  );
  assert.deepEqual(
    clusterEnv(await render(tools.helm, { set: tokens })),
    [undefined, undefined],
    "unset: the hub's default"
  );
});

test('no secret value in any rendered object: tokens only base64 in their Secret, the ClickHouse password never', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const objs = await render(tools.helm, { set: CLICKHOUSE_3 });
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  for (const o of objs) {
    const text = JSON.stringify(o);
    for (const secret of [INGEST, QUERY]) {
      assert.ok(!text.includes(secret), `${o.kind}/${o.metadata?.name} holds a token in plain text`);
      if (o.kind !== 'Secret') {
        assert.ok(!text.includes(b64(secret)), `${o.kind}/${o.metadata?.name} holds a token`);
      }
    }
    for (const c of o.spec?.template?.spec?.containers ?? []) {
      for (const e of c.env ?? []) {
        if (/TOKEN|PASSWORD/.test(e.name)) {
          assert.ok(e.valueFrom?.secretKeyRef && e.value === undefined, `${e.name} must be a Secret reference`);
        }
      }
      for (const arg of c.args ?? []) {
        assert.doesNotMatch(String(arg), /\/\/[^/@]*:[^/@]*@/, 'no password in an argument');
      }
    }
  }
  const secrets = objs.filter((o) => o.kind === 'Secret');
  assert.deepEqual(
    secrets.map((s) => s.metadata?.name),
    ['flowlens-hub-tokens'],
    "the chart renders no ClickHouse Secret: it is the user's"
  );
  assert.equal(secrets[0]!.data!['ingest-token'], b64(INGEST));
});

test('the documented operator example: the hub reaches the installation, its cluster and user, with the one Secret', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const objs = await render(tools.helm, { valuesFiles: [EXAMPLE_VALUES] });
  const hub = one(objs, 'Deployment', '-hub');
  assert.equal(hub.spec.replicas, 3);
  const container = hub.spec.template.spec.containers[0];
  const config = hubStoreConfig(container);
  const docs = parseAllDocuments(readFileSync(EXAMPLE_CHI, 'utf8')).map((d) => d.toJS());
  const chk = docs.find((d) => d.kind === 'ClickHouseKeeperInstallation');
  const chi = docs.find((d) => d.kind === 'ClickHouseInstallation');
  assert.equal(chi.apiVersion, 'clickhouse.altinity.com/v1');
  assert.equal(chk.apiVersion, 'clickhouse-keeper.altinity.com/v1');
  // The operator names the installation's Service clickhouse-<name> and the keeper's keeper-<name>.
  assert.equal(config.url, `http://clickhouse-${chi.metadata.name}.${chi.metadata.namespace}.svc:8123`);
  assert.equal(chi.metadata.namespace, hub.metadata?.namespace);
  assert.deepEqual(chi.spec.configuration.zookeeper.nodes, [{ host: `keeper-${chk.metadata.name}`, port: 2181 }]);
  assert.deepEqual(
    chi.spec.configuration.clusters.map((c: any) => c.name),
    [config.cluster]
  );
  const userPassword = chi.spec.configuration.users[`${config.username}/password`];
  assert.deepEqual(userPassword.valueFrom.secretKeyRef, envOf(container).FLOWLENS_CLICKHOUSE_PASSWORD.secretKeyRef);
  // The images are the release the docs say the SQL targets.
  const target = /The SQL targets ClickHouse (\d+\.\d+) LTS/.exec(readFileSync(join(REPO_ROOT, 'docs/hub.md'), 'utf8'));
  assert.ok(target, 'docs/hub.md names the ClickHouse version the SQL targets');
  const images = [chi, chk].flatMap((d) =>
    d.spec.templates.podTemplates.flatMap((p: any) => p.spec.containers.map((c: any) => c.image))
  );
  assert.deepEqual(images, [`clickhouse/clickhouse-server:${target[1]}`, `clickhouse/clickhouse-keeper:${target[1]}`]);
  // docs/deploy.md shows both files as they are.
  const deployDoc = readFileSync(join(REPO_ROOT, 'docs/deploy.md'), 'utf8');
  for (const file of [EXAMPLE_CHI, EXAMPLE_VALUES]) {
    assert.ok(deployDoc.includes(readFileSync(file, 'utf8')), `docs/deploy.md shows ${file} unchanged`);
  }
});

test('helm lint --strict passes with the ClickHouse example values', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const result = await runBinary(tools.helm, ['lint', '--strict', CHART_DIR, '--values', EXAMPLE_VALUES]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(parse(readFileSync(EXAMPLE_VALUES, 'utf8')).clickhouse.password, undefined);
});
