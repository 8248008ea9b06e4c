/**
 * Renders the Helm chart with the real helm binary and splits the output into objects.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './k8s-tools.js';

const run = promisify(execFile);

export const CHART_DIR = join(REPO_ROOT, 'deploy', 'helm', 'flowlens');

export interface RenderOptions {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  /** --set-file key=path */
  setFiles?: Record<string, string>;
  /** --set key=value */
  set?: Record<string, string>;
}

export async function helmTemplate(helm: string, options: RenderOptions = {}): Promise<string> {
  const args = ['template', options.release ?? 'flowlens', CHART_DIR, '--namespace', options.namespace ?? 'flowlens'];
  for (const file of options.valuesFiles ?? []) {
    args.push('--values', file);
  }
  for (const [key, path] of Object.entries(options.setFiles ?? {})) {
    args.push('--set-file', `${key}=${path}`);
  }
  for (const [key, value] of Object.entries(options.set ?? {})) {
    args.push('--set', `${key}=${value}`);
  }
  const { stdout } = await run(helm, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Every non-empty YAML document as a plain object; a YAML syntax error throws. */
export function parseManifests(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      throw new Error(`YAML error: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) {
      out.push(value as Record<string, unknown>);
    }
  }
  return out;
}

/** helm's "# Source: …" lines name template files; the kustomize base does not need them. */
export function withoutSourceComments(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('# Source: '))
    .join('\n')
    .replace(/^---\n/, '');
}
