#!/usr/bin/env node
/** demo/loss-toggle: turn packet loss on or off for one demo pod (kind) or one local namespace. */
import { LOSS_USAGE, LossUsageError, parseLossArgs } from './loss/plan.js';

export async function lossToggleMain(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(LOSS_USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const req = parseLossArgs(argv);
  const print = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  if (req.action === 'hold') {
    const { holdNetnsLoss } = await import('./loss/netns-hold.js');
    const until = new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
      process.stdin.on('end', resolve).on('error', resolve).resume();
    });
    await holdNetnsLoss(req, until, print);
    return 0;
  }
  const { toggleKindPodLoss } = await import('./loss/kind-pod.js');
  print(await toggleKindPodLoss(req.action, req));
  return 0;
}

if (require.main === module) {
  lossToggleMain(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      if (code === 0) {
        process.exit(0); // the stdin listener of `hold` would keep the process alive
      }
    },
    (err: unknown) => {
      process.stderr.write(`loss-toggle: ${err instanceof Error ? err.message : String(err)}\n`);
      if (err instanceof LossUsageError) {
        process.stderr.write(LOSS_USAGE);
      }
      process.exitCode = err instanceof LossUsageError ? 2 : 1;
    }
  );
}
