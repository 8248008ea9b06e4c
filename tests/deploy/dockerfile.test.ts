/**
 * deploy/docker/agent.Dockerfile, checked without a Docker engine: pinned base images, the stages
 * compose builds, sources that exist, and nothing fetched from the network outside the build.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';
import { dockerfileBaseImages, dockerfileStages, imageIsPinned } from '../lib/compose-model.js';

const DOCKERFILE = join(REPO_ROOT, 'deploy/docker/agent.Dockerfile');
const text = readFileSync(DOCKERFILE, 'utf8');
const stages = dockerfileStages(text);

/** Instructions of one stage, continuation lines joined. */
function stageBody(name: string): string {
  const joined = text.replace(/\\\n/g, ' ');
  const start = joined.search(new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${name}\\s*$`, 'im'));
  assert.ok(start >= 0, `no stage ${name}`);
  const rest = joined.slice(start + 1);
  const next = rest.search(/^FROM\s/im);
  return next < 0 ? rest : rest.slice(0, next);
}

test('every base image is a pinned exact tag or an earlier stage', () => {
  const bases = dockerfileBaseImages(text);
  assert.ok(bases.length >= 5);
  for (const base of bases) {
    assert.ok(stages.has(base.toLowerCase()) || imageIsPinned(base), `FROM ${base} is not pinned`);
  }
});

test('the stages compose builds exist: agent, demo, cluster-tool', () => {
  for (const s of ['agent', 'demo', 'cluster-tool']) {
    assert.ok(stages.has(s), s);
  }
});

test('the agent image carries the BPF object, its loader, ethtool and bpftool, and runs flowlens-agent', () => {
  const agent = stageBody('agent');
  assert.match(agent, /COPY --from=build \/src\/agent\/bpf\/flowlens\.bpf\.o/);
  assert.match(agent, /flowlens-loader/);
  assert.match(agent, /\bethtool\b/);
  assert.match(agent, /\bbpftool\b/);
  assert.match(agent, /ENTRYPOINT \[.*"flowlens-agent"\]/);
  const build = stageBody('build');
  assert.match(build, /make -C agent\/bpf\b/, 'the BPF objects are built inside the image');
  assert.match(build, /\bclang\b/);
  assert.match(build, /\blibbpf-dev\b/);
  assert.match(build, /\bbpftool\b/);
  assert.doesNotMatch(text, /\/sys\/kernel\/btf|BTF=/, 'the image build needs no kernel BTF from the build host');
  assert.match(build, /npm ci\b/, 'dependencies come from the lockfile');
});

test('runtime stages download nothing; only the tools stage fetches, and verifies checksums', () => {
  for (const s of ['agent', 'demo', 'cluster-tool', 'prod-deps']) {
    assert.doesNotMatch(stageBody(s), /\b(curl|wget)\b/, `${s} downloads at build or run time`);
  }
  const tools = stageBody('tools');
  const downloads = [...tools.matchAll(/curl -fsSLo (\S+)/g)].map((m) => m[1]);
  assert.deepEqual(downloads, ['kind', 'kind.sha256', 'kubectl', 'kubectl.sha256', 'helm.tgz', 'helm.sha256']);
  assert.equal([...tools.matchAll(/sha256sum -c -/g)].length, 3);
  for (const v of ['KIND_VERSION=v', 'KUBECTL_VERSION=v', 'HELM_VERSION=v']) {
    assert.match(tools, new RegExp(`ARG ${v}\\d+\\.\\d+\\.\\d+\\b`), `${v} is not an exact version`);
  }
});

test('every COPY from the build context names a path that exists in the repository', () => {
  const copies = [...text.matchAll(/^COPY\s+(?!--from)(.+)$/gm)]
    .map((m) => m[1]!.trim().split(/\s+/).slice(0, -1))
    .flat();
  assert.ok(copies.length >= 6);
  for (const src of copies) {
    assert.ok(existsSync(join(REPO_ROOT, src)), `COPY ${src}: not in the repository`);
  }
});

test('the cluster tool gets a current Docker CLI from the official image, pinned by digest; not Debian docker.io', () => {
  const tool = stageBody('cluster-tool')
    .split('\n')
    .filter((l) => !l.trim().startsWith('#'))
    .join('\n');
  assert.doesNotMatch(tool, /docker\.io|apt-get/, 'Debian docker.io is 20.10 (API 1.41): Docker Engine 29 refuses it');
  const m = /COPY --from=docker:(\d+)\.(\d+)\.(\d+)-cli@sha256:[0-9a-f]{64} \/usr\/local\/bin\/docker /.exec(tool);
  assert.ok(m, 'COPY --from=docker:X.Y.Z-cli@sha256:… /usr/local/bin/docker');
  assert.ok(Number(m[1]) >= 25, `docker CLI ${m[1]} predates API 1.44`);
});

test('every COPY --from an image (not a stage) is pinned', () => {
  for (const m of text.matchAll(/^COPY --from=(\S+)/gm)) {
    const from = m[1]!;
    if (!stages.has(from.toLowerCase())) {
      assert.ok(imageIsPinned(from), `COPY --from=${from} is not pinned`);
    }
  }
});
