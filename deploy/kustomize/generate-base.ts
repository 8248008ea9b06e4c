/**
 * Regenerates deploy/kustomize/base/flowlens.yaml from the Helm chart, so the chart stays the one
 * source of the manifests: node --import tsx deploy/kustomize/generate-base.ts
 * tests/deploy/kustomize.test.ts fails when the committed file differs from a fresh rendering.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureK8sTools, REPO_ROOT } from '../tools/k8s-tools.js';
import { KUSTOMIZE_BASE_FILE, renderKustomizeBase } from './base.js';

async function main(): Promise<void> {
  const tools = await ensureK8sTools();
  writeFileSync(KUSTOMIZE_BASE_FILE, await renderKustomizeBase(tools.helm));
  process.stdout.write(`wrote ${KUSTOMIZE_BASE_FILE.replace(join(REPO_ROOT, '/'), '')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`generate-base: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
