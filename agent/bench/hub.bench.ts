/**
 * `npm run bench:hub`: N nodes × W windows of 30 s reports × F flows through the hub's own ingest path
 * in-process (Ingestor.handleBody: JSON.parse, schema validation, enrichment from an N-node metadata set, the
 * store's group commit), with the roll-up passes a running hub makes, then a mix of top-contributors and
 * service-map queries. By default one run does the same generated workload on both stores, side by side:
 * DuckDB (embedded file) and ClickHouse (through @clickhouse/client against the chdb stand-in of
 * tests/lib/clickhouse-standin.ts, in a process of its own: its CPU apart, on the same 2 cores). Also where the
 * ingest time goes: parse, validate (the hub's checkReport) and enrich timed per report on one window's reports, store = the store's
 * append time. The last line is one JSON object.
 *
 *   --store duckdb|clickhouse|both  --nodes N  --windows W  --flows F (per report)  --queries Q
 *   --data-dir DIR (DuckDB; default: a temp dir, removed)
 *   --clickhouse-sink: the ClickHouse stand-in answers inserts without storing them (no queries, no totals): the
 *   hub's own ingest path (parse, validate, enrich, encode, @clickhouse/client, HTTP) with a store that keeps up
 *   --clickhouse-prefill (with --store clickhouse): reports still go through the hub's ingest path (parse, validate,
 *   enrich, the store's row encoding), but the store takes each window's reports in one INSERT per table
 *   (ClickHouseStore.appendBulk: no per-report deduplication token, no asynchronous-insert wait), as a server's
 *   asynchronous insert queue and merges would; then the same query mix. For the query figures at sizes the
 *   stand-in cannot take report by report (1,000 nodes × 1 h). Queries also print the engine's own time.
 * Default: both stores, 100 nodes × 10 windows (5 minutes) × 500 flows = 0.5 M records each, which keeps the
 * run under 10 minutes on 2 cores with the ClickHouse stand-in (one embedded engine, statements one at a time).
 * The figures: --store duckdb --nodes 1000 --windows 120 (1 hour), and --nodes 5000 with fewer windows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadIpRanges } from '../src/classify/load.js';
import { checkReport } from '../src/contracts/report-check.js';
import type { MetadataFile, PodInfo } from '../src/contracts/metadata.js';
import { Enricher } from '../src/hub/enrich.js';
import { parseJsonBody } from '../src/hub/json-body.js';
import { Ingestor } from '../src/hub/ingest.js';
import { parseMapQuery, parseTopQuery } from '../src/hub/params.js';
import { StaticMetadata } from '../src/metadata/static-file.js';
import { Ids, rawTsvBytes } from '../src/store/clickhouse-append.js';
import { TsvWriter } from '../src/store/clickhouse-tsv.js';
import { parseStoreSpec, type ClickHouseConfig } from '../src/store/clickhouse-config.js';
import { ClickHouseStore } from '../src/store/clickhouse-store.js';
import { databaseClient, startTestStandinProcess, type StandinProcess } from '../src/store/clickhouse-test-stores.js';
import { DuckDbStore } from '../src/store/duckdb-store.js';
import type { FlowStore, PreparedReport } from '../src/store/flow-store.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'both' },
    nodes: { type: 'string', default: '100' },
    windows: { type: 'string', default: '10' },
    flows: { type: 'string', default: '500' },
    queries: { type: 'string', default: '70' },
    'data-dir': { type: 'string' },
    'clickhouse-sink': { type: 'boolean', default: false },
    'clickhouse-prefill': { type: 'boolean', default: false },
  },
});
if (!['duckdb', 'clickhouse', 'both'].includes(values.store!)) {
  throw new Error(`--store: expected duckdb, clickhouse or both, got '${values.store}'`);
}
const STORES = (values.store === 'both' ? ['duckdb', 'clickhouse'] : [values.store]) as Array<'duckdb' | 'clickhouse'>;
const NODES = Number(values.nodes);
const WINDOWS = Number(values.windows);
const FLOWS = Number(values.flows);
const QUERIES = Number(values.queries);
/** ClickHouse: the engine answers inserts without storing them, so the hub's own ingest path is the bound. */
const SINK = values['clickhouse-sink']!;
/** ClickHouse: each window's reports stored in one insert per table (ClickHouseStore.appendBulk). */
const PREFILL = values['clickhouse-prefill']!;
if (PREFILL && (values.store !== 'clickhouse' || SINK)) {
  throw new Error('--clickhouse-prefill: ClickHouse only (--store clickhouse), and not with --clickhouse-sink');
}
const PODS_PER_NODE = 20;
const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
/** Flows per report: `internal` client ends, as many server ends (other nodes' clients), the rest external. */
const EXTERNAL = Math.round(FLOWS * 0.048);
const INTERNAL = Math.floor((FLOWS - EXTERNAL) / 2);
const WINDOW_MS = 30_000;

