import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import * as promClient from 'prom-client';
import { Counter, Gauge, Histogram, Registry } from './prom-client.js';

test('the classes are the very ones the package index exports', () => {
  assert.equal(Registry, promClient.Registry);
  assert.equal(Counter, promClient.Counter);
  assert.equal(Gauge, promClient.Gauge);
  assert.equal(Histogram, promClient.Histogram);
});

test('they work together: a counter in a registry renders as OpenMetrics', async () => {
  const registry = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const c = new Counter({ name: 'probe_total', help: 'a probe', labelNames: ['k'], registers: [registry] });
  c.inc({ k: 'v' }, 3);
  assert.match(await registry.metrics(), /^probe_total\{k="v"\} 3$/m);
});

test("the agent's metrics load none of the package's unused parts (default metrics, Pushgateway, cluster)", () => {
  // a fresh node: this test process has loaded the whole package above
  const index = new URL('./index.ts', import.meta.url).href;
  const script =
    `import { createRequire } from 'node:module'; await import(${JSON.stringify(index)});` +
    `const require = createRequire(import.meta.url);` +
    `process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const loaded = (JSON.parse(r.stdout) as string[]).filter((p) => p.includes('/node_modules/'));
  assert.ok(
    loaded.some((p) => p.includes('/prom-client/lib/registry.js')),
    `the registry is loaded: ${loaded.join(', ')}`
  );
  const unused = loaded.filter((p) =>
    /\/prom-client\/(index\.js|lib\/(defaultMetrics|pushgateway|cluster)\.js)$|\/@opentelemetry\//.test(p)
  );
  assert.deepEqual(unused, []);
});
