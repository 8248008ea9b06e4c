/**
 * The qemu half of the kernel suite: fetch one of Debian 12's kernels (scripts/qemu-kernel.sh), pack an initramfs
 * with everything the scenarios need, boot it under TCG and return what the serial console printed.
 *
 *   kernel        scripts/qemu-kernel.sh <suite>  ->  <cache>/kernels/<abi>/{boot/vmlinuz-*,lib/modules/*}
 *   initramfs     busybox-static, iproute2's ip (with its shared objects), the static flowlens-loader and
 *                 flowlens-lossy (agent/bpf/static.mk), flowlens-vm-scenarios (scenarios.c, static), the BPF
 *                 objects, the modules the scenarios need, init.sh as /init
 *   boot          timeout … qemu-system-x86_64 -accel tcg -nographic -no-reboot, stdin /dev/null
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { AGENT_DIR, agentBpfDir } from '../lib/agent-process.js';
import { cpioArchive, parentDirs, type CpioEntry } from './cpio.js';
import { parseLdd } from './ldd.js';
import { crashedBeforeInit } from './vm-output.js';
import { loadOrder, modinfoDepends, moduleName } from './modules.js';

const run = promisify(execFile);
export const REPO_DIR = resolve(AGENT_DIR, '..');
const HERE = join(AGENT_DIR, 'test', 'qemu');
export const CACHE_DIR = process.env.FLOWLENS_QEMU_CACHE ?? join(REPO_DIR, '.cache', 'qemu');

export interface KernelSpec {
  /** The name tests use ("6.1"). */
  name: string;
  /** The Debian suite whose linux-image-cloud-amd64 names the ABI. */
  suite: 'bookworm' | 'bookworm-backports';
}

export const KERNELS: KernelSpec[] = [
  { name: '6.1', suite: 'bookworm' },
  { name: '6.12', suite: 'bookworm-backports' },
];

/**
 * Modules the scenarios load: the veth pair; clsact + cls_bpf for the tc loss injector; conntrack, NAT and the
 * iptables nat table for the dnat scenario (loaded before the loader starts, so it attaches its conntrack program
 * at once); IPVS with its round-robin scheduler and a dummy interface for the ipvs scenario (kube-proxy's IPVS mode);
 * conntrack's netlink interface for the loader's other translation source (NETLINK_LOADER_ARGS).
 * Their dependencies come from the modules themselves.
 */
export const MODULES = [
  'veth',
  'sch_ingress',
  'cls_bpf',
  'nf_conntrack',
  'iptable_nat',
  'xt_nat',
  'xt_tcpudp',
  'dummy',
  'ip_vs',
  'ip_vs_rr',
  'nf_conntrack_netlink',
  'xt_mark',
  'xt_MASQUERADE',
];

export const QEMU = '/usr/bin/qemu-system-x86_64';
/**
 * The emulated CPU: qemu64 without CMPXCHG16B. qemu 7.2's TCG (Debian 12) corrupts state on the gs-prefixed
 * cmpxchg16b that 6.12's SLUB fast path uses (oopses right after it in kmem_cache_alloc, EFLAGS holding half a
 * pointer, in about half the boots); without cx16 the kernel takes its locked path and 6.12 booted 8 times out of
 * 8 (6.1 is unaffected either way). `-cpu max` is worse.
 */
const QEMU_CPU = process.env.FLOWLENS_QEMU_CPU ?? 'qemu64,-cx16';
export const BUSYBOX = '/bin/busybox';
export const IPROUTE2 = '/usr/sbin/ip';
export const ETHTOOL = '/usr/sbin/ethtool';
export const XTABLES = '/usr/sbin/xtables-legacy-multi';
/** Debian's ipvsadm (the ipvs scenario's virtual service), copied in with its shared objects like ip. */
export const IPVSADM = '/usr/sbin/ipvsadm';
const XTABLES_EXTENSIONS = '/usr/lib/x86_64-linux-gnu/xtables';
/** The iptables extensions the scenarios' rules use: dnat's (-p tcp --dport, -j DNAT), ipvs's kube-proxy masquerade. */
const XTABLES_NEEDED = ['libxt_standard.so', 'libxt_tcp.so', 'libxt_DNAT.so', 'libxt_mark.so', 'libxt_MASQUERADE.so'];

/** The loader's command line inside the VM (paths of the initramfs). */
/**
 * The loader runs in the client namespace, as a node agent runs in its node's network namespace (host network): that
 * is where the dnat scenario's kube-proxy-style rule translates, and a loader records only its own namespace's
 * translations. busybox nsenter changes nothing else (no remount of /sys, unlike `ip netns exec`).
 */
export const LOADER_ARGS = [
  '/bin/nsenter',
  '--net=/run/netns/c',
  '/bin/flowlens-loader',
  '--object',
  '/flowlens.bpf.o',
  '--cgroup',
  '/sys/fs/cgroup/node', // a node's cgroup, not the root: the loader is scoped (init.sh puts everything there)
];

