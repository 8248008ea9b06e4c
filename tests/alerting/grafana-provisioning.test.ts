/**
 * The Grafana provisioning files validate against Grafana's documented schemas and hold together:
 * unique uids, every datasource a rule or the app names is provisioned, every template a contact
 * point uses is defined, the Grafana rules match the Prometheus rules, and no secret is committed.
 * Then provisioning as Grafana reads it at startup: provisioning/assemble.sh run for an environment
 * (with and without the Slack/SNS variables), every value expanded as Grafana expands it
 * (lib/grafana-expand.ts, after grafana/grafana pkg/services/provisioning/values/values.go) and each
 * integration checked with Grafana's own rules (lib/grafana-notifiers.ts, after grafana/alerting
 * receivers/slack/v1/config.go and receivers/sns/v1/config.go): an error there stops Grafana.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import type { z } from 'zod';
import { assembleAndCheck, checkDir } from './lib/grafana-provisioning-check.js';
import { goExpandEnv, interpolateValue } from './lib/grafana-expand.js';
import { arnParseError, slackConfigError, snsConfigError } from './lib/grafana-notifiers.js';
import {
  alertRulesFile,
  appsFile,
  contactPointsFile,
  dashboardProvidersFile,
  datasourcesFile,
  ENV_REFERENCE,
  policiesFile,
  slackSettings,
  snsSettings,
  templatesFile,
  type Route,
} from './lib/grafana-provisioning-schema.js';

const ROOT = join(__dirname, '../..');
const PROV = join(ROOT, 'provisioning');
const FIVE = [
  'FlowlensBwInAllowanceExceeded',
  'FlowlensBwOutAllowanceExceeded',
  'FlowlensPpsAllowanceExceeded',
  'FlowlensConntrackAllowanceExceeded',
  'FlowlensLinklocalAllowanceExceeded',
];
/** Per-pod alerts (issue 15): labelled namespace and pod rather than node and interface. */
const POD_ALERTS = ['FlowlensPolicyDrops'];

function load<S extends z.ZodTypeAny>(schema: S, ...path: string[]): z.infer<S> {
  const file = join(PROV, ...path);
  const result = schema.safeParse(parse(readFileSync(file, 'utf8')));
  assert.ok(result.success, `${path.join('/')}: ${result.success ? '' : JSON.stringify(result.error.issues, null, 1)}`);
  return result.data;
}
const readJson = (p: string) => JSON.parse(readFileSync(join(ROOT, p), 'utf8'));

const datasources = load(datasourcesFile, 'datasources', 'flowlens.yaml').datasources;
const apps = load(appsFile, 'plugins', 'app.yaml').apps;
const providers = load(dashboardProvidersFile, 'dashboards', 'flowlens.yaml').providers;
const groups = load(alertRulesFile, 'alerting', 'flowlens-rules.yaml').groups;
const contactPoints = [
  ...load(contactPointsFile, 'notifications', 'slack.yaml').contactPoints,
  ...load(contactPointsFile, 'notifications', 'sns.yaml').contactPoints,
];
const policies = load(policiesFile, 'notifications', 'policies.yaml').policies;
const templates = load(templatesFile, 'alerting', 'templates.yaml').templates;
const rules = groups.flatMap((g) => g.rules);

function duplicates(values: string[]): string[] {
  return values.filter((v, i) => values.indexOf(v) !== i);
}

test('datasources: fixed uids, the flows datasource type of the plugin, secrets only as environment references', () => {
  const byUid = new Map(datasources.map((d) => [d.uid, d]));
  assert.deepEqual(duplicates(datasources.map((d) => d.uid)), []);
  assert.deepEqual(duplicates(datasources.map((d) => d.name)), []);
  assert.equal(byUid.get('flowlens-prometheus')?.type, 'prometheus');
  const flows = byUid.get('flowlens-flows');
  assert.equal(flows?.type, readJson('src/datasource/plugin.json').id, 'flows datasource type is the plugin id');
  assert.equal(flows?.type, 'flowlens-flows-datasource');
  assert.match(String(flows?.jsonData?.hubUrl), ENV_REFERENCE);
  assert.deepEqual(Object.keys(flows?.secureJsonData ?? {}), ['queryToken']);
  for (const d of datasources) {
    for (const [key, value] of Object.entries(d.secureJsonData ?? {})) {
      assert.match(value, ENV_REFERENCE, `${d.name} secureJsonData.${key} must name an environment variable`);
    }
  }
  assert.ok(!datasources.some((d) => d.type === 'testdata'), 'the template testdata datasource is gone');
});

