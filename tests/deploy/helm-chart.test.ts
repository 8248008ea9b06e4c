/**
 * The Helm chart, rendered by the real helm binary (tests/lib/k8s-tools.ts) with its defaults, with
 * the compose demo's values and with the privileged fallback; every object is validated against the
 * Kubernetes schemas (tests/lib/k8s-validate.ts) and the security-relevant parts are asserted.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { test } from 'node:test';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';
import { CHART_DIR, helmTemplate, parseManifests } from '../../deploy/tools/render.js';
import { requireK8sTools } from '../lib/k8s-tools.js';
import { validateK8sObject, type K8sObject } from '../lib/k8s-validate.js';
import { runBinary } from '../lib/run-binary.js';
import { NODE_AGENT_V8_FLAGS } from '../../agent/src/node/v8-flags.js';

type Obj = K8sObject & { spec?: any; data?: Record<string, string>; rules?: any[] };

const find = (objs: Obj[], kind: string, suffix: string): Obj => {
  const found = objs.find((o) => o.kind === kind && (o.metadata?.name ?? '').endsWith(suffix));
  assert.ok(found, `no ${kind} *${suffix} in ${objs.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
  return found;
};

async function assertValid(objs: Obj[]): Promise<void> {
  const problems = (await Promise.all(objs.map((o) => validateK8sObject(o)))).flat();
  assert.deepEqual(problems, []);
}

/** The chart never invents tokens: a default render names them. */
const TOKENS = { 'tokens.ingestToken': 'ingest-example', 'tokens.queryToken': 'query-example' };

const COMPOSE_RENDER = {
  valuesFiles: [join(REPO_ROOT, 'deploy/compose/helm-values.yaml')],
  setFiles: { 'hub.ipRangesOverride': join(REPO_ROOT, 'deploy/compose/ip-ranges.json') },
};

