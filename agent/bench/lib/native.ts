/** Compiles the bench's native load generators (agent/bench/native/*.c) with the system C compiler. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const NATIVE = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'native');

export interface NativeTools {
  dir: string;
  crr: string;
  hold: string;
  /** Counts a tracepoint's hits on every CPU (lib/tracepoint-count.ts). */
  tpcount: string;
  /** Holds, probes and prices the kernel's bpf_stats switch (lib/bpf-stats.ts). */
  bpfstats: string;
}

/** Compiles agent/bench/native/NAME.c into DIR/NAME; returns its path. */
export async function buildNativeTool(dir: string, name: string): Promise<string> {
  const out = join(dir, name);
  await run(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', out, join(NATIVE, `${name}.c`)]);
  return out;
}

export async function buildNativeTools(): Promise<NativeTools> {
  const dir = mkdtempSync(join(tmpdir(), 'flowlens-bench-'));
  const out: Record<string, string> = {};
  for (const name of ['crr', 'hold', 'tpcount', 'bpfstats']) {
    out[name] = await buildNativeTool(dir, name);
  }
  return { dir, crr: out.crr!, hold: out.hold!, tpcount: out.tpcount!, bpfstats: out.bpfstats! };
}
