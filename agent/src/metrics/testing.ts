/** Builders shared by the metrics unit tests (not part of the exporter). */
import type { CollectorTick, FlowDelta } from '../contracts/flow.js';
import { emptyCounters } from '../contracts/report.js';

export function flow(partial: Partial<FlowDelta> & Pick<FlowDelta, 'localIp' | 'direction'>): FlowDelta {
  return {
    remoteIp: '10.9.9.9',
    serverPort: 80,
    rttUs: null,
    ...emptyCounters(),
    ...partial,
  };
}

export function tick(flows: FlowDelta[], at = 0): CollectorTick {
  return { start: new Date(at), end: new Date(at + 5000), flows };
}

/** `name{labels} value` lines of an exposition, as a map (labels sorted as printed). */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      continue;
    }
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
