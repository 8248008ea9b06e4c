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
}

export async function buildNativeTools(): Promise<NativeTools> {
  const dir = mkdtempSync(join(tmpdir(), 'flowlens-bench-'));
  const out: Record<string, string> = {};
  for (const name of ['crr', 'hold', 'tpcount']) {
    out[name] = join(dir, name);
    await run(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', out[name]!, join(NATIVE, `${name}.c`)]);
  }
  return { dir, crr: out.crr!, hold: out.hold!, tpcount: out.tpcount! };
}
