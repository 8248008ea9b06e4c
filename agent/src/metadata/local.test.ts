import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerInfo } from 'dockerode';
import { containerInfos, dockerConnection } from './docker-objects.js';
import { chooseMetadataSource } from './local.js';
import { MetadataStore } from './store.js';

test('source choice: Kubernetes, then Docker, then a file, then none; FLOWLENS_METADATA forces one', () => {
  assert.equal(
    chooseMetadataSource({ KUBERNETES_SERVICE_HOST: '10.96.0.1', DOCKER_HOST: 'unix:///x' }, true),
    'kubernetes'
  );
  assert.equal(chooseMetadataSource({ KUBECONFIG: '/k' }, false), 'kubernetes');
  assert.equal(chooseMetadataSource({ FLOWLENS_METADATA_FILE: '/m.json' }, true), 'docker');
  assert.equal(chooseMetadataSource({ DOCKER_HOST: 'tcp://127.0.0.1:2375' }, false), 'docker');
  assert.equal(chooseMetadataSource({ FLOWLENS_METADATA_FILE: '/m.json' }, false), 'file');
  assert.equal(chooseMetadataSource({}, false), 'none');
  assert.equal(chooseMetadataSource({ FLOWLENS_METADATA: 'file', KUBECONFIG: '/k' }, true), 'file');
  assert.throws(() => chooseMetadataSource({ FLOWLENS_METADATA: 'consul' }, false), /FLOWLENS_METADATA must be one of/);
});

test('Docker: container IPs → name, compose project/service → namespace/workload', () => {
  const compose = {
    Id: 'f3a9c1',
    Names: ['/shop-web-1'],
    Labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' },
    NetworkSettings: {
      Networks: {
        shop_default: { IPAddress: '172.18.0.3', GlobalIPv6Address: '' },
        other: { IPAddress: '172.19.0.2' },
      },
    },
  } as unknown as ContainerInfo;
  assert.deepEqual(containerInfos(compose, 'host1'), [
    { ip: '172.18.0.3', name: 'shop-web-1', namespace: 'shop', workload: 'web', kind: 'Container', node: 'host1' },
    { ip: '172.19.0.2', name: 'shop-web-1', namespace: 'shop', workload: 'web', kind: 'Container', node: 'host1' },
  ]);
  const plain = {
    Id: 'abc',
    Names: ['/redis'],
    Labels: {},
    NetworkSettings: { Networks: { host: { IPAddress: '' } } },
  } as unknown as ContainerInfo;
  assert.deepEqual(containerInfos(plain, 'host1'), []);
  assert.deepEqual(dockerConnection(undefined), { socketPath: '/var/run/docker.sock' });
  assert.deepEqual(dockerConnection('unix:///run/user/1000/docker.sock'), { socketPath: '/run/user/1000/docker.sock' });
  assert.deepEqual(dockerConnection('tcp://127.0.0.1:2375'), { host: '127.0.0.1', port: 2375 });
  assert.throws(() => dockerConnection('ssh://me@host'), /DOCKER_HOST/);
});

test('store: a re-used IP belongs to the newest owner; deleting the old owner late keeps it', () => {
  const s = new MetadataStore();
  const p = (name: string) => ({ ip: '10.0.0.5', name, namespace: 'ns', workload: name, kind: 'Pod', node: 'n' });
  s.setPod('old', [p('old')]);
  s.setPod('new', [p('new')]);
  s.removePod('old');
  assert.equal(s.podByIp('10.0.0.5')?.name, 'new');
  s.removePod('new');
  assert.equal(s.podByIp('10.0.0.5'), undefined);
  assert.deepEqual(s.size(), { pods: 0, podIps: 0, services: 0, nodes: 0 });
  s.setNode({ name: 'n', zone: 'a', addresses: ['10.0.0.1'] });
  s.setNode({ name: 'n', zone: 'a', addresses: ['10.0.0.2'] });
  assert.equal(s.nodeByIp('10.0.0.1'), undefined);
  assert.equal(s.nodeByIp('10.0.0.2')?.zone, 'a');
});
