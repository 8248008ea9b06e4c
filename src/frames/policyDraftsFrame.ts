// Policy drafts → one table frame, one row per rule grouped by policy (the hub's order), with the evidence that
// justified each rule. The YAML travels untouched in meta.custom: the browser never writes policies itself.
import { FieldType, createDataFrame, type DataFrame, type FieldConfig } from '@grafana/data';
import type { PolicyDraft, PolicyDraftsResponse, PolicyRule } from '../datasource/policyTypes';
import type { PolicyDraftsMeta } from './policyFrames';
import { UNITS } from './units';

/** What the Evidence column says for a rule the agent could not observe (DNS: the agent sees TCP only). */
export const ASSUMED = 'assumed';
export const OBSERVED = 'observed';

type Cell = string | number | null;

interface Column {
  name: string;
  type: FieldType;
  config: FieldConfig;
  get: (rule: PolicyRule, policy: PolicyDraft) => Cell;
}

export const POLICY_RULE_COLUMNS: readonly Column[] = [
  { name: 'policy', type: FieldType.string, config: { displayName: 'Policy' }, get: (_, p) => p.name },
  {
    name: 'workload',
    type: FieldType.string,
    config: { displayName: 'Workload' },
    get: (_, p) => p.workload ?? '(all pods)',
  },
  { name: 'direction', type: FieldType.string, config: { displayName: 'Direction' }, get: (r) => r.direction },
  { name: 'peer', type: FieldType.string, config: { displayName: 'Peer' }, get: (r) => r.peer },
  { name: 'ports', type: FieldType.string, config: { displayName: 'Ports' }, get: (r) => r.ports.join(', ') },
  {
    name: 'bytes',
    type: FieldType.number,
    config: { displayName: 'Data transferred', unit: UNITS.bytes },
    get: (r) => r.bytes,
  },
  { name: 'flows', type: FieldType.number, config: { displayName: 'Flows', unit: UNITS.count }, get: (r) => r.flows },
  { name: 'first_seen', type: FieldType.time, config: { displayName: 'First seen' }, get: (r) => r.firstSeenMs },
  { name: 'last_seen', type: FieldType.time, config: { displayName: 'Last seen' }, get: (r) => r.lastSeenMs },
  {
    name: 'evidence',
    type: FieldType.string,
    config: { displayName: 'Evidence' },
    get: (r) => (r.assumed ? ASSUMED : OBSERVED),
  },
];

export function buildPolicyDraftsFrame(drafts: PolicyDraftsResponse, opts: { refId?: string } = {}): DataFrame {
  const rows = drafts.policies.flatMap((policy) => policy.rules.map((rule) => ({ rule, policy })));
  const meta: PolicyDraftsMeta = {
    kind: 'policyDrafts',
    namespace: drafts.namespace,
    yaml: drafts.yaml,
    policies: drafts.policies.length,
  };
  return createDataFrame({
    refId: opts.refId,
    name: 'policy-drafts',
    fields: POLICY_RULE_COLUMNS.map((c) => ({
      name: c.name,
      type: c.type,
      config: c.config,
      values: rows.map(({ rule, policy }) => c.get(rule, policy)),
    })),
    meta: { preferredVisualisationType: 'table', custom: meta },
  });
}
