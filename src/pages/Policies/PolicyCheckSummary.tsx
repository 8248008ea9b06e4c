// One line above the denied flows: how many observed flows were checked against which policies, and how many fail.
import React from 'react';
import { SceneObjectBase, sceneGraph, type SceneComponentProps, type SceneObjectState } from '@grafana/scenes';
import { Alert } from '@grafana/ui';
import { testIds } from '../../components/testIds';
import { policyCheckMeta } from '../../frames/policyFrames';
import { checkSummary } from './policyText';

export class PolicyCheckSummary extends SceneObjectBase<SceneObjectState> {
  static Component = PolicyCheckSummaryRenderer;
}

function PolicyCheckSummaryRenderer({ model }: SceneComponentProps<PolicyCheckSummary>) {
  const { data } = sceneGraph.getData(model).useState();
  const meta = policyCheckMeta(data?.series);
  if (!meta) {
    return null;
  }
  return (
    <div data-testid={testIds.policies.checkSummary}>
      <Alert severity={meta.denied > 0 ? 'warning' : 'success'} title={checkSummary(meta)} />
    </div>
  );
}
