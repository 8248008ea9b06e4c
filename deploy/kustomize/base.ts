/** How deploy/kustomize/base/flowlens.yaml is produced from the chart (shared by the generator and its test). */
import { join } from 'node:path';
import { REPO_ROOT } from '../tools/k8s-tools.js';
import { helmTemplate, withoutSourceComments } from '../tools/render.js';

export const KUSTOMIZE_DIR = join(REPO_ROOT, 'deploy', 'kustomize');
export const KUSTOMIZE_BASE_FILE = join(KUSTOMIZE_DIR, 'base', 'flowlens.yaml');

const HEADER = `# GENERATED from deploy/helm/flowlens with deploy/kustomize/helm-values.yaml — do not edit.
# Regenerate: node --import tsx deploy/kustomize/generate-base.ts
`;

export async function renderKustomizeBase(helm: string): Promise<string> {
  const rendered = await helmTemplate(helm, { valuesFiles: [join(KUSTOMIZE_DIR, 'helm-values.yaml')] });
  return HEADER + withoutSourceComments(rendered);
}
