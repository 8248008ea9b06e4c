/**
 * Grafana's runtime services as its frontend wires them at boot (public/app/app.ts), for the app shell that
 * boots the real Flowlens app in Chromium:
 *
 * - backendSrv: `fetch` on Grafana's own origin (the page's), params serialised as Grafana does, JSON bodies,
 *   a non-2xx answer rejected as `{ status, statusText, data }`; the other verbs built on it;
 * - templateSrv: with scenes, Grafana's TemplateSrv hands interpolation to `sceneGraph.interpolate` on the
 *   scene object in `scopedVars.__sceneObject`, or on the active scene (`window.__grafanaSceneContext`);
 * - dataSourceSrv: instances by uid or name, created once each, settings as bootData lists them;
 * - runRequest: what Grafana's runRequest does for a frontend datasource: the response packets by key into one
 *   PanelData, Loading then Done, an error as `errors` with state Error (toDataQueryError).
 */
import { Observable, from, of, isObservable } from 'rxjs';
import { catchError, map, startWith } from 'rxjs/operators';
import {
  LoadingState,
  dateTime,
  type DataFrame,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceApi,
  type DataSourceInstanceSettings,
  type PanelData,
  type ScopedVars,
  type TimeRange,
  type TypedVariableModel,
} from '@grafana/data';
import {
  toDataQueryError,
  type BackendSrv,
  type BackendSrvRequest,
  type DataSourceSrv,
  type FetchResponse,
  type TemplateSrv,
} from '@grafana/runtime';
import { sceneGraph, type SceneObject } from '@grafana/scenes';
import { serializeParams } from '../../lib/grafana-data-proxy';

export interface RecordedCall {
  method: string;
  url: string;
  body?: unknown;
}

export function createBackendSrv(origin: string, calls: RecordedCall[]): BackendSrv {
  const fetchFn = <T>(req: BackendSrvRequest): Observable<FetchResponse<T>> =>
    new Observable<FetchResponse<T>>((sub) => {
      const query = serializeParams(req.params as Record<string, unknown> | undefined);
      const url = new URL(req.url + (query ? (req.url.includes('?') ? '&' : '?') + query : ''), origin);
      const method = req.method ?? 'GET';
      const headers: Record<string, string> = { Accept: 'application/json, text/plain, */*', ...req.headers };
      let body: string | undefined;
      if (req.data !== undefined) {
        body = typeof req.data === 'string' ? req.data : JSON.stringify(req.data);
        headers['Content-Type'] ??= 'application/json';
      }
      calls.push({ method, url: url.pathname + url.search, body: req.data });
      const controller = new AbortController();
      fetch(url, { method, headers, body, signal: controller.signal })
        .then(async (r) => {
          const text = await r.text();
          let data: unknown = text;
          try {
            data = text === '' ? {} : JSON.parse(text);
          } catch {
            /* keep the text */
          }
          const response = {
            data: data as T,
            status: r.status,
            statusText: r.statusText,
            ok: r.ok,
            headers: r.headers,
            redirected: r.redirected,
            type: r.type,
            url: r.url,
            config: req,
          };
          if (r.ok) {
            sub.next(response);
            sub.complete();
          } else {
            sub.error({ status: r.status, statusText: r.statusText, data, config: req });
          }
        })
        .catch((err: unknown) => sub.error({ status: 0, statusText: String(err), data: {}, config: req }));
      return () => controller.abort();
    });
  const request = async <T>(options: BackendSrvRequest): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      fetchFn<T>(options).subscribe({ next: (r) => resolve(r.data), error: reject });
    });
  const verb =
    (method: string) =>
    <T>(url: string, data?: unknown, options?: Partial<BackendSrvRequest>) =>
      request<T>({ ...options, url, method, data });
  const srv = {
    fetch: fetchFn,
    request,
    datasourceRequest: <T>(options: BackendSrvRequest) =>
      new Promise<FetchResponse<T>>((resolve, reject) =>
        fetchFn<T>(options).subscribe({ next: resolve, error: reject })
      ),
    get: <T>(
      url: string,
      params?: Record<string, unknown>,
      _requestId?: string,
      options?: Partial<BackendSrvRequest>
    ) => request<T>({ ...options, url, method: 'GET', params }),
    post: verb('POST'),
    put: verb('PUT'),
    patch: verb('PATCH'),
    delete: verb('DELETE'),
    resolveCancelerIfExists: () => undefined,
  };
  return srv as unknown as BackendSrv;
}

