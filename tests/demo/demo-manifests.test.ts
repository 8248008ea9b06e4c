/**
 * demo/k8s/demo.yaml: valid Kubernetes objects, one catalog replica per kind zone, the storage
 * service pointed at the moto containers the hub's ip-ranges override names, and only the demo
 * image that compose builds.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';
import { parseManifests } from '../../deploy/tools/render.js';
import { parseKindConfig } from '../lib/kind-config.js';
import { validateK8sObject, type K8sObject } from '../lib/k8s-validate.js';

type Obj = K8sObject & { spec?: any };
const objs = parseManifests(readFileSync(join(REPO_ROOT, 'demo/k8s/demo.yaml'), 'utf8')) as Obj[];
const deployments = objs.filter((o) => o.kind === 'Deployment');
const env = (name: string): Record<string, string> =>
  Object.fromEntries(
    deployments
      .find((d) => d.metadata?.name === name)!
      .spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value])
  );

test('every demo object is valid', async () => {
  assert.ok(objs.length >= 12);
  const problems = (await Promise.all(objs.map((o) => validateK8sObject(o)))).flat();
  assert.deepEqual(problems, []);
});

test('one catalog per kind zone, and every zone selector names a zone of the kind config', () => {
  const kind = parseKindConfig(readFileSync(join(REPO_ROOT, 'deploy/kind/cluster.yaml'), 'utf8'));
  const zones = new Set(
    kind.nodes.filter((n) => n.role === 'worker').map((n) => n.labels?.['topology.kubernetes.io/zone'])
  );
  const catalogZones = deployments
    .filter((d) => d.metadata?.name?.startsWith('catalog-'))
    .map((d) => d.spec.template.spec.nodeSelector['topology.kubernetes.io/zone']);
  assert.deepEqual(new Set(catalogZones), zones);
  for (const d of deployments) {
    assert.ok(zones.has(d.spec.template.spec.nodeSelector['topology.kubernetes.io/zone']), d.metadata?.name);
    const c = d.spec.template.spec.containers[0];
    assert.equal(c.image, 'flowlens/demo:dev');
    assert.equal(c.imagePullPolicy, 'Never', 'the image is loaded into kind, never pulled');
  }
  const services = new Set(objs.filter((o) => o.kind === 'Service').map((o) => o.metadata?.name));
  for (const url of env('frontend').CATALOG_URLS!.split(',')) {
    assert.ok(services.has(new URL(url).hostname.split('.')[0]), url);
  }
});

test('storage calls the moto containers that the ip-ranges override maps to S3 and DynamoDB', () => {
  const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yaml'), 'utf8'));
  const ranges = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/compose/ip-ranges.json'), 'utf8')) as {
    prefixes: Array<{ ip_prefix: string; service: string }>;
  };
  const e = env('storage');
  const check = (endpoint: string, composeService: string, awsService: string): void => {
    const url = new URL(endpoint);
    assert.equal(url.hostname, compose.services[composeService].networks['flowlens-kind'].ipv4_address);
    assert.equal(url.port, compose.services[composeService].environment.MOTO_PORT);
    assert.ok(ranges.prefixes.some((p) => p.ip_prefix === `${url.hostname}/32` && p.service === awsService));
  };
  check(e.S3_ENDPOINT!, 'moto-s3', 'S3');
  check(e.DYNAMODB_ENDPOINT!, 'moto-dynamodb', 'DYNAMODB');
});
