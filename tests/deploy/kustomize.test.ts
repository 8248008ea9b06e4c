/**
 * The kustomize base: generated from the chart (no drift allowed), built by the real kustomize
 * inside kubectl, and every object valid; tokens stay a Secret reference.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { KUSTOMIZE_BASE_FILE, KUSTOMIZE_DIR, renderKustomizeBase } from '../../deploy/kustomize/base.js';
import { parseManifests } from '../../deploy/tools/render.js';
import { requireK8sTools } from '../lib/k8s-tools.js';
import { validateK8sObject, type K8sObject } from '../lib/k8s-validate.js';
import { runBinary } from '../lib/run-binary.js';
import { NODE_AGENT_V8_FLAGS } from '../../agent/src/node/v8-flags.js';

test('deploy/kustomize/base/flowlens.yaml is the current rendering of the chart', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  assert.equal(
    readFileSync(KUSTOMIZE_BASE_FILE, 'utf8'),
    await renderKustomizeBase(tools.helm),
    'stale: run node --import tsx deploy/kustomize/generate-base.ts'
  );
});

test('kubectl kustomize builds the base into valid objects in namespace flowlens', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const result = await runBinary(tools.kubectl, ['kustomize', join(KUSTOMIZE_DIR, 'base')]);
  assert.equal(result.code, 0, result.stderr);
  const objs = parseManifests(result.stdout) as Array<K8sObject & { spec?: any }>;
  const problems = (await Promise.all(objs.map((o) => validateK8sObject(o)))).flat();
  assert.deepEqual(problems, []);

  const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass']);
  for (const o of objs) {
    assert.equal(
      o.metadata?.labels && (o.metadata.labels as Record<string, string>)['app.kubernetes.io/part-of'],
      'flowlens'
    );
    assert.ok(!('helm.sh/chart' in ((o.metadata?.labels as object) ?? {})), `${o.kind}: Helm label in plain manifests`);
    if (!clusterScoped.has(o.kind)) {
      assert.equal(o.metadata?.namespace, 'flowlens', `${o.kind}/${o.metadata?.name}`);
    }
  }
  assert.equal(objs.filter((o) => o.kind === 'Secret').length, 0, 'no Secret with literal tokens in the base');
  const kinds = new Set(objs.map((o) => o.kind));
  for (const k of ['Namespace', 'DaemonSet', 'Deployment', 'Service', 'PersistentVolumeClaim', 'ClusterRole']) {
    assert.ok(kinds.has(k), `missing ${k}`);
  }
  const ds = objs.find((o) => o.kind === 'DaemonSet')!;
  const container = ds.spec.template.spec.containers[0];
  assert.equal(container.image, 'ghcr.io/flowlens/flowlens-agent:0.1.0');
  const tokenRef = container.env.find((e: { name: string }) => e.name === 'FLOWLENS_HUB_INGEST_TOKEN').valueFrom
    .secretKeyRef;
  assert.deepEqual(tokenRef, { name: 'flowlens-hub-tokens', key: 'ingest-token' });
  const nodeOptions = container.env.find((e: { name: string }) => e.name === 'NODE_OPTIONS')?.value ?? '';
  for (const flag of NODE_AGENT_V8_FLAGS) {
    assert.ok(nodeOptions.split(' ').includes(flag), `the agent's NODE_OPTIONS hold ${flag}`);
  }
});

test('the cluster-name example overlay builds: FLOWLENS_CLUSTER once on the agent and the hub, objects valid', async (t) => {
  const tools = await requireK8sTools(t);
  if (!tools) {
    return;
  }
  const result = await runBinary(tools.kubectl, ['kustomize', join(KUSTOMIZE_DIR, 'examples', 'cluster-name')]);
  assert.equal(result.code, 0, result.stderr);
  const objs = parseManifests(result.stdout) as Array<K8sObject & { spec?: any }>;
  const problems = (await Promise.all(objs.map((o) => validateK8sObject(o)))).flat();
  assert.deepEqual(problems, []);
  for (const kind of ['DaemonSet', 'Deployment']) {
    const workload = objs.find((o) => o.kind === kind)!;
    const env: Array<{ name: string; value?: string }> = workload.spec.template.spec.containers[0].env;
    assert.deepEqual(
      env.filter((e) => e.name === 'FLOWLENS_CLUSTER'),
      [{ name: 'FLOWLENS_CLUSTER', value: 'prod-eu-1' }],
      kind
    );
  }
  // The base itself names no cluster: the hub's default applies.
  assert.doesNotMatch(readFileSync(KUSTOMIZE_BASE_FILE, 'utf8'), /FLOWLENS_CLUSTER/);
});
