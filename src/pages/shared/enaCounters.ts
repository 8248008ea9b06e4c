// The five ENA allowance counters (DESIGN.md "Metric contract"), with the short label the panels use and
// the alert rule that fires on each (names fixed by DESIGN.md "Alerts shipped").

export const ENA_COUNTERS = [
  {
    metric: 'flowlens_ena_bw_in_allowance_exceeded_total',
    label: 'bw in',
    rule: 'FlowlensBwInAllowanceExceeded',
    allowance: 'inbound bandwidth allowance',
  },
  {
    metric: 'flowlens_ena_bw_out_allowance_exceeded_total',
    label: 'bw out',
    rule: 'FlowlensBwOutAllowanceExceeded',
    allowance: 'outbound bandwidth allowance',
  },
  {
    metric: 'flowlens_ena_pps_allowance_exceeded_total',
    label: 'pps',
    rule: 'FlowlensPpsAllowanceExceeded',
    allowance: 'packets-per-second allowance',
  },
  {
    metric: 'flowlens_ena_conntrack_allowance_exceeded_total',
    label: 'conntrack',
    rule: 'FlowlensConntrackAllowanceExceeded',
    allowance: 'connection-tracking allowance',
  },
  {
    metric: 'flowlens_ena_linklocal_allowance_exceeded_total',
    label: 'link-local',
    rule: 'FlowlensLinklocalAllowanceExceeded',
    allowance: 'link-local services allowance',
  },
] as const;
