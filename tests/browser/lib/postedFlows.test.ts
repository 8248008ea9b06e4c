// The browser tests' ground truth, on the fixture reports (three nodes; frontend → cart is seen by both ends).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtureReports } from '../../lib/report-fixtures';
import { flowKey, postedEdges, postedFlows, postedNamespaces, postedPods } from './postedFlows';

test('both ends of a flow count once, per direction the larger view; a one-ended flow keeps its own', () => {
  const reports = fixtureReports();
  const flows = postedFlows(reports, 'east');
  const cart = flows.find((f) => flowKey(f) === 'east 10.1.1.10 → 10.1.2.20:8080');
  assert.deepEqual(cart, {
    cluster: 'east',
    clientIp: '10.1.1.10',
    serverIp: '10.1.2.20',
    serverPort: 8080,
    bytes: 600_000,
  });
  // The server end saw less (a window it missed): the client's larger view stands, direction by direction.
  const a2 = reports.find((r) => r.node === 'node-a2')!;
  a2.flows[0] = { ...a2.flows[0]!, bytesReceived: 100_000, bytesSent: 500_000 };
  assert.equal(postedFlows(reports, 'east').find((f) => f.serverPort === 8080)!.bytes, 120_000 + 500_000);
  const external = flows.find((f) => f.serverIp === '198.51.100.7');
  assert.equal(external?.bytes, 9_030_000, 'one end only: its own counts');
});

test('clusters never share a flow or a node; ids are prefixed outside default', () => {
  const east = fixtureReports();
  const west = fixtureReports().map((r) => ({ ...r, cluster: 'west' }));
  const flows = postedFlows([...east, ...west], 'east');
  assert.equal(flows.length, 2 * postedFlows(east, 'east').length);
  const pods = postedPods([...east, ...west], 'east');
  assert.deepEqual(postedNamespaces(pods, 'west'), ['ops', 'shop']);
  const edges = postedEdges(flows, pods);
  assert.ok(
    edges.some((e) => e.source === 'west/shop/frontend' && e.target === 'west/shop/cart' && e.bytes === 600_000)
  );
  assert.ok(edges.some((e) => e.source === 'east/ops/backup' && e.target === 'east/198.51.100.7'));
  assert.ok(edges.every((e) => e.source.split('/')[0] === e.target.split('/')[0]));
  const podEdges = postedEdges(flows, pods, 'pod');
  assert.ok(
    podEdges.some((e) => e.source === 'west/shop/frontend-7d9f8-abcde' && e.target === 'west/shop/cart-5c4b6-fghij')
  );
  assert.equal(
    podEdges.reduce((n, e) => n + e.bytes, 0),
    edges.reduce((n, e) => n + e.bytes, 0),
    'the same bytes per pod as per workload'
  );
  assert.deepEqual(
    postedEdges(postedFlows(east, 'default'), postedPods(east, 'default')).map((e) => e.source),
    ['ops/backup', 'shop/frontend', 'shop/frontend', 'shop/frontend', 'shop/frontend']
  );
});

test('a flow through a Service is refused: its names need the hub', () => {
  const [r] = fixtureReports();
  r!.flows[0] = { ...r!.flows[0]!, via: { ip: '10.96.0.20', port: 80 } };
  assert.throws(() => postedFlows([r!], 'east'), /via/);
});
