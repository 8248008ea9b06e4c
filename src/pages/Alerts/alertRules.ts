// The alert rules Flowlens ships (names fixed by DESIGN.md "Alerts shipped") and where Grafana lists them.

export const ALERT_RULES = [
  {
    name: 'FlowlensBwInAllowanceExceeded',
    metric: 'flowlens_ena_bw_in_allowance_exceeded_total',
    what: 'inbound bandwidth allowance',
  },
  {
    name: 'FlowlensBwOutAllowanceExceeded',
    metric: 'flowlens_ena_bw_out_allowance_exceeded_total',
    what: 'outbound bandwidth allowance',
  },
  {
    name: 'FlowlensPpsAllowanceExceeded',
    metric: 'flowlens_ena_pps_allowance_exceeded_total',
    what: 'packets-per-second allowance',
  },
  {
    name: 'FlowlensConntrackAllowanceExceeded',
    metric: 'flowlens_ena_conntrack_allowance_exceeded_total',
    what: 'connection-tracking allowance',
  },
  {
    name: 'FlowlensLinklocalAllowanceExceeded',
    metric: 'flowlens_ena_linklocal_allowance_exceeded_total',
    what: 'link-local services allowance',
  },
] as const;

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
