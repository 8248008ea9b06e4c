// The Policies page: NetworkPolicy drafts from the observed traffic of one namespace (evidence per rule, the hub's
// YAML to download) and the observed flows that the current policies, the draft or a default deny would deny.
import { PanelBuilders, SceneFlexItem, SceneFlexLayout, SceneQueryRunner } from '@grafana/scenes';
import type { AppDatasources } from '../../app/settings';
import type { FlowsQuery } from '../../datasource/types';
import { pageScene } from '../shared/pageScene';
import { flowsNamespaceVariable } from '../shared/variables';
import { PolicyCheckSummary } from './PolicyCheckSummary';
import { PolicyYamlView } from './PolicyYamlView';
import { DENIED_TITLE, DRAFTS_TITLE, NO_DENIED, NO_RULES, POLICY_QUICK_RANGES } from './policyText';
import {
  CHECK_AGAINST_VARIABLE,
  DEFAULT_DENY_VARIABLE,
  WORKLOAD_VARIABLE,
  checkAgainstVariable,
  defaultDenyVariable,
  policyWorkloadVariable,
} from './policyVariables';

/** Interpolated by the datasource (applyTemplateVariables): All workloads means none named. */
export function policyDraftsQuery(): FlowsQuery {
  return {
    refId: 'drafts',
    queryType: 'policyDrafts',
    namespace: '$namespace',
    workload: `$${WORKLOAD_VARIABLE}`,
    defaultDeny: `$${DEFAULT_DENY_VARIABLE}`,
  };
}

export function policyCheckQuery(): FlowsQuery {
  return {
    ...policyDraftsQuery(),
    refId: 'check',
    queryType: 'policyCheck',
    checkAgainst: `$${CHECK_AGAINST_VARIABLE}`,
  };
}

function runner(ds: AppDatasources, query: FlowsQuery) {
  return new SceneQueryRunner({ datasource: ds.flows, queries: [{ ...query, datasource: ds.flows }] });
}

const NARROW_COLUMNS: Array<[string, number]> = [
  ['Workload', 110],
  ['Direction', 80],
  ['Flows', 60],
  ['Evidence', 90],
];
const DRAFTS_HEIGHT = 480;

function draftsSection(ds: AppDatasources) {
  const table = PanelBuilders.table()
    .setTitle(DRAFTS_TITLE)
    .setDescription(
      'One row per rule of each drafted NetworkPolicy, with the traffic that justified it. DNS egress is assumed: ' +
        'the agent sees TCP only.'
    )
    .setOption('showHeader', true)
    .setNoValue(NO_RULES)
    .setOverrides((b) => {
      b.matchFieldsByQuery('drafts').overrideNoValue('');
      // Narrow columns for short words, so peers and ports keep the room.
      for (const [name, width] of NARROW_COLUMNS) {
        b.matchFieldsWithName(name).overrideCustomFieldConfig('width', width);
      }
    })
    .build();
  return new SceneFlexLayout({
    direction: 'row',
    $data: runner(ds, policyDraftsQuery()),
    children: [
      new SceneFlexItem({ height: DRAFTS_HEIGHT, minWidth: 600, body: table }),
      new SceneFlexItem({ height: DRAFTS_HEIGHT, width: '34%', body: new PolicyYamlView({}) }),
    ],
  });
}

function deniedSection(ds: AppDatasources) {
  const table = PanelBuilders.table()
    .setTitle(DENIED_TITLE)
    .setDescription(
      'Observed flows with an end in this namespace that the chosen policies would deny, client → server. ' +
        '"Denied by" names the side whose isolation denies the flow.'
    )
    .setOption('showHeader', true)
    .setNoValue(NO_DENIED)
    .setOverrides((b) => b.matchFieldsByQuery('check').overrideNoValue(''))
    .build();
  return new SceneFlexLayout({
    direction: 'column',
    $data: runner(ds, policyCheckQuery()),
    children: [
      new SceneFlexItem({ height: 64, body: new PolicyCheckSummary({}) }),
      new SceneFlexItem({ minHeight: 320, body: table }),
    ],
  });
}

export function policiesScene(ds: AppDatasources) {
  return pageScene({
    variables: [
      flowsNamespaceVariable(ds.flows, { includeAll: false }),
      policyWorkloadVariable(ds.flows),
      defaultDenyVariable(),
      checkAgainstVariable(),
    ],
    from: 'now-24h',
    quickRanges: POLICY_QUICK_RANGES,
    body: new SceneFlexLayout({ direction: 'column', children: [draftsSection(ds), deniedSection(ds)] }),
  });
}
