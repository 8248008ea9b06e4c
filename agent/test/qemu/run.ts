/**
 * One kernel by hand: boots it with the scenarios and prints the serial console and what the host read from it.
 *   node --import tsx agent/test/qemu/run.ts 6.1 [scenario,scenario…]
 */
import { KERNELS, bootReachingInit, buildInitramfs, fetchKernel } from './vm.js';
import { parseVmOutput } from './vm-output.js';

const name = process.argv[2] ?? '6.1';
const spec = KERNELS.find((k) => k.name === name);
if (!spec) {
  console.error(`unknown kernel '${name}' (${KERNELS.map((k) => k.name).join(', ')})`);
  process.exit(2);
}
const kernel = await fetchKernel(spec);
const initramfs = await buildInitramfs(kernel, { only: process.argv[3]?.split(',') });
const result = await bootReachingInit(kernel, initramfs);
process.stdout.write(result.serial.replace(/^[^\n]*FLVM proc [^\n]*\n/gm, ''));
const parsed = parseVmOutput(result.serial);
const summary = {
  kernel: parsed.kernel,
  qemuExit: result.code,
  ms: result.ms,
  retried: result.retried,
  ready: parsed.ready,
  done: parsed.done,
  errors: parsed.errors,
  collects: parsed.collects.map((c) => `${c.scenario}/${c.phase}: ${c.result.flows.length} flows`),
};
console.log(JSON.stringify(summary, null, 1));
