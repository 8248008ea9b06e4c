/**
 * What the node agent needs from the machine before it loads anything: kernel BTF, a cgroup-v2 mount, the
 * privileges to load and attach BPF programs, and the built BPF object and loader. Each problem is reported in
 * words a user can act on.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export class PreflightError extends Error {}

export const BTF_PATH = '/sys/kernel/btf/vmlinux';

/** The oldest kernel Flowlens supports (and tests, under qemu): stated the same in docs/agent.md and docs/deploy.md. */
export const MIN_KERNEL = { major: 6, minor: 1 };

/** Why this kernel release (uname -r) is too old, or null. Pure. */
export function kernelVersionProblem(release: string): string | null {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) {
    return null; /* an unusual release string: let the load itself decide */
  }
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major > MIN_KERNEL.major || (major === MIN_KERNEL.major && minor >= MIN_KERNEL.minor)) {
    return null;
  }
  return `kernel ${release} is too old: Flowlens needs Linux ${MIN_KERNEL.major}.${MIN_KERNEL.minor} or newer`;
}

/** Capability bits (linux/capability.h). */
const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

/** The cgroup-v2 mount point in a /proc/mounts text, or null. Pure. */
export function findCgroup2Mount(procMounts: string): string | null {
  for (const line of procMounts.split('\n')) {
    const [, mountPoint, fsType] = line.split(' ');
    if (fsType === 'cgroup2' && mountPoint) {
      return mountPoint.replace(/\\040/g, ' ');
    }
  }
  return null;
}

/** Effective capability set from a /proc/self/status text. Pure. */
export function effectiveCapabilities(procStatus: string): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(procStatus);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

/** Why these capabilities cannot load and attach our programs, or null when they can. Pure. */
export function privilegeProblem(capEff: bigint): string | null {
  const has = (bit: number) => (capEff & (1n << BigInt(bit))) !== 0n;
  if (has(CAP_SYS_ADMIN)) {
    return null;
  }
  const missing = [
    [CAP_BPF, 'CAP_BPF'],
    [CAP_PERFMON, 'CAP_PERFMON'],
    [CAP_NET_ADMIN, 'CAP_NET_ADMIN'],
  ]
    .filter(([bit]) => !has(bit as number))
    .map(([, name]) => name);
  return missing.length === 0
    ? null
    : `missing privileges: run as root or grant ${missing.join(', ')} (or CAP_SYS_ADMIN)`;
}

/** agent/bpf, found from this module (src/bpf or dist/bpf), unless FLOWLENS_BPF_DIR says otherwise. */
export function bpfDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLOWLENS_BPF_DIR) {
    return resolve(env.FLOWLENS_BPF_DIR);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bpf');
}

export interface BpfArtifacts {
  object: string;
  loader: string;
}

export function bpfArtifacts(dir = bpfDir()): BpfArtifacts {
  return { object: join(dir, 'flowlens.bpf.o'), loader: join(dir, 'build', 'flowlens-loader') };
}

/** Finds the cgroup-v2 mount, mounting one under /run/flowlens/cgroup2 when there is none. */
export function ensureCgroup2(mountsPath = '/proc/mounts'): string {
  const found = findCgroup2Mount(readFileSync(mountsPath, 'utf8'));
  if (found) {
    return found;
  }
  const target = '/run/flowlens/cgroup2';
  try {
    mkdirSync(target, { recursive: true });
    execFileSync('mount', ['-t', 'cgroup2', 'none', target], { stdio: 'pipe' });
  } catch (err) {
    throw new PreflightError(
      `no cgroup v2 mount found in ${mountsPath} and mounting one at ${target} failed: ${(err as Error).message.trim()}`
    );
  }
  return target;
}

export interface Preflight {
  cgroup: string;
  artifacts: BpfArtifacts;
}

/** Runs every check in order; throws PreflightError with the first problem. */
export function preflight(artifacts = bpfArtifacts()): Preflight {
  const tooOld = kernelVersionProblem(release());
  if (tooOld) {
    throw new PreflightError(tooOld);
  }
  if (!existsSync(BTF_PATH)) {
    throw new PreflightError(
      `kernel has no BTF (${BTF_PATH} missing): Flowlens needs a kernel built with CONFIG_DEBUG_INFO_BTF=y`
    );
  }
  const problem = privilegeProblem(effectiveCapabilities(readFileSync('/proc/self/status', 'utf8')));
  if (problem) {
    throw new PreflightError(problem);
  }
  for (const [what, path] of [
    ['BPF object', artifacts.object],
    ['BPF loader', artifacts.loader],
  ] as const) {
    try {
      accessSync(path, what === 'BPF loader' ? constants.X_OK : constants.R_OK);
    } catch {
      throw new PreflightError(`${what} ${path} is missing: build it with 'npm run build:bpf -w agent'`);
    }
  }
  return { cgroup: ensureCgroup2(), artifacts };
}
