/**
 * The real Docker metadata provider (dockerode, chosen by createLocalMetadata from DOCKER_HOST) against the Docker
 * Engine API stand-in (tests/lib/fake-docker-engine.ts) serving the fixtures of tests/fixtures/docker/ verbatim:
 * container IP → name / compose project / compose service / kind Container; containers started and stopped
 * (engine events) come and go; an engine that is down at start, or goes away later, means IPs only, a clear log
 * line and no crash, and the names are back once it answers again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MetadataProvider, PodInfo } from '../../agent/src/contracts/metadata.js';
import { DockerMetadata } from '../../agent/src/metadata/docker.js';
import { createLocalMetadata } from '../../agent/src/metadata/local.js';
import { dockerFixtureContainers, dockerFixtureEvents, type DockerEvent } from '../lib/docker-fixtures.js';
import { startFakeDocker, type FakeContainer, type FakeDocker } from '../lib/fake-docker-engine.js';
import { waitFor } from '../lib/wait.js';

const NODE = 'docker-host-1';
const FIXTURES = dockerFixtureContainers();
const EVENTS = dockerFixtureEvents();
const fixture = (name: string): FakeContainer => structuredClone(FIXTURES.get(name)!);
const AT_START = ['shop-web-1', 'shop-db-1', 'shop-gateway-1', 'cache', 'node-exporter'];

/** What each fixture address must resolve to (ground truth written out, not derived from the fixtures). */
const container = (name: string, namespace: string, workload: string) => ({
  name,
  namespace,
  workload,
  kind: 'Container',
  node: NODE,
});
const EXPECTED: Record<string, ReturnType<typeof container>> = {
  '172.18.0.3': container('shop-web-1', 'shop', 'web'),
  '172.18.0.2': container('shop-db-1', 'shop', 'db'),
  '172.18.0.4': container('shop-gateway-1', 'shop', 'gateway'),
  '172.20.0.2': container('shop-gateway-1', 'shop', 'gateway'),
  'fd00:20::2': container('shop-gateway-1', 'shop', 'gateway'),
  '172.17.0.2': container('cache', 'docker', 'cache'),
};
const WORKER_IP = '172.18.0.5';

function info(md: MetadataProvider, ip: string): Omit<PodInfo, 'ip'> | undefined {
  const p = md.podByIp(ip);
  if (!p) {
    return undefined;
  }
  const { ip: own, ...rest } = p;
  assert.equal(own, ip);
  return rest;
}

/** Provider from the environment, as `flowlens-agent node` makes it; fast retries so the outage tests are short. */
async function provider(dockerHost: string, log: (m: string) => void): Promise<DockerMetadata> {
  const md = await createLocalMetadata({ nodeName: NODE, env: { DOCKER_HOST: dockerHost }, log });
  // By name: local.ts imports the provider lazily, and tsx loads that import as a separate ES module instance.
  assert.equal(md.constructor.name, DockerMetadata.name);
  return md as DockerMetadata;
}

function emit(engine: FakeDocker, events: DockerEvent[]): void {
  for (const e of events) {
    engine.emit(e);
  }
}

