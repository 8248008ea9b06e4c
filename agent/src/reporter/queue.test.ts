import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { backoffDelay } from './backoff.js';
import { DiskQueue, MemoryQueue } from './queue.js';
import { reportsUrl } from './hub-reporter.js';

const item = (id: string) => ({ id, body: Buffer.from(id) });

test('memory queue: FIFO, bounded, drops the oldest', () => {
  const q = new MemoryQueue(2);
  assert.equal(q.push(item('a')), 0);
  assert.equal(q.push(item('b')), 0);
  assert.equal(q.push(item('c')), 1);
  assert.equal(q.peek()?.id, 'b');
  q.shift('c'); // not the head: ignored
  assert.equal(q.size, 2);
  q.shift('b');
  assert.equal(q.peek()?.id, 'c');
});

test('disk queue: survives a restart in order, bounded, ignores interrupted writes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flowlens-queue-'));
  try {
    const q = new DiskQueue(dir, 3);
    for (const id of ['r1', 'r2', 'r3', 'r4']) {
      q.push(item(id));
    }
    assert.equal(q.size, 3);
    await writeFile(join(dir, 'junk.json.gz.tmp'), 'x');
    const again = new DiskQueue(dir, 3);
    assert.equal(again.size, 3);
    assert.equal(again.peek()?.id, 'r2');
    assert.equal(again.peek()?.body.toString(), 'r2');
    again.shift('r2');
    again.push(item('r5'));
    const third = new DiskQueue(dir, 3);
    const order: string[] = [];
    for (let x = third.peek(); x; x = third.peek()) {
      order.push(x.id);
      third.shift(x.id);
    }
    assert.deepEqual(order, ['r3', 'r4', 'r5']);
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('backoff grows exponentially with jitter and is capped', () => {
  assert.equal(
    backoffDelay(0, 100, 10_000, () => 0),
    50
  );
  assert.equal(
    backoffDelay(0, 100, 10_000, () => 1),
    100
  );
  assert.equal(
    backoffDelay(3, 100, 10_000, () => 1),
    800
  );
  assert.equal(
    backoffDelay(20, 100, 10_000, () => 1),
    10_000
  );
  assert.equal(
    backoffDelay(200, 100, 10_000, () => 0.5),
    7500
  );
});

test('the reports endpoint is derived from the hub URL', () => {
  assert.equal(reportsUrl('http://hub:7470'), 'http://hub:7470/api/v1/reports');
  assert.equal(reportsUrl('http://hub:7470/'), 'http://hub:7470/api/v1/reports');
  assert.equal(reportsUrl('http://hub:7470/api/v1/reports'), 'http://hub:7470/api/v1/reports');
  assert.throws(
    () => reportsUrl('http://agent:s3cret@hub:7470'),
    (err: Error) => /must not carry credentials/.test(err.message) && !err.message.includes('s3cret')
  );
});

test('a 4xx refusing the report is never retried; auth, timeout and busy answers are', async () => {
  const { isRefusal } = await import('./hub-reporter.js');
  for (const s of [400, 404, 409, 413, 415, 422]) {
    assert.equal(isRefusal(s), true, `${s} drops the report`);
  }
  for (const s of [200, 401, 403, 408, 429, 500, 502, 503]) {
    assert.equal(isRefusal(s), false, `${s} is not a refusal`);
  }
});
