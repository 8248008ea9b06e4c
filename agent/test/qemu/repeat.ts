/**
 * Boots one kernel N times with the loss scenarios and counts the boots in which the agent's retransmits and rtos
 * equal each namespace's own counters at both ends (lossComparison, the check of agent/test/kernel/qemu.test.ts).
 * For a rare disagreement (the 3% loss scenario meets a lost SYN about once in 30 runs):
 *   node --import tsx agent/test/qemu/repeat.ts 6.1 10 [loss,synloss,synacktimeout,adoptedrto,tfosynack]
 * Prints one line per boot, then one JSON line: { kernel, boots, pass: { scenario: boots in agreement } }.
 */
import type { KernelFlow } from '../../src/bpf/protocol.js';
import { KERNELS, bootReachingInit, buildInitramfs, fetchKernel, serialLog } from './vm.js';
import { lossComparison, parseVmOutput } from './vm-output.js';

/** The server port of each loss scenario (scenarios.c). */
const PORTS: Record<string, number> = {
  loss: 5005,
  synloss: 5012,
  synacktimeout: 5013,
  adoptedrto: 5014,
  tfosynack: 5015,
};

const name = process.argv[2] ?? '6.1';
const boots = Number(process.argv[3] ?? '10');
const scenarios = (process.argv[4] ?? Object.keys(PORTS).join(',')).split(',');
const spec = KERNELS.find((k) => k.name === name);
const unknown = scenarios.filter((s) => PORTS[s] === undefined);
if (!spec || !Number.isInteger(boots) || boots < 1 || unknown.length > 0) {
  console.error(
    `usage: repeat.ts <${KERNELS.map((k) => k.name).join('|')}> <boots> [${Object.keys(PORTS).join(',')}]` +
      (unknown.length > 0 ? ` (unknown scenario ${unknown.join(', ')})` : '')
  );
  process.exit(2);
}
const kernel = await fetchKernel(spec);
const initramfs = await buildInitramfs(kernel, { only: scenarios, tag: 'repeat' });
const pass: Record<string, number> = Object.fromEntries(scenarios.map((s) => [s, 0]));
const pick = (port: number, direction: 'client' | 'server') => (f: KernelFlow) =>
  f.serverPort === port && f.direction === direction;
for (let i = 1; i <= boots; i++) {
  const result = await bootReachingInit(kernel, initramfs);
  const run = parseVmOutput(result.serial);
  const parts = scenarios.map((s) => {
    if (run.done[s] !== 'ok') {
      return `${s} did not complete (${run.errors.join('; ')}; serial log ${serialLog(kernel, 'repeat')})`;
    }
    const port = PORTS[s]!;
    const cmp = lossComparison(run, s, pick(port, 'client'), pick(port, 'server'));
    if (cmp.equal) {
      pass[s]!++;
    }
    const side = (x: typeof cmp.client) => `${x.retransmits}/${x.rtos} vs ${x.retransSegs}/${x.timeouts}`;
    return `${s} ${cmp.equal ? 'equal' : 'DIFFERENT'} client ${side(cmp.client)} server ${side(cmp.server)}`;
  });
  console.log(`boot ${i} ${run.kernel ?? '?'}: ${parts.join('; ')}`);
  const stderr = run.loaderStderr.filter((l) => !l.startsWith('libbpf: '));
  if (stderr.length > 0) {
    console.log(`  loader stderr: ${stderr.join(' | ')}`);
  }
}
console.log(JSON.stringify({ kernel: name, boots, pass }));
