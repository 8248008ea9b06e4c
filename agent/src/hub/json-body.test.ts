import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findCuts, parseJsonBody, type PieceSizes } from './json-body.js';

/** Tiny pieces, so a short body is cut in many places. */
const TINY: PieceSizes = { wholeBytes: 0, pieceBytes: 8 };

/** What parseJsonBody must give: JSON.parse's value, or its error message. */
function outcome(parse: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: parse() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function agrees(body: Buffer, sizes: PieceSizes = TINY): void {
  const expected = outcome(() => JSON.parse(body.toString('utf8')));
  const got = outcome(() => parseJsonBody(body, sizes));
  assert.deepStrictEqual(got, expected, `body ${JSON.stringify(body.toString('latin1').slice(0, 200))}`);
  if ('value' in got && got.value !== null && typeof got.value === 'object') {
    // Same keys in the same order as JSON.parse made them.
    assert.deepEqual(Object.keys(got.value), Object.keys((expected as { value: object }).value));
  }
}

const flow = (i: number): string =>
  `{"localIp":"10.0.0.${i % 250}","remotePort":${8000 + i},"direction":"client","local":null,` +
  `"name":"p\\"${i}\\\\],[{","bytesSent":${i * 977},"rttUs":{"min":1,"avg":2.5,"max":1e3}}`;

test('a report-like body cut into many pieces gives what JSON.parse gives', () => {
  const flows = Array.from({ length: 300 }, (_, i) => flow(i)).join(' , ');
  const body = Buffer.from(
    `  {"version":1,"flows":[ ${flows} ],"other":{"flows":0},"forwards":[${flows}],"empty":[],"n":[1,2,3]}\n`
  );
  const cuts = findCuts(body, TINY.pieceBytes);
  assert.deepEqual(
    cuts?.map((c) => c.key),
    ['flows', 'forwards'],
    'the two large arrays are cut, not the small one'
  );
  assert.ok(cuts![0]!.cuts.length > 100);
  agrees(body);
  // The default sizes on a body as large as a real report: pieces of about 48 KB.
  const big = Buffer.from(`{"flows":[${Array.from({ length: 2000 }, (_, i) => flow(i)).join(',')}]}`);
  assert.ok(findCuts(big, 48 * 1024)![0]!.cuts.length >= 4);
  agrees(big, { wholeBytes: 60 * 1024, pieceBytes: 48 * 1024 });
});

test('bodies JSON.parse refuses are refused with its own message', () => {
  const bad = [
    '{"flows":[1,2,3,4,5,6,7,8,9,10,]}', // trailing comma in the last run
    '{"flows":[1,2,3,4,5,6,7,8,9,10,,11,12,13,14,15,16]}', // an empty element
    '{"flows":[1,2,3,4,5,6,7,8,9,10,          ,11]}', // a run of whitespace only
    '{"flows":[,1,2,3,4,5,6,7,8,9,10,11]}',
    '{"flows":[1,2,3,4,5,6,7,8,9,10,11,12]', // unclosed object
    '{"flows":[1,2,3,4,5,6,7,8,9,10,11,12]}}',
    '{"flows":[1,2,3,4,5,6,7,8,9,10,11,12]} x',
    '{"flows":[1,2,3,4,5,6,7,8,9,10,11,12] "a":1}',
    '{"flows":[1,2,3,4,5,6 7,8,9,10,11,12]}',
    '{"flows":[1,2,3,4,5,6,7,8,9,10,11,"12]}',
    '{"flows":[1,2,3,4,5,6,7,8,9,10,11,12}]',
    '{"flows":[1,2,3,4,5,6,7,8,9,10,11,12],}',
    '{flows:[1,2,3,4,5,6,7,8,9,10,11,12]}',
    '{"flows" [1,2,3,4,5,6,7,8,9,10,11,12]}',
    '\ufeff{"flows":[1,2,3,4,5,6,7,8,9,10,11,12]}',
    '',
  ];
  for (const b of bad) {
    const body = Buffer.from(b);
    assert.throws(() => JSON.parse(body.toString('utf8')), `${b} is not JSON`);
    agrees(body);
  }
});

test('valid bodies with what the cutting must not get wrong', () => {
  const ok = [
    // A key given twice: JSON.parse keeps the last value.
    '{"flows":[1,2,3,4,5,6,7,8,9,10,11,12],"flows":[13,14,15,16,17,18,19,20]}',
    '{"flows":[1,2,3,4,5,6,7,8,9,10,11,12],"flows":7}',
    '{"flows":[1,2,3,4,5,6,7,8,9,10,11,12],"fl\\u006fws":7}',
    '{"fl\\u006fws":7,"flows":[1,2,3,4,5,6,7,8,9,10,11,12]}',
    // __proto__ is an own key of JSON.parse's object.
    '{"__proto__":[1,2,3,4,5,6,7,8,9,10,11,12],"a":1}',
    // Brackets, commas and escaped quotes inside strings; nested arrays.
    '{"s":"[1,2,3,4,5,6,7,8,9,10]","a":["],[","\\",\\"","\\\\",[1,[2,3]],{"k":[4,5,6,7,8,9,10,11]}],"z":null}',
    '{"a":[{"b":"],\\"c\\":[1,2,3,4,5,6,7,8,9]"},{"b":2},{"b":3},{"b":4},{"b":5}]}',
    // Non-ASCII text and keys, and bytes that are not UTF-8 (read as U+FFFD, in keys too).
    '{"ключ":["näme","名前","😀😀😀😀","x","y","z","w"],"b":1}',
    '{}',
    '[1,2,3,4,5,6,7,8,9,10,11,12]', // not an object: parsed whole
    ' {"a" : [ 1 , 2 , 3 , 4 , 5 , 6 , 7 , 8 , 9 , 10 ] } ',
  ];
  for (const b of ok) {
    agrees(Buffer.from(b));
  }
  const invalidUtf8 = Buffer.concat([
    Buffer.from('{"k'),
    Buffer.from([0xff]),
    Buffer.from('":[1,2,3,4,5,6,7,8,9,10,11],"k'),
    Buffer.from([0xfe]),
    Buffer.from('":2,"v":["'),
    Buffer.from([0xc3]),
    Buffer.from('",1,2,3,4,5,6,7,8,9,10,11]}'),
  ]);
  agrees(invalidUtf8);
});

test('fuzz: random documents and random damage agree with JSON.parse', () => {
  let seed = 14;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const atoms = ['0', '-1.5e3', 'true', 'null', '"a,b"', '"[x]"', '"q\\"]"', '"\\\\"', '"ü"', '{}', '[]'];
  const value = (depth: number): string => {
    const r = rnd(depth > 2 ? 1 : 4);
    if (r === 1) {
      return `[${Array.from({ length: rnd(6) }, () => value(depth + 1)).join(rnd(2) ? ',' : ' , ')}]`;
    }
    if (r === 2) {
      return `{${Array.from({ length: rnd(4) }, (_, k) => `"k${rnd(3)}${k}":${value(depth + 1)}`).join(',')}}`;
    }
    return atoms[rnd(atoms.length)]!;
  };
  const damage = '[]{},:" \\x';
  let cut = 0;
  for (let round = 0; round < 3000; round++) {
    const members = Array.from({ length: 1 + rnd(4) }, () => {
      const key = ['flows', 'forwards', 'other', 'a', '__proto__'][rnd(5)];
      const arr = Array.from({ length: rnd(30) }, () => value(1)).join(',');
      return `"${key}":${rnd(4) ? `[${arr}]` : value(1)}`;
    });
    let text = `{${members.join(',')}}`;
    if (rnd(2)) {
      const at = rnd(text.length);
      const edit = rnd(3);
      const ch = damage[rnd(damage.length)]!;
      text = edit === 0 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + ch + text.slice(at + edit - 1);
    }
    const body = Buffer.from(text);
    if ((findCuts(body, TINY.pieceBytes)?.length ?? 0) > 0) {
      cut++;
    }
    agrees(body);
  }
  assert.ok(cut > 1000, `most documents were cut (${cut})`);
});
