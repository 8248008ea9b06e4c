/**
 * The query side of the hub as the command-line tools (`flowlens-agent top`, `flowlens-agent policy`) use it: one
 * request with the query token (FLOWLENS_HUB_QUERY_TOKEN), and the hub's answer or a one-line reason on stderr.
 */

export interface HubQuery {
  /** The command's name in messages: `flowlens-agent <command>: …`. */
  command: string;
  /** The hub's base address, as the user gave it (for the "cannot reach" message). */
  hub: string;
  url: string;
  /** A body to POST (YAML); GET without one. */
  body?: string;
  timeoutMs: number;
}

/** The hub's answer text, or null after writing why there is none (the hub unreachable, or not 2xx). */
export async function queryHub(q: HubQuery): Promise<string | null> {
  const token = process.env.FLOWLENS_HUB_QUERY_TOKEN;
  let res: Response;
  try {
    res = await fetch(q.url, {
      method: q.body === undefined ? 'GET' : 'POST',
      body: q.body,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(q.body === undefined ? {} : { 'Content-Type': 'application/yaml' }),
      },
      signal: AbortSignal.timeout(q.timeoutMs),
    });
  } catch (err) {
    process.stderr.write(`flowlens-agent ${q.command}: cannot reach the hub at ${q.hub}: ${(err as Error).message}\n`);
    return null;
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      /* not JSON */
    }
    const hint = res.status === 401 ? ' (set FLOWLENS_HUB_QUERY_TOKEN)' : '';
    process.stderr.write(`flowlens-agent ${q.command}: hub answered ${res.status}: ${message}${hint}\n`);
    return null;
  }
  return text;
}
