/**
 * Kernel tests need root, BTF, cgroup v2 and a mounted bpffs. On a laptop they skip with the reason;
 * under CI=true a missing prerequisite is a failure, never a skip.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';

export function kernelPrerequisiteProblem(): string | null {
  if (process.getuid?.() !== 0) {
    return 'needs root (load BPF programs, create network namespaces)';
  }
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    return 'kernel has no BTF (/sys/kernel/btf/vmlinux)';
  }
  const mounts = readFileSync('/proc/mounts', 'utf8');
  if (!/\scgroup2\s/.test(mounts)) {
    return 'no cgroup v2 mount';
  }
  if (!/\sbpf\s/.test(mounts)) {
    return 'bpffs not mounted at /sys/fs/bpf';
  }
  return null;
}

/**
 * Returns true when the test may go on. Skips (laptop) or throws (CI=true) otherwise.
 */
export function requireKernel(t: TestContext): boolean {
  const problem = kernelPrerequisiteProblem();
  if (problem === null) {
    return true;
  }
  if (process.env.CI === 'true') {
    throw new Error(`kernel test cannot run under CI: ${problem}`);
  }
  t.skip(problem);
  return false;
}

/** Same rule for an external binary the test needs (prometheus, promtool, bpftool, chromium …). */
export function requireBinary(t: TestContext, path: string): boolean {
  if (existsSync(path)) {
    return true;
  }
  const problem = `${path} is not installed`;
  if (process.env.CI === 'true') {
    throw new Error(`test cannot run under CI: ${problem}`);
  }
  t.skip(problem);
  return false;
}