/**
 * The same loader told to load a conntrack object that does not exist: it falls back to conntrack netlink events,
 * exactly as when a kernel refuses the fentry program (loader.c try_netlink), so the qemu suite can check that
 * source on Debian's kernels too (the ipvs scenario's second boot).
 */
export const NETLINK_LOADER_ARGS = [...LOADER_ARGS, '--conntrack-object', '/absent/conntrack.bpf.o'];

export interface Kernel {
  dir: string;
  release: string;
  vmlinuz: string;
}

export async function fetchKernel(spec: KernelSpec): Promise<Kernel> {
  const { stdout } = await run(join(REPO_DIR, 'scripts', 'qemu-kernel.sh'), [spec.suite], {
    env: { ...process.env, FLOWLENS_QEMU_CACHE: CACHE_DIR },
    maxBuffer: 1 << 24,
  });
  const dir = stdout.trim().split('\n').pop()!;
  const release = readdirSync(join(dir, 'lib', 'modules'))[0];
  if (!release) {
    throw new Error(`${dir}: no lib/modules/<release>`);
  }
  return { dir, release, vmlinuz: join(dir, 'boot', `vmlinuz-${release}`) };
}

function newer(target: string, sources: string[]): boolean {
  return existsSync(target) && sources.every((s) => statSync(s).mtimeMs <= statSync(target).mtimeMs);
}

/** The static helpers: flowlens-loader and flowlens-lossy (static.mk), flowlens-vm-scenarios (scenarios.c). */
export async function buildStaticTools(): Promise<{ loader: string; lossy: string; scenarios: string }> {
  const bpf = agentBpfDir();
  await run('make', ['-s', '-C', bpf, '-f', 'static.mk'], { maxBuffer: 1 << 24 });
  const scenarios = join(CACHE_DIR, 'flowlens-vm-scenarios');
  const src = join(HERE, 'scenarios.c');
  if (!newer(scenarios, [src])) {
    mkdirSync(CACHE_DIR, { recursive: true });
    await run('cc', ['-O2', '-Wall', '-Wextra', '-static', '-pthread', src, '-o', scenarios]);
  }
  return {
    loader: join(bpf, 'build', 'static', 'flowlens-loader'),
    lossy: join(bpf, 'build', 'static', 'flowlens-lossy'),
    scenarios,
  };
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]
  );
}