test('app: the plugin id, enabled, naming two provisioned datasources', () => {
  assert.equal(apps.length, 1);
  const app = apps[0]!;
  assert.equal(app.type, readJson('src/plugin.json').id);
  assert.equal(app.type, 'flowlens-netobs-app');
  assert.equal(app.disabled, false);
  assert.deepEqual(app.secureJsonData, undefined, 'the app needs no secret');
  const uids = new Set(datasources.map((d) => d.uid));
  assert.equal(app.jsonData?.prometheusDatasourceUid, 'flowlens-prometheus');
  assert.equal(app.jsonData?.flowsDatasourceUid, 'flowlens-flows');
  for (const [key, value] of Object.entries(app.jsonData ?? {})) {
    if (key.endsWith('DatasourceUid')) {
      assert.ok(uids.has(String(value)), `${key}=${value} is provisioned`);
    }
  }
});

test('dashboard provider: a file provider on the plugin install directory, which holds the shipped dashboards', () => {
  assert.equal(providers.length, 1);
  const p = providers[0]!;
  assert.equal(p.options.path, `/var/lib/grafana/plugins/${readJson('src/plugin.json').id}/dashboards`);
  assert.ok(
    readFileSync(join(ROOT, 'scripts/copy-dashboards.mjs'), 'utf8').includes("'../dist/dashboards/'"),
    'the build copies dashboards/ into dist/dashboards'
  );
  assert.ok(readdirSync(join(ROOT, 'dashboards')).filter((n) => n.endsWith('.json')).length >= 2);
});

test('alert rules: the five fixed names and FlowlensPolicyDrops, unique uids, resolvable datasources and refIds', () => {
  assert.deepEqual(rules.map((r) => r.title).sort(), [...FIVE, ...POD_ALERTS].sort());
  assert.deepEqual(duplicates(rules.map((r) => r.uid)), []);
  const dsUids = new Set(datasources.map((d) => d.uid));
  for (const r of rules) {
    const refIds = r.data.map((q) => q.refId);
    assert.deepEqual(duplicates(refIds), [], r.title);
    assert.ok(refIds.includes(r.condition), `${r.title}: condition ${r.condition} is a query`);
    for (const q of r.data) {
      assert.equal(q.model.refId, q.refId, `${r.title}: model.refId`);
      if (q.datasourceUid === '__expr__') {
        const input = q.model.expression;
        assert.ok(
          typeof input === 'string' && refIds.includes(input),
          `${r.title}: expression ${q.refId} reads an existing query`
        );
      } else {
        assert.equal(q.datasourceUid, 'flowlens-prometheus', `${r.title}: rules query the provisioned Prometheus`);
        assert.ok(dsUids.has(q.datasourceUid), `${r.title}: datasource ${q.datasourceUid} is provisioned`);
      }
    }
    // Labels are expanded as environment variables by Grafana: they must hold no '$'.
    for (const [k, v] of Object.entries(r.labels ?? {})) {
      assert.doesNotMatch(v, /\$/, `${r.title} label ${k}`);
    }
    assert.equal(r.noDataState, 'OK', 'a node without ENA counters is not an alert');
  }
});

