#!/usr/bin/env node
/** Entry point of the demo image: `service <role>` (see config.ts for the roles and settings). */
import { ConfigError, parseConfig, USAGE } from './config.js';
import { listeningPort, runLoad, startService } from './roles.js';

function log(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const config = parseConfig(argv, process.env);
  const stop = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => stop.abort());
  }
  if (config.role === 'loadgen') {
    let last = Date.now();
    const stats = await runLoad(config, stop.signal, (r) => {
      if (r.error && Date.now() - last > 5000) {
        last = Date.now();
        log({ role: 'loadgen', url: r.url, error: r.error });
      }
    });
    log({ role: 'loadgen', ...stats });
    return 0;
  }
  const server = await startService(config);
  log({ role: config.role, listening: `${config.host}:${listeningPort(server)}` });
  await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof ConfigError) {
      process.stderr.write(USAGE);
    }
    process.exitCode = err instanceof ConfigError ? 2 : 1;
  }
);
