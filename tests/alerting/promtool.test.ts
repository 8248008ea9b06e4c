/**
 * The shipped Prometheus configuration and rule files pass Debian's real promtool: syntax and rule
 * checks, and the unit tests in provisioning/prometheus/tests (firing and quiet cases at 15 s and 1 m
 * scrape intervals).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireBinary } from '../../agent/test/lib/privileges.js';
import { runBinary } from '../lib/run-binary.js';

const PROMTOOL = '/usr/bin/promtool';
const ROOT = join(__dirname, '../..');
const PROM_DIR = join(ROOT, 'provisioning/prometheus');
const ruleFiles = readdirSync(join(PROM_DIR, 'rules'))
  .filter((n) => n.endsWith('.yml'))
  .map((n) => join(PROM_DIR, 'rules', n));
const unitTestFiles = readdirSync(join(PROM_DIR, 'tests'))
  .filter((n) => n.endsWith('.yml'))
  .map((n) => join(PROM_DIR, 'tests', n));

function explain(r: { stdout: string; stderr: string }): string {
  return `${r.stdout}\n${r.stderr}`;
}

test('promtool check rules accepts every shipped rule file', async (t) => {
  if (!requireBinary(t, PROMTOOL)) {
    return;
  }
  assert.ok(ruleFiles.length >= 2, 'rule files present');
  const r = await runBinary(PROMTOOL, ['check', 'rules', ...ruleFiles]);
  assert.equal(r.code, 0, explain(r));
  assert.doesNotMatch(explain(r), /FAILED/);
});

test('promtool check config accepts the example prometheus.yml (and the rule files it loads)', async (t) => {
  if (!requireBinary(t, PROMTOOL)) {
    return;
  }
  const r = await runBinary(PROMTOOL, ['check', 'config', join(PROM_DIR, 'prometheus.yml')]);
  assert.equal(r.code, 0, explain(r));
  assert.match(r.stdout, /SUCCESS: 3 rule files found/);
});

test('promtool test rules passes the shipped unit tests', async (t) => {
  if (!requireBinary(t, PROMTOOL)) {
    return;
  }
  assert.ok(unitTestFiles.length >= 2, 'unit test files present');
  const r = await runBinary(PROMTOOL, ['test', 'rules', ...unitTestFiles], { cwd: PROM_DIR });
  assert.equal(r.code, 0, explain(r));
  assert.equal((r.stdout.match(/SUCCESS/g) ?? []).length, unitTestFiles.length, explain(r));
});

test('the five ENA alerts: fixed names, one counter each, labelled node and interface, windows that hold two 1m scrapes', async () => {
  const { parse } = await import('yaml');
  const alerts = ruleFiles
    .flatMap(
      (f) =>
        (
          parse(readFileSync(f, 'utf8')) as {
            groups: Array<{ rules: Array<{ alert?: string; expr: string; labels?: Record<string, string> }> }>;
          }
        ).groups
    )
    .flatMap((g) => g.rules)
    .filter((r) => r.alert);
  const five: Record<string, string> = {
    FlowlensBwInAllowanceExceeded: 'bw_in',
    FlowlensBwOutAllowanceExceeded: 'bw_out',
    FlowlensPpsAllowanceExceeded: 'pps',
    FlowlensConntrackAllowanceExceeded: 'conntrack',
    FlowlensLinklocalAllowanceExceeded: 'linklocal',
  };
  for (const [name, counter] of Object.entries(five)) {
    const rule = alerts.find((a) => a.alert === name);
    assert.ok(rule, `${name} is shipped`);
    assert.match(
      rule.expr,
      new RegExp(
        `^sum by \\(node, interface\\) \\(increase\\(flowlens_ena_${counter}_allowance_exceeded_total\\[(\\d+)m\\]\\)\\) > 0$`
      )
    );
    const minutes = Number(/\[(\d+)m\]/.exec(rule.expr)?.[1]);
    assert.ok(minutes >= 2, `${name}: a ${minutes}m window holds at least two samples at a 1m scrape interval`);
    assert.equal(rule.labels?.counter, `${counter}_allowance_exceeded`);
  }
});