test('Grafana rules match the Prometheus rules: same query, same for, same labels; annotations name node and interface (pod alerts: namespace and pod)', () => {
  const prom = readdirSync(join(PROV, 'prometheus/rules'))
    .filter((n) => n.endsWith('.yml'))
    .flatMap(
      (n) =>
        (
          parse(readFileSync(join(PROV, 'prometheus/rules', n), 'utf8')) as {
            groups: Array<{ rules: Array<Record<string, unknown>> }>;
          }
        ).groups
    )
    .flatMap((g) => g.rules);
  const dashboards = new Map<string, { panels: Array<{ id: number }> }>(
    readdirSync(join(ROOT, 'dashboards')).map((n) => {
      const d = readJson(`dashboards/${n}`);
      return [d.uid, d];
    })
  );
  for (const r of rules) {
    const p = prom.find((x) => x.alert === r.title);
    assert.ok(p, `${r.title} exists in the Prometheus rules`);
    const query = r.data.find((q) => q.datasourceUid !== '__expr__');
    assert.equal(`${query?.model.expr} > 0`, p.expr, `${r.title}: same expression`);
    assert.equal(query?.model.instant, true);
    const threshold = r.data.find((q) => q.refId === r.condition);
    assert.deepEqual(threshold?.model.conditions, [{ evaluator: { type: 'gt', params: [0] } }]);
    assert.equal(r.for, p.for);
    assert.deepEqual(r.labels, p.labels);
    assert.match(
      r.annotations?.summary ?? '',
      POD_ALERTS.includes(r.title)
        ? /\{\{ \.Labels\.namespace \}\}.*\{\{ \.Labels\.pod \}\}/
        : /\{\{ \.Labels\.node \}\}.*\{\{ \.Labels\.interface \}\}/
    );
    const dash = dashboards.get(r.annotations?.__dashboardUid__ ?? '');
    assert.ok(dash, `${r.title}: linked dashboard exists`);
    assert.ok(
      dash.panels.some((panel) => String(panel.id) === r.annotations?.__panelId__),
      `${r.title}: linked panel exists`
    );
  }
});

function routeReceivers(r: Route): string[] {
  return [...(r.receiver ? [r.receiver] : []), ...(r.routes ?? []).flatMap(routeReceivers)];
}

