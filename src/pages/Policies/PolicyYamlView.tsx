// The drafts' YAML, read-only, exactly as the hub wrote it (the frame's meta carries it), with a button that saves
// it as flowlens-policies-<namespace>.yaml. Nothing here writes policies: the hub is the only author.
import React from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { SceneObjectBase, sceneGraph, type SceneComponentProps, type SceneObjectState } from '@grafana/scenes';
import { Alert, Button, LoadingPlaceholder, useStyles2 } from '@grafana/ui';
import { testIds } from '../../components/testIds';
import { policyDraftsMeta, policyYamlFileName } from '../../frames/policyFrames';
import { downloadText } from './downloadText';
import { DOWNLOAD_LABEL, NO_RULES, YAML_TITLE } from './policyText';

export class PolicyYamlView extends SceneObjectBase<SceneObjectState> {
  static Component = PolicyYamlViewRenderer;
}

function PolicyYamlViewRenderer({ model }: SceneComponentProps<PolicyYamlView>) {
  const s = useStyles2(getStyles);
  const { data } = sceneGraph.getData(model).useState();
  const meta = policyDraftsMeta(data?.series);
  const error = data?.errors?.[0]?.message;
  return (
    <section className={s.box} data-testid={testIds.policies.yamlView}>
      <header className={s.header}>
        <h6 className={s.title}>
          {YAML_TITLE}
          {meta ? ` · ${meta.policies} ${meta.policies === 1 ? 'policy' : 'policies'}` : ''}
        </h6>
        <Button
          size="sm"
          icon="download-alt"
          variant="secondary"
          disabled={!meta || meta.yaml === ''}
          data-testid={testIds.policies.download}
          onClick={() => meta && downloadText(meta.yaml, policyYamlFileName(meta.namespace), 'application/yaml')}
        >
          {DOWNLOAD_LABEL}
        </Button>
      </header>
      {error ? (
        <Alert severity="error" title="No drafts">
          {error}
        </Alert>
      ) : !meta ? (
        <LoadingPlaceholder text="Drafting policies…" />
      ) : meta.yaml === '' ? (
        <p>{NO_RULES}</p>
      ) : (
        <pre className={s.code} data-testid={testIds.policies.yaml} aria-readonly="true" tabIndex={0}>
          {meta.yaml}
        </pre>
      )}
    </section>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  box: css({
    display: 'flex',
    flexDirection: 'column',
    width: '100%',
    height: '100%',
    minHeight: 0,
    overflow: 'hidden',
    background: theme.colors.background.primary,
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
    padding: theme.spacing(1),
    gap: theme.spacing(1),
  }),
  header: css({ display: 'flex', alignItems: 'center', justifyContent: 'space-between' }),
  title: css({ margin: 0 }),
  code: css({
    flex: 1,
    // Scrolls inside the box instead of growing the page.
    minHeight: 0,
    margin: 0,
    overflow: 'auto',
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
    background: theme.colors.background.canvas,
    padding: theme.spacing(1),
    whiteSpace: 'pre',
  }),
});
