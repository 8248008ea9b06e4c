// Talks to the hub through Grafana's data proxy. The transport is injected: in Grafana it is
// getBackendSrv().fetch; in the integration test a stand-in that resolves plugin.json routes like the proxy.
import { lastValueFrom, type Observable } from 'rxjs';
import type { BackendSrvRequest, FetchResponse } from '@grafana/runtime';
import { HubError, hubErrorMessage } from './hubErrors';
import {
  clustersRequest,
  healthRequest,
  namespacesRequest,
  policyCheckRequest,
  policyDraftsRequest,
  serviceMapRequest,
  timeseriesRequest,
  topContributorsRequest,
  workloadsRequest,
  type HubBody,
  type HubRequest,
  type PolicyCheckParams,
  type PolicyDraftsParams,
  type ServiceMapParams,
  type TimeseriesParams,
  type TimeWindow,
  type TopContributorsParams,
} from './hubRequests';
import type { PolicyCheckResponse, PolicyDraftsResponse } from './policyTypes';
import type { HealthResponse, ServiceMapResponse, TimeseriesResponse, TopContributorsResponse } from './hubTypes';

export type Fetch = <T>(request: BackendSrvRequest) => Observable<FetchResponse<T>>;

function expectArray(data: unknown, key: string, what: string): void {
  const value = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[key] : undefined;
  if (!Array.isArray(value)) {
    throw new HubError(`Flowlens hub answered ${what} without a "${key}" list; is the URL the hub's?`);
  }
}

export class HubClient {
  constructor(
    /** `${instanceSettings.url}/hub`: the proxy path that maps to the hub's base URL. */
    private readonly baseUrl: string,
    private readonly fetch: Fetch
  ) {}

  /** One hub call: a GET, or a POST when the request carries a body. */
  private async get<T>(req: HubRequest, what: string): Promise<T> {
    try {
      const response = await lastValueFrom(
        this.fetch<T>({
          url: `${this.baseUrl}${req.path}`,
          method: req.method ?? 'GET',
          params: req.params,
          ...(req.body ? { data: req.body.text, headers: { 'Content-Type': req.body.contentType } } : {}),
          showErrorAlert: false,
          showSuccessAlert: false,
        })
      );
      return response.data;
    } catch (err) {
      if (err instanceof HubError) {
        throw err;
      }
      const status = typeof err === 'object' && err !== null ? (err as { status?: unknown }).status : undefined;
      throw new HubError(hubErrorMessage(err, what), typeof status === 'number' ? status : undefined);
    }
  }

  async topContributors(p: TopContributorsParams): Promise<TopContributorsResponse> {
    const data = await this.get<TopContributorsResponse>(
      topContributorsRequest(p),
      `fetching top contributors (${p.category})`
    );
    expectArray(data, 'rows', 'top contributors');
    return data;
  }

  async serviceMap(p: ServiceMapParams): Promise<ServiceMapResponse> {
    const data = await this.get<ServiceMapResponse>(serviceMapRequest(p), 'fetching the service map');
    expectArray(data, 'nodes', 'the service map');
    expectArray(data, 'edges', 'the service map');
    return data;
  }

  async timeseries(p: TimeseriesParams): Promise<TimeseriesResponse> {
    const data = await this.get<TimeseriesResponse>(timeseriesRequest(p), 'fetching time series');
    expectArray(data, 'series', 'time series');
    return data;
  }

  async policyDrafts(p: PolicyDraftsParams): Promise<PolicyDraftsResponse> {
    const data = await this.get<PolicyDraftsResponse>(policyDraftsRequest(p), 'drafting network policies');
    expectArray(data, 'policies', 'policy drafts');
    if (typeof data.yaml !== 'string') {
      throw new HubError('Flowlens hub answered policy drafts without their "yaml"; is the hub older than issue 16?');
    }
    return data;
  }

  /** Without a body: the cluster's current policies; with one: the policies it holds instead. */
  async policyCheck(p: PolicyCheckParams, body?: HubBody): Promise<PolicyCheckResponse> {
    const what = body ? 'checking flows against the chosen policies' : 'checking flows against the current policies';
    const data = await this.get<PolicyCheckResponse>(policyCheckRequest(p, body), what);
    expectArray(data, 'denied', 'the policy check');
    return data;
  }

  health(): Promise<HealthResponse> {
    return this.get<HealthResponse>(healthRequest(), 'checking health');
  }

  async namespaces(cluster?: string): Promise<string[]> {
    return namesOf(await this.get<unknown>(namespacesRequest(cluster), 'listing namespaces'), 'namespaces');
  }

  async workloads(namespace?: string, cluster?: string): Promise<string[]> {
    return namesOf(await this.get<unknown>(workloadsRequest(namespace, cluster), 'listing workloads'), 'workloads');
  }

  /** Clusters with flows in the window (hub API 1.4), by name. */
  async clusters(w: TimeWindow): Promise<string[]> {
    return namesOf(await this.get<unknown>(clustersRequest(w), 'listing clusters'), 'clusters');
  }
}

/** Accepts `["a"]`, `{namespaces: ["a"]}`, `{workloads: [{workload: "a"}]}` or `[{name: "a"}]`. */
export function namesOf(data: unknown, key: string): string[] {
  const list = Array.isArray(data)
    ? data
    : typeof data === 'object' && data !== null
      ? (data as Record<string, unknown>)[key]
      : undefined;
  if (!Array.isArray(list)) {
    throw new HubError(`Flowlens hub answered without a "${key}" list`);
  }
  const names = list.map((item: unknown) =>
    typeof item === 'string'
      ? item
      : typeof item === 'object' && item !== null
        ? ((item as { workload?: unknown }).workload ?? (item as { name?: unknown }).name)
        : undefined
  );
  return [...new Set(names.filter((n): n is string => typeof n === 'string' && n !== ''))];
}
