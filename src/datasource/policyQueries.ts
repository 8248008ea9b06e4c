// The datasource's two policy query types: the drafts of a namespace (rules with evidence, YAML untouched), and the
// observed flows a set of policies would deny: the cluster's current ones (GET), the page's draft (its YAML POSTed
// back as the hub wrote it) or the namespace's default-deny policy alone (the hub's object POSTed as JSON).
import type { DataFrame } from '@grafana/data';
import { buildPolicyCheckFrame } from '../frames/policyCheckFrame';
import { buildPolicyDraftsFrame } from '../frames/policyDraftsFrame';
import type { HubClient } from './hubClient';
import { HubError } from './hubErrors';
import type { HubBody, TimeWindow } from './hubRequests';
import { CHECK_AGAINST, type CheckAgainst, type PolicyDraftsResponse } from './policyTypes';

export interface PolicyQuery {
  refId: string;
  namespace?: string;
  workload?: string;
  defaultDeny?: boolean;
  checkAgainst?: CheckAgainst;
}

/** A query field after interpolation: a boolean, or the text of a variable ("true", "false", empty for off). */
export function parseDefaultDeny(value: boolean | string | undefined): boolean {
  if (value === undefined || typeof value === 'boolean') {
    return value ?? false;
  }
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === 'on') {
    return true;
  }
  if (v === '' || v === 'false' || v === 'off') {
    return false;
  }
  throw new HubError(`Default deny must be true or false, not "${value}"`);
}

export function parseCheckAgainst(value: string | undefined): CheckAgainst {
  if (value === undefined || value === '') {
    return 'current';
  }
  if ((CHECK_AGAINST as readonly string[]).includes(value)) {
    return value as CheckAgainst;
  }
  throw new HubError(`Unknown policies to check against "${value}": use one of ${CHECK_AGAINST.join(', ')}`);
}

/** The default-deny object the hub drafted for the namespace, as a body (JSON is YAML too). */
export function defaultDenyBody(drafts: PolicyDraftsResponse): HubBody {
  const policy = drafts.policies.find((p) => p.workload === null);
  if (!policy) {
    throw new HubError(`Flowlens hub drafted no default-deny policy for namespace ${drafts.namespace}`);
  }
  return { contentType: 'application/json', text: JSON.stringify(policy.object) };
}

export async function policyDraftsFrames(hub: HubClient, q: PolicyQuery, range: TimeWindow): Promise<DataFrame[]> {
  const drafts = await hub.policyDrafts({
    ...range,
    namespace: q.namespace ?? '',
    workload: q.workload,
    defaultDeny: q.defaultDeny,
  });
  return [buildPolicyDraftsFrame(drafts, { refId: q.refId })];
}

export async function policyCheckFrames(hub: HubClient, q: PolicyQuery, range: TimeWindow): Promise<DataFrame[]> {
  const against = q.checkAgainst ?? 'current';
  const params = { ...range, namespace: q.namespace ?? '' };
  let body: HubBody | undefined;
  if (against === 'draft') {
    const drafts = await hub.policyDrafts({ ...params, workload: q.workload, defaultDeny: q.defaultDeny });
    body = { contentType: 'application/yaml', text: drafts.yaml };
  } else if (against === 'defaultDeny') {
    body = defaultDenyBody(await hub.policyDrafts({ ...params, defaultDeny: true }));
  }
  const check = await hub.policyCheck(params, body);
  return [buildPolicyCheckFrame(check, { refId: q.refId, against })];
}
