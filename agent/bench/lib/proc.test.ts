import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  addPeaks,
  CpuWindows,
  cpuSecondsBetween,
  cpuSecondsByCommand,
  parseStat,
  parseStatusMemory,
  peakMb,
  peakMbByCommand,
  type Peaks,
  rssMb,
  treeTicks,
  type ProcSample,
} from './proc.js';

// A real line (node, pid 4242) with a command name holding a space and a parenthesis.
const STAT =
  '4242 (node (agent) x) S 4200 4242 4200 0 -1 4194560 9020 512 0 0 731 208 15 9 20 0 11 0 90210 ' +
  '1136082944 18311 18446744073709551615 1 1 0 0 0 0 0 16781312 134234626 0 0 0 17 1 0 0 0 0 0';

test('parseStat counts fields after the last parenthesis of the command name', () => {
  assert.deepEqual(parseStat(STAT), {
    pid: 4242,
    comm: 'node (agent) x',
    ppid: 4200,
    ownTicks: 731 + 208,
    childTicks: 15 + 9,
    starttime: 90210,
  });
});

test("parseStat reads this process's own /proc line", () => {
  const s = parseStat(readFileSync('/proc/self/stat', 'utf8'));
  assert.equal(s.pid, Number(readFileSync('/proc/self/stat', 'utf8').split(' ')[0]));
  assert.equal(s.ppid, process.ppid);
  assert.ok(s.ownTicks >= 0 && s.starttime > 0);
});

test('parseStat rejects what is not a stat line', () => {
  assert.throws(() => parseStat(''), /not a \/proc\/PID\/stat line/);
  assert.throws(() => parseStat('12 (x) S 1 2'), /not a \/proc\/PID\/stat line/);
});

test('parseStatusMemory reads VmHWM and VmRSS; a zombie holds none', () => {
  const status = 'Name:\tnode\nState:\tS (sleeping)\nVmPeak:\t 1109456 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   70001 kB\n';
  assert.deepEqual(parseStatusMemory(status), { hwmKb: 81234, rssKb: 70001 });
  assert.deepEqual(parseStatusMemory('Name:\tloader\nState:\tZ (zombie)\n'), { hwmKb: 0, rssKb: 0 });
  assert.throws(() => parseStatusMemory('garbage'), /not a \/proc\/PID\/status file/);
  const self = parseStatusMemory(readFileSync('/proc/self/status', 'utf8'));
  assert.ok(self.hwmKb >= self.rssKb && self.rssKb > 0);
});

const proc = (pid: number, starttime: number, ownTicks: number, childTicks: number, hwmKb = 0): ProcSample => ({
  pid,
  comm: pid === 10 ? 'node' : 'flowlens-loader',
  ppid: 1,
  ownTicks,
  childTicks,
  starttime,
  hwmKb,
  rssKb: hwmKb / 2,
});

test("a child's time that moves to its parent when reaped is counted once, never negative", () => {
  // the loader (pid 11) used 300 ticks by the window's start; it used 50 more and exited, reaped by node (pid 10)
  const start = [proc(10, 1, 1000, 0), proc(11, 2, 300, 0)];
  const end = [proc(10, 1, 1100, 350)];
  assert.equal(treeTicks(start), 1300);
  assert.equal(cpuSecondsBetween(start, end, 100), (100 + 50) / 100);
  // what the bench did before: own time of the processes alive at each end only
  const ownOnly = (s: ProcSample[]) => s.reduce((n, p) => n + p.ownTicks, 0);
  assert.ok(ownOnly(end) - ownOnly(start) < 0);
});

test('CPU per command: the processes alive at both ends', () => {
  const start = [proc(10, 1, 1000, 0), proc(11, 2, 300, 0)];
  const end = [proc(10, 1, 1100, 0), proc(11, 2, 450, 0), proc(12, 3, 5, 0)];
  assert.deepEqual(cpuSecondsByCommand(start, end, 100), { node: 1, 'flowlens-loader': 1.5 });
});

test('a total that falls is an error, not a negative share', () => {
  assert.throws(
    () => cpuSecondsBetween([proc(10, 1, 1000, 0), proc(11, 2, 300, 0)], [proc(10, 1, 1100, 0)], 100),
    /CPU total fell by 200 ticks/
  );
});

test('peaks: each process once, by pid and start time; a reused pid is another process', () => {
  const peaks: Peaks = new Map();
  addPeaks(peaks, [proc(10, 1, 0, 0, 60 * 1024), proc(11, 2, 0, 0, 4 * 1024)]);
  addPeaks(peaks, [proc(10, 1, 0, 0, 70 * 1024)]); // node's peak rose; the loader exited (its peak stays)
  addPeaks(peaks, [proc(10, 1, 0, 0, 70 * 1024), proc(11, 9, 0, 0, 3 * 1024)]); // pid 11 reused
  assert.equal(peaks.size, 3);
  assert.equal(peakMb(peaks), 70 + 4 + 3);
  // sampling the same process again never adds it twice
  addPeaks(peaks, [proc(10, 1, 0, 0, 65 * 1024)]);
  assert.equal(peakMb(peaks), 77);
  assert.deepEqual(peakMbByCommand(peaks), { node: 70, 'flowlens-loader': 7 });
  assert.equal(rssMb([proc(10, 1, 0, 0, 70 * 1024), proc(11, 9, 0, 0, 3 * 1024)]), 36.5);
});

test('CpuWindows: CPU over exactly the windows measured', () => {
  const w = new CpuWindows();
  assert.ok(Number.isNaN(w.pctOfCore()));
  w.add(0.3, 10);
  w.add(0.1, 10);
  assert.equal(w.pctOfCore(), 2);
  assert.throws(() => w.add(-0.1, 1), /bad CPU window/);
  assert.throws(() => w.add(0.1, 0), /bad CPU window/);
});