/** The ordered, decompressed .ko files the scenarios need from the kernel package. */
async function kernelModules(kernel: Kernel): Promise<Array<{ name: string; data: Buffer }>> {
  const base = join(kernel.dir, 'lib', 'modules', kernel.release);
  const files = new Map(walk(join(base, 'kernel')).map((f) => [moduleName(f), f]));
  const builtin = new Set(
    readFileSync(join(base, 'modules.builtin'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map(moduleName)
  );
  const cache = new Map<string, Buffer>();
  const load = async (name: string): Promise<Buffer> => {
    let data = cache.get(name);
    if (!data) {
      const file = files.get(name)!;
      data = file.endsWith('.xz')
        ? (await run('xz', ['-dc', file], { encoding: 'buffer', maxBuffer: 1 << 28 })).stdout
        : readFileSync(file);
      cache.set(name, data);
    }
    return data;
  };
  // dependsOf must be synchronous: read every candidate's depends= first, breadth first from the wanted ones
  const deps = new Map<string, string[]>();
  const queue = MODULES.map(moduleName);
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (deps.has(name) || !files.has(name)) {
      continue;
    }
    const d = modinfoDepends(await load(name));
    deps.set(name, d);
    queue.push(...d);
  }
  const order = loadOrder(MODULES, (n) => deps.get(n) ?? [], new Set(files.keys()), builtin);
  return Promise.all(order.map(async (name) => ({ name, data: await load(name) })));
}

export interface InitramfsOptions {
  /** Run only these scenarios (flowlens-vm-scenarios --only). */
  only?: string[];
  /** The loader's command line (default LOADER_ARGS). */
  loaderArgs?: string[];
  /** Names this image and its serial log apart from the default one (`<release>-<tag>`). */
  tag?: string;
}

function runName(kernel: Kernel, tag?: string): string {
  return tag ? `${kernel.release}-${tag}` : kernel.release;
}

/** Packs the initramfs for one kernel; returns its path. */
export async function buildInitramfs(kernel: Kernel, opts: InitramfsOptions = {}): Promise<string> {
  const tools = await buildStaticTools();
  const bpf = agentBpfDir();
  const file = (path: string, src: string, mode = 0o755): CpioEntry => ({
    kind: 'file',
    path,
    data: readFileSync(src),
    mode,
  });
  const entries: CpioEntry[] = [
    file('init', join(HERE, 'init.sh')),
    file('bin/busybox', BUSYBOX),
    file('bin/flowlens-loader', tools.loader),
    file('bin/flowlens-lossy', tools.lossy),
    file('bin/flowlens-vm-scenarios', tools.scenarios),
    file('flowlens.bpf.o', join(bpf, 'flowlens.bpf.o'), 0o644),
    file('lossy.bpf.o', join(bpf, 'lossy.bpf.o'), 0o644),
    // the loader's default Service-translation object (beside flowlens.bpf.o), as in the image
    ...(existsSync(join(bpf, 'conntrack.bpf.o')) ? [file('conntrack.bpf.o', join(bpf, 'conntrack.bpf.o'), 0o644)] : []),
    // drops and resets (loaded beside flowlens.bpf.o when the kernel takes it)
    ...(existsSync(join(bpf, 'drops.bpf.o')) ? [file('drops.bpf.o', join(bpf, 'drops.bpf.o'), 0o644)] : []),
    file('usr/local/sbin/ip', IPROUTE2),
    file('usr/local/sbin/ethtool', ETHTOOL),
    file(XTABLES.slice(1), XTABLES),
    file(IPVSADM.slice(1), IPVSADM),
    { kind: 'symlink', path: 'usr/sbin/iptables-legacy', target: 'xtables-legacy-multi' },
    ...XTABLES_NEEDED.map((x) => file(join(XTABLES_EXTENSIONS, x).slice(1), join(XTABLES_EXTENSIONS, x))),
    { kind: 'file', path: 'loader-args', data: Buffer.from((opts.loaderArgs ?? LOADER_ARGS).join(' ')) },
    { kind: 'file', path: 'scenario-args', data: Buffer.from(opts.only ? `--only ${opts.only.join(',')}` : '') },
  ];
  const libs = new Set<string>();
  for (const program of [
    IPROUTE2,
    ETHTOOL,
    XTABLES,
    IPVSADM,
    ...XTABLES_NEEDED.map((x) => join(XTABLES_EXTENSIONS, x)),
  ]) {
    parseLdd((await run('ldd', [program])).stdout).forEach((l) => libs.add(l));
  }
  for (const lib of libs) {
    entries.push(file(lib.replace(/^\//, ''), lib));
  }
  const modules = await kernelModules(kernel);
  for (const m of modules) {
    entries.push({ kind: 'file', path: `modules/${m.name}.ko`, data: m.data });
  }
  entries.push({
    kind: 'file',
    path: 'modules.order',
    data: Buffer.from(modules.map((m) => `${m.name}.ko\n`).join('')),
  });
  const dirs = ['proc', 'sys', 'dev', 'run', 'tmp', 'bin', 'sbin', 'usr/bin', 'usr/sbin', 'modules'];
  const all = parentDirs([...entries.map((e) => e.path), ...dirs.map((d) => `${d}/x`)]);
  const archive = cpioArchive([
    ...all.map((path): CpioEntry => ({ kind: 'dir', path })),
    { kind: 'char', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'char', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
    ...entries,
  ]);
  const out = join(CACHE_DIR, 'initramfs', `${runName(kernel, opts.tag)}.cpio`);
  mkdirSync(join(CACHE_DIR, 'initramfs'), { recursive: true });
  writeFileSync(out, archive);
  return out;
}

export interface BootResult {
  serial: string;
  /** Boots that crashed before /init (see crashedBeforeInit) and were retried: their first oops line. */
  retried: string[];
  /** qemu's exit status; 124 when `timeout` stopped it. */
  code: number | null;
  ms: number;
}

/** Boots the kernel with the initramfs under TCG and returns the serial console's text. */
export function boot(kernel: Kernel, initramfs: string, timeoutS = 240, memMb = 1024): Promise<BootResult> {
  const args = [
    '--kill-after=5',
    String(timeoutS),
    QEMU,
    '-accel',
    'tcg',
    '-cpu',
    QEMU_CPU,
    '-smp',
    '1',
    '-m',
    String(memMb),
    '-nographic',
    '-no-reboot',
    '-monitor',
    'none',
    '-kernel',
    kernel.vmlinuz,
    '-initrd',
    initramfs,
    '-append',
    'console=ttyS0 quiet loglevel=1 panic=-1 oops=panic mitigations=off',
  ];
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn('timeout', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const serial = Buffer.concat(chunks).toString('utf8');
      writeFileSync(join(CACHE_DIR, `serial-${basename(initramfs, '.cpio')}.log`), serial);
      resolvePromise({ serial, code, ms: Date.now() - started, retried: [] });
    });
  });
}

/** Boots until the kernel reaches /init (at most `attempts` boots); see crashedBeforeInit. */
export async function bootReachingInit(kernel: Kernel, initramfs: string, attempts = 3): Promise<BootResult> {
  const retried: string[] = [];
  for (;;) {
    const result = await boot(kernel, initramfs);
    const crash = crashedBeforeInit(result.serial);
    if (crash === null || retried.length + 1 >= attempts) {
      return { ...result, retried };
    }
    retried.push(crash);
  }
}

/** Where the last serial log of a kernel is kept (for a failing test's message). */
export function serialLog(kernel: Kernel, tag?: string): string {
  return relative(process.cwd(), join(CACHE_DIR, `serial-${runName(kernel, tag)}.log`));
}