test('contact points: Slack and SNS in the documented schemas, secrets from the environment, templates defined', () => {
  const receivers = contactPoints.flatMap((c) => c.receivers);
  assert.deepEqual(duplicates(receivers.map((r) => r.uid)), []);
  assert.deepEqual(receivers.map((r) => r.type).sort(), ['slack', 'sns']);
  const slack = slackSettings.parse(receivers.find((r) => r.type === 'slack')?.settings);
  assert.match(slack.url ?? '', ENV_REFERENCE, 'Slack webhook URL comes from an environment variable');
  const sns = snsSettings.parse(receivers.find((r) => r.type === 'sns')?.settings);
  for (const [name, value] of Object.entries({ topic_arn: sns.topic_arn, api_url: sns.api_url, ...sns.sigv4 })) {
    assert.match(value ?? '', ENV_REFERENCE, `sns ${name} comes from an environment variable`);
  }
  const defined = new Set(
    templates.flatMap((t) => [...t.template.matchAll(/\{\{-?\s*define\s+"([^"]+)"/g)].map((m) => m[1]))
  );
  for (const value of [slack.title, slack.text, sns.subject, sns.message]) {
    const used = [...String(value).matchAll(/\{\{-?\s*template\s+"([^"]+)"/g)].map((m) => m[1]);
    assert.ok(used.length > 0, `${value} uses a Flowlens template`);
    for (const name of used) {
      assert.ok(defined.has(name), `template ${name} is provisioned`);
    }
  }
  const names = new Set(contactPoints.map((c) => c.name));
  assert.deepEqual([...names], ['Flowlens'], 'both files add an integration to the one "Flowlens" contact point');
  for (const p of policies) {
    for (const r of routeReceivers(p)) {
      assert.ok(names.has(r), `policy receiver ${r} is a provisioned contact point`);
    }
    for (const label of ['alertname', 'node', 'interface']) {
      assert.ok(p.group_by?.includes(label), `policy groups by ${label}`);
    }
  }
});

test('message templates: the same text as the Alertmanager templates, naming node, interface and counter, free of $', () => {
  assert.equal(templates.length, 1);
  const text = templates[0]!.template;
  assert.equal(text.trim(), readFileSync(join(PROV, 'alertmanager/templates/flowlens.tmpl'), 'utf8').trim());
  for (const field of ['.Labels.node', '.Labels.interface', '.Labels.counter', '.Labels.alertname']) {
    assert.ok(text.includes(field), field);
  }
  assert.doesNotMatch(text, /\$/, 'Grafana would expand a $ as an environment variable');
});

test('no secret is committed in provisioning/ or dashboards/', () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        walk(p);
      } else {
        files.push(p);
      }
    }
  };
  walk(PROV);
  walk(join(ROOT, 'dashboards'));
  const patterns: Array<[string, RegExp]> = [
    ['Slack webhook URL', /hooks\.slack\.com\/services\/[A-Z0-9]+\/[A-Z0-9]+\/[A-Za-z0-9]+/],
    ['Slack token', /xox[abpr]-[A-Za-z0-9-]{10,}/],
    ['AWS access key id', /\b(AKIA|ASIA)[A-Z0-9]{16}\b/],
    ['AWS secret key', /(secret_key|secretAccessKey|aws_secret_access_key)\s*[:=]\s*['"]?[A-Za-z0-9/+=]{40}\b/],
    ['bearer token', /Bearer\s+[A-Za-z0-9._-]{20,}/],
  ];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const [what, re] of patterns) {
      assert.doesNotMatch(text, re, `${what} in ${f}`);
    }
  }
  assert.ok(files.length > 10);
});

// ---------------------------------------------------------------- provisioning as Grafana reads it

const SLACK = { FLOWLENS_SLACK_WEBHOOK_URL: 'https://hooks.example.test/services/T0/B0/x' };
const SNS = {
  FLOWLENS_SNS_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:flowlens-alerts',
  FLOWLENS_SNS_REGION: 'us-east-1',
};

test("Grafana's expansion: $VAR, ${VAR}, $$ for a literal $, unset is empty, no ${VAR:-default}", () => {
  const env = { A: 'x', B_2: 'y' };
  assert.equal(interpolateValue('$A-${B_2}', env), 'x-y');
  assert.equal(interpolateValue('${UNSET}', env), '');
  assert.equal(interpolateValue('cost $$5 and $$A', env), 'cost $5 and $A');
  assert.equal(interpolateValue('${A:-fallback}', env), '', 'Go reads a variable named "A:-fallback"');
  assert.equal(interpolateValue('$__env{A}/$__env{NOPE}', env), 'x/');
  assert.equal(goExpandEnv('trailing $', env), 'trailing $');
  assert.equal(goExpandEnv('${}', env), '', 'Go eats bad syntax');
  assert.equal(goExpandEnv('a $ b', env), 'a $ b');
});

test("Grafana's integration rules, restated: Slack and SNS accept and refuse what Grafana does", () => {
  assert.equal(slackConfigError({ url: '' }), 'recipient must be specified when using the Slack chat API');
  assert.equal(slackConfigError({ recipient: '#a' }), 'token must be specified when using the Slack chat API');
  assert.equal(slackConfigError({ recipient: '#a', token: 'xoxb' }), null);
  assert.equal(slackConfigError({ url: SLACK.FLOWLENS_SLACK_WEBHOOK_URL }), null);
  assert.equal(slackConfigError({ url: 'http://a:b/' }), 'invalid URL "http://a:b/"');
  assert.equal(
    slackConfigError({ url: 'http://x/', mentionChannel: 'all' }),
    'invalid value for mentionChannel: "all"'
  );
  assert.equal(snsConfigError({ sigv4: {} }), 'must specify topicArn, targetArn, or phone number');
  assert.equal(snsConfigError({ topic_arn: 'flowlens-alerts' }), 'invalid topic ARN provided');
  assert.equal(snsConfigError({ topic_arn: SNS.FLOWLENS_SNS_TOPIC_ARN, sigv4: {} }), null);
  assert.equal(
    snsConfigError({ topic_arn: SNS.FLOWLENS_SNS_TOPIC_ARN, sigv4: { access_key: 'AK' } }),
    'must specify both access key and secret key'
  );
  assert.equal(
    snsConfigError({ phone_number: '+15550100', target_arn: 'arn:aws:sns:::' }),
    'invalid target ARN provided'
  );
  assert.equal(arnParseError('arn:aws:sns:us-east-1:123456789012:t:with:colons'), null);
  assert.equal(arnParseError('arn:aws:sns:us-east-1:123456789012'), 'arn: not enough sections');
});

test('the committed notification files, expanded with no variables set, are what stopped Grafana (the check is live)', () => {
  // What the old layout did: every notification file always in alerting/.
  const dir = mkdtempSync(join(tmpdir(), 'flowlens-unassembled-'));
  let notificationProblems: string[];
  try {
    cpSync(join(PROV, 'notifications'), join(dir, 'alerting'), { recursive: true });
    notificationProblems = checkDir(dir, {}).problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(
    notificationProblems.some((p) => p.includes('recipient must be specified when using the Slack chat API')),
    notificationProblems.join('\n')
  );
  assert.ok(
    notificationProblems.some((p) => p.includes('must specify topicArn, targetArn, or phone number')),
    notificationProblems.join('\n')
  );
});

test("a newcomer's Grafana (no Slack, no SNS): rules and templates load, no contact point or policy, nothing Grafana refuses", () => {
  const got = assembleAndCheck(ROOT, {});
  assert.deepEqual(got.problems, []);
  assert.deepEqual([...got.contactPoints.keys()], []);
  assert.deepEqual(got.policyReceivers, []);
  assert.deepEqual([...got.files.keys()].filter((f) => f.startsWith('alerting/')).sort(), [
    'alerting/flowlens-rules.yaml',
    'alerting/templates.yaml',
  ]);
  assert.match(got.stdout, /FLOWLENS_SLACK_WEBHOOK_URL and FLOWLENS_SNS_TOPIC_ARN are unset/);
});

test('Slack only, SNS only, both: one "Flowlens" contact point with the configured integrations, valid after expansion', () => {
  const cases: Array<[Record<string, string>, string[]]> = [
    [SLACK, ['slack']],
    [SNS, ['sns']],
    [{ ...SNS, FLOWLENS_SNS_ACCESS_KEY: 'AKEXAMPLE', FLOWLENS_SNS_SECRET_KEY: 'secret' }, ['sns']],
    [{ ...SLACK, ...SNS }, ['slack', 'sns']],
  ];
  for (const [env, types] of cases) {
    const got = assembleAndCheck(ROOT, env);
    assert.deepEqual(got.problems, [], Object.keys(env).join(','));
    assert.deepEqual([...got.contactPoints.entries()], [['Flowlens', types]]);
    assert.ok(got.policyReceivers.length > 0 && got.policyReceivers.every((r) => r === 'Flowlens'));
  }
  const slack = assembleAndCheck(ROOT, SLACK).files.get('alerting/flowlens-slack.yaml') as {
    contactPoints: Array<{ receivers: Array<{ settings: { url: string } }> }>;
  };
  assert.equal(slack.contactPoints[0]!.receivers[0]!.settings.url, SLACK.FLOWLENS_SLACK_WEBHOOK_URL, 'expanded');
});

test('a half-configured SNS (access key without secret key) is refused with the message Grafana logs', () => {
  const got = assembleAndCheck(ROOT, { ...SNS, FLOWLENS_SNS_ACCESS_KEY: 'AKEXAMPLE' });
  assert.deepEqual(got.problems, ['alerting/flowlens-sns.yaml: Flowlens: must specify both access key and secret key']);
});

test('one folder: the alert rules and the dashboards both use the folder titled "Flowlens", found by title', () => {
  const got = assembleAndCheck(ROOT, {});
  assert.deepEqual([...new Set(got.ruleFolders)], ['Flowlens']);
  assert.equal(got.dashboardFolders.length, 1);
  assert.equal(got.dashboardFolders[0]!.folder, 'Flowlens');
  // Rule provisioning finds a folder by title and creates it with a random uid
  // (pkg/services/provisioning/alerting/rules_provisioner.go getOrCreateFolderByTitle); a dashboard
  // provider with folderUid looks up only that uid (pkg/services/provisioning/dashboards/file_reader.go
  // getOrCreateFolder), so a folderUid here would create a second "Flowlens" folder.
  assert.equal(got.dashboardFolders[0]!.folderUid, undefined);
});
