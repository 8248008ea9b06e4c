/**
 * The loader between commands (loader.c main loop): it sleeps in ppoll on stdin with no timeout, so an idle loader
 * never wakes (it woke once a second before: poll with a 1 s timeout, for nothing), and SIGTERM still stops it at
 * once, whether it arrives while the loader waits or while a collect runs (the signals are blocked except inside
 * ppoll, which takes a pending one). The agent's wakeups compete with the traffic it watches for a CPU (docs/agent.md
 * "Cost", the agent's wakeups).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { bpfArtifacts, findCgroup2Mount } from '../../src/bpf/preflight.js';
import { requireAgentKernel } from '../lib/kernel-test.js';

const IDLE_MS = 3500;

interface Loader {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  /** Resolves with the first line matching `re` (already read or still to come). */
  line(re: RegExp, timeoutMs: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startLoader(): Loader {
  const art = bpfArtifacts();
  const child = spawn(
    art.loader,
    [
      '--object',
      art.object,
      '--cgroup',
      findCgroup2Mount(readFileSync('/proc/mounts', 'utf8'))!,
      '--max-sockets',
      '65536',
      '--max-flows',
      '16384',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] }
  );
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.splice(0)) {
      w();
    }
  });
  child.stderr.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal }))
  );
  const line = async (re: RegExp, timeoutMs: number): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find((l) => re.test(l));
      if (found !== undefined) {
        return found;
      }
      const left = deadline - Date.now();
      assert.ok(left > 0, `no line matching ${re} within ${timeoutMs} ms (got: ${lines.join(' | ')})`);
      await new Promise<void>((res) => {
        const timer = setTimeout(res, left);
        waiters.push(() => {
          clearTimeout(timer);
          res();
        });
      });
    }
  };
  return { child, lines, line, exited };
}

/** Context switches of one thread (voluntary + involuntary): each is the thread leaving the CPU. */
function switches(pid: number, tid = pid): number {
  const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
  const get = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  return get('voluntary_ctxt_switches') + get('nonvoluntary_ctxt_switches');
}

async function stopWithin(loader: Loader, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const timeout = new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), ms));
  const result = await Promise.race([loader.exited, timeout]);
  if (result === 'timeout') {
    loader.child.kill('SIGKILL');
    assert.fail(`the loader did not exit within ${ms} ms of SIGTERM`);
  }
  return result;
}

function ready(t: TestContext): boolean {
  return requireAgentKernel(t);
}

test('an idle loader does not wake; SIGTERM while it waits stops it at once', async (t) => {
  if (!ready(t)) {
    return;
  }
  const loader = startLoader();
  try {
    await loader.line(/^ready /, 30_000);
    // one collect first: the main loop is entered and the tick's code ran once
    loader.child.stdin.write('collect\n');
    await loader.line(/^end$/, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    const pid = loader.child.pid!;
    const before = switches(pid);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const woke = switches(pid) - before;
    // a 1 s poll timeout wakes it 3 times in 3.5 s; waiting for stdin alone, nothing wakes it
    assert.ok(woke <= 1, `the idle loader's main thread left the CPU ${woke} times in ${IDLE_MS} ms`);
    const sent = Date.now();
    loader.child.kill('SIGTERM');
    const exit = await stopWithin(loader, 5000);
    assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}`);
    assert.ok(loader.lines.includes('bye'), 'the loader detached and said bye');
    assert.ok(Date.now() - sent < 5000);
  } finally {
    loader.child.kill('SIGKILL');
  }
});

test('SIGTERM sent with a collect is not lost: the loader stops after it', async (t) => {
  if (!ready(t)) {
    return;
  }
  for (let i = 0; i < 3; i++) {
    const loader = startLoader();
    try {
      await loader.line(/^ready /, 30_000);
      // the signal lands before, during or after the collect, as the race goes: each way the loader must stop
      loader.child.stdin.write('collect\n');
      await new Promise((r) => setTimeout(r, i * 2));
      loader.child.kill('SIGTERM');
      const exit = await stopWithin(loader, 5000);
      assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}`);
      assert.equal(loader.lines.at(-1), 'bye');
    } finally {
      loader.child.kill('SIGKILL');
    }
  }
});
