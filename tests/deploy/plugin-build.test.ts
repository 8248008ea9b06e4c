/**
 * The README's product command builds on a machine with only Docker and Node: its host build step
 * (the `npm run …` between `npm ci` and `docker compose`) runs here with no BPF toolchain on PATH
 * (PATH holds only node, npm and a shell) and no kernel BTF (/sys/kernel/btf hidden under an empty
 * tmpfs in a private mount namespace), and produces the plugin Grafana mounts. The same environment
 * refuses the BPF build, so the environment really lacks what the BPF objects need. Then
 * `npm run package`'s zip is checked the way `grafana cli --pluginUrl` unpacks it.
 * Needs root (unshare -m); skips with the reason on a laptop, fails under CI=true.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { REPO_ROOT } from '../../deploy/tools/k8s-tools.js';
import { packagePlugin } from '../../deploy/tools/package-plugin.js';

function requireRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) {
    return true;
  }
  const problem = 'needs root (a private mount namespace hides /sys/kernel/btf)';
  if (process.env.CI === 'true') {
    throw new Error(`test cannot run under CI: ${problem}`);
  }
  t.skip(problem);
  return false;
}

/** The README's product command, and its host build step. */
function productCommand(): { line: string; hostBuild: string } {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const line = /^npm ci && (npm run [\w:-]+) && docker compose up -d --build$/m.exec(readme);
  assert.ok(line, 'README has the product command `npm ci && npm run … && docker compose up -d --build`');
  return { line: line[0], hostBuild: line[1]! };
}

/** A bin directory with node, npm and sh only, and the namespaced shell that hides kernel BTF. */
function bareHost(): { bin: string; run: (cmd: string) => ReturnType<typeof spawnSync> } {
  const bin = mkdtempSync(join(tmpdir(), 'flowlens-bare-bin-'));
  const nodeDir = dirname(process.execPath);
  for (const [name, target] of [
    ['node', process.execPath],
    ['npm', join(nodeDir, 'npm')],
    ['sh', '/bin/sh'],
  ] as const) {
    symlinkSync(target, join(bin, name));
  }
  const run = (cmd: string) =>
    spawnSync(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '/bin/sh',
        '-c',
        // Hide the kernel's BTF, then drop to the bare PATH for the command itself.
        'mount -t tmpfs -o ro,size=4k none /sys/kernel/btf && exec env -i PATH="$BARE_PATH" HOME="$HOME" sh -c "$0"',
        cmd,
      ],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, BARE_PATH: bin, HOME: process.env.HOME ?? '/root' },
        encoding: 'utf8',
        timeout: 540_000,
        maxBuffer: 64 * 1024 * 1024,
      }
    );
  return { bin, run };
}

test('the README product command’s host step builds the plugin with no clang/bpftool/libbpf and no kernel BTF', async (t) => {
  if (!requireRoot(t)) {
    return;
  }
  const { hostBuild } = productCommand();
  assert.equal(hostBuild, 'npm run build:plugin', 'the host builds only the plugin; the images build the BPF objects');
  const { bin, run } = bareHost();
  try {
    const probe = run(
      'for b in clang llc bpftool pkg-config make cc; do command -v $b && exit 1; done; test ! -e /sys/kernel/btf/vmlinux && echo bare'
    );
    assert.equal(probe.status, 0, `${probe.stdout}${probe.stderr}`);
    assert.equal(String(probe.stdout).trim(), 'bare');
    // The check is live: the BPF build cannot run in this environment.
    const bpf = run('npm run build:bpf -w agent');
    assert.notEqual(bpf.status, 0, 'the BPF build should fail without its toolchain');

    // webpack leaves an unchanged asset unwritten (compareBeforeEmit), so remove the bundle to see it rebuilt.
    rmSync(join(REPO_ROOT, 'dist/module.js'), { force: true });
    const build = run(hostBuild);
    assert.equal(build.status, 0, `${String(build.stdout).slice(-3000)}\n${String(build.stderr).slice(-3000)}`);
    for (const f of ['module.js', 'plugin.json', 'datasource/plugin.json', 'dashboards']) {
      assert.ok(existsSync(join(REPO_ROOT, 'dist', f)), `dist/${f}`);
    }
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test('npm run package: one folder named after the plugin id, as grafana cli --pluginUrl installs it', (t) => {
  if (!existsSync(join(REPO_ROOT, 'dist/module.js'))) {
    if (process.env.CI === 'true') {
      throw new Error('dist/ is not built');
    }
    t.skip('dist/ is not built (npm run build:plugin)');
    return;
  }
  const out = mkdtempSync(join(tmpdir(), 'flowlens-package-out-'));
  try {
    const p = packagePlugin(join(REPO_ROOT, 'dist'), out);
    assert.equal(p.id, 'flowlens-netobs-app');
    assert.match(p.zip, /flowlens-netobs-app-\d+\.\d+\.\d+.*\.zip$/);
    const entries = execFileSync('unzip', ['-Z1', p.zip], { encoding: 'utf8' }).trim().split('\n');
    // Grafana's installer refuses entries outside the plugin folder (zip slip) and needs plugin.json at its root.
    for (const e of entries) {
      assert.ok(e.startsWith(`${p.id}/`) && !e.split('/').includes('..'), e);
    }
    for (const f of ['plugin.json', 'module.js', 'datasource/plugin.json', 'dashboards/flowlens-service-map.json']) {
      assert.ok(entries.includes(`${p.id}/${f}`), `${f} missing from the zip`);
    }
    const unpacked = join(out, 'unpacked');
    execFileSync('unzip', ['-q', p.zip, '-d', unpacked]);
    const plugin = JSON.parse(readFileSync(join(unpacked, p.id, 'plugin.json'), 'utf8'));
    assert.equal(plugin.id, p.id);
    assert.equal(plugin.info.version, p.version);
    assert.equal(readFileSync(`${p.zip}.sha256`, 'utf8').split(' ')[0], p.sha256);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
