/**
 * Frame-building benchmark: a service map of 200 workloads and 2,000 edges through buildServiceMapFrames,
 * plus 2,500 top-talker rows (5 categories × 500) through buildTopTalkersFrame. Target: median ≤ 20 ms per map
 * (p95 is printed too; on a shared, loaded machine it mostly measures the neighbours).
 * Prints a summary; the last line is one JSON object.
 */
import { performance } from 'node:perf_hooks';
import { CATEGORIES, type ServiceMapResponse, type TopContributorRow } from '../datasource/hubTypes';
import { buildServiceMapFrames } from '../frames/serviceMapFrames';
import { buildTopTalkersFrame } from '../frames/topTalkersFrame';
import { serviceMapLinks } from '../frames/drilldownLinks';

const WORKLOADS = 200;
const EDGES = 2000;
const RUNS = 50;
const TARGET_MS = 20;

/** Deterministic pseudo-random numbers (mulberry32) so every run builds the same map. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function syntheticMap(): ServiceMapResponse {
  const rand = rng(42);
  const nodes = Array.from({ length: WORKLOADS }, (_, i) => ({
    id: `ns${i % 12}/wl${i}`,
    title: `wl${i}`,
    namespace: `ns${i % 12}`,
    kind: 'Deployment',
    workload: `wl${i}`,
  }));
  const edges = Array.from({ length: EDGES }, (_, i) => {
    // Distinct source→target pairs: each workload talks to the next 10.
    const s = i % WORKLOADS;
    const t = (s + 1 + Math.floor(i / WORKLOADS)) % WORKLOADS;
    return {
      id: `e${i}`,
      source: nodes[s]!.id,
      target: nodes[t]!.id,
      bytes: Math.floor(rand() * 1e9),
      retransmits: rand() < 0.3 ? Math.floor(rand() * 1000) : 0,
      rtos: rand() < 0.05 ? Math.floor(rand() * 5) : 0,
      rttUs: rand() < 0.9 ? Math.floor(100 + rand() * 5000) : null,
    };
  });
  return { nodes, edges };
}

function syntheticRows(): TopContributorRow[] {
  const rand = rng(7);
  const end = (i: number) => ({
    ip: `10.0.${i % 250}.${i % 200}`,
    pod: `pod-${i}`,
    namespace: `ns${i % 12}`,
    workload: `wl${i % 200}`,
    kind: 'Deployment',
    node: `node-${i % 20}`,
    zone: i % 2 ? 'a' : 'b',
  });
  return CATEGORIES.flatMap((category) =>
    Array.from({ length: 500 }, (_, i) => ({
      category,
      local: end(i),
      remote: { ...end(i + 1), service: null },
      serverPort: 8080,
      value: Math.floor(rand() * 1e9),
      bytes: Math.floor(rand() * 1e9),
      retransmits: Math.floor(rand() * 10),
      rtos: 0,
      rttUs: Math.floor(rand() * 1000),
    }))
  );
}

function timeRuns(fn: () => unknown): { median: number; p95: number; max: number } {
  for (let i = 0; i < 5; i++) {
    fn();
  }
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { median: at(0.5), p95: at(0.95), max: times[times.length - 1]! };
}

const map = syntheticMap();
const rows = syntheticRows();
const links = serviceMapLinks('workload', { from: 0, to: 3600_000 });
const mapTimes = timeRuns(() => buildServiceMapFrames(map, links));
const [nodes, edges] = buildServiceMapFrames(map, links);
const tableTimes = timeRuns(() => buildTopTalkersFrame(rows, { metric: 'bytes' }));
const round = (n: number) => Math.round(n * 1000) / 1000;

console.log(`service map: ${WORKLOADS} workloads, ${EDGES} edges → ${nodes.length} nodes, ${edges.length} edges`);
console.log(
  `  median ${round(mapTimes.median)} ms, p95 ${round(mapTimes.p95)} ms, max ${round(mapTimes.max)} ms (target ≤ ${TARGET_MS} ms)`
);
console.log(
  `top talkers: ${rows.length} rows → median ${round(tableTimes.median)} ms, p95 ${round(tableTimes.p95)} ms`
);
console.log(
  JSON.stringify({
    bench: 'frames',
    workloads: WORKLOADS,
    edges: EDGES,
    runs: RUNS,
    serviceMapMedianMs: round(mapTimes.median),
    serviceMapP95Ms: round(mapTimes.p95),
    topTalkersRows: rows.length,
    topTalkersMedianMs: round(tableTimes.median),
    targetMs: TARGET_MS,
    withinTarget: mapTimes.median <= TARGET_MS,
  })
);
