/**
 * The V8 flags `flowlens-agent node` runs with, in one place: the CLI re-executes itself with them (cli.ts), and
 * bench:agent starts the built agent with them (agent/bench/lib/agent.ts) on a Node.js that cannot re-execute.
 *
 * `--max-semi-space-size=2` (MB): V8's young generation grows its two semi-spaces up to 16 MB each (Node 20/22 on
 * 64-bit) while much of what it allocates survives a scavenge, and keeps them. A tick's flows and a report survive
 * one scavenge, so under a high connection rate the young generation grew to 8–10 MB and was much of the agent's
 * peak (docs/agent.md, Memory). At 2 MB it stays at 4 MB. 1 MB saved no more memory within the bench's noise but
 * cost the 10,000-socket tick about 4 ms more CPU in each of three runs (more scavenges, earlier promotion).
 */
export const NODE_AGENT_V8_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/** The flags not already given to this node on its command line or in NODE_OPTIONS (a user's own value wins). */
export function missingV8Flags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map((a) => a.split('=')[0]!.replace(/_/g, '-'));
  return NODE_AGENT_V8_FLAGS.filter((f) => !given.includes(f.split('=')[0]!));
}

/**
 * The command line to re-execute this process with the missing flags: the same node, its own options, the flags,
 * then the script and its arguments. Null when none is missing.
 */
export function reexecArgv(
  execPath: string,
  execArgv: readonly string[],
  argv: readonly string[],
  nodeOptions: string | undefined
): string[] | null {
  const missing = missingV8Flags(execArgv, nodeOptions);
  return missing.length === 0 ? null : [execPath, ...execArgv, ...missing, ...argv.slice(1)];
}
