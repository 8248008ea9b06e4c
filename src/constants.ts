import pluginJson from './plugin.json';

export const PLUGIN_ID = pluginJson.id;
export const PLUGIN_BASE_URL = `/a/${PLUGIN_ID}`;

export enum ROUTES {
  Overview = 'overview',
  ServiceMap = 'service-map',
  Flows = 'flows',
  Nodes = 'nodes',
  Alerts = 'alerts',
  Policies = 'policies',
}

/** Datasource uids the app uses unless its settings name others (provisioning creates these). */
export const DEFAULT_PROMETHEUS_UID = 'flowlens-prometheus';
export const DEFAULT_FLOWS_UID = 'flowlens-flows';
export const FLOWS_DATASOURCE_TYPE = 'flowlens-flows-datasource';
