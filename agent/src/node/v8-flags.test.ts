import assert from 'node:assert/strict';
import { test } from 'node:test';
import { missingV8Flags, NODE_AGENT_V8_FLAGS, reexecArgv } from './v8-flags.js';

test('a node started without the flags gets them, before the script and after its own options', () => {
  assert.deepEqual(
    reexecArgv('/usr/bin/node', ['--import', 'tsx'], ['/usr/bin/node', '/app/cli.ts', 'node', '--stdout'], undefined),
    ['/usr/bin/node', '--import', 'tsx', ...NODE_AGENT_V8_FLAGS, '/app/cli.ts', 'node', '--stdout']
  );
});

test('flags already given (any value, on the command line or in NODE_OPTIONS) are not given again', () => {
  assert.equal(reexecArgv('/n', ['--max-semi-space-size=4'], ['/n', 'cli.js', 'node'], undefined), null);
  assert.equal(
    reexecArgv('/n', [], ['/n', 'cli.js', 'node'], '--max-old-space-size=100 --max_semi_space_size=2'),
    null
  );
  assert.deepEqual(missingV8Flags([], '--max-old-space-size=100'), [...NODE_AGENT_V8_FLAGS]);
});
