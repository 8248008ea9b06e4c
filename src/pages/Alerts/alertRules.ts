// The alert rules Flowlens ships (one per ENA counter, and FlowlensPolicyDrops) and where Grafana lists them.
import { ENA_COUNTERS } from '../shared/enaCounters';

export interface ShippedRule {
  name: string;
  /** The metric the rule watches. */
  metric: string;
  /** When it fires, in a few words. */
  what: string;
}

export const ALERT_RULES: ShippedRule[] = [
  ...ENA_COUNTERS.map((c) => ({
    name: c.rule,
    metric: c.metric,
    what: `the ${c.allowance} is exceeded on a node (per node and interface)`,
  })),
  {
    name: 'FlowlensPolicyDrops',
    metric: 'flowlens_pod_drops_total{reason="NETFILTER_DROP"}',
    what: 'a pod’s packets are dropped by a firewall rule or a NetworkPolicy (per pod)',
  },
];

export function alertListUrl(ruleName: string): string {
  return `/alerting/list?search=${encodeURIComponent(`rule:${ruleName}`)}`;
}

/** Markdown for the Alerts page: one line per rule with a link to it in Grafana's alert list. */
export function alertsMarkdown(): string {
  const lines = ALERT_RULES.map((r) => `| [${r.name}](${alertListUrl(r.name)}) | ${r.what} | \`${r.metric}\` |`);
  return [
    'Each rule fires while its counter increases. The rules query Prometheus (a frontend datasource cannot drive',
    'Grafana alerting).',
    '',
    '| Rule | Fires when | Counter |',
    '| --- | --- | --- |',
    ...lines,
    '',
    `[All Flowlens rules](${`/alerting/list?search=${encodeURIComponent('Flowlens')}`}) · [Contact points](/alerting/notifications) · [Silences](/alerting/silences)`,
  ].join('\n');
}
