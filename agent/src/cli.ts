#!/usr/bin/env node
/**
 * flowlens-agent: one binary, three roles.
 *   node  – the per-node eBPF collector (DaemonSet)
 *   hub   – ingest, enrichment, storage and query API (Deployment)
 *   top   – a terminal top-talkers table from the hub
 *   policy – NetworkPolicy drafts and checks from the hub
 */
const USAGE = `Usage: flowlens-agent <command> [options]

Commands:
  node   collect TCP flow statistics with eBPF and report them
         [--stdout] [--report-interval SECONDS] [--collect-interval SECONDS] [--hub URL]
  hub    receive reports, enrich and store flows, serve the query API
         --listen HOST:PORT --data-dir DIR [--metadata-file FILE] [--ip-ranges-file FILE]
  top    print the top talkers from a hub
         [--hub URL] [--category CATEGORY] [--metric bytes|retransmits|rtos|rtt] [--limit N]
  policy draft|check  NetworkPolicy drafts from observed flows, or the flows policies would deny
         --namespace NS [--workload W] [--since 24h] [--default-deny] [--file FILE] [--hub URL]

Run 'flowlens-agent <command> --help' for a command's options.
`;

type CommandMain = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<CommandMain>> = {
  node: async () => (await import('./node/command.js')).main,
  hub: async () => (await import('./hub/command.js')).main,
  top: async () => (await import('./top/command.js')).main,
  policy: async () => (await import('./policy/command.js')).main,
};

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`flowlens-agent: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  return (await load())(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`flowlens-agent: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
);
