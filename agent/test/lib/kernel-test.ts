/**
 * What every kernel test of the agent checks before it runs: root, BTF, cgroup v2 and bpffs (privileges.ts), the
 * built BPF objects and loaders, and the other programs it starts. A test skips with the reason on a laptop and
 * fails under CI=true; a before() hook that finds the machine unfit does nothing, so each test reports why.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { BpfLoader, type LoaderOptions } from '../../src/bpf/loader-process.js';
import { bpfArtifacts, findCgroup2Mount } from '../../src/bpf/preflight.js';
import { bpfArtifactPaths } from './agent-process.js';
import { kernelPrerequisiteProblem, requireBinary, requireKernel } from './privileges.js';

export function requireAgentKernel(t: TestContext, ...binaries: string[]): boolean {
  return requireKernel(t) && [...bpfArtifactPaths(), ...binaries].every((p) => requireBinary(t, p));
}

/** For before(): whether the machine can run the agent at all (the tests then say why not). */
export function agentKernelReady(): boolean {
  return kernelPrerequisiteProblem() === null && bpfArtifactPaths().every((p) => existsSync(p));
}

/** A result the before() hook should have set: a clear failure when it did not run. */
export function need<T>(v: T | null | undefined): T {
  assert.ok(v, 'setup did not run');
  return v;
}

/**
 * The built loader and BPF object on the machine's cgroup-v2 root, with room for 65,536 sockets and 16,384 flows,
 * and whatever the test sets besides (a node's network namespace, a translation source, the sum table's size).
 */
export function startTestLoader(opts: Partial<LoaderOptions> = {}): Promise<BpfLoader> {
  const art = bpfArtifacts();
  return BpfLoader.start({
    loader: art.loader,
    object: art.object,
    cgroup: findCgroup2Mount(readFileSync('/proc/mounts', 'utf8'))!,
    maxSockets: 65536,
    maxFlows: 16384,
    ...opts,
  });
}
