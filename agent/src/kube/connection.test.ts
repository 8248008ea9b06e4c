import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { NodeKubeConfig } from './connection.js';

const dir = mkdtempSync(join(tmpdir(), 'flowlens-kubeconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  const path = join(dir, `config-${Math.random().toString(16).slice(2)}`);
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: c',
      `  cluster: ${JSON.stringify({ server: 'https://10.0.0.1:6443', ...cluster })}`,
      'users:',
      '- name: u',
      `  user: ${JSON.stringify(user)}`,
      'contexts:',
      '- name: ctx',
      '  context: {cluster: c, user: u}',
      'current-context: ctx',
    ].join('\n')
  );
  return path;
}

async function applied(kc: NodeKubeConfig): Promise<RequestOptions & { headers: Record<string, string> }> {
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return opts as RequestOptions & { headers: Record<string, string> };
}

test('a YAML kubeconfig: server, CA file relative to the file, bearer token', async () => {
  writeFileSync(join(dir, 'ca.crt'), 'CA PEM');
  const kc = await NodeKubeConfig.fromFile(
    kubeconfig({ token: 'secret-token' }, { 'certificate-authority': 'ca.crt' })
  );
  assert.equal(kc.getCurrentCluster().server, 'https://10.0.0.1:6443');
  const opts = await applied(kc);
  assert.equal(String(opts.ca), 'CA PEM');
  assert.equal(opts.headers.Authorization, 'Bearer secret-token');
  assert.equal(opts.rejectUnauthorized, undefined);
});

test('client certificates from data, insecure-skip-tls-verify, basic auth', async () => {
  const kc = await NodeKubeConfig.fromFile(
    kubeconfig(
      {
        'client-certificate-data': Buffer.from('CERT').toString('base64'),
        'client-key-data': Buffer.from('KEY').toString('base64'),
        username: 'admin',
        password: 'pw',
      },
      { 'insecure-skip-tls-verify': true }
    )
  );
  const opts = await applied(kc);
  assert.equal(String(opts.cert), 'CERT');
  assert.equal(String(opts.key), 'KEY');
  assert.equal(opts.rejectUnauthorized, false);
  assert.equal(opts.auth, 'admin:pw');
});

test('in cluster: the service account token file is read (and re-read), CA from the mounted file', async () => {
  const sa = mkdtempSync(join(dir, 'sa-'));
  writeFileSync(join(sa, 'token'), 'projected-token-1');
  writeFileSync(join(sa, 'ca.crt'), 'CLUSTER CA');
  const kc = NodeKubeConfig.fromCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa);
  assert.equal(kc.getCurrentCluster().server, 'https://[fd00::1]:443');
  const opts = await applied(kc);
  assert.equal(opts.headers.Authorization, 'Bearer projected-token-1');
  assert.equal(String(opts.ca), 'CLUSTER CA');
  assert.throws(() => NodeKubeConfig.fromCluster({}, sa), /KUBERNETES_SERVICE_HOST/);
  // FLOWLENS_SERVICE_ACCOUNT_DIR names where the service account is mounted
  const moved = NodeKubeConfig.fromCluster({
    KUBERNETES_SERVICE_HOST: '10.96.0.1',
    KUBERNETES_SERVICE_PORT: '443',
    FLOWLENS_SERVICE_ACCOUNT_DIR: sa,
  });
  assert.equal((await applied(moved)).headers.Authorization, 'Bearer projected-token-1');
});

test('a kubeconfig the agent cannot use says why', async () => {
  await assert.rejects(
    NodeKubeConfig.fromFile(kubeconfig({ 'auth-provider': { name: 'oidc', config: {} } })),
    /auth-provider 'oidc' is not supported/
  );
  const noContext = join(dir, 'no-context');
  writeFileSync(noContext, 'apiVersion: v1\nkind: Config\ncurrent-context: missing\n');
  await assert.rejects(NodeKubeConfig.fromFile(noContext), /current-context 'missing'/);
  await assert.rejects(
    NodeKubeConfig.fromFile(kubeconfig({ token: 't' }, { server: 'http://10.0.0.1:8080' })),
    /HTTP protocol is not allowed/
  );
});
