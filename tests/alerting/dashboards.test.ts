/**
 * The shipped dashboards import on their own and work inside the app: fixed uids and titles, a
 * revision, every panel and target reading its datasource through a datasource variable of the right
 * plugin type, flow queries in the flows datasource's query model, and every PromQL expression
 * accepted by the real Prometheus parser (promtool) once Grafana's variables are substituted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { z } from 'zod';
import { requireBinary } from '../../agent/test/lib/privileges.js';
import { CATEGORIES, GROUP_BYS, METRICS } from '../../src/datasource/hubTypes.js';
import { QUERY_TYPES } from '../../src/datasource/types.js';
import { runBinary } from '../lib/run-binary.js';

const ROOT = join(__dirname, '../..');
const FLOWS_TYPE = 'flowlens-flows-datasource';
const DASHBOARDS = {
  'flowlens-network-performance.json': { uid: 'flowlens-network-performance', title: 'Flowlens / Network performance' },
  'flowlens-service-map.json': { uid: 'flowlens-service-map', title: 'Flowlens / Service map and top talkers' },
};

const dsRef = z.object({ type: z.string(), uid: z.string() }).strict();
const target = z.object({ refId: z.string(), datasource: dsRef.optional() }).passthrough();
const panel = z
  .object({
    id: z.number().int().positive(),
    type: z.string(),
    title: z.string().min(1),
    gridPos: z.object({
      h: z.number().int().positive(),
      w: z.number().int().positive().max(24),
      x: z.number().int().min(0).max(23),
      y: z.number().int().min(0),
    }),
    datasource: dsRef.optional(),
    targets: z.array(target).optional(),
  })
  .passthrough();
const variable = z
  .object({ name: z.string(), type: z.string(), query: z.unknown(), datasource: dsRef.optional() })
  .passthrough();
const dashboard = z
  .object({
    uid: z.string(),
    title: z.string(),
    revision: z.number().int().positive(),
    schemaVersion: z.number().int().positive(),
    panels: z.array(panel).min(1),
    templating: z.object({ list: z.array(variable) }),
  })
  .passthrough();
type Dashboard = z.infer<typeof dashboard>;

function loadDashboard(file: string): Dashboard {
  return dashboard.parse(JSON.parse(readFileSync(join(ROOT, 'dashboards', file), 'utf8')));
}

/** Datasource variable name → plugin type it selects. */
function datasourceVariables(d: Dashboard): Map<string, string> {
  return new Map(d.templating.list.filter((v) => v.type === 'datasource').map((v) => [v.name, String(v.query)]));
}

function checkRef(where: string, ref: z.infer<typeof dsRef> | undefined, vars: Map<string, string>): string {
  assert.ok(ref, `${where}: has a datasource`);
  const m = /^\$\{(\w+)\}$/.exec(ref.uid);
  assert.ok(m, `${where}: datasource uid ${ref.uid} is a variable reference, not a fixed uid`);
  const type = vars.get(m[1]!);
  assert.ok(type, `${where}: datasource variable $${m[1]} exists`);
  assert.equal(ref.type, type, `${where}: datasource type matches the variable's plugin type`);
  return type;
}

for (const [file, expected] of Object.entries(DASHBOARDS)) {
  test(`${file}: importable alone, every panel and target on a datasource variable`, () => {
    const d = loadDashboard(file);
    assert.equal(d.uid, expected.uid);
    assert.equal(d.title, expected.title);
    const ids = d.panels.map((p) => p.id);
    assert.deepEqual(
      ids.filter((id, i) => ids.indexOf(id) !== i),
      [],
      'panel ids unique'
    );
    assert.ok(!('__inputs' in d), 'no import-time inputs: datasource variables make it importable as is');
    const vars = datasourceVariables(d);
    assert.ok(vars.size >= 1);
    for (const v of d.templating.list.filter((x) => x.type === 'query')) {
      checkRef(`variable ${v.name}`, v.datasource, vars);
    }
    for (const p of d.panels.filter((x) => x.type !== 'row')) {
      const type = checkRef(`panel ${p.id} "${p.title}"`, p.datasource, vars);
      assert.ok((p.targets ?? []).length > 0, `panel ${p.id} has queries`);
      for (const t of p.targets ?? []) {
        assert.equal(checkRef(`panel ${p.id} target ${t.refId}`, t.datasource, vars), type);
        if (type === 'prometheus') {
          assert.equal(typeof t.expr, 'string', `panel ${p.id} target ${t.refId} has a PromQL expr`);
        }
        if (type === FLOWS_TYPE) {
          assert.ok((QUERY_TYPES as readonly string[]).includes(String(t.queryType)), `queryType ${t.queryType}`);
          if (t.metric !== undefined) {
            assert.ok((METRICS as readonly string[]).includes(String(t.metric)), `metric ${t.metric}`);
          }
          if (t.groupBy !== undefined) {
            assert.ok((GROUP_BYS as readonly string[]).includes(String(t.groupBy)), `groupBy ${t.groupBy}`);
          }
          for (const c of (t.categories as string[] | undefined) ?? []) {
            assert.ok((CATEGORIES as readonly string[]).includes(c), `category ${c}`);
          }
        }
      }
    }
  });
}

