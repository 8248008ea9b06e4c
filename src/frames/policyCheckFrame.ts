// A policy check → one table frame of the observed flows the evaluated policies would deny, client → server, in
// the hub's order (bytes first). The check's totals travel in meta.custom for the summary above the table.
import { FieldType, createDataFrame, type DataFrame, type FieldConfig } from '@grafana/data';
import type { CheckAgainst, DeniedFlow, PolicyCheckResponse } from '../datasource/policyTypes';
import { describePolicyEndpoint, type PolicyCheckMeta } from './policyFrames';
import { UNITS } from './units';

interface Column {
  name: string;
  type: FieldType;
  config: FieldConfig;
  get: (f: DeniedFlow) => string | number | null;
}

export const DENIED_FLOW_COLUMNS: readonly Column[] = [
  {
    name: 'client',
    type: FieldType.string,
    config: { displayName: 'Client' },
    get: (f) => describePolicyEndpoint(f.client),
  },
  { name: 'client_ip', type: FieldType.string, config: { displayName: 'Client IP' }, get: (f) => f.client.ip },
  {
    name: 'server',
    type: FieldType.string,
    config: { displayName: 'Server' },
    get: (f) => describePolicyEndpoint(f.server),
  },
  { name: 'server_ip', type: FieldType.string, config: { displayName: 'Server IP' }, get: (f) => f.server.ip },
  {
    name: 'server_port',
    type: FieldType.number,
    config: { displayName: 'Port', unit: UNITS.none },
    get: (f) => f.serverPort,
  },
  { name: 'protocol', type: FieldType.string, config: { displayName: 'Protocol' }, get: (f) => f.protocol },
  {
    name: 'bytes',
    type: FieldType.number,
    config: { displayName: 'Data transferred', unit: UNITS.bytes },
    get: (f) => f.bytes,
  },
  { name: 'first_seen', type: FieldType.time, config: { displayName: 'First seen' }, get: (f) => f.firstSeenMs },
  { name: 'last_seen', type: FieldType.time, config: { displayName: 'Last seen' }, get: (f) => f.lastSeenMs },
  { name: 'denied_by', type: FieldType.string, config: { displayName: 'Denied by' }, get: (f) => f.deniedBy },
  {
    name: 'policies',
    type: FieldType.string,
    config: { displayName: 'Policies' },
    get: (f) => f.policies.join(', '),
  },
];

export function buildPolicyCheckFrame(
  check: PolicyCheckResponse,
  opts: { refId?: string; against: CheckAgainst }
): DataFrame {
  const meta: PolicyCheckMeta = {
    kind: 'policyCheck',
    namespace: check.namespace,
    against: opts.against,
    policiesEvaluated: check.policiesEvaluated,
    flowsChecked: check.flowsChecked,
    denied: check.denied.length,
  };
  return createDataFrame({
    refId: opts.refId,
    name: 'policy-check',
    fields: DENIED_FLOW_COLUMNS.map((c) => ({
      name: c.name,
      type: c.type,
      config: c.config,
      values: check.denied.map(c.get),
    })),
    meta: { preferredVisualisationType: 'table', custom: meta },
  });
}
