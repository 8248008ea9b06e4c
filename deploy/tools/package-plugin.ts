/**
 * `npm run package`: the plugin zip that `grafana cli --pluginUrl <url> plugins install flowlens-netobs-app`
 * installs and that Grafana's plugin validator checks: dist/ (from `npm run build:plugin`) under one
 * top-level folder named after the plugin id, as Grafana's packaging guide lays it out, written to
 * artifacts/<id>-<version>.zip with a .sha256 beside it. Uses the `zip` command (Debian's zip package,
 * present on macOS and GitHub's runners).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './k8s-tools.js';

export interface PackagedPlugin {
  id: string;
  version: string;
  zip: string;
  sha256: string;
}

/** Zips `distDir` as <id>/… into `outDir`. Refuses a dist that is not a finished build. */
export function packagePlugin(
  distDir = join(REPO_ROOT, 'dist'),
  outDir = join(REPO_ROOT, 'artifacts')
): PackagedPlugin {
  const pluginJson = join(distDir, 'plugin.json');
  if (!existsSync(pluginJson) || !existsSync(join(distDir, 'module.js'))) {
    throw new Error(`${relative(REPO_ROOT, distDir) || distDir} has no built plugin: run npm run build:plugin first`);
  }
  const { id, info } = JSON.parse(readFileSync(pluginJson, 'utf8')) as { id: string; info: { version: string } };
  if (!/^\d+\.\d+\.\d+/.test(info.version)) {
    throw new Error(`dist/plugin.json version is "${info.version}": the build did not fill it in`);
  }
  const stage = mkdtempSync(join(tmpdir(), 'flowlens-package-'));
  try {
    cpSync(distDir, join(stage, id), { recursive: true });
    mkdirSync(outDir, { recursive: true });
    const zip = join(outDir, `${id}-${info.version}.zip`);
    rmSync(zip, { force: true });
    // -X: no extra file attributes (uid/gid), so the same dist gives the same archive content.
    execFileSync('zip', ['-q', '-r', '-X', zip, id], { cwd: stage });
    const sha256 = createHash('sha256').update(readFileSync(zip)).digest('hex');
    writeFileSync(`${zip}.sha256`, `${sha256}  ${id}-${info.version}.zip\n`);
    return { id, version: info.version, zip, sha256 };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] && /package-plugin\.[jt]s$/.test(process.argv[1])) {
  try {
    const p = packagePlugin();
    process.stdout.write(`${relative(REPO_ROOT, p.zip)} sha256 ${p.sha256}\n`);
  } catch (err) {
    process.stderr.write(`package: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
