// The flows datasource: every request goes to `${instanceSettings.url}/hub/...`, which Grafana's data
// proxy maps to the hub URL from jsonData and signs with the query token from secureJsonData.
// Grafana services (fetch, template interpolation) are injected so this class runs outside Grafana too.
import {
  DataSourceApi,
  type DataFrame,
  type DataQueryError,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceInstanceSettings,
  type MetricFindValue,
  type ScopedVars,
  type TestDataSourceResponse,
} from '@grafana/data';
import { HubClient, type Fetch } from './hubClient';
import { HubError } from './hubErrors';
import { HUB_ROUTE_PATH, type TimeWindow } from './hubRequests';
import {
  CATEGORIES,
  GROUP_BYS,
  MAP_GROUP_BYS,
  METRICS,
  SERIES_GROUP_BYS,
  type Category,
  type TopContributorRow,
} from './hubTypes';
import { DEFAULT_QUERY, type FlowsJsonData, type FlowsQuery } from './types';
import { parseVariableQuery } from './variableQuery';
import { ALL_SENTINEL, formatFilterValue } from './filterValue';
import { buildTopTalkersFrame } from '../frames/topTalkersFrame';
import { buildServiceMapFrames } from '../frames/serviceMapFrames';
import { buildTimeseriesFrames } from '../frames/timeseriesFrames';
import { drilldownFilter, flowsOf } from '../frames/endpoints';
import { serviceMapLinks } from '../frames/drilldownLinks';
import { parseCheckAgainst, parseDefaultDeny, policyCheckFrames, policyDraftsFrames } from './policyQueries';

export interface FlowsDataSourceDeps {
  fetch: Fetch;
  /**
   * Replaces `$var` / `${var}` in a string (Grafana: getTemplateSrv().replace), formatting multi-value and
   * "All" selections with `format`.
   */
  interpolate: (text: string, scopedVars?: ScopedVars, format?: (value: unknown) => string) => string;
}

/** The hub keeps up to 500 rows per category (as NFM's Top Contributors API does). */
export const MAX_LIMIT = 500;

export class FlowsDataSource extends DataSourceApi<FlowsQuery, FlowsJsonData> {
  private readonly hub: HubClient;

  constructor(
    private readonly settings: DataSourceInstanceSettings<FlowsJsonData>,
    private readonly deps: FlowsDataSourceDeps
  ) {
    super(settings);
    this.hub = new HubClient(`${settings.url ?? ''}/${HUB_ROUTE_PATH}`, deps.fetch);
  }

  override getDefaultQuery(): Partial<FlowsQuery> {
    return DEFAULT_QUERY;
  }

  override filterQuery(query: FlowsQuery): boolean {
    return !query.hide;
  }

  applyTemplateVariables(query: FlowsQuery, scopedVars: ScopedVars): FlowsQuery {
    const sub = (v?: string) => {
      if (v === undefined) {
        return undefined;
      }
      const out = this.deps.interpolate(v, scopedVars, formatFilterValue);
      // An "All" selection or an empty variable means no filter.
      return out === '' || out === '$__all' || out === ALL_SENTINEL ? undefined : out;
    };
    return {
      ...query,
      cluster: sub(query.cluster),
      namespace: sub(query.namespace),
      workload: sub(query.workload),
      metric: oneOf(sub(query.metric), METRICS, 'metric'),
      groupBy: oneOf(sub(query.groupBy), GROUP_BYS, 'group by'),
      mapGroupBy: oneOf(sub(query.mapGroupBy), MAP_GROUP_BYS, 'service map view'),
      seriesGroupBy: oneOf(sub(query.seriesGroupBy), SERIES_GROUP_BYS, 'series group by'),
      ...(query.defaultDeny !== undefined
        ? {
            defaultDeny: parseDefaultDeny(
              typeof query.defaultDeny === 'string'
                ? this.deps.interpolate(query.defaultDeny, scopedVars, formatFilterValue)
                : query.defaultDeny
            ),
          }
        : {}),
      ...(query.checkAgainst !== undefined
        ? { checkAgainst: parseCheckAgainst(this.deps.interpolate(query.checkAgainst, scopedVars, formatFilterValue)) }
        : {}),
    };
  }

  async query(request: DataQueryRequest<FlowsQuery>): Promise<DataQueryResponse> {
    const range: TimeWindow = { from: request.range.from.valueOf(), to: request.range.to.valueOf() };
    const targets = request.targets.filter((t) => this.filterQuery(t));
    const results = await Promise.all(
      targets.map(async (t): Promise<{ data: DataFrame[]; error?: DataQueryError }> => {
        try {
          const q = this.applyTemplateVariables(t, request.scopedVars);
          return {
            data: await this.runQuery(
              { ...DEFAULT_QUERY, ...stripUndefined(q), refId: t.refId },
              range,
              stepFor(request.intervalMs)
            ),
          };
        } catch (err) {
          return { data: [], error: { refId: t.refId, message: err instanceof Error ? err.message : String(err) } };
        }
      })
    );
    const errors = results.flatMap((r) => (r.error ? [r.error] : []));
    return { data: results.flatMap((r) => r.data), ...(errors.length > 0 ? { errors, error: errors[0] } : {}) };
  }

