/**
 * The V8 flags `flowlens-agent node` runs with, in one place: the CLI re-executes itself with them (cli.ts), and
 * bench:agent starts the built agent with them (agent/bench/lib/agent.ts) on a Node.js that cannot re-execute.
 *
 * `--max-semi-space-size=1` (MB): V8's young generation grows its two semi-spaces up to 16 MB each (Node 20/22 on
 * 64-bit) while much of what it allocates survives a scavenge, and keeps them. A tick's flows and a report survive
 * one scavenge, so under a high connection rate the young generation grew to 10 MB and was the agent's peak
 * (docs/agent.md, Memory). Capped at 1 MB, those objects are promoted to the old generation a little sooner; the
 * agent holds little, so the old generation stays small.
 */
export const NODE_AGENT_V8_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

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
