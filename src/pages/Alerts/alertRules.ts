// The alert rules Flowlens ships (one per ENA counter) and where Grafana lists them.
import { ENA_COUNTERS } from '../shared/enaCounters';

export const ALERT_RULES = ENA_COUNTERS.map((c) => ({ name: c.rule, metric: c.metric, what: c.allowance }));

export function alertListUrl(ruleName: string): string {
  return `/alerting/list?search=${encodeURIComponent(`rule:${ruleName}`)}`;
}

/** Markdown for the Alerts page: one line per rule with a link to it in Grafana's alert list. */
export function alertsMarkdown(): string {
  const lines = ALERT_RULES.map((r) => `| [${r.name}](${alertListUrl(r.name)}) | ${r.what} | \`${r.metric}\` |`);
  return [
    'Each rule fires while its ENA counter increases on a node, labelled with `node` and `interface`.',
    'The rules query Prometheus (a frontend datasource cannot drive Grafana alerting).',
    '',
    '| Rule | Fires when this is exceeded | Counter |',
    '| --- | --- | --- |',
    ...lines,
    '',
    `[All Flowlens rules](${`/alerting/list?search=${encodeURIComponent('Flowlens')}`}) · [Contact points](/alerting/notifications) · [Silences](/alerting/silences)`,
  ].join('\n');
}