  private async runQuery(q: FlowsQuery, range: TimeWindow, intervalMs?: number): Promise<DataFrame[]> {
    if (!this.settings.url) {
      throw new HubError(
        'The Flowlens flows datasource must use server (proxy) access so Grafana can add the query token.'
      );
    }
    switch (q.queryType) {
      case 'serviceMap': {
        const view = q.mapGroupBy ?? 'workload';
        const map = await this.hub.serviceMap({ ...range, cluster: q.cluster, groupBy: view, namespace: q.namespace });
        return buildServiceMapFrames(map, { refId: q.refId, ...serviceMapLinks(view, range) });
      }
      case 'timeseries': {
        const metric = q.metric ?? 'bytes';
        const series = await this.hub.timeseries({
          ...range,
          cluster: q.cluster,
          metric,
          categories: q.categories,
          namespace: q.namespace,
          workload: q.workload,
          groupBy: q.seriesGroupBy,
          stepMs: intervalMs,
        });
        return buildTimeseriesFrames(series, metric, q.refId);
      }
      case 'policyDrafts':
      case 'policyCheck': {
        const pq = {
          refId: q.refId,
          namespace: q.namespace,
          workload: q.workload,
          defaultDeny: parseDefaultDeny(q.defaultDeny),
          checkAgainst: parseCheckAgainst(q.checkAgainst),
        };
        return q.queryType === 'policyDrafts'
          ? policyDraftsFrames(this.hub, pq, range)
          : policyCheckFrames(this.hub, pq, range);
      }
      default:
        return [await this.topTalkers(q, range)];
    }
  }

  private async topTalkers(q: FlowsQuery, range: TimeWindow): Promise<DataFrame> {
    const metric = q.metric ?? 'bytes';
    const categories: readonly Category[] = q.categories && q.categories.length > 0 ? q.categories : CATEGORIES;
    const drilldown = q.endpoint !== undefined;
    const limit = Math.min(MAX_LIMIT, Math.max(1, drilldown ? MAX_LIMIT : (q.limit ?? 100)));
    const perCategory = await Promise.all(
      categories.map((category) =>
        this.hub.topContributors({
          ...range,
          cluster: q.cluster,
          metric,
          category,
          limit,
          groupBy: q.groupBy,
          ...(q.endpoint ? drilldownFilter(q.endpoint, q.peer) : { namespace: q.namespace, workload: q.workload }),
        })
      )
    );
    const rows: TopContributorRow[] = perCategory.flatMap((r) => r.rows);
    rows.sort((a, b) => b.value - a.value);
    if (q.endpoint) {
      const flows = flowsOf(rows, q.endpoint, q.peer);
      return buildTopTalkersFrame(
        flows.map((f) => f.row),
        { refId: q.refId, metric, directions: flows.map((f) => f.direction) }
      );
    }
    return buildTopTalkersFrame(rows, { refId: q.refId, metric });
  }

  async testDatasource(): Promise<TestDataSourceResponse> {
    if (!this.settings.jsonData?.hubUrl) {
      return { status: 'error', message: 'Set the hub URL first (for example http://flowlens-hub:8080).' };
    }
    try {
      const health = await this.hub.health();
      const status = typeof health?.status === 'string' ? health.status : 'unknown';
      if (status !== 'ok') {
        return { status: 'error', message: `Flowlens hub answered but reports status "${status}".` };
      }
      // Health needs no token; listing namespaces does, so this proves the token too.
      const namespaces = await this.hub.namespaces();
      return {
        status: 'success',
        message: `Flowlens hub is reachable and accepts the query token (${namespaces.length} namespaces with flows).`,
      };
    } catch (err) {
      return { status: 'error', message: err instanceof Error ? err.message : String(err) };
    }
  }

  override async metricFindQuery(
    query: string,
    options?: { scopedVars?: ScopedVars; range?: { from: { valueOf(): number }; to: { valueOf(): number } } }
  ): Promise<MetricFindValue[]> {
    const parsed = parseVariableQuery(this.deps.interpolate(query, options?.scopedVars, formatFilterValue));
    const names =
      parsed.kind === 'clusters'
        ? await this.hub.clusters(variableWindow(options?.range))
        : parsed.kind === 'namespaces'
          ? await this.hub.namespaces(parsed.cluster)
          : await this.hub.workloads(parsed.namespace, parsed.cluster);
    return names.map((text) => ({ text, value: text }));
  }
}

/** A query field after interpolation must be one of the hub's values; anything else is a user error. */
function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T | undefined {
  if (value === undefined) {
    return undefined;
  }
  if ((allowed as readonly string[]).includes(value)) {
    return value as T;
  }
  throw new HubError(`Unknown ${what} "${value}": use one of ${allowed.join(', ')}`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The clusters variable's window: the dashboard's range, else the last 24 hours. */
export function variableWindow(
  range: { from: { valueOf(): number }; to: { valueOf(): number } } | undefined,
  now = Date.now()
): TimeWindow {
  return range ? { from: range.from.valueOf(), to: range.to.valueOf() } : { from: now - 24 * 3600_000, to: now };
}

/** The hub buckets by whole seconds; Grafana's interval suggestion is in ms. Undefined lets the hub choose. */
export function stepFor(intervalMs: number | undefined): number | undefined {
  if (intervalMs === undefined || !Number.isFinite(intervalMs) || intervalMs <= 0) {
    return undefined;
  }
  return Math.max(1000, Math.round(intervalMs / 1000) * 1000);
}