const log = (msg: string): void => void process.stderr.write(`bench:hub ${msg}\n`);

function podIp(node: number, i: number): string {
  return `10.${100 + (node >> 8)}.${node & 255}.${i + 10}`;
}

function metadata(): MetadataFile {
  const pods: PodInfo[] = [];
  for (let n = 0; n < NODES; n++) {
    for (let i = 0; i < PODS_PER_NODE; i++) {
      const w = (n * 7 + i * 13) % 400; // 400 workloads in 20 namespaces
      pods.push({
        ip: podIp(n, i),
        name: `wl${w}-${n}-${i}`,
        namespace: `ns${w % 20}`,
        workload: `wl${w}`,
        kind: 'Deployment',
        node: `node-${n}`,
      });
    }
  }
  return {
    nodes: Array.from({ length: NODES }, (_, n) => ({ name: `node-${n}`, zone: ZONES[n % ZONES.length]! })),
    pods,
    services: [],
  };
}

/** External destinations: S3 and DynamoDB (bundled us-east-1 prefixes) and the internet. */
const EXTERNAL_IPS = ['52.216.10.1', '52.217.200.9', '52.94.1.20', '3.218.182.7', '93.184.216.34', '1.1.1.1'];

/** Deterministic counters for flow (node, k) in window w. */
function counters(n: number, k: number, w: number): [number, number, number] {
  const h = (n * 2654435761 + k * 40503 + w * 2246822519) >>> 0;
  const up = 1000 + (h % 50_000);
  const down = 5000 + ((h >>> 7) % 400_000);
  const retrans = h % 97 === 0 ? 1 + (h % 5) : 0;
  return [up, down, retrans];
}

function flowJson(
  localIp: string,
  localPort: number,
  remoteIp: string,
  remotePort: number,
  dir: string,
  sent: number,
  recv: number,
  retrans: number,
  rtt: number
): string {
  return (
    `{"localIp":"${localIp}","localPort":${localPort},"remoteIp":"${remoteIp}","remotePort":${remotePort},` +
    `"direction":"${dir}","local":null,"bytesSent":${sent},"bytesReceived":${recv},"segmentsSent":${Math.ceil(sent / 1448)},` +
    `"segmentsReceived":${Math.ceil(recv / 1448)},"retransmits":${retrans},"rtos":0,` +
    `"rttUs":{"min":${rtt},"avg":${rtt + 20},"max":${rtt + 90}},"connectionsOpened":1,"connectionsClosed":1}`
  );
}

const uuid = (n: number, w: number): string =>
  `${n.toString(16).padStart(8, '0')}-0000-4000-8000-${w.toString(16).padStart(12, '0')}`;