describe('Docker metadata through the Docker Engine API stand-in', () => {
  test('fixtures: each list entry and its inspect agree on id, name, labels and addresses', () => {
    assert.equal(FIXTURES.size, 6);
    for (const [name, c] of FIXTURES) {
      const s = c.summary as { Id: string; Labels: object; NetworkSettings: { Networks: Record<string, object> } };
      const i = c.inspect as {
        Id: string;
        Name: string;
        Config: { Labels: object };
        NetworkSettings: { Networks: Record<string, { IPAddress: string; GlobalIPv6Address: string }> };
      };
      assert.equal(s.Id, i.Id, name);
      assert.equal(i.Name, `/${name}`);
      assert.deepEqual(s.Labels, i.Config.Labels, name);
      const addrs = (nets: Record<string, object>) =>
        Object.entries(nets).map(([n, e]) => [n, (e as { IPAddress: string }).IPAddress]);
      assert.deepEqual(addrs(s.NetworkSettings.Networks), addrs(i.NetworkSettings.Networks), name);
    }
  });

  describe('engine up', () => {
    let engine: FakeDocker;
    let md: DockerMetadata;
    const logs: string[] = [];
    const live = AT_START.map(fixture);
    const dir = mkdtempSync(join(tmpdir(), 'flowlens-docker-up-'));
    const socketPath = join(dir, 'docker.sock');

    before(async () => {
      engine = await startFakeDocker(live, undefined, { socketPath });
      md = await provider(engine.dockerHost, (m) => logs.push(m));
      await md.start();
    });
    after(async () => {
      await md.stop();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('names every container address after start(); host networking and missing IPs own nothing', () => {
      for (const [ip, want] of Object.entries(EXPECTED)) {
        assert.deepEqual(info(md, ip), want, ip);
      }
      // 4 containers with an address (node-exporter shares the host's), 6 addresses in all.
      assert.deepEqual(md.store.size(), { pods: 4, podIps: 6, services: 0, nodes: 0 });
      assert.equal(info(md, WORKER_IP), undefined);
      assert.equal(info(md, ''), undefined);
      assert.deepEqual(md.nodeByName(NODE), { name: NODE, zone: null });
      assert.ok(md.isConnected);
      assert.ok(
        logs.some((l) => l.includes(`Docker engine at ${engine.dockerHost} answers: 4 containers with an IP`)),
        logs.join('\n')
      );
      // It follows the engine's event stream and lists through the API (no inspect needed: the list has the networks).
      assert.ok(engine.requests.includes('GET /events'), engine.requests.join(', '));
      assert.ok(engine.requests.includes('GET /containers/json'));
    });

    test('a container started later appears; stopped and removed ones disappear', async () => {
      await waitFor('the event stream', () => engine.eventStreams() === 1, 5000);

      live.push(fixture('shop-worker-1'));
      emit(engine, EVENTS['worker-started']!);
      await waitFor('shop-worker-1', () => info(md, WORKER_IP), 5000);
      assert.deepEqual(info(md, WORKER_IP), container('shop-worker-1', 'shop', 'worker'));

      // docker stop cache: still listed with `all`, but not running → not in the provider's list.
      live.find((c) => c.name === 'cache')!.state = 'exited';
      emit(engine, EVENTS['cache-stopped']!);
      await waitFor('cache gone', () => info(md, '172.17.0.2') === undefined, 5000);

      live.splice(
        live.findIndex((c) => c.name === 'cache'),
        1
      );
      emit(engine, EVENTS['cache-removed']!);
      live.splice(
        live.findIndex((c) => c.name === 'shop-worker-1'),
        1
      );
      emit(engine, EVENTS['worker-removed']!);
      await waitFor('shop-worker-1 gone', () => info(md, WORKER_IP) === undefined, 5000);

      for (const [ip, want] of Object.entries(EXPECTED)) {
        assert.deepEqual(info(md, ip), ip === '172.17.0.2' ? undefined : want, ip);
      }
      assert.deepEqual(md.store.size(), { pods: 3, podIps: 5, services: 0, nodes: 0 });
    });

    test('an engine that goes away: the last names stay, one log line; after it returns the list is current', async () => {
      const before = logs.length;
      await engine.close();
      await waitFor('the outage to be noticed', () => !md.isConnected, 5000);
      assert.ok(
        logs.slice(before).some((l) => /Docker engine at unix:\/\/.* unreachable .*IPs only until it answers/.test(l)),
        logs.slice(before).join('\n')
      );
      assert.deepEqual(info(md, '172.18.0.3'), EXPECTED['172.18.0.3']);

      // While it was down, shop-db-1 went and the worker came back.
      const after = [fixture('shop-web-1'), fixture('shop-gateway-1'), fixture('shop-worker-1')];
      engine = await startFakeDocker(after, undefined, { socketPath });
      await waitFor('reconnect', () => md.isConnected && engine.eventStreams() === 1, 10_000);
      assert.equal(info(md, '172.18.0.2'), undefined);
      assert.deepEqual(info(md, WORKER_IP), container('shop-worker-1', 'shop', 'worker'));
      assert.deepEqual(md.store.size(), { pods: 3, podIps: 5, services: 0, nodes: 0 });
      const unreachable = logs.slice(before).filter((l) => l.includes('unreachable'));
      assert.equal(unreachable.length, 1, `one line per outage, not one per retry:\n${unreachable.join('\n')}`);
    });
  });

  test('engine down at start: start() resolves, a clear log line, IPs only; names once it comes up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowlens-docker-down-'));
    const socketPath = join(dir, 'docker.sock');
    const logs: string[] = [];
    const md = await provider(`unix://${socketPath}`, (m) => logs.push(m));
    let engine: FakeDocker | undefined;
    try {
      await md.start();
      assert.equal(md.isConnected, false);
      assert.equal(info(md, '172.18.0.3'), undefined);
      assert.deepEqual(md.store.size(), { pods: 0, podIps: 0, services: 0, nodes: 0 });
      const line = logs.find((l) => l.includes('unreachable'));
      assert.ok(line, logs.join('\n'));
      assert.match(
        line,
        new RegExp(
          `^metadata: Docker engine at unix://${socketPath} unreachable \\(connect ENOENT ${socketPath}\\); flows carry IPs only until it answers, retrying with backoff$`
        )
      );

      await new Promise((r) => setTimeout(r, 1200));
      engine = await startFakeDocker(AT_START.map(fixture), undefined, { socketPath });
      // Retries at about 0.5, 1.5, 3.5 s after start: well within 8 s.
      await waitFor('recovery', () => md.isConnected, 8000);
      for (const [ip, want] of Object.entries(EXPECTED)) {
        assert.deepEqual(info(md, ip), want, ip);
      }
      assert.equal(logs.filter((l) => l.includes('unreachable')).length, 1, logs.join('\n'));
    } finally {
      await md.stop();
      await engine?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('DOCKER_HOST=tcp://127.0.0.1:PORT works the same', async () => {
    const engine = await startFakeDocker([fixture('shop-web-1'), fixture('cache')], undefined, { tcp: true });
    const md = await provider(engine.dockerHost, () => undefined);
    try {
      assert.match(engine.dockerHost, /^tcp:\/\/127\.0\.0\.1:\d+$/);
      await md.start();
      assert.deepEqual(info(md, '172.18.0.3'), EXPECTED['172.18.0.3']);
      assert.deepEqual(info(md, '172.17.0.2'), EXPECTED['172.17.0.2']);
      assert.deepEqual(md.store.size(), { pods: 2, podIps: 2, services: 0, nodes: 0 });
    } finally {
      await md.stop();
      await engine.close();
    }
  });
});
