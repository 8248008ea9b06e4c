/**
 * Thousands of mutated reports against a real hub: every answer is a 2xx or a 4xx, never a 5xx or a dropped
 * connection, and the hub still answers queries afterwards. Seeded, so a failure can be replayed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { fixture, startHubProcess } from '../lib/hub-process';
import { fixtureReport } from '../lib/report-fixtures';

const COUNT = 3000;
const CONCURRENCY = 16;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ODD_VALUES: unknown[] = [
  null,
  -1,
  1.5,
  1e308,
  Number.MAX_SAFE_INTEGER,
  '',
  'x'.repeat(300),
  '10.0.0.1',
  '::1',
  true,
  [],
  {},
  { min: -1, avg: 'a', max: null },
  '2026-13-45T99:99:99Z',
  '\u0000\ud800',
];

/** Windows a schema accepts but no agent can have sent: the hub answers 422 before they reach the store. */
function impossibleWindow(rand: () => number): [string, string] {
  const now = Date.now();
  const iso = (ms: number): string => new Date(ms).toISOString();
  const windows: Array<[string, string]> = [
    ['1969-12-31T23:59:30Z', '1970-01-01T00:00:00Z'],
    ['1999-12-31T23:59:30.000Z', '2000-01-01T00:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:30Z'],
    [iso(now - 3 * 86400_000), iso(now)], // a window of days
    [iso(now - 3600_000 - 1000), iso(now)], // just over an hour
    [iso(now + 3600_000), iso(now + 3600_000 + 30_000)], // an hour in the future
    ['9999-12-31T23:59:00Z', '9999-12-31T23:59:30Z'],
    [iso(now - 30_000), iso(now - 60_000)], // end before start
  ];
  return windows[Math.floor(rand() * windows.length)]!;
}

/** Picks a random path into a JSON value. */
function paths(v: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []) {
  out.push(prefix);
  if (Array.isArray(v)) {
    v.slice(0, 3).forEach((x, i) => paths(x, [...prefix, i], out));
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      paths(x, [...prefix, k], out);
    }
  }
  return out;
}

function mutate(base: any, rand: () => number): { body: Buffer; gzip: boolean; impossible: boolean } {
  const doc = structuredClone(base);
  const kind = Math.floor(rand() * 9);
  if (kind === 8) {
    [doc.start, doc.end] = impossibleWindow(rand);
    doc.reportId = crypto.randomUUID();
    return { body: Buffer.from(JSON.stringify(doc)), gzip: false, impossible: true };
  }
  const all = paths(doc).filter((p) => p.length > 0);
  for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
    const path = all[Math.floor(rand() * all.length)]!;
    let parent = doc;
    for (const k of path.slice(0, -1)) {
      parent = parent?.[k];
    }
    if (parent === null || typeof parent !== 'object') {
      continue;
    }
    const key = path[path.length - 1]!;
    if (kind === 0) {
      delete parent[key];
    } else {
      parent[key] = ODD_VALUES[Math.floor(rand() * ODD_VALUES.length)];
    }
  }
  if (kind === 5) {
    doc.reportId = crypto.randomUUID();
  } // sometimes valid: stored
  let text = JSON.stringify(doc);
  if (kind === 6) {
    text = text.slice(0, Math.floor(rand() * text.length));
  } // truncated
  let body = Buffer.from(text);
  if (kind === 7) {
    body = Buffer.from(body);
    for (let i = 0; i < 5; i++) {
      body[Math.floor(rand() * body.length)] = Math.floor(rand() * 256);
    }
  }
  const gzip = rand() < 0.3;
  if (gzip && rand() < 0.1) {
    return { body: body.subarray(0, 20), gzip: true, impossible: false };
  } // claims gzip, is not
  return { body: gzip ? gzipSync(body) : body, gzip, impossible: false };
}

test(`fuzz: ${COUNT} mutated reports, no crash and no 5xx`, async () => {
  const hub = await startHubProcess({ metadataFile: fixture('metadata/three-nodes.json') });
  try {
    const base = fixtureReport('node-a1', { startMs: Date.now() - 60_000 });
    const rand = rng(20261121);
    const statuses = new Map<number, number>();
    const problems: string[] = [];
    let next = 0;
    let impossibleSeen = 0;
    const worker = async (): Promise<void> => {
      while (next < COUNT) {
        next++;
        const { body, gzip, impossible } = mutate(base, rand);
        const headers: Record<string, string> = { Authorization: `Bearer ${hub.ingestToken}` };
        if (gzip) {
          headers['Content-Encoding'] = 'gzip';
        }
        try {
          const res = await fetch(`${hub.url}/api/v1/reports`, { method: 'POST', headers, body });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status >= 500) {
            problems.push(`${res.status} for ${body.subarray(0, 200).toString()}`);
          }
          if (impossible) {
            impossibleSeen++;
            if (res.status !== 422) {
              problems.push(`impossible window answered ${res.status}: ${body.subarray(0, 300).toString()}`);
            }
          }
        } catch (err) {
          problems.push(`request failed: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.deepEqual(problems.slice(0, 5), []);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, COUNT);
    assert.ok((statuses.get(422) ?? 0) > COUNT / 4, `schema violations seen: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(400) ?? 0) > 0, 'malformed bodies seen');
    assert.ok(impossibleSeen > COUNT / 20, `valid-but-impossible windows sent: ${impossibleSeen}`);
    // The store took none of them, and the valid reports still commit.
    const valid = fixtureReport('node-a2', { startMs: Date.now() - 60_000, newId: true });
    assert.equal((await hub.postReport(valid)).status, 200);
    const q = await hub.get(`/api/v1/top-contributors?from=${Date.now() - 3600_000}`);
    assert.equal(q.status, 200, 'still answers queries');
    assert.equal(hub.process.exitCode, null, 'still running');
  } finally {
    await hub.cleanup();
  }
});
