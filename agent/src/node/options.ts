/** `flowlens-agent node` command line and environment (pure). */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { CLUSTER_NAME_PATTERN, MAX_FLOWS_PER_REPORT } from '../contracts/report.js';
import { DEFAULT_TOP_N } from '../report/build.js';
import { parseBpfStatsEnv } from './bpf-stats-env.js';

/** Seconds between reports, and between collection ticks, when no flag says otherwise (the chart's too). */
export const DEFAULT_REPORT_INTERVAL_S = 30;
export const DEFAULT_COLLECT_INTERVAL_S = 5;

export const NODE_USAGE = `Usage: flowlens-agent node [options]

Collect per-flow TCP statistics with eBPF and report them.

Options:
  --stdout                     print each report as one JSON line on stdout
  --hub URL                    send reports to a Flowlens hub (token from FLOWLENS_HUB_INGEST_TOKEN)
  --report-interval SECONDS    report period (default ${DEFAULT_REPORT_INTERVAL_S})
  --collect-interval SECONDS   collection tick (default ${DEFAULT_COLLECT_INTERVAL_S})
  --node-name NAME             node name in reports (default: NODE_NAME, else the host name)
  --cluster NAME               the cluster every report names (default: FLOWLENS_CLUSTER; without either, the
                               hub names the reports after its own cluster)
  --top-n N                    flows per report before the rest is summed into 'other' (default ${DEFAULT_TOP_N}, at most ${MAX_FLOWS_PER_REPORT})
  --max-sockets N              sockets tracked at once; beyond it new sockets are sampled out (default 65536)
  --max-flows N                distinct flows per collection tick (default 16384)
  --bpf-stats                  measure the agent's BPF run time (flowlens_agent_bpf_run_time_seconds_total) by
                               switching on the kernel's bpf_stats, which times EVERY BPF program on the node,
                               the CNI's per-packet ones too (about 37 ns per run here): off by default
                               (also FLOWLENS_BPF_STATS=on)
  -h, --help                   show this help

Environment: NODE_NAME, FLOWLENS_ZONE, FLOWLENS_CLUSTER, FLOWLENS_HUB_INGEST_TOKEN, FLOWLENS_BPF_STATS=on, OPEN_METRICS=on (+ OPEN_METRICS_ADDRESS, OPEN_METRICS_PORT).
`;

export interface NodeOptions {
  help: boolean;
  stdout: boolean;
  hub: string | null;
  hubToken: string | null;
  reportIntervalS: number;
  collectIntervalS: number;
  nodeName: string;
  zone: string | null;
  /** Report contract 1.1 `cluster` (null: reports carry none). */
  cluster: string | null;
  topN: number;
  maxSockets: number;
  maxFlows: number;
  /** Hold kernel bpf_stats while running (`--bpf-stats`, FLOWLENS_BPF_STATS): node-wide, so off by default. */
  bpfStats: boolean;
}

export class UsageError extends Error {}

/** `--top-n`: at most the contract's MAX_FLOWS_PER_REPORT, the most flows the hub accepts in one report. */
function topN(value: string | undefined): number {
  const n = positive(value, 'top-n', DEFAULT_TOP_N, true);
  if (n > MAX_FLOWS_PER_REPORT) {
    throw new UsageError(`--top-n must be at most ${MAX_FLOWS_PER_REPORT} (flows one report may hold), got '${value}'`);
  }
  return n;
}

function positive(value: string | undefined, name: string, fallback: number, integer = false): number {
  if (value === undefined) {
    return fallback;
  }
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got '${value}'`);
  }
  return n;
}

function bpfStatsEnv(value: string | undefined): boolean {
  try {
    return parseBpfStatsEnv(value);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function parseNodeOptions(argv: string[], env: NodeJS.ProcessEnv, host = hostname()): NodeOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        stdout: { type: 'boolean', default: false },
        hub: { type: 'string' },
        'report-interval': { type: 'string' },
        'collect-interval': { type: 'string' },
        'node-name': { type: 'string' },
        cluster: { type: 'string' },
        'top-n': { type: 'string' },
        'max-sockets': { type: 'string' },
        'max-flows': { type: 'string' },
        'bpf-stats': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const reportIntervalS = positive(v['report-interval'], 'report-interval', DEFAULT_REPORT_INTERVAL_S);
  const collectIntervalS = positive(v['collect-interval'], 'collect-interval', DEFAULT_COLLECT_INTERVAL_S);
  if (collectIntervalS > reportIntervalS) {
    throw new UsageError(
      `--collect-interval (${collectIntervalS}) must not be longer than --report-interval (${reportIntervalS})`
    );
  }
  let hub: string | null = null;
  if (v.hub !== undefined) {
    let url: URL;
    try {
      url = new URL(v.hub);
    } catch {
      // The value is not echoed: a malformed URL may still carry credentials.
      throw new UsageError('--hub must be a URL such as http://flowlens-hub:7470');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`--hub must be an http(s) URL, got scheme '${url.protocol}'`);
    }
    hub = v.hub;
  }
  const nodeName = v['node-name'] ?? env.NODE_NAME ?? host;
  if (!nodeName || nodeName.length > 253) {
    throw new UsageError('node name must be 1 to 253 characters (--node-name or NODE_NAME)');
  }
  const cluster = v.cluster ?? (env.FLOWLENS_CLUSTER || null);
  if (cluster !== null && !CLUSTER_NAME_PATTERN.test(cluster)) {
    throw new UsageError(
      `--cluster (or FLOWLENS_CLUSTER) must be letters, digits, '.', '_' and '-' (at most 253, starting with a letter or digit), got '${cluster.slice(0, 300)}'`
    );
  }
  return {
    help: v.help === true,
    stdout: v.stdout === true,
    hub,
    hubToken: env.FLOWLENS_HUB_INGEST_TOKEN || null,
    reportIntervalS,
    collectIntervalS,
    nodeName,
    zone: env.FLOWLENS_ZONE || null,
    cluster,
    topN: topN(v['top-n']),
    maxSockets: positive(v['max-sockets'], 'max-sockets', 65536, true),
    maxFlows: positive(v['max-flows'], 'max-flows', 16384, true),
    bpfStats: v['bpf-stats'] === true || bpfStatsEnv(env.FLOWLENS_BPF_STATS),
  };
}
