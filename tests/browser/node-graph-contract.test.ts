/**
 * The Node Graph stand-in's contract checks (tests/browser/app/nodeGraphContract.ts): the app's own service map
 * frames keep Grafana's Node Graph field contract, and each way of breaking it is named.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FieldType, createDataFrame, type DataFrame } from '@grafana/data';
import { buildServiceMapFrames } from '../../src/frames/serviceMapFrames';
import { nodeGraphViolations } from './app/nodeGraphContract';

const map = {
  nodes: [
    { id: 'shop/frontend', title: 'frontend', namespace: 'shop', kind: 'Deployment' },
    { id: 'shop/cart', title: 'cart', namespace: 'shop', kind: 'Deployment' },
  ],
  edges: [
    { id: 'e1', source: 'shop/frontend', target: 'shop/cart', bytes: 600_000, retransmits: 7, rtos: 1, rttUs: 220 },
  ],
};

const withField = (frame: DataFrame, name: string, values: unknown[], type = FieldType.string): DataFrame => ({
  ...frame,
  fields: [...frame.fields.filter((f) => f.name !== name), { name, type, values, config: {} }],
});

test('the app’s service map frames keep the Node Graph contract', () => {
  const frames = buildServiceMapFrames(map as never, { nodeLink: () => '/x', edgeLink: () => '/y' });
  assert.deepEqual(nodeGraphViolations(frames), []);
});

test('each broken rule is named', () => {
  const [nodes, edges] = buildServiceMapFrames(map as never);
  assert.deepEqual(nodeGraphViolations([nodes!]), ['no edges frame']);
  assert.match(
    nodeGraphViolations([nodes!, withField(edges!, 'target', ['nowhere'])]).join(),
    /target "nowhere" is no node/
  );
  assert.match(nodeGraphViolations([withField(nodes!, 'id', ['a', 'a']), edges!]).join(), /id a repeats/);
  assert.match(
    nodeGraphViolations([withField(nodes!, 'arc__lossy', [0.9, 0.9], FieldType.number), edges!]).join(),
    /arcs sum to/
  );
  assert.match(
    nodeGraphViolations([withField(nodes!, 'mainstat', ['1', '2']), edges!]).join(),
    /nodes.mainstat is string/
  );
  const plain = createDataFrame({ fields: [{ name: 'id', type: FieldType.string, values: ['a'] }] });
  assert.match(nodeGraphViolations([plain, nodes!, edges!]).join(), /without preferredVisualisationType/);
});
