import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { compileCheck } from './compiled-check.js';
import { checkReport } from './report-check.js';
import { emptyCounters, MAX_FLOWS_PER_REPORT, MAX_FORWARDS_PER_REPORT, reportV1Schema } from './report.js';

/** A report using every field of the contract (1.0, 1.1 and 1.2). */
function fullReport(): Record<string, unknown> {
  return {
    version: 1,
    reportId: '00000001-0000-4000-8000-000000000002',
    node: 'node-1',
    cluster: 'prod-eu',
    zone: 'eu-west-1a',
    start: '2026-12-01T10:00:00.000Z',
    end: '2026-12-01T10:00:30+00:00',
    flows: [
      {
        localIp: '10.0.0.1',
        localPort: 0,
        remoteIp: 'fd00::15',
        remotePort: 443,
        direction: 'client',
        local: { namespace: 'ns', pod: 'p', workload: 'w', kind: 'Deployment' },
        rttUs: { min: 1, avg: 2.5, max: 9 },
        via: { ip: '10.96.0.10', port: 80 },
        bytesSent: 1,
        bytesReceived: 2,
        segmentsSent: 3,
        segmentsReceived: 4,
        retransmits: 0,
        rtos: 0,
        connectionsOpened: 1,
        connectionsClosed: 1,
        connectAttempts: 2,
        connectFailures: 1,
        connectRefused: 1,
        synRetransmits: 0,
        resetsSent: 0,
        resetsReceived: 1,
        drops: { NETFILTER_DROP: 3 },
      },
      {
        localIp: '10.0.0.2',
        localPort: 8080,
        remoteIp: '10.0.0.3',
        remotePort: 0,
        direction: 'server',
        local: null,
        rttUs: null,
        via: null,
        ...emptyCounters(),
      },
    ],
    other: {
      ...emptyCounters(),
      flows: 0,
    },
    forwards: [
      {
        clientIp: '192.0.2.1',
        via: { ip: '10.0.0.9', port: 30080 },
        backendIp: '10.0.0.4',
        backendPort: 8080,
        snatIp: null,
        connections: 2,
      },
    ],
  };
}

/** Every path to a value in `doc` (objects and arrays included), as key lists. */
function paths(doc: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [at];
  if (Array.isArray(doc)) {
    doc.forEach((v, i) => out.push(...paths(v, [...at, i])));
  } else if (doc !== null && typeof doc === 'object') {
    for (const [k, v] of Object.entries(doc)) {
      out.push(...paths(v, [...at, k]));
    }
  }
  return out;
}

function withValue(path: Array<string | number>, value: unknown): Record<string, unknown> {
  const doc = fullReport();
  let o = doc as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) {
    o = o[k] as Record<string | number, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === DELETE) {
    delete o[last];
  } else {
    o[last] = value;
  }
  return doc;
}

const DELETE = Symbol('delete');
/** Wrong (or borderline) values tried at every path: every type, NaN, negatives, fractions, bad strings. */
const SUBSTITUTES: unknown[] = [
  DELETE,
  undefined,
  null,
  true,
  0,
  1,
  -1,
  1.5,
  NaN,
  Infinity,
  -Infinity,
  65536,
  2 ** 53,
  '',
  'x',
  '1',
  '10.0.0.1',
  'not an ip',
  '2026-12-01T10:00:00Z',
  'a'.repeat(254),
  'client',
  'NO_SOCKET',
  {},
  [],
  [1],
  { ip: '10.0.0.1', port: 1 },
  new Date(0),
  Object.create(null),
];

const fast = compileCheck(reportV1Schema);

function describe(v: unknown): string {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === null ? 'Object.create(null)' : String(v);
}

test('the compiled check agrees with zod on every field replaced by every kind of wrong value', () => {
  assert.equal(fast(fullReport()), true);
  assert.equal(reportV1Schema.safeParse(fullReport()).success, true);
  let tried = 0;
  let refused = 0;
  for (const path of paths(fullReport()).filter((p) => p.length > 0)) {
    for (const v of SUBSTITUTES) {
      const doc = withValue(path, v);
      const zodSays = reportV1Schema.safeParse(doc).success;
      assert.equal(fast(doc), zodSays, `${path.join('.')} = ${describe(v)}: zod says ${zodSays}`);
      tried++;
      refused += zodSays ? 0 : 1;
    }
  }
  // The cases refuse far more often than not: the test exercises the rejecting side.
  assert.ok(tried > 2000 && refused > tried / 2, `${tried} cases, ${refused} refused`);
});

