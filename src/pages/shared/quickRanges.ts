// Time picker quick ranges (plain data: the browser suite reads them too).
import type { TimeOption } from '@grafana/data';

const lastMinutes = (m: number, display: string): TimeOption => ({ from: `now-${m}m`, to: 'now', display });

/** The quick ranges of the flow pages (as EKS's console offers them): 5 minutes to 2 hours. */
export const FLOW_QUICK_RANGES: TimeOption[] = [
  lastMinutes(5, 'Last 5 minutes'),
  lastMinutes(15, 'Last 15 minutes'),
  lastMinutes(30, 'Last 30 minutes'),
  lastMinutes(60, 'Last 1 hour'),
  lastMinutes(120, 'Last 2 hours'),
];
