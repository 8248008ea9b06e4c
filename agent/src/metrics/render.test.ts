import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetadataStore } from '../metadata/store.js';
import { Exporter } from './exporter.js';
import { negotiateFormat } from './render.js';
import { flow, tick } from './testing.js';

test('Accept negotiation: OpenMetrics by default, Prometheus text only when preferred', () => {
  assert.equal(negotiateFormat(undefined), 'openmetrics');
  assert.equal(negotiateFormat('*/*'), 'openmetrics');
  assert.equal(negotiateFormat('text/plain'), 'prometheus');
  assert.equal(negotiateFormat('text/plain;version=0.0.4'), 'prometheus');
  // Prometheus 2.x scrape header
  assert.equal(
    negotiateFormat(
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
    ),
    'openmetrics'
  );
  assert.equal(negotiateFormat('application/openmetrics-text;q=0.2, text/plain;q=0.9'), 'prometheus');
  assert.equal(negotiateFormat('text/plain;q=0.1, */*;q=0.5'), 'openmetrics');
});

test('both formats keep the _total counter names, in any order of renders', async () => {
  const metadata = new MetadataStore();
  metadata.setPod('u1', [
    { ip: '10.0.0.1', name: 'web-1', namespace: 'shop', workload: 'web', kind: 'Deployment', node: 'n1' },
  ]);
  const exporter = new Exporter({ node: 'n1', metadata, podGraceMs: 1000 });
  exporter.onTick(tick([flow({ localIp: '10.0.0.1', direction: 'client', bytesSent: 5 })]));
  const line = 'flowlens_pod_egress_bytes_total{namespace="shop",pod="web-1",workload="web",node="n1"} 5';
  for (const format of ['openmetrics', 'prometheus', 'openmetrics', 'prometheus'] as const) {
    const text = await exporter.render(format);
    assert.ok(text.includes(line), `${format} output lacks ${line}:\n${text}`);
    if (format === 'openmetrics') {
      assert.ok(text.endsWith('# EOF\n'));
      assert.ok(text.includes('# TYPE flowlens_pod_egress_bytes counter'));
    } else {
      assert.ok(!text.includes('# EOF'));
      assert.ok(text.includes('# TYPE flowlens_pod_egress_bytes_total counter'));
    }
  }
});
