import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { NODE_AGENT_V8_FLAGS } from './v8-flags.js';

test('Node.js takes the agent flags from NODE_OPTIONS, as the DaemonSet gives them (a refused flag exits 9)', () => {
  const out = execFileSync(
    process.execPath,
    ['-e', 'process.stdout.write(String(require("v8").getHeapStatistics().total_available_size))'],
    {
      env: { ...process.env, NODE_OPTIONS: NODE_AGENT_V8_FLAGS.join(' ') },
    }
  );
  assert.ok(Number(out) > 0);
});
