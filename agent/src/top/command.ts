/**
 * `flowlens-agent top [--hub URL] [--category C] [--metric M] [--limit N] [--group-by G] [--cluster NAME]
 *   [--since DURATION]`
 * Prints the hub's top contributors as a table. Query token from FLOWLENS_HUB_QUERY_TOKEN.
 */
import { parseArgs } from 'node:util';
import { renderTable, type TopRowView } from './format.js';
import { queryHub } from '../hub/query-client.js';

const USAGE = `Usage: flowlens-agent top [options]

  --hub URL          the hub (default $FLOWLENS_HUB_URL or http://127.0.0.1:7470)
  --category C       INTRA_AZ, INTER_AZ, AMAZON_S3, AMAZON_DYNAMODB or UNCLASSIFIED (comma-separated for several)
  --metric M         bytes (default), retransmits, rtos, rtt or failures
  --limit N          rows (default 20, at most 500)
  --group-by G       flow (default), pod, workload or namespace
  --namespace NS     flows with either end in this namespace
  --cluster NAME     flows of this cluster (default: every cluster; rows then show their cluster)
  --since DURATION   time range ending now, e.g. 5m, 1h, 1d (default 1h)
  --json             print the hub's JSON instead of a table

Environment: FLOWLENS_HUB_QUERY_TOKEN (the hub's query token).
`;

export function parseDuration(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!m) {
    throw new Error(`--since: expected a duration like 15m, 1h or 1d, got '${text}'`);
  }
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3600_000, d: 86400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export function topUrl(
  hub: string,
  o: {
    category?: string;
    metric?: string;
    limit?: string;
    groupBy?: string;
    namespace?: string;
    cluster?: string;
    sinceMs: number;
  },
  now: number
): string {
  const u = new URL('/api/v1/top-contributors', hub.endsWith('/') ? hub : `${hub}/`);
  u.searchParams.set('from', String(now - o.sinceMs));
  u.searchParams.set('to', String(now));
  u.searchParams.set('metric', o.metric ?? 'bytes');
  u.searchParams.set('limit', o.limit ?? '20');
  if (o.groupBy) {
    u.searchParams.set('groupBy', o.groupBy);
  }
  if (o.category) {
    u.searchParams.set('category', o.category);
  }
  if (o.namespace) {
    u.searchParams.set('namespace', o.namespace);
  }
  if (o.cluster) {
    u.searchParams.set('cluster', o.cluster);
  }
  return u.toString();
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      hub: { type: 'string' },
      category: { type: 'string' },
      metric: { type: 'string' },
      limit: { type: 'string' },
      'group-by': { type: 'string' },
      namespace: { type: 'string' },
      cluster: { type: 'string' },
      since: { type: 'string', default: '1h' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const hub = values.hub ?? process.env.FLOWLENS_HUB_URL ?? 'http://127.0.0.1:7470';
  const url = topUrl(
    hub,
    {
      category: values.category,
      metric: values.metric,
      limit: values.limit,
      groupBy: values['group-by'],
      namespace: values.namespace,
      cluster: values.cluster,
      sinceMs: parseDuration(values.since!),
    },
    Date.now()
  );
  const text = await queryHub({ command: 'top', hub, url, timeoutMs: 30_000 });
  if (text === null) {
    return 1;
  }
  if (values.json) {
    process.stdout.write(`${text}\n`);
    return 0;
  }
  const rows = (JSON.parse(text) as { rows: TopRowView[] }).rows;
  if (rows.length === 0) {
    process.stdout.write('no flows in this range\n');
    return 0;
  }
  process.stdout.write(renderTable(rows, process.stdout.columns ?? 160));
  return 0;
}
