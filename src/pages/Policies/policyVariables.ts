// The Policies page's own variables: an optional workload of the chosen namespace, the default-deny switch and
// which policies the check evaluates. Values are the datasource's (interpolated in applyTemplateVariables).
import { CustomVariable, QueryVariable } from '@grafana/scenes';
import type { DataSourceRef } from '@grafana/schema';
import { CHECK_AGAINST } from '../../datasource/policyTypes';
import { CHECK_AGAINST_LABELS } from './policyText';

export const WORKLOAD_VARIABLE = 'workload';
export const DEFAULT_DENY_VARIABLE = 'defaultdeny';
export const CHECK_AGAINST_VARIABLE = 'against';

/** Workloads of the chosen namespace; All (`*`) drafts every workload. */
export const policyWorkloadVariable = (flows: DataSourceRef) =>
  new QueryVariable({
    name: WORKLOAD_VARIABLE,
    label: 'Workload',
    datasource: flows,
    query: 'workloads($namespace)',
    includeAll: true,
    allValue: '*',
    defaultToAll: true,
  });

export const defaultDenyVariable = () =>
  new CustomVariable({
    name: DEFAULT_DENY_VARIABLE,
    label: 'Default deny',
    query: 'Off : false, On : true',
    value: 'false',
    text: 'Off',
  });

export const checkAgainstVariable = () =>
  new CustomVariable({
    name: CHECK_AGAINST_VARIABLE,
    label: 'Check against',
    query: CHECK_AGAINST.map((c) => `${CHECK_AGAINST_LABELS[c]} : ${c}`).join(', '),
    value: 'current',
    text: CHECK_AGAINST_LABELS.current,
  });
