/**
 * A minimal Prometheus datasource for the app shell, against Prometheus's HTTP API through Grafana's data proxy
 * (`/api/datasources/proxy/uid/<uid>/api/v1/...`). `@grafana/prometheus` from npm pins its peers to other
 * `@grafana/*` and React versions than ours (docs/testing.md), so this follows what it does for the queries
 * the app sends:
 *
 * - `$__interval`, `$__rate_interval` (max(interval + scrape interval, 4 × scrape interval)), `$__range`,
 *   `$__range_s`, `$__range_ms` before the scene's own variables; multi-value and All variables as regex
 *   alternations (`(a|b)`), single values regex-escaped as in its interpolateQueryExpr;
 * - range queries on `query_range` with a step of max(interval, scrape interval), start/end aligned to it;
 *   instant queries on `query` at the range's end;
 * - one frame per series (`Time`, `Value` with the series' labels and the rendered legend as
 *   displayNameFromDS); `format: 'table'` as one frame per query (Time, label columns, `Value #<refId>`);
 * - `label_values(label)` and `label_values(selector, label)` for variables (`/api/v1/label/<label>/values`);
 * - Prometheus's own error text as the query error.
 */
import { lastValueFrom } from 'rxjs';
import {
  DataSourceApi,
  FieldType,
  createDataFrame,
  rangeUtil,
  renderLegendFormat,
  type DataFrame,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceInstanceSettings,
  type DataSourceJsonData,
  type MetricFindValue,
  type ScopedVars,
  type TestDataSourceResponse,
  type TimeRange,
} from '@grafana/data';
import type { BackendSrv, TemplateSrv } from '@grafana/runtime';
import type { DataQuery } from '@grafana/schema';

export interface PromQuery extends DataQuery {
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  format?: 'time_series' | 'table';
}

export interface PromJsonData extends DataSourceJsonData {
  /** Scrape interval ("15s" when unset, as in Grafana). */
  timeInterval?: string;
}

interface PromSeries {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
  value?: [number, string];
}

const escapeRegex = (v: string) => v.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&');

/** The Prometheus datasource's interpolateQueryExpr. */
export function promFormat(value: string | string[], variable?: { multi?: boolean; includeAll?: boolean }): string {
  if (typeof value === 'string') {
    return variable && !variable.multi && !variable.includeAll ? value.replace(/\\/g, '\\\\') : escapeRegex(value);
  }
  const escaped = value.map(escapeRegex);
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
}

export class MinimalPrometheusDatasource extends DataSourceApi<PromQuery, PromJsonData> {
  readonly scrapeS: number;
  constructor(
    readonly settings: DataSourceInstanceSettings<PromJsonData>,
    private readonly backend: () => BackendSrv,
    private readonly templates: () => TemplateSrv
  ) {
    super(settings);
    this.scrapeS = rangeUtil.intervalToSeconds(settings.jsonData.timeInterval || '15s');
  }

  private async api<T>(path: string, params: Record<string, string | number | string[]>): Promise<T> {
    try {
      const r = await lastValueFrom(
        this.backend().fetch<{ status: string; data: T; error?: string }>({
          url: `${this.settings.url}${path}`,
          method: 'GET',
          params,
          showErrorAlert: false,
        })
      );
      return r.data.data;
    } catch (err) {
      const e = err as { status?: number; data?: { error?: string; message?: string }; statusText?: string };
      const message =
        e.data?.error ??
        e.data?.message ??
        (e.status ? `HTTP ${e.status} ${e.statusText ?? ''}` : 'Prometheus unreachable');
      throw { message: message.trim(), status: e.status };
    }
  }

  private builtins(range: TimeRange, intervalMs: number): ScopedVars {
    const intervalS = Math.max(intervalMs / 1000, this.scrapeS);
    const rangeS = Math.max(1, Math.round((range.to.valueOf() - range.from.valueOf()) / 1000));
    const rate = Math.max(intervalS + this.scrapeS, 4 * this.scrapeS);
    return {
      __interval: { text: `${intervalS}s`, value: `${intervalS}s` },
      __interval_ms: { text: String(intervalS * 1000), value: intervalS * 1000 },
      __rate_interval: { text: `${rate}s`, value: `${rate}s` },
      __range: { text: `${rangeS}s`, value: `${rangeS}s` },
      __range_s: { text: String(rangeS), value: rangeS },
      __range_ms: { text: String(rangeS * 1000), value: rangeS * 1000 },
    };
  }