/** Node n's report for window w, as the agent would POST it. */
function reportBody(n: number, w: number, t0: number): Buffer {
  const parts: string[] = [];
  for (let k = 0; k < INTERNAL; k++) {
    const m = (n + 1 + k) % NODES;
    const [up, down, rt] = counters(n, k, w);
    parts.push(
      flowJson(
        podIp(n, k % PODS_PER_NODE),
        0,
        podIp(m, (k * 7) % PODS_PER_NODE),
        8080 + (k % 5),
        'client',
        up,
        down,
        rt,
        300
      )
    );
  }
  for (let k = 0; k < EXTERNAL; k++) {
    const [up, down, rt] = counters(n, INTERNAL + k, w);
    parts.push(
      flowJson(
        podIp(n, k % PODS_PER_NODE),
        0,
        EXTERNAL_IPS[k % EXTERNAL_IPS.length]!,
        443,
        'client',
        up,
        down,
        rt,
        1500
      )
    );
  }
  // Server ends: the flows other nodes' clients opened to this node.
  for (let k = 0; k < INTERNAL; k++) {
    const c = (((n - 1 - k) % NODES) + NODES) % NODES;
    const [up, down, rt] = counters(c, k, w);
    parts.push(
      flowJson(
        podIp(n, (k * 7) % PODS_PER_NODE),
        8080 + (k % 5),
        podIp(c, k % PODS_PER_NODE),
        0,
        'server',
        down,
        up,
        rt === 0 ? 0 : 1,
        280
      )
    );
  }
  const start = new Date(t0 + w * WINDOW_MS + (n % 29) * 1000).toISOString();
  const end = new Date(t0 + (w + 1) * WINDOW_MS + (n % 29) * 1000).toISOString();
  return Buffer.from(
    `{"version":1,"reportId":"${uuid(n, w)}","node":"node-${n}","zone":"${ZONES[n % ZONES.length]}","start":"${start}",` +
      `"end":"${end}","flows":[${parts.join(',')}],"other":{"bytesSent":0,"bytesReceived":0,"segmentsSent":0,` +
      `"segmentsReceived":0,"retransmits":0,"rtos":0,"connectionsOpened":0,"connectionsClosed":0,"flows":0}}`
  );
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** parse / validate / enrich (and ClickHouse's insert encoding) CPU µs per record, report by report over one window. */
function stageTimes(
  enricher: Enricher,
  t0: number,
  kind: 'duckdb' | 'clickhouse'
): { parseUs: number; validateUs: number; enrichUs: number; encodeUs?: number } {
  let parse = 0;
  let validate = 0;
  let enrich = 0;
  let encode = 0;
  let records = 0;
  const ids = new Ids();
  const tsv = new TsvWriter();
  // CPU time, not wall time: on a shared machine a stage's wall time includes waiting for a core.
  const now = (): number => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  for (let n = 0; n < NODES; n++) {
    const body = reportBody(n, 0, t0);
    const a = now();
    const doc: unknown = parseJsonBody(body);
    const b = now();
    const checked = checkReport(doc);
    const c = now();
    if (!checked.success) {
      throw new Error(`bench report refused: ${JSON.stringify(checked.issues.slice(0, 3))}`);
    }
    const parsed = checked.data;
    const stored = enricher.enrich(parsed);
    const d = now();
    parse += b - a;
    validate += c - b;
    enrich += d - c;
    records += parsed.flows.length;
    if (kind === 'clickhouse') {
      // The ClickHouse store's insert encoding (its raw rows as TabSeparated bytes), as its prepare does it; after
      // an untimed first pass, since a running hub's ids are cached (the same ends report every window).
      rawTsvBytes(stored, ids, new Map(), tsv);
      const e = now();
      rawTsvBytes(stored, ids, new Map(), tsv);
      encode += now() - e;
    }
  }
  const us = (total: number): number => Number((total / records).toFixed(2));
  return {
    parseUs: us(parse),
    validateUs: us(validate),
    enrichUs: us(enrich),
    ...(kind === 'clickhouse' ? { encodeUs: us(encode) } : {}),
  };
}

/** The store, with the wall time of its appends summed (they overlap parsing: two batches are in flight). */
function timed(store: FlowStore): { store: FlowStore; appendMs: () => number } {
  let ms = 0;
  // The ingest appends what the store prepared at enrichment (FlowStore.appendPrepared).
  const appendPrepared = store.appendPrepared.bind(store);
  store.appendPrepared = async (reports) => {
    const a = performance.now();
    try {
      await appendPrepared(reports);
    } finally {
      ms += performance.now() - a;
    }
  };
  return { store, appendMs: () => ms };
}

/** Rows and active parts per table of a ClickHouse database (the prefill's report). */
async function tableRows(config: ClickHouseConfig): Promise<Record<string, { rows: number; parts: number }>> {
  const c = databaseClient(config);
  try {
    const rs = await c.query({
      query: `SELECT table, sum(rows) AS rows, count() AS parts FROM system.parts
        WHERE active AND database = currentDatabase() GROUP BY table ORDER BY table`,
      format: 'JSONEachRow',
    });
    const out: Record<string, { rows: number; parts: number }> = {};
    for (const r of await rs.json<{ table: string; rows: string; parts: string }>()) {
      out[r.table] = { rows: Number(r.rows), parts: Number(r.parts) };
    }
    return out;
  } finally {
    await c.close();
  }
}

async function runOne(kind: 'duckdb' | 'clickhouse'): Promise<Record<string, unknown>> {
  const wall0 = performance.now();
  const ownDir = values['data-dir'] === undefined;
  const dataDir = values['data-dir'] ?? (await mkdtemp(join(tmpdir(), 'flowlens-bench-hub-')));
  let raw: FlowStore & { rawRetentionS: number };
  /** ClickHouse: the stand-in in a process of its own, as a server would be (its CPU apart from this one's). */
  let engine: StandinProcess | undefined;
  let config: ClickHouseConfig | undefined;
  if (kind === 'duckdb') {
    raw = new DuckDbStore({ dataDir });
  } else {
    engine = await startTestStandinProcess(join(dataDir, 'chdb'), { discardInserts: SINK });
    const spec = parseStoreSpec(engine.storeSpec('flowlens'));
    if (spec.kind !== 'clickhouse') {
      throw new Error('unreachable');
    }
    config = spec.config;
    raw = new ClickHouseStore({ config });
  }
  await raw.open();
  const { store, appendMs } = timed(raw);
  /** --clickhouse-prefill: the reports the ingest prepared, waiting for their window's bulk insert. */
  let pending: PreparedReport[] = [];
  let bulkMs = 0;
  if (PREFILL) {
    store.appendPrepared = async (reports) => {
      pending.push(...reports);
    };
  }
  /** The previous window's bulk insert: it runs while the next window's reports are parsed (the engine's process). */
  let bulkPrevious: Promise<void> = Promise.resolve();
  const flushBulk = async (): Promise<void> => {
    await bulkPrevious;
    const batch = pending;
    pending = [];
    const a = performance.now();
    bulkPrevious = (raw as ClickHouseStore).appendBulk(batch).then(() => void (bulkMs += performance.now() - a));
  };
  const meta = new StaticMetadata(metadata());
  const enricher = new Enricher(meta, await loadIpRanges());
  const ingestor = new Ingestor(store, enricher, {
    maxBodyBytes: 16 * 1024 * 1024,
    maxAgeS: raw.rawRetentionS - 300,
    commitRows: 100_000,
    commitDelayMs: 50,
  });
  const hour = 3600_000;
  const t0 = Math.floor(Date.now() / hour) * hour - 2 * hour;
  log(
    `${kind}: ${NODES} nodes × ${WINDOWS} windows × ${FLOWS} flows (${INTERNAL} client, ${EXTERNAL} external, ${INTERNAL} server)`
  );

  // Ingest time = wall time of the loop minus the time spent generating report bodies (same thread).
  // Two batches are in flight, so the next batch parses while the store commits the previous one.
  let genMs = 0;
  /** CPU the report generation used (this thread, synchronous): taken out of the hub path's CPU. */
  let genCpuUs = 0;
  const cpuUs = (u: NodeJS.CpuUsage): number => u.user + u.system;
  let records = 0;
  const BATCH = 250; // reports in flight together (they share group commits)
  const loop0 = performance.now();
  const cpu0 = process.cpuUsage();
  /** Garbage-collection pauses over the ingest (reports waiting on the store outlive the young generation). */
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  const engineCpu0 = (await engine?.cpuSeconds()) ?? 0;
  let previous: Promise<void> = Promise.resolve();
  let retried = 0;
  /** As an agent does: a 503 (the store failed, nothing acknowledged) is sent again, up to 3 times. */
  const ingestOne = async (body: Buffer): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const r = await ingestor.handleBody(body, undefined);
      if (r.status === 503 && attempt < 3) {
        retried++;
        log(`${kind}: retrying a report after ${r.status} ${JSON.stringify(r.body)}`);
        continue;
      }
      if (r.status !== 200) {
        throw new Error(`ingest failed: ${r.status} ${JSON.stringify(r.body)}`);
      }
      records += r.body.duplicate ? 0 : (r.body.flows as number);
      return;
    }
  };
  const ingestBatch = async (bodies: Buffer[]): Promise<void> => {
    await Promise.all(bodies.map(ingestOne));
  };
  for (let w = 0; w < WINDOWS; w++) {
    for (let first = 0; first < NODES; first += BATCH) {
      const g0 = performance.now();
      const gc0 = process.cpuUsage();
      const bodies: Buffer[] = [];
      for (let n = first; n < Math.min(NODES, first + BATCH); n++) {
        bodies.push(reportBody(n, w, t0));
      }
      genMs += performance.now() - g0;
      genCpuUs += cpuUs(process.cpuUsage(gc0));
      const current = ingestBatch(bodies);
      await previous;
      previous = current;
    }
    if (PREFILL) {
      await previous;
      await flushBulk();
    }
    if ((w + 1) % 10 === 0 || w === WINDOWS - 1) {
      await previous;
      // A running hub makes this pass every 30 s; here every 5 simulated minutes. Counted as ingest time.
      await bulkPrevious;
      await store.maintain(t0 + (w + 1) * WINDOW_MS + 30_000);
      const ms = performance.now() - loop0 - genMs;
      log(`${kind}: window ${w + 1}/${WINDOWS}: ${records} records, ${Math.round(records / (ms / 1000))} records/s`);
    }
  }
  await previous;
  await bulkPrevious;
  // The hour closes: final roll-ups (5-minute compaction, 15-minute and 1-hour buckets; nothing for ClickHouse).
  const m0 = performance.now();
  await store.maintain(t0 + WINDOWS * WINDOW_MS + 10 * 60_000);
  const finalMaintainMs = performance.now() - m0;
  const ingestMs = performance.now() - loop0 - genMs;
  const cpuS = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6;
  // CPU seconds of the ingest: this process (generating the reports included) and the engine's process.
  const benchCpuS = cpuS(process.cpuUsage(cpu0));
  const engineCpuS = engine ? (await engine.cpuSeconds()) - engineCpu0 : undefined;
  const ingestCpu = {
    benchProcessS: Number(benchCpuS.toFixed(1)),
    generateS: Number((genCpuUs / 1e6).toFixed(1)),
    engineProcessS: engineCpuS === undefined ? undefined : Number(engineCpuS.toFixed(1)),
  };
  // The hub process's own capacity: its ingest path's CPU (this process minus report generation; the engine's
  // process apart), per record and as records per CPU-second — the "per hub process" figure of issue 14.
  gc.disconnect();
  const hubCpuS = benchCpuS - genCpuUs / 1e6;
  const hubPath = {
    cpuUsPerRecord: Number(((hubCpuS * 1e6) / records).toFixed(2)),
    gcUsPerRecord: Number(((gcMs * 1000) / records).toFixed(2)),
    recordsPerCpuSecond: Math.round(records / hubCpuS),
    ...(engineCpuS === undefined ? {} : { engineCpuUsPerRecord: Number(((engineCpuS * 1e6) / records).toFixed(1)) }),
  };
  if (raw instanceof DuckDbStore) {
    await raw.checkpoint();
  }

  // Queries as the datasource sends them: Grafana ranges ending at the end of the data, epoch ms.
  const end = t0 + WINDOWS * WINDOW_MS;
  const ranges = [5, 15, 30, 60, 60, 180].map((min) => [end - min * 60_000, end] as const);
  // [API, query, label]: the log's p50 / max are per label and range, so a label is one kind of query.
  const kinds = [
    (f: number, t: number) => ['top', `from=${f}&to=${t}&metric=bytes&limit=500`, 'top'],
    (f: number, t: number) => [
      'top',
      `from=${f}&to=${t}&metric=retransmits&limit=100&category=INTER_AZ`,
      'top inter-az',
    ],
    (f: number, t: number) => ['top', `from=${f}&to=${t}&metric=bytes&groupBy=workload&limit=500`, 'top by workload'],
    (f: number, t: number) => ['top', `from=${f}&to=${t}&metric=bytes&category=AMAZON_S3,AMAZON_DYNAMODB`, 'top s3'],
    (f: number, t: number) => ['top', `from=${f}&to=${t}&metric=rtt&namespace=ns3`, 'top rtt ns3'],
    (f: number, t: number) => ['map', `from=${f}&to=${t}&groupBy=workload`, 'map'],
    (f: number, t: number) => ['map', `from=${f}&to=${t}&groupBy=workload&namespace=ns7`, 'map ns7'],
  ];
  const latencies: number[] = [];
  const byKind: Record<string, number[]> = {};
  /** ClickHouse: the engine's own time of each query (X-ClickHouse-Summary elapsed_ns), beside the wall time. */
  const engineMs: number[] = [];
  const engineByKind: Record<string, number[]> = {};
  const engineNs = (): number => (raw instanceof ClickHouseStore ? raw.engineQueryNs() : 0);
  // With --clickhouse-sink nothing was stored: no queries, no totals to compare.
  const sink = SINK && kind === 'clickhouse';
  for (let i = 0; i < (sink ? 0 : QUERIES); i++) {
    const [f, t] = ranges[i % ranges.length]!;
    const [qkind, qs, label] = kinds[Math.floor(i / ranges.length) % kinds.length]!(f, t) as [string, string, string];
    const p = new URLSearchParams(qs);
    const q0 = performance.now();
    const e0 = engineNs();
    if (qkind === 'top') {
      await store.topContributors(parseTopQuery(p, end));
    } else {
      await store.serviceMap(parseMapQuery(p, end));
    }
    const ms = performance.now() - q0;
    const label2 = `${label} ${Math.round((t - f) / 60_000)}m`;
    latencies.push(ms);
    (byKind[label2] ??= []).push(ms);
    if (kind === 'clickhouse') {
      engineMs.push((engineNs() - e0) / 1e6);
      (engineByKind[label2] ??= []).push((engineNs() - e0) / 1e6);
    }
  }
  const round1 = (v: number): number => Number(v.toFixed(1));
  /** Per kind and range: wall p50 / p95 / max and, with ClickHouse, the engine's own p50 / p95. */
  const queryKinds: Record<string, Record<string, number>> = {};
  for (const [k, xs] of Object.entries(byKind)) {
    const eng = engineByKind[k];
    queryKinds[k] = {
      n: xs.length,
      p50: round1(percentile(xs, 50)),
      p95: round1(percentile(xs, 95)),
      max: round1(Math.max(...xs)),
      ...(eng ? { engineP50: round1(percentile(eng, 50)), engineP95: round1(percentile(eng, 95)) } : {}),
    };
    log(
      `${kind}: query ${k}: p50 ${percentile(xs, 50).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms` +
        (eng ? `, engine p50 ${percentile(eng, 50).toFixed(1)} ms, p95 ${percentile(eng, 95).toFixed(1)} ms` : '')
    );
  }

  // Exactness: the range's merged bytes (both ends of every internal flow counted once) against the generator.
  let expectedBytes = 0;
  for (let n = 0; n < NODES; n++) {
    for (let w = 0; w < WINDOWS; w++) {
      for (let k = 0; k < INTERNAL + EXTERNAL; k++) {
        const [up, down] = counters(n, k, w);
        expectedBytes += up + down;
      }
    }
  }
  const total = await store.timeseries({
    fromMs: t0,
    toMs: end + hour,
    metric: 'bytes',
    stepMs: 3600_000,
    groupBy: 'total',
    limit: 1,
  });
  const storedBytes = total.result[0]?.points.reduce((a, [, v]) => a + v, 0) ?? 0;

  const stats = await store.stats();
  const stages = stageTimes(enricher, t0, kind);
  const result = {
    ingestRecordsPerSec: Math.round(records / (ingestMs / 1000)),
    queryP95Ms: sink ? null : Number(percentile(latencies, 95).toFixed(1)),
    queryP50Ms: sink ? null : Number(percentile(latencies, 50).toFixed(1)),
    queries: latencies.length,
    ...(engineMs.length > 0
      ? { queryEngineP95Ms: round1(percentile(engineMs, 95)), queryEngineP50Ms: round1(percentile(engineMs, 50)) }
      : {}),
    queryKinds,
    ...(PREFILL ? { prefill: { bulkInsertSeconds: round1(bulkMs / 1000), tableRows: await tableRows(config!) } } : {}),
    rows: stats.rawRows,
    rollupRows: stats.rollupRows,
    records,
    retried,
    storeBytes: stats.bytesOnDisk,
    ingestSeconds: Number((ingestMs / 1000).toFixed(1)),
    // Where the ingest time goes, µs per record: parse, validate, enrich (one window, report by report) and
    // store (the store's append wall time over the run; appends overlap the next batch's parsing).
    stageUsPerRecord: { ...stages, storeUs: Number(((appendMs() * 1000) / records).toFixed(2)) },
    ingestCpuSeconds: ingestCpu,
    // ClickHouse: the rest of cpuUsPerRecord after parse, validate, enrich and encode is the client's request
    // (HTTP, the hasReport query), the ingest's bookkeeping and garbage collection.
    hubPath,
    finalRollupSeconds: Number((finalMaintainMs / 1000).toFixed(1)),
    generateSeconds: Number((genMs / 1000).toFixed(1)),
    wallSeconds: Number(((performance.now() - wall0) / 1000).toFixed(1)),
    totalBytesExact: sink ? null : storedBytes === expectedBytes,
    totalBytes: storedBytes,
    ingestPath:
      kind === 'duckdb'
        ? 'in-process Ingestor.handleBody (JSON.parse, the compiled report check, enrichment, DuckDB group commit) + roll-up passes'
        : PREFILL
          ? 'in-process Ingestor.handleBody (JSON.parse, the compiled report check, enrichment, encoding), then one bulk insert per table per window (ClickHouseStore.appendBulk) → chdb stand-in in its own process'
          : 'in-process Ingestor.handleBody (JSON.parse, the compiled report check, enrichment, @clickhouse/client async inserts over HTTP) → chdb stand-in in its own process',
  };
  await store.close();
  await engine?.stop();
  if (ownDir) {
    await rm(dataDir, { recursive: true, force: true });
  }
  log(`${kind}: ${JSON.stringify(result)}`);
  return result;
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = { nodesSimulated: NODES, windows: WINDOWS, flowsPerReport: FLOWS };
  for (const kind of STORES) {
    out[kind] = await runOne(kind);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:hub failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
