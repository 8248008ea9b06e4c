/**
 * End to end on a "Docker host": the real `flowlens-agent node --stdout` (eBPF) with DOCKER_HOST pointing at the
 * Docker Engine API stand-in, whose fixture containers (tests/fixtures/docker/) are given the addresses of test
 * hosts in network namespaces. The local side of each flow is named after its container (compose project and
 * service), an address no container has stays IPs only, and the bytes are the traffic generator's.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { FlowRecord } from '../../agent/src/contracts/report.js';
import { bpfArtifactPaths, startAgent, sumFlows, type AgentHandle } from '../../agent/test/lib/agent-process.js';
import { createStar, type Star } from '../../agent/test/lib/netns.js';
import { requireBinary, requireKernel } from '../../agent/test/lib/privileges.js';
import { runClient, startServer, type TrafficServer } from '../../agent/test/lib/traffic.js';
import { dockerFixtureContainers, readdress } from '../lib/docker-fixtures.js';
import { startFakeDocker, type FakeDocker } from '../lib/fake-docker-engine.js';
import { waitFor } from '../lib/wait.js';

const NODE = 'docker-host-e2e';
const PORT = 20000 + Math.floor(Math.random() * 20000);
const REPLY = 500;
const UPLOAD = 1_000_000;

let star: Star | undefined;
let agent: AgentHandle | undefined;
let server: TrafficServer | undefined;
let engine: FakeDocker | undefined;
let dir: string | undefined;

after(async () => {
  await agent?.stop('SIGKILL');
  await server?.close();
  await engine?.close();
  await star?.cleanup();
  if (dir) {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flowlens-agent node names the local side of flows after Docker containers', { timeout: 90_000 }, async (t) => {
  if (!requireKernel(t) || !bpfArtifactPaths().every((p) => requireBinary(t, p))) {
    return;
  }
  assert.ok(bpfArtifactPaths().every((p) => existsSync(p)));
  star = await createStar(2);
  const [compose, plain] = star.clients as [Star['clients'][0], Star['clients'][0]];

  // shop-web-1 is the first client, shop-db-1 the server end of its link; cache (default bridge) the second
  // client. The server end of the second link belongs to no container. node-exporter (host network) has no IP.
  const fx = dockerFixtureContainers();
  const containers = [
    readdress(fx.get('shop-web-1')!, '172.18.0.3', compose.clientIp),
    readdress(fx.get('shop-db-1')!, '172.18.0.2', compose.serverIp),
    readdress(fx.get('cache')!, '172.17.0.2', plain.clientIp),
    fx.get('node-exporter')!,
  ];
  dir = mkdtempSync(join(tmpdir(), 'flowlens-docker-e2e-'));
  engine = await startFakeDocker(containers, undefined, { socketPath: join(dir, 'docker.sock') });

  server = await startServer(star.server, '0.0.0.0', PORT, REPLY);
  agent = await startAgent(['--collect-interval', '1', '--report-interval', '1'], {
    NODE_NAME: NODE,
    DOCKER_HOST: engine.dockerHost,
    FLOWLENS_METADATA: '',
    KUBERNETES_SERVICE_HOST: '',
    KUBECONFIG: '',
    FLOWLENS_METADATA_FILE: '',
  });
  await waitFor('the engine list', () => agent!.stderr().includes('answers: 3 containers with an IP'), 10_000);
  assert.match(agent.stderr(), new RegExp(`metadata: Docker containers \\(${engine.dockerHost}\\)`));

  const upload = (link: Star['clients'][0]) =>
    runClient(link.ns, ['upload', '--bytes', String(UPLOAD), '--host', link.serverIp, '--port', String(PORT)]);
  const [a, b] = await Promise.all([upload(compose), upload(plain)]);
  assert.equal(a.sent, UPLOAD);
  assert.equal(b.sent, UPLOAD);

  const at = (ip: string) => (f: FlowRecord) => f.localIp === ip && (f.localPort === PORT || f.remotePort === PORT);
  const ends = [compose.clientIp, compose.serverIp, plain.clientIp, plain.serverIp];
  // Bytes of a receiving socket can land a tick later (docs/agent.md), so wait for the exact totals.
  await waitFor(
    'every end to report its full upload',
    () =>
      ends.every((ip, i) => {
        const s = sumFlows(agent!.reports, at(ip));
        return s !== null && (i % 2 === 0 ? s.bytesSent === UPLOAD : s.bytesReceived === UPLOAD);
      }),
    20_000,
    200
  );
  assert.equal(await agent.stop('SIGTERM'), 0, agent.stderr());

  const localOf = (ip: string) => {
    const named = new Set(agent!.reports.flatMap((r) => r.flows.filter(at(ip)).map((f) => JSON.stringify(f.local))));
    assert.equal(named.size, 1, `${ip}: one local name in every report, got ${[...named].join(' ')}`);
    return JSON.parse([...named][0]!) as FlowRecord['local'];
  };
  assert.deepEqual(localOf(compose.clientIp), {
    namespace: 'shop',
    pod: 'shop-web-1',
    workload: 'web',
    kind: 'Container',
  });
  assert.deepEqual(localOf(compose.serverIp), {
    namespace: 'shop',
    pod: 'shop-db-1',
    workload: 'db',
    kind: 'Container',
  });
  assert.deepEqual(localOf(plain.clientIp), {
    namespace: 'docker',
    pod: 'cache',
    workload: 'cache',
    kind: 'Container',
  });
  assert.equal(localOf(plain.serverIp), null);

  const web = sumFlows(agent.reports, at(compose.clientIp))!;
  assert.equal(web.bytesSent, UPLOAD);
  assert.equal(web.bytesReceived, REPLY);
  assert.equal(web.remoteIp, compose.serverIp);
  const db = sumFlows(agent.reports, at(compose.serverIp))!;
  assert.equal(db.bytesReceived, UPLOAD);
  assert.equal(db.bytesSent, REPLY);
});
