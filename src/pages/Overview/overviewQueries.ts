// PromQL for the Overview page, over the metric names of DESIGN.md "Metric contract".
// `$namespace` is the page's namespace variable (regex; `.*` for all).
import { ENA_COUNTERS } from '../shared/enaCounters';

export const POD_SELECTOR = 'namespace=~"$namespace"';
const rate = (metric: string, selector = POD_SELECTOR) => `rate(${metric}{${selector}}[$__rate_interval])`;
const byPod = (expr: string) => `sum by (namespace, pod) (${expr})`;
const top10 = (expr: string) => `topk(10, ${expr})`;

export interface PanelQuery {
  refId: string;
  expr: string;
  legendFormat: string;
}

export interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  queries: PanelQuery[];
}

const POD_LEGEND = '{{namespace}}/{{pod}}';

/** Query refIds A, B, C… by position. */
export const refIdAt = (i: number) => String.fromCharCode(65 + i);

export const OVERVIEW_PANELS: PanelSpec[] = [
  {
    title: 'Top 10 pods by ingress bandwidth',
    description: 'Bytes received per second (flowlens_pod_ingress_bytes_total).',
    unit: 'Bps',
    queries: [{ refId: 'A', expr: top10(byPod(rate('flowlens_pod_ingress_bytes_total'))), legendFormat: POD_LEGEND }],
  },
  {
    title: 'Top 10 pods by egress bandwidth',
    description: 'Bytes sent per second (flowlens_pod_egress_bytes_total).',
    unit: 'Bps',
    queries: [{ refId: 'A', expr: top10(byPod(rate('flowlens_pod_egress_bytes_total'))), legendFormat: POD_LEGEND }],
  },
  {
    title: 'TCP flows per pod',
    description:
      'TCP connections accepted and initiated per second (flowlens_pod_ingress/egress_flows_total), top 10 pods each.',
    unit: 'cps',
    queries: [
      {
        refId: 'A',
        expr: top10(byPod(rate('flowlens_pod_ingress_flows_total'))),
        legendFormat: `accepted ${POD_LEGEND}`,
      },
      {
        refId: 'B',
        expr: top10(byPod(rate('flowlens_pod_egress_flows_total'))),
        legendFormat: `initiated ${POD_LEGEND}`,
      },
    ],
  },
  {
    title: 'Packet rates',
    description: 'Packets received and sent per second, top 10 pods each.',
    unit: 'pps',
    queries: [
      { refId: 'A', expr: top10(byPod(rate('flowlens_pod_ingress_packets_total'))), legendFormat: `in ${POD_LEGEND}` },
      { refId: 'B', expr: top10(byPod(rate('flowlens_pod_egress_packets_total'))), legendFormat: `out ${POD_LEGEND}` },
    ],
  },
  {
    title: 'TCP retransmits and timeouts',
    description: 'Retransmitted segments and retransmission timeouts (RTOs) per second, top 10 pods each.',
    unit: 'cps',
    queries: [
      {
        refId: 'A',
        expr: top10(byPod(rate('flowlens_pod_tcp_retransmits_total'))),
        legendFormat: `retransmits ${POD_LEGEND}`,
      },
      { refId: 'B', expr: top10(byPod(rate('flowlens_pod_tcp_rtos_total'))), legendFormat: `RTOs ${POD_LEGEND}` },
    ],
  },
  {
    title: 'ENA allowances exceeded per node',
    description: 'Packets queued or dropped because an EC2 network allowance was exceeded (ENA driver counters).',
    unit: 'short',
    queries: ENA_COUNTERS.map((c, i) => ({
      refId: refIdAt(i),
      expr: `sum by (node) (increase(${c.metric}[$__rate_interval]))`,
      legendFormat: `{{node}} ${c.label}`,
    })),
  },
];