test('extra fields are accepted at every level, as zod accepts (and strips) them', () => {
  for (const path of paths(fullReport())) {
    const doc = fullReport();
    let o = doc as Record<string | number, unknown>;
    for (const k of path) {
      o = o[k] as Record<string | number, unknown>;
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) {
      continue;
    }
    o['unexpected'] = { nested: [1, 2] };
    const zodSays = reportV1Schema.safeParse(doc).success;
    assert.equal(fast(doc), zodSays, `extra field at ${path.join('.')}`);
  }
});

test('oversized arrays and too many drop reasons are refused with the field named', () => {
  const flows = (fullReport().flows as unknown[])[1];
  const tooMany = fullReport();
  tooMany.flows = Array.from({ length: MAX_FLOWS_PER_REPORT + 1 }, () => flows);
  assert.equal(fast(tooMany), false);
  const r = checkReport(tooMany);
  assert.equal(r.success, false);
  assert.match(!r.success ? `${r.issues[0]!.path.join('.')}: ${r.issues[0]!.message}` : '', /^flows: .*10000/);

  const exactly = fullReport();
  exactly.flows = Array.from({ length: MAX_FLOWS_PER_REPORT }, () => flows);
  assert.equal(checkReport(exactly).success, true);

  const forwards = fullReport();
  forwards.forwards = Array.from(
    { length: MAX_FORWARDS_PER_REPORT + 1 },
    () => (fullReport().forwards as unknown[])[0]
  );
  assert.equal(fast(forwards), false);
  assert.equal(checkReport(forwards).success, false);

  const drops = fullReport();
  (drops.flows as Array<Record<string, unknown>>)[0]!.drops = Object.fromEntries(
    Array.from({ length: 257 }, (_, i) => [`R${i}`, 1])
  );
  const d = checkReport(drops);
  assert.equal(d.success, false);
  assert.match(!d.success ? d.issues[0]!.message : '', /at most 256 reasons/);
});

test('checkReport gives zod issues naming the field; a valid report comes back as itself', () => {
  const doc = withValue(['flows', 0, 'bytesSent'], -5);
  const r = checkReport(doc);
  assert.equal(r.success, false);
  assert.deepEqual(!r.success ? r.issues[0]!.path : [], ['flows', 0, 'bytesSent']);
  const ok = fullReport();
  const v = checkReport(ok);
  assert.ok(v.success && v.data === (ok as unknown));
});

test('a string remembered as valid stays valid, one never accepted stays refused (the memo is per node)', () => {
  const ip = compileCheck(z.string().ip());
  assert.equal(ip('10.0.0.1'), true);
  assert.equal(ip('10.0.0.1'), true);
  assert.equal(ip('10.0.0.256'), false);
  assert.equal(ip('10.0.0.256'), false);
  const uuid = compileCheck(z.string().uuid());
  assert.equal(uuid('10.0.0.1'), false);
  const long = compileCheck(z.string().max(300));
  assert.equal(long('x'.repeat(300)), true);
  assert.equal(long('x'.repeat(300)), true);
  assert.equal(long('x'.repeat(301)), false);
});

test('schemas that change the value or that the compiler does not know are refused at compile time', () => {
  assert.throws(() => compileCheck(z.string().trim()), /changes the value/);
  assert.throws(() => compileCheck(z.object({ a: z.string().transform((s) => s.length) })), /changes the value/);
  assert.throws(() => compileCheck(z.object({ a: z.number() }).strict()), /unknown keys/);
  assert.throws(() => compileCheck(z.coerce.number()), /coercion/);
  assert.throws(() => compileCheck(z.number().multipleOf(3)), /multipleOf/);
  assert.throws(() => compileCheck(z.union([z.string(), z.number()])), /unknown to the compiler/);
  assert.throws(() => compileCheck(z.string().default('x')), /unknown to the compiler/);
});

test('a leaf compiled on its own (an array item, a record value) agrees with zod at its edges', () => {
  const leaves: z.ZodTypeAny[] = [
    z.number(),
    z.number().int().min(0),
    z.number().gt(0).lt(1),
    z.number().finite().max(5),
    z.boolean(),
    z.null(),
    z.literal('v1'),
    z.enum(['INTRA_AZ', 'EXTERNAL']),
    z.number().int().nullable(),
    z.enum(['a']).optional(),
  ];
  const values: unknown[] = [0, -0, 1, 0.5, -1, 5, 5.5, NaN, Infinity, -Infinity, 2 ** 53, '1', true, null, undefined];
  values.push('v1', 'INTRA_AZ', 'a', {}, []);
  for (const leaf of leaves) {
    const check = compileCheck(leaf);
    const inArray = compileCheck(z.array(leaf));
    for (const v of values) {
      const zodSays = leaf.safeParse(v).success;
      assert.equal(check(v), zodSays, `${String(leaf._def.typeName)} on ${describe(v)}`);
      assert.equal(inArray([v]), z.array(leaf).safeParse([v]).success, `array of ${String(leaf._def.typeName)}`);
    }
  }
});