test('network performance dashboard: the panels the CNS417 dashboard shows, on the metric contract', () => {
  const d = loadDashboard('flowlens-network-performance.json');
  const exprs = d.panels.flatMap((p) => (p.targets ?? []).map((t) => String(t.expr)));
  for (const metric of [
    'flowlens_pod_ingress_bytes_total',
    'flowlens_pod_egress_bytes_total',
    'flowlens_pod_ingress_flows_total',
    'flowlens_pod_egress_flows_total',
    'flowlens_pod_ingress_packets_total',
    'flowlens_pod_egress_packets_total',
    'flowlens_pod_tcp_retransmits_total',
    'flowlens_pod_tcp_rtos_total',
    // Issue 15: why connections and packets fail (the agent's per-pod failure metrics).
    'flowlens_pod_drops_total',
    'flowlens_pod_tcp_connect_failures_total',
    'flowlens_pod_tcp_resets_total',
    'flowlens_ena_bw_in_allowance_exceeded_total',
    'flowlens_ena_bw_out_allowance_exceeded_total',
    'flowlens_ena_pps_allowance_exceeded_total',
    'flowlens_ena_conntrack_allowance_exceeded_total',
    'flowlens_ena_linklocal_allowance_exceeded_total',
    'flowlens_ena_conntrack_allowance_available',
  ]) {
    assert.ok(
      exprs.some((e) => e.includes(metric)),
      `a panel shows ${metric}`
    );
  }
  const titles = d.panels.map((p) => p.title);
  assert.ok(titles.includes('Top 10 pods by ingress bandwidth') && titles.includes('Top 10 pods by egress bandwidth'));
  assert.ok(exprs.filter((e) => e.startsWith('topk(10,')).length >= 2);
});

test('service map dashboard: a Node Graph on the flows datasource and top-talker tables', () => {
  const d = loadDashboard('flowlens-service-map.json');
  const graph = d.panels.find((p) => p.type === 'nodegraph');
  assert.equal(graph?.targets?.[0]?.queryType, 'serviceMap');
  assert.ok(d.panels.filter((p) => p.type === 'table' && p.targets?.[0]?.queryType === 'topTalkers').length >= 3);
});

test('every dashboard PromQL expression parses in the real Prometheus (promtool)', async (t) => {
  const PROMTOOL = '/usr/bin/promtool';
  if (!requireBinary(t, PROMTOOL)) {
    return;
  }
  const rules: Array<{ record: string; expr: string }> = [];
  for (const file of Object.keys(DASHBOARDS)) {
    const d = loadDashboard(file);
    for (const p of d.panels) {
      for (const target of p.targets ?? []) {
        if (typeof target.expr === 'string') {
          const expr = target.expr.replace(/\$__rate_interval|\$__interval/g, '1m').replace(/\$\{?(\w+)\}?/g, '.*');
          rules.push({ record: `dashboard:panel_${p.id}_${target.refId}`, expr });
        }
      }
    }
  }
  assert.ok(rules.length >= 14);
  const dir = mkdtempSync(join(tmpdir(), 'flowlens-dash-promql-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'dashboard-exprs.yml');
  writeFileSync(file, stringify({ groups: [{ name: 'dashboard-exprs', rules }] }));
  const r = await runBinary(PROMTOOL, ['check', 'rules', file]);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
});
