/**
 * `flowlens-agent hub --listen HOST:PORT (--data-dir DIR | --store SPEC) [--metadata-file F] [--ip-ranges-file F]`
 * Tokens: FLOWLENS_HUB_INGEST_TOKEN (agents) and FLOWLENS_HUB_QUERY_TOKEN (datasource, `top`).
 */
import { parseArgs } from 'node:util';
import { loadIpRanges } from '../classify/load.js';
import type { MetadataProvider } from '../contracts/metadata.js';
import { loadMetadataFile, StaticMetadata } from '../metadata/static-file.js';
import { describeStore, parseStoreSpec, type StoreSpec } from '../store/clickhouse-config.js';
import { ClickHouseStore } from '../store/clickhouse-store.js';
import { DuckDbStore } from '../store/duckdb-store.js';
import type { FlowStore } from '../store/flow-store.js';
import { Enricher } from './enrich.js';
import { Ingestor } from './ingest.js';
import { log } from './log.js';
import { parseClusterName } from './params.js';
import { DEFAULT_CLUSTER } from '../contracts/report.js';
import { createHubServer } from './server.js';

const USAGE = `Usage: flowlens-agent hub --listen HOST:PORT (--data-dir DIR | --store SPEC) [options]

  --listen HOST:PORT        address of the ingest and query API (port 0 picks a free port)
  --data-dir DIR            where the flow database lives (created if missing); same as --store duckdb:DIR
  --store SPEC              duckdb:DIR (embedded, the default) or
                            clickhouse://USER[:PASSWORD]@HOST:PORT/DB[?cluster=NAME] (clickhouses:// for TLS;
                            password also from FLOWLENS_CLICKHOUSE_PASSWORD): a store any number of hubs share
  --cluster NAME            this hub's cluster: the one its metadata describes, and the cluster of reports
                            without one (default: FLOWLENS_CLUSTER, else 'default')
  --metadata-file FILE      static pods/nodes/services (JSON); default in Kubernetes: a cluster-wide watch
  --ip-ranges-file FILE     extra AWS ip-ranges.json prefixes (override the bundled snapshot)
  --max-body-bytes N        largest report accepted, compressed or not (default 16777216)
  --raw-retention HOURS     raw 30 s rows (default 6)
  --rollup-retention DAYS   5- and 15-minute roll-ups (default 7)
  --hour-retention DAYS     1-hour roll-ups (default 90)
  --maintenance-interval S  roll-up and retention pass period (default 30)

Environment: FLOWLENS_HUB_INGEST_TOKEN, FLOWLENS_HUB_QUERY_TOKEN (both required), FLOWLENS_CLICKHOUSE_PASSWORD,
FLOWLENS_CLUSTER.
`;

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) {
    return fallback;
  }
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`--${name}: expected a positive number, got '${text}'`);
  }
  return n;
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  if (!m) {
    throw new Error(`--listen: expected HOST:PORT, got '${text}'`);
  }
  const port = Number(m[3]);
  if (port > 65535) {
    throw new Error(`--listen: port out of range: ${port}`);
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

async function metadataProvider(file: string | undefined): Promise<MetadataProvider> {
  if (file) {
    return loadMetadataFile(file);
  }
  if (process.env.KUBERNETES_SERVICE_HOST) {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const { KubernetesMetadata } = await import('../kube/provider.js');
    const kc = new KubeConfig();
    kc.loadFromCluster();
    return new KubernetesMetadata({ kubeConfig: kc, log: (msg) => log('info', msg) });
  }
  log('warn', 'no --metadata-file and not in Kubernetes: remote ends are named only from what agents report');
  return new StaticMetadata({ nodes: [], pods: [], services: [] });
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string' },
      'data-dir': { type: 'string' },
      store: { type: 'string' },
      'metadata-file': { type: 'string' },
      'ip-ranges-file': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'raw-retention': { type: 'string' },
      'rollup-retention': { type: 'string' },
      'hour-retention': { type: 'string' },
      'maintenance-interval': { type: 'string' },
      cluster: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.listen || (!values['data-dir'] && !values.store)) {
    process.stderr.write(`flowlens-agent hub: --listen and --data-dir or --store are required\n\n${USAGE}`);
    return 2;
  }
  if (values['data-dir'] && values.store) {
    process.stderr.write(`flowlens-agent hub: give --data-dir or --store, not both\n`);
    return 2;
  }
  let cluster: string;
  try {
    cluster = parseClusterName(values.cluster ?? (process.env.FLOWLENS_CLUSTER || DEFAULT_CLUSTER), '--cluster');
  } catch (err) {
    process.stderr.write(`flowlens-agent hub: ${(err as Error).message}\n`);
    return 2;
  }
  let spec: StoreSpec;
  try {
    spec = values.store ? parseStoreSpec(values.store, process.env) : { kind: 'duckdb', dataDir: values['data-dir']! };
  } catch (err) {
    process.stderr.write(`flowlens-agent hub: ${(err as Error).message}\n`);
    return 2;
  }
  const ingestToken = process.env.FLOWLENS_HUB_INGEST_TOKEN ?? '';
  const queryToken = process.env.FLOWLENS_HUB_QUERY_TOKEN ?? '';
  if (!ingestToken || !queryToken) {
    process.stderr.write('flowlens-agent hub: set FLOWLENS_HUB_INGEST_TOKEN and FLOWLENS_HUB_QUERY_TOKEN\n');
    return 2;
  }
  const { host, port } = parseListen(values.listen);
  const maxBodyBytes = positive('max-body-bytes', values['max-body-bytes'], 16 * 1024 * 1024);
  const rawRetentionS = positive('raw-retention', values['raw-retention'], 6) * 3600;
  const maintenanceMs = positive('maintenance-interval', values['maintenance-interval'], 30) * 1000;

  const ranges = await loadIpRanges(values['ip-ranges-file']);
  const metadata = await metadataProvider(values['metadata-file']);
  await metadata.start();
  const retention = {
    rawRetentionS,
    fineRetentionS: positive('rollup-retention', values['rollup-retention'], 7) * 86400,
    hourRetentionS: positive('hour-retention', values['hour-retention'], 90) * 86400,
  };
  const store: FlowStore =
    spec.kind === 'duckdb'
      ? new DuckDbStore({ dataDir: spec.dataDir, ...retention })
      : new ClickHouseStore({ config: spec.config, ...retention });
  await store.open();
  const ingestor = new Ingestor(store, new Enricher(metadata, ranges, Date.now, cluster), {
    maxBodyBytes,
    maxAgeS: rawRetentionS - 300,
  });
  const server = createHubServer({
    ingestToken,
    queryToken,
    maxBodyBytes,
    store,
    ingestor,
    policy: { metadata, ranges },
    cluster,
  });

  // A tick that finds the last pass still running is skipped: queueing it would only add back-to-back passes.
  let maintaining: Promise<void> | undefined;
  const timer = setInterval(() => {
    maintaining ??= store
      .maintain(Date.now())
      .catch((err: unknown) => log('error', 'maintenance failed', { error: (err as Error).message }))
      .finally(() => {
        maintaining = undefined;
      });
  }, maintenanceMs);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr : { address: host, port };
  const shownHost = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  log('info', 'hub listening', {
    url: `http://${shownHost}:${bound.port}`,
    store: describeStore(spec),
    ipPrefixes: ranges.size,
  });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        return;
      }
      stopping = true;
      log('info', 'hub stopping', { signal });
      clearInterval(timer);
      server.close();
      server.closeIdleConnections();
      void (async () => {
        try {
          await ingestor.drain();
          await maintaining;
          await store.close();
          await metadata.stop();
          resolve(0);
        } catch (err) {
          log('error', 'shutdown failed', { error: (err as Error).message });
          resolve(1);
        }
      })();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
