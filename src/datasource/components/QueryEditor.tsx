import React, { useState, type ChangeEvent } from 'react';
import type { QueryEditorProps } from '@grafana/data';
import { Checkbox, InlineField, InlineFieldRow, InlineLabel, Input, RadioButtonGroup, Stack } from '@grafana/ui';
import { testIds } from '../../components/testIds';
import { MAX_LIMIT, type FlowsDataSource } from '../datasource';
import {
  CATEGORY_OPTIONS,
  GROUP_BY_OPTIONS,
  MAP_VIEW_OPTIONS,
  METRIC_OPTIONS,
  QUERY_TYPE_OPTIONS,
  SERIES_GROUP_BY_OPTIONS,
  toggleCategory,
} from '../queryOptions';
import { DEFAULT_QUERY, type FlowsJsonData, type FlowsQuery } from '../types';

type Props = QueryEditorProps<FlowsDataSource, FlowsQuery, FlowsJsonData>;

const LABEL_WIDTH = 14;

export function QueryEditor({ query, onChange, onRunQuery }: Props) {
  const q = { ...DEFAULT_QUERY, ...query };
  const [limit, setLimit] = useState(String(q.limit ?? ''));
  const update = (patch: Partial<FlowsQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };
  const onText = (key: 'namespace' | 'workload') => (e: ChangeEvent<HTMLInputElement>) =>
    onChange({ ...query, [key]: e.target.value });
  const commitLimit = () => {
    const n = Number(limit);
    update({ limit: Number.isInteger(n) && n > 0 ? Math.min(n, MAX_LIMIT) : undefined });
  };

  return (
    <Stack direction="column" gap={0.5} data-testid={testIds.queryEditor.container}>
      <InlineFieldRow>
        <InlineField label="Query" labelWidth={LABEL_WIDTH} data-testid={testIds.queryEditor.queryType}>
          <RadioButtonGroup
            options={QUERY_TYPE_OPTIONS}
            value={q.queryType}
            onChange={(v) => update({ queryType: v })}
          />
        </InlineField>
      </InlineFieldRow>
      {q.queryType === 'serviceMap' ? (
        <InlineFieldRow>
          <InlineField label="View" labelWidth={LABEL_WIDTH} data-testid={testIds.queryEditor.mapGroupBy}>
            <RadioButtonGroup
              options={MAP_VIEW_OPTIONS}
              value={q.mapGroupBy}
              onChange={(v) => update({ mapGroupBy: v })}
            />
          </InlineField>
        </InlineFieldRow>
      ) : (
        <>
          <InlineFieldRow>
            <InlineField label="Metric" labelWidth={LABEL_WIDTH} data-testid={testIds.queryEditor.metric}>
              <RadioButtonGroup options={METRIC_OPTIONS} value={q.metric} onChange={(v) => update({ metric: v })} />
            </InlineField>
            <InlineField label="Group by" labelWidth={LABEL_WIDTH} data-testid={testIds.queryEditor.groupBy}>
              {q.queryType === 'timeseries' ? (
                <RadioButtonGroup
                  options={SERIES_GROUP_BY_OPTIONS}
                  value={q.seriesGroupBy}
                  onChange={(v) => update({ seriesGroupBy: v })}
                />
              ) : (
                <RadioButtonGroup
                  options={GROUP_BY_OPTIONS}
                  value={q.groupBy}
                  onChange={(v) => update({ groupBy: v })}
                />
              )}
            </InlineField>
          </InlineFieldRow>
          <InlineFieldRow>
            {/* A label, not an InlineField: InlineField would give every checkbox the same id. */}
            <InlineLabel width={LABEL_WIDTH} tooltip="None checked means all categories">
              Categories
            </InlineLabel>
            <Stack direction="row" gap={1} alignItems="center">
              {CATEGORY_OPTIONS.map((c) => (
                <Checkbox
                  key={c.value}
                  id={`flowlens-category-${c.value}`}
                  label={c.label}
                  data-testid={testIds.queryEditor.category(c.value ?? '')}
                  value={c.value !== undefined && (q.categories ?? []).includes(c.value)}
                  onChange={() => c.value && update({ categories: toggleCategory(q.categories, c.value) })}
                />
              ))}
            </Stack>
          </InlineFieldRow>
        </>
      )}
      <InlineFieldRow>
        <InlineField label="Namespace" labelWidth={LABEL_WIDTH} tooltip="A name or a variable such as $namespace">
          <Input
            data-testid={testIds.queryEditor.namespace}
            width={24}
            value={q.namespace ?? ''}
            placeholder="all"
            onChange={onText('namespace')}
            onBlur={onRunQuery}
          />
        </InlineField>
        {q.queryType !== 'serviceMap' && (
          <>
            <InlineField label="Workload" labelWidth={LABEL_WIDTH}>
              <Input
                data-testid={testIds.queryEditor.workload}
                width={24}
                value={q.workload ?? ''}
                placeholder="all"
                onChange={onText('workload')}
                onBlur={onRunQuery}
              />
            </InlineField>
            {q.queryType === 'topTalkers' && (
              <InlineField label="Limit" labelWidth={8} tooltip={`Rows per category, at most ${MAX_LIMIT}`}>
                <Input
                  data-testid={testIds.queryEditor.limit}
                  type="number"
                  width={10}
                  value={limit}
                  onChange={(e: ChangeEvent<HTMLInputElement>) => setLimit(e.target.value)}
                  onBlur={commitLimit}
                />
              </InlineField>
            )}
          </>
        )}
      </InlineFieldRow>
    </Stack>
  );
}