  interpolate(expr: string, scopedVars: ScopedVars): string {
    return this.templates().replace(expr, scopedVars, promFormat as never);
  }

  async query(request: DataQueryRequest<PromQuery>): Promise<DataQueryResponse> {
    const targets = request.targets.filter((t) => !t.hide && t.expr);
    const tableCount = targets.filter((t) => t.format === 'table').length;
    const scopedVars = { ...request.scopedVars, ...this.builtins(request.range, request.intervalMs) };
    const stepS = Math.max(request.intervalMs / 1000, this.scrapeS);
    const fromS = Math.floor(request.range.from.valueOf() / 1000 / stepS) * stepS;
    const toS = Math.floor(request.range.to.valueOf() / 1000 / stepS) * stepS;
    const frames = await Promise.all(
      targets.map(async (t): Promise<DataFrame[]> => {
        const expr = this.interpolate(t.expr, scopedVars);
        if (t.instant && !t.range) {
          const data = await this.api<{ result: PromSeries[] }>('/api/v1/query', {
            query: expr,
            time: request.range.to.valueOf() / 1000,
          });
          return t.format === 'table'
            ? [tableFrame(t, data.result, tableCount)]
            : data.result.map((s) => seriesFrame(t, s));
        }
        const data = await this.api<{ result: PromSeries[] }>('/api/v1/query_range', {
          query: expr,
          start: fromS,
          end: toS,
          step: stepS,
        });
        return data.result.map((s) => seriesFrame(t, s));
      })
    );
    return { data: frames.flat() };
  }

  override async metricFindQuery(
    query: string | { query: string },
    options?: { range?: TimeRange; scopedVars?: ScopedVars }
  ): Promise<MetricFindValue[]> {
    const text = typeof query === 'string' ? query : query.query;
    const q = this.interpolate(text, options?.scopedVars ?? {});
    const m = /^label_values\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(q.trim());
    if (!m) {
      throw { message: `Unsupported variable query "${text}" (this stand-in knows label_values only)` };
    }
    const [, selector, label] = m;
    const params: Record<string, string | number | string[]> = {};
    if (selector) {
      params['match[]'] = [selector];
    }
    if (options?.range) {
      params.start = Math.floor(options.range.from.valueOf() / 1000);
      params.end = Math.ceil(options.range.to.valueOf() / 1000);
    }
    const values = await this.api<string[]>(`/api/v1/label/${label}/values`, params);
    return values.map((v) => ({ text: v, value: v }));
  }

  async testDatasource(): Promise<TestDataSourceResponse> {
    await this.api('/api/v1/query', { query: '1+1' });
    return { status: 'success', message: 'Successfully queried the Prometheus API.' };
  }
}

function seriesFrame(t: PromQuery, s: PromSeries): DataFrame {
  const points = s.values ?? (s.value ? [s.value] : []);
  const legend = t.legendFormat ? renderLegendFormat(t.legendFormat, s.metric) : undefined;
  return createDataFrame({
    refId: t.refId,
    name: legend,
    fields: [
      { name: 'Time', type: FieldType.time, values: points.map((p) => p[0] * 1000), config: { interval: undefined } },
      {
        name: 'Value',
        type: FieldType.number,
        values: points.map((p) => Number(p[1])),
        labels: s.metric,
        config: legend ? { displayNameFromDS: legend } : {},
      },
    ],
    meta: { type: 'timeseries-multi' as never },
  });
}

function tableFrame(t: PromQuery, result: PromSeries[], tableCount: number): DataFrame {
  const labels = [...new Set(result.flatMap((s) => Object.keys(s.metric)))].filter((l) => l !== '__name__').sort();
  return createDataFrame({
    refId: t.refId,
    fields: [
      { name: 'Time', type: FieldType.time, values: result.map((s) => (s.value?.[0] ?? 0) * 1000) },
      ...labels.map((l) => ({ name: l, type: FieldType.string, values: result.map((s) => s.metric[l] ?? '') })),
      {
        name: tableCount > 1 ? `Value #${t.refId}` : 'Value',
        type: FieldType.number,
        values: result.map((s) => Number(s.value?.[1])),
      },
    ],
    meta: { preferredVisualisationType: 'table' },
  });
}