declare global {
  interface Window {
    __grafanaSceneContext?: SceneObject;
  }
}

export function createTemplateSrv(): TemplateSrv {
  let range: TimeRange = { from: dateTime(), to: dateTime(), raw: { from: 'now-1h', to: 'now' } };
  const sceneOf = (scopedVars?: ScopedVars): SceneObject | undefined =>
    // Since scenes 5.6 the value is a SafeSerializableSceneObject whose valueOf() is the scene object.
    ((scopedVars?.__sceneObject?.value as { valueOf(): SceneObject } | undefined)?.valueOf() as
      SceneObject | undefined) ?? window.__grafanaSceneContext;
  return {
    getVariables: () => [] as TypedVariableModel[],
    replace(target, scopedVars, format, interpolations) {
      if (!target) {
        return target ?? '';
      }
      const scene = sceneOf(scopedVars);
      if (!scene) {
        return target;
      }
      return sceneGraph.interpolate(scene, target, scopedVars, format as never, interpolations);
    },
    containsTemplate: (target) => !!target && /\$(\w+|\{[^}]+\})|\[\[[^\]]+\]\]/.test(target),
    updateTimeRange: (r) => {
      range = r;
      void range;
    },
  };
}

// Any datasource class (its own query type): the srv hands them out untyped, as Grafana's does.
export type DatasourceFactory = (settings: DataSourceInstanceSettings) => DataSourceApi<any, any>;

export function createDataSourceSrv(
  settings: DataSourceInstanceSettings[],
  factories: Record<string, DatasourceFactory>
): DataSourceSrv {
  const instances = new Map<string, DataSourceApi>();
  const find = (ref?: { uid?: string } | string | null): DataSourceInstanceSettings | undefined => {
    const key = typeof ref === 'string' ? ref : ref?.uid;
    if (!key) {
      return settings.find((s) => s.isDefault);
    }
    return settings.find((s) => s.uid === key || s.name === key);
  };
  return {
    async get(ref) {
      const s = find(ref as never);
      if (!s) {
        const key = typeof ref === 'string' ? ref : (ref as { uid?: string } | null | undefined)?.uid;
        throw new Error(`Datasource ${key} was not found`);
      }
      let ds = instances.get(s.uid);
      if (!ds) {
        const factory = factories[s.type];
        if (!factory) {
          throw new Error(`Datasource plugin ${s.type} was not found`);
        }
        ds = factory(s);
        instances.set(s.uid, ds);
      }
      return ds;
    },
    getList(filters = {}) {
      return settings.filter(
        (s) =>
          (!filters.pluginId || s.type === filters.pluginId) &&
          (!filters.type || [filters.type].flat().includes(s.type)) &&
          (!filters.filter || filters.filter(s))
      );
    },
    getInstanceSettings: (ref) => find(ref as never),
    reload: async () => undefined,
    registerRuntimeDataSource: () => undefined,
  };
}

/** Grafana's runRequest for a frontend datasource: query → PanelData (Loading, then Done or Error). */
export function runRequest(ds: DataSourceApi, request: DataQueryRequest): Observable<PanelData> {
  const base: PanelData = { state: LoadingState.Loading, series: [], timeRange: request.range, request };
  if (request.targets.length === 0) {
    return of({ ...base, state: LoadingState.Done });
  }
  const byKey = new Map<string, DataFrame[]>();
  const answer = ds.query(request) as Observable<DataQueryResponse> | Promise<DataQueryResponse>;
  return (isObservable(answer) ? answer : from(answer)).pipe(
    map((packet: DataQueryResponse): PanelData => {
      byKey.set(packet.key ?? 'A', packet.data as DataFrame[]);
      const series = [...byKey.values()].flat();
      const errors = packet.errors ?? (packet.error ? [packet.error] : undefined);
      return {
        ...base,
        state: errors?.length ? LoadingState.Error : (packet.state ?? LoadingState.Done),
        series,
        errors,
        error: errors?.[0],
      };
    }),
    catchError((err: unknown) => {
      const error = toDataQueryError(err as never);
      return of({ ...base, state: LoadingState.Error, error, errors: [error] });
    }),
    startWith(base)
  );
}
