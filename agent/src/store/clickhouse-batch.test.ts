import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchedLookup } from './clickhouse-batch.js';

test('ids asked in one turn go out as one query, each caller gets its own answer', async () => {
  const queries: string[][] = [];
  const lookup = new BatchedLookup(async (keys) => {
    queries.push(keys);
    return new Set(keys.filter((k) => k.startsWith('stored')));
  });
  const answers = await Promise.all(['stored-1', 'new-1', 'stored-2', 'new-1'].map((k) => lookup.has(k)));
  assert.deepEqual(answers, [true, false, true, false]);
  assert.deepEqual(queries, [['stored-1', 'new-1', 'stored-2']], 'one query, each id once');
  assert.equal(await lookup.has('stored-3'), true);
  assert.equal(queries.length, 2, 'a later turn asks again');
});

test('at most maxKeys ids a query; a failed query fails only its own callers', async () => {
  const queries: string[][] = [];
  const lookup = new BatchedLookup(async (keys) => {
    queries.push(keys);
    if (keys.includes('c')) {
      throw new Error('store down');
    }
    return new Set(['a']);
  }, 2);
  const answers = await Promise.allSettled(['a', 'b', 'c'].map((k) => lookup.has(k)));
  assert.deepEqual(queries, [['a', 'b'], ['c']]);
  assert.deepEqual(
    answers.map((a) => (a.status === 'fulfilled' ? a.value : (a.reason as Error).message)),
    [true, false, 'store down']
  );
});
