/**
 * The page suite's checks: what each panel received (window.flowlensApp.panels) against what the hub and
 * Prometheus answered. Each throws an AssertionError naming the panel and the first cells that differ; the suite
 * proves they can fail by breaking a query on purpose.
 */
import assert from 'node:assert/strict';
import { rttAvg, type TopContributorRow } from '../../../src/datasource/hubTypes';
import type { Direction } from '../../../src/frames/endpoints';
import { TOP_TALKER_COLUMNS } from '../../../src/frames/topTalkersFrame';
import type { RecordedFrame, RecordedPanel } from '../app/protocol';

/** The panel rendered with data: state Done, no errors, at least one frame with rows. */
export function assertPanelHealthy(title: string, panel: RecordedPanel | undefined): void {
  assert.ok(panel, `panel "${title}" rendered`);
  assert.deepEqual(panel.errors, [], `panel "${title}" has no query errors`);
  assert.equal(panel.state, 'Done', `panel "${title}" finished loading`);
  assert.ok(
    panel.frames.some((f) => f.length > 0),
    `panel "${title}" got a non-empty frame (got ${panel.frames.length} frames)`
  );
}

const rowKey = (r: { category: unknown; localIp: unknown; remoteIp: unknown; port: unknown; direction?: unknown }) =>
  `${String(r.category)} ${String(r.localIp)} → ${String(r.remoteIp)}:${String(r.port)} ${String(r.direction ?? '')}`;

const field = (frame: RecordedFrame, name: string) => frame.fields.find((f) => f.name === name);

/**
 * A flow table frame holds exactly the hub's rows: one frame row per hub row (matched by category, IPs, port and
 * direction) and every column equal to the hub's value for it, cell by cell.
 */
export function assertFlowFrame(
  title: string,
  frame: RecordedFrame | undefined,
  rows: TopContributorRow[],
  directions?: Direction[]
): void {
  assert.ok(frame, `panel "${title}" got a frame`);
  assert.equal(frame.length, rows.length, `panel "${title}": ${frame.length} rows, the hub answered ${rows.length}`);
  const cell = (name: string, i: number) => field(frame, name)?.values[i] ?? null;
  const frameKeys = Array.from({ length: frame.length }, (_, i) =>
    rowKey({
      category: cell('category', i),
      localIp: cell('local_ip', i),
      remoteIp: cell('remote_ip', i),
      port: cell('server_port', i),
      direction: directions ? cell('direction', i) : undefined,
    })
  );
  rows.forEach((row, j) => {
    const key = rowKey({
      category: row.category,
      localIp: row.local.ip,
      remoteIp: row.remote.ip,
      port: row.serverPort ?? null,
      direction: directions?.[j],
    });
    const i = frameKeys.indexOf(key);
    assert.ok(i >= 0, `panel "${title}": no row for ${key} in ${JSON.stringify(frameKeys)}`);
    for (const c of TOP_TALKER_COLUMNS) {
      const expected = c.name === 'rtt_us' ? rttAvg(row.rttUs) : c.get(row);
      assert.deepEqual(cell(c.name, i), expected ?? null, `panel "${title}", row ${key}, column ${c.name}`);
    }
  });
}

interface PromSeries {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
}

const legendOf = (format: string, labels: Record<string, string>) =>
  format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, l: string) => labels[l] ?? '');

/**
 * A Prometheus panel's frames are Prometheus's answers to the queries the page sent: per query (refId), one
 * frame per series, named by its legend, with the same timestamps and values.
 */
export function assertPromFrames(
  title: string,
  panel: RecordedPanel | undefined,
  answers: Array<{ refId: string; legendFormat: string; result: PromSeries[] }>
): void {
  assert.ok(panel, `panel "${title}" rendered`);
  for (const a of answers) {
    const frames: RecordedFrame[] = panel.frames.filter((f) => f.refId === a.refId);
    assert.equal(frames.length, a.result.length, `panel "${title}" query ${a.refId}: one frame per series`);
    for (const s of a.result) {
      const legend = legendOf(a.legendFormat, s.metric);
      const frame = frames.find((f) => f.fields[1]?.displayName === legend);
      assert.ok(
        frame,
        `panel "${title}": a series "${legend}" in ${JSON.stringify(frames.map((f) => f.fields[1]?.displayName))}`
      );
      assert.deepEqual(
        frame.fields[0]?.values,
        (s.values ?? []).map((v) => v[0] * 1000),
        `"${title}" ${legend} timestamps`
      );
      assert.deepEqual(
        frame.fields[1]?.values,
        (s.values ?? []).map((v) => Number(v[1])),
        `"${title}" ${legend} values`
      );
    }
  }
}
