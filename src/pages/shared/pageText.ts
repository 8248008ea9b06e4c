// Words the pages show that tests (jest and the browser suite) look for; plain constants, no scene imports.

/** Title of the count above every flow table. */
export const FLOW_COUNT_TITLE = 'Flows';

/** What an empty agent-metrics panel says: the usual cause is a Prometheus that does not scrape the agents. */
export const NO_AGENT_METRICS =
  'No flowlens_* metrics in this range. Check that Prometheus scrapes the node agents (OPEN_METRICS=on, port 9109) and that the app points at that Prometheus.';
