/**
 * Loss toggle for local network namespaces (the integration test's "zones"): the tc-BPF loss
 * injector of agent/test/lib (agent/bpf/lossy.bpf.o at an interface's ingress), held until stopped.
 */
import { LossInjector } from '../../../agent/test/lib/loss.js';

export async function holdNetnsLoss(
  req: { netns: string; dev: string; percent: number },
  until: Promise<void>,
  print: (line: string) => void
): Promise<void> {
  const injector = await LossInjector.attach(req.netns, req.dev);
  try {
    await injector.set(req.percent / 100);
    print(`loss on: ${req.percent}% of TCP packets arriving at ${req.netns}/${req.dev}`);
    await until;
    const { seen, dropped } = await injector.stats();
    print(`loss off: dropped ${dropped} of ${seen} TCP packets`);
  } finally {
    await injector.close();
  }
}
