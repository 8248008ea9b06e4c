// PromQL for the Nodes page: ENA allowance counters and conntrack headroom per node (and interface).
import { refIdAt } from '../Overview/overviewQueries';
import { ENA_COUNTERS } from '../shared/enaCounters';

export const NODE_SELECTOR = 'node=~"$node"';

const CONNTRACK_AVAILABLE_EXPR = `min by (node, interface) (flowlens_ena_conntrack_allowance_available{${NODE_SELECTOR}})`;

/** One instant query per counter: how often each allowance was exceeded over the picked range. */
export const NODE_TABLE_QUERIES = [
  ...ENA_COUNTERS.map((c, i) => ({
    refId: refIdAt(i),
    expr: `sum by (node, interface) (increase(${c.metric}{${NODE_SELECTOR}}[$__range]))`,
    column: `${c.label} exceeded`,
  })),
  {
    refId: refIdAt(ENA_COUNTERS.length),
    expr: CONNTRACK_AVAILABLE_EXPR,
    column: 'conntrack available',
  },
];

export const CONNTRACK_AVAILABLE = {
  refId: 'A',
  expr: CONNTRACK_AVAILABLE_EXPR,
  legendFormat: '{{node}} {{interface}}',
};

export const ENA_RATE_QUERIES = ENA_COUNTERS.map((c, i) => ({
  refId: refIdAt(i),
  expr: `sum by (node) (increase(${c.metric}{${NODE_SELECTOR}}[$__rate_interval]))`,
  legendFormat: `{{node}} ${c.label}`,
}));

export const NODE_VARIABLE_QUERY = 'label_values({__name__=~"flowlens_ena_.+"}, node)';
