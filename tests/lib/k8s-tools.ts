/**
 * Test wrapper around deploy/tools/k8s-tools.ts: the real helm and kubectl binaries, or a skip with
 * the reason on a laptop without network (a failure under CI=true).
 */
import type { TestContext } from 'node:test';
import { ensureK8sTools, K8S_TOOLS_PACKAGE, type K8sTools } from '../../deploy/tools/k8s-tools.js';

let pending: Promise<K8sTools> | undefined;

export async function requireK8sTools(t: TestContext): Promise<K8sTools | null> {
  pending ??= ensureK8sTools();
  try {
    return await pending;
  } catch (err) {
    const problem = `cannot get helm/kubectl from ${K8S_TOOLS_PACKAGE}: ${err instanceof Error ? err.message : String(err)}`;
    if (process.env.CI === 'true') {
      throw new Error(problem);
    }
    t.skip(problem);
    return null;
  }
}
