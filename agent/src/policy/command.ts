/**
 * `flowlens-agent policy draft|check`: the hub's policy API in a terminal.
 *   draft  prints the drafts' YAML exactly as `GET /api/v1/policy-drafts?format=yaml` returns it
 *   check  prints the flows the cluster's policies (or those in --file) would deny
 * Query token from FLOWLENS_HUB_QUERY_TOKEN, as for `top`.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseDuration } from '../top/command.js';
import type { DeniedFlow } from './check.js';

const USAGE = `Usage: flowlens-agent policy draft|check --namespace NS [options]

  draft                 print NetworkPolicy drafts (YAML) built from the flows observed in the range
  check                 list the observed flows the cluster's NetworkPolicies (or --file's) would deny

  --namespace NS        the namespace (required)
  --workload NAME       one workload of it
  --since DURATION      range ending now, e.g. 1h, 24h, 7d (default 24h)
  --from T, --to T      explicit range (epoch ms or RFC 3339) instead of --since
  --default-deny        draft: add a default-deny policy for the namespace
  --file FILE           check: evaluate the NetworkPolicies in FILE (YAML or JSON, '-' = stdin) instead
  --json                print the hub's JSON answer
  --hub URL             the hub (default $FLOWLENS_HUB_URL or http://127.0.0.1:7470)

Environment: FLOWLENS_HUB_QUERY_TOKEN (the hub's query token).
`;

export function policyUrl(
  hub: string,
  sub: 'draft' | 'check',
  o: { namespace: string; workload?: string; from: string; to: string; defaultDeny?: boolean; yaml?: boolean }
): string {
  const u = new URL(
    sub === 'draft' ? 'api/v1/policy-drafts' : 'api/v1/policy-check',
    hub.endsWith('/') ? hub : `${hub}/`
  );
  u.searchParams.set('namespace', o.namespace);
  if (o.workload) {
    u.searchParams.set('workload', o.workload);
  }
  u.searchParams.set('from', o.from);
  u.searchParams.set('to', o.to);
  if (o.defaultDeny) {
    u.searchParams.set('defaultDeny', 'true');
  }
  if (o.yaml) {
    u.searchParams.set('format', 'yaml');
  }
  return u.toString();
}

const name = (e: DeniedFlow['client']): string =>
  e.pod !== null ? `${e.namespace}/${e.workload ?? e.pod} (${e.ip})` : e.ip;

/** The check as text: one line per denied flow. */
export function renderCheck(a: { policiesEvaluated: number; flowsChecked: number; denied: DeniedFlow[] }): string {
  const head = `${a.denied.length} of ${a.flowsChecked} flows denied by ${a.policiesEvaluated} policies\n`;
  return (
    head +
    a.denied
      .map(
        (d) =>
          `${name(d.client)} -> ${name(d.server)} ${d.protocol}/${d.serverPort} ${d.bytes} bytes, denied by ${d.deniedBy} (${d.policies.join(', ')})\n`
      )
      .join('')
  );
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) {
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: 'string' },
      workload: { type: 'string' },
      since: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'default-deny': { type: 'boolean' },
      file: { type: 'string' },
      json: { type: 'boolean' },
      hub: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const sub = positionals[0];
  if ((sub !== 'draft' && sub !== 'check') || positionals.length > 1 || !values.namespace) {
    process.stderr.write(`flowlens-agent policy: expected 'draft' or 'check' and --namespace\n\n${USAGE}`);
    return 2;
  }
  if (values.since !== undefined && (values.from !== undefined || values.to !== undefined)) {
    process.stderr.write('flowlens-agent policy: --since and --from/--to exclude each other\n');
    return 2;
  }
  const now = Date.now();
  const to = values.to ?? String(now);
  const toMs = /^\d+$/.test(to) ? Number(to) : Date.parse(to);
  const from = values.from ?? String(toMs - parseDuration(values.since ?? '24h'));
  const hub = values.hub ?? process.env.FLOWLENS_HUB_URL ?? 'http://127.0.0.1:7470';
  const yaml = sub === 'draft' && !values.json;
  const url = policyUrl(hub, sub, {
    namespace: values.namespace,
    workload: values.workload,
    from,
    to,
    defaultDeny: values['default-deny'],
    yaml,
  });
  let body: string | undefined;
  if (sub === 'check' && values.file !== undefined) {
    try {
      body = values.file === '-' ? await readStdin() : await readFile(values.file, 'utf8');
    } catch (err) {
      process.stderr.write(`flowlens-agent policy: cannot read ${values.file}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  const token = process.env.FLOWLENS_HUB_QUERY_TOKEN;
  let res: Response;
  try {
    res = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      body,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/yaml' }),
      },
      signal: AbortSignal.timeout(60_000),
    });
  } catch (err) {
    process.stderr.write(`flowlens-agent policy: cannot reach the hub at ${hub}: ${(err as Error).message}\n`);
    return 1;
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
    process.stderr.write(`flowlens-agent policy: hub answered ${res.status}: ${message}${hint}\n`);
    return 1;
  }
  if (yaml) {
    process.stdout.write(text); // exactly the API's YAML
  } else if (values.json) {
    process.stdout.write(`${text}\n`);
  } else {
    process.stdout.write(renderCheck(JSON.parse(text) as Parameters<typeof renderCheck>[0]));
  }
  return 0;
}
