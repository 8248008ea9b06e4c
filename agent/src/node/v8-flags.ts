/**
 * The V8 flags the node agent runs with, in one place. The DaemonSet gives them as NODE_OPTIONS (the chart's
 * `agent.nodeOptions`, and the kustomize base rendered from it: tests/deploy check both hold every flag here);
 * bench:agent starts the agent with them, as the DaemonSet does. The hub runs the same image without them.
 *
 * `--max-semi-space-size=2` (MB): V8's young generation grows its two semi-spaces up to 16 MB each (Node 20/22 on
 * 64-bit) while much of what it allocates survives a scavenge, and keeps them. A tick's flows and a report survive
 * one scavenge, so under a high connection rate the young generation grew to 8–10 MB and was much of the agent's
 * peak (docs/agent.md, Memory). At 2 MB it stays at 4 MB. 1 MB saved no more memory within the bench's noise but
 * cost the 10,000-socket tick about 4 ms more CPU in each of three runs (more scavenges, earlier promotion).
 */
export const NODE_AGENT_V8_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
