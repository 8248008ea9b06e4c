// Words the Policies page shows that tests (jest and the browser suite) look for; plain constants, no scene imports.
import type { TimeOption } from '@grafana/data';
import type { CheckAgainst } from '../../datasource/policyTypes';

export const DRAFTS_TITLE = 'Policy drafts';
export const YAML_TITLE = 'NetworkPolicy YAML';
export const DENIED_TITLE = 'Would be denied';
export const DOWNLOAD_LABEL = 'Download YAML';
export const NO_DENIED = 'No observed flow would be denied';
export const NO_RULES = 'No traffic observed for this namespace in this time range';

export const CHECK_AGAINST_LABELS: Record<CheckAgainst, string> = {
  current: 'Current policies',
  draft: 'This draft',
  defaultDeny: 'Default deny',
};

/** What the summary above the denied flows says. */
export function checkSummary(m: {
  against: CheckAgainst;
  policiesEvaluated: number;
  flowsChecked: number;
  denied: number;
}): string {
  const against = {
    current: 'the cluster’s current policies',
    draft: 'this draft',
    defaultDeny: 'a default-deny policy',
  }[m.against];
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  return (
    `${n(m.flowsChecked, 'observed flow', 'observed flows')} checked against ${against} ` +
    `(${n(m.policiesEvaluated, 'policy', 'policies')}): ${m.denied} would be denied.`
  );
}

/** Drafts need history: 1 hour to 30 days (a week of a development cluster is the usual sample). */
export const POLICY_QUICK_RANGES: TimeOption[] = [
  { from: 'now-1h', to: 'now', display: 'Last 1 hour' },
  { from: 'now-6h', to: 'now', display: 'Last 6 hours' },
  { from: 'now-24h', to: 'now', display: 'Last 24 hours' },
  { from: 'now-7d', to: 'now', display: 'Last 7 days' },
  { from: 'now-30d', to: 'now', display: 'Last 30 days' },
];