test('helm lint --strict passes', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const result = await runBinary(tools.helm, [
    'lint',
    '--strict',
    CHART_DIR,
    ...Object.entries(TOKENS).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
  ]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('default rendering: valid objects; agent with capabilities, host mounts and NFM env; hub with PVC', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const objs = parseManifests(await helmTemplate(tools.helm, { set: TOKENS })) as Obj[];
  assert.deepEqual(objs.map((o) => o.kind).sort(), [
    'ClusterRole',
    'ClusterRole',
    'ClusterRoleBinding',
    'ClusterRoleBinding',
    'DaemonSet',
    'Deployment',
    'PersistentVolumeClaim',
    'PriorityClass',
    'Secret',
    'Service',
    'Service',
    'ServiceAccount',
    'ServiceAccount',
  ]);
  await assertValid(objs);

  const ds = find(objs, 'DaemonSet', '-agent');
  const pod = ds.spec.template.spec;
  assert.equal(pod.hostNetwork, true);
  // No hostPID: pods' network namespaces come from the runtime's bind mounts in /var/run/netns.
  assert.equal(pod.hostPID, undefined);
  assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
  const agent = pod.containers[0];
  assert.equal(agent.securityContext.privileged, false);
  assert.equal(agent.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(agent.securityContext.capabilities.drop, ['ALL']);
  assert.deepEqual([...agent.securityContext.capabilities.add].sort(), ['BPF', 'NET_ADMIN', 'PERFMON', 'SYS_ADMIN']);
  assert.ok(!agent.securityContext.capabilities.add.includes('SYS_PTRACE'), 'no SYS_PTRACE');
  assert.ok(!agent.securityContext.capabilities.add.includes('SYS_RESOURCE'), 'memcg accounting on 6.1: no memlock');
  const hostPaths = Object.fromEntries(
    pod.volumes.filter((v: any) => v.hostPath).map((v: any) => [v.name, v.hostPath.path])
  );
  assert.deepEqual(
    hostPaths,
    { cgroup: '/sys/fs/cgroup', netns: '/var/run/netns' },
    'nothing pinned, tp_btf: no bpffs, no tracefs'
  );
  const netns = agent.volumeMounts.find((m: any) => m.name === 'netns');
  assert.equal(netns?.mountPath, '/var/run/netns');
  assert.equal(netns?.mountPropagation, 'HostToContainer', 'pods created after the agent started appear');
  for (const m of agent.volumeMounts) {
    assert.ok(m.readOnly === true || m.name === 'tmp', `${m.name} is mounted writable`);
  }
  assert.equal(agent.readinessProbe.httpGet.port, 'metrics');
  assert.equal(agent.livenessProbe.httpGet.path, '/metrics');
  const pc = find(objs, 'PriorityClass', '-node-agent') as Obj & { value: number; preemptionPolicy: string };
  assert.equal(pod.priorityClassName, pc.metadata?.name);
  assert.ok(pc.value > 0);
  assert.equal(pc.preemptionPolicy, 'Never');
  const term = pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0];
  assert.deepEqual(term.matchExpressions, [
    { key: 'eks.amazonaws.com/compute-type', operator: 'NotIn', values: ['fargate', 'hybrid'] },
  ]);
  const env = Object.fromEntries(agent.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
  assert.equal(env.OPEN_METRICS, 'on');
  for (const flag of NODE_AGENT_V8_FLAGS) {
    assert.ok(String(env.NODE_OPTIONS).split(' ').includes(flag), `the agent's NODE_OPTIONS hold ${flag}`);
  }
  assert.equal(env.OPEN_METRICS_ADDRESS, '0.0.0.0');
  assert.equal(env.OPEN_METRICS_PORT, '9109');
  assert.deepEqual(env.NODE_NAME, { fieldRef: { fieldPath: 'spec.nodeName' } });
  assert.ok(env.FLOWLENS_HUB_INGEST_TOKEN.secretKeyRef, 'the ingest token comes from a Secret');
  assert.deepEqual(agent.args.slice(0, 1), ['node']);
  const hubUrl = agent.args[agent.args.indexOf('--hub') + 1];
  assert.equal(hubUrl, 'http://flowlens-hub.flowlens.svc:9110');

  const metricsSvc = find(objs, 'Service', '-agent-metrics');
  assert.equal(metricsSvc.metadata?.name, 'flowlens-agent-metrics', 'provisioning/prometheus resolves this name');
  assert.equal(metricsSvc.spec.clusterIP, 'None');
  assert.equal(metricsSvc.spec.ports[0].port, 9109);

  const hub = find(objs, 'Deployment', '-hub');
  const hubPod = hub.spec.template.spec;
  assert.equal(hub.spec.strategy.type, 'Recreate');
  assert.equal(hubPod.securityContext.runAsNonRoot, true);
  const hubContainer = hubPod.containers[0];
  assert.deepEqual(hubContainer.args, ['hub', '--listen', '0.0.0.0:9110', '--data-dir', '/data']);
  for (const e of hubContainer.env) {
    assert.ok(e.valueFrom?.secretKeyRef, `${e.name} must be a Secret reference, not a literal`);
  }
  const pvc = find(objs, 'PersistentVolumeClaim', '-hub-data');
  assert.equal(hubPod.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName, pvc.metadata?.name);
});

test('RBAC is read-only and bound to the right service accounts (tests/deploy/rbac.test.ts compares it with the code)', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const objs = parseManifests(await helmTemplate(tools.helm, { set: TOKENS })) as Obj[];
  const roles = objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
  assert.equal(roles.length, 2);
  for (const role of roles) {
    for (const rule of role.rules ?? []) {
      for (const v of rule.verbs) {
        assert.ok(['get', 'list', 'watch'].includes(v), `${role.metadata?.name} grants ${v}`);
      }
    }
  }
  const binding = find(objs, 'ClusterRoleBinding', '-hub') as Obj & { subjects: any[]; roleRef: any };
  assert.equal(binding.roleRef.name, 'flowlens-hub');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'flowlens-hub', namespace: 'flowlens' }]);
});

test('compose demo values: NodePort 30910, existing token Secret, ip-ranges override mounted into the hub', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const objs = parseManifests(await helmTemplate(tools.helm, COMPOSE_RENDER)) as Obj[];
  await assertValid(objs);
  assert.equal(objs.filter((o) => o.kind === 'Secret').length, 0, 'the cluster tool owns the Secret');
  const svc = find(objs, 'Service', '-hub');
  assert.equal(svc.spec.type, 'NodePort');
  assert.equal(svc.spec.ports[0].nodePort, 30910);
  const cm = find(objs, 'ConfigMap', '-ip-ranges');
  assert.deepEqual(
    JSON.parse(cm.data!['ip-ranges.json']!),
    JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/compose/ip-ranges.json'), 'utf8'))
  );
  const hub = find(objs, 'Deployment', '-hub').spec.template.spec;
  const args: string[] = hub.containers[0].args;
  assert.equal(args[args.indexOf('--ip-ranges-file') + 1], '/etc/flowlens/ip-ranges/ip-ranges.json');
  assert.ok(hub.containers[0].volumeMounts.some((m: any) => m.mountPath === '/etc/flowlens/ip-ranges'));
  const ds = find(objs, 'DaemonSet', '-agent').spec.template.spec.containers[0];
  assert.equal(ds.image, 'flowlens/agent:dev');
  assert.equal(ds.imagePullPolicy, 'Never');
  assert.equal(
    ds.env.find((e: any) => e.name === 'FLOWLENS_HUB_INGEST_TOKEN').valueFrom.secretKeyRef.name,
    'flowlens-hub-tokens'
  );
});

