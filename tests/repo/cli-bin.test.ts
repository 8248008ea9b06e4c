/**
 * Issue 2's promise to a newcomer: after `npm ci` and the build, `npx flowlens-agent --help` works from the repo root.
 * npm links a workspace bin only if its target exists at install time, hence the committed shim in agent/bin/.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');

test('npm links the flowlens-agent bin to the committed shim', () => {
  const linked = realpathSync(join(ROOT, 'node_modules/.bin/flowlens-agent'));
  assert.equal(linked, join(ROOT, 'agent/bin/flowlens-agent.js'));
});

test('npx flowlens-agent --help prints the usage from the repo root', async () => {
  const { stdout } = await run('npx', ['--no-install', 'flowlens-agent', '--help'], { cwd: ROOT, timeout: 60_000 });
  assert.match(stdout, /^Usage: flowlens-agent <command>/);
  for (const command of ['node', 'hub', 'top']) {
    assert.match(stdout, new RegExp(`^  ${command} `, 'm'));
  }
});

test('an unknown command exits 2 with the usage on stderr', async () => {
  await assert.rejects(
    run('npx', ['--no-install', 'flowlens-agent', 'nope'], { cwd: ROOT, timeout: 60_000 }),
    (err) => {
      const e = err as { code: number; stderr: string };
      assert.equal(e.code, 2);
      assert.match(e.stderr, /unknown command 'nope'/);
      return true;
    }
  );
});