test('privileged fallback renders privileged without a capability list, and still validates', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const objs = parseManifests(
    await helmTemplate(tools.helm, { set: { ...TOKENS, 'agent.privileged': 'true' } })
  ) as Obj[];
  await assertValid(objs);
  const sc = find(objs, 'DaemonSet', '-agent').spec.template.spec.containers[0].securityContext;
  assert.equal(sc.privileged, true);
  assert.equal(sc.capabilities, undefined);
});

test('the validator catches a misspelt field and a wrong type (the check is live)', async () => {
  const bad: Obj = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'x' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: {
        metadata: { labels: { a: 'b' } },
        spec: { hostPid: true, containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 'http' }] }] },
      },
    },
  };
  const problems = await validateK8sObject(bad);
  assert.ok(
    problems.some((p) => /containerPort must be integer/.test(p)),
    problems.join('\n')
  );
  assert.ok(
    problems.some((p) => /hostPid: unknown field/.test(p)),
    problems.join('\n')
  );
});

test('tokens: helm template twice gives the same Secret; no tokens and no existing Secret is a clear error', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const secret = async (): Promise<Obj> =>
    find(parseManifests(await helmTemplate(tools.helm, { set: TOKENS })) as Obj[], 'Secret', '-hub-tokens');
  const [a, b] = [await secret(), await secret()];
  assert.deepEqual(a, b);
  assert.equal(Buffer.from(a.data!['ingest-token']!, 'base64').toString(), 'ingest-example');
  assert.equal(Buffer.from(a.data!['query-token']!, 'base64').toString(), 'query-example');
  assert.doesNotMatch(
    readFileSync(join(CHART_DIR, 'templates/hub-secret.yaml'), 'utf8'),
    /\{\{[^}]*\b(lookup|randAlphaNum|randAscii|uuidv4)\b/
  );
  await assert.rejects(
    helmTemplate(tools.helm),
    /set tokens\.existingSecret .* or both tokens\.ingestToken and tokens\.queryToken/
  );
  const existing = parseManifests(
    await helmTemplate(tools.helm, { set: { 'tokens.existingSecret': 'mine' } })
  ) as Obj[];
  assert.equal(existing.filter((o) => o.kind === 'Secret').length, 0);
});

test('the chart and the kustomize base use the image the release workflow publishes', async () => {
  const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'));
  const release = readFileSync(join(REPO_ROOT, '.github/workflows/release.yml'), 'utf8');
  assert.match(release, new RegExp(`AGENT_IMAGE: ${values.image.repository.replace(/\./g, '\\.')}\\b`));
  assert.match(release, /platforms: linux\/amd64,linux\/arm64/);
  const kustomization = parse(readFileSync(join(REPO_ROOT, 'deploy/kustomize/base/kustomization.yaml'), 'utf8'));
  assert.equal(kustomization.images[0].name, values.image.repository);
});

test('EKS: the storageClass value is documented and reaches the PVC', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const objs = parseManifests(
    await helmTemplate(tools.helm, { set: { ...TOKENS, 'hub.persistence.storageClassName': 'gp3' } })
  ) as Obj[];
  assert.equal(find(objs, 'PersistentVolumeClaim', '-hub-data').spec.storageClassName, 'gp3');
  assert.match(readFileSync(join(REPO_ROOT, 'docs/deploy.md'), 'utf8'), /storageClassName=gp3/);
});

test('agent.bpfStats: off by default (no --bpf-stats: the kernel does not time every BPF program on the node); true passes the flag', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const args = async (set: Record<string, string>): Promise<string[]> =>
    find(parseManifests(await helmTemplate(tools.helm, { set: { ...TOKENS, ...set } })) as Obj[], 'DaemonSet', '-agent')
      .spec.template.spec.containers[0].args;
  assert.ok(!(await args({})).includes('--bpf-stats'));
  const on = await args({ 'agent.bpfStats': 'true' });
  assert.equal(on.filter((a) => a === '--bpf-stats').length, 1);
  assert.deepEqual(on.slice(0, 1), ['node']);
});
