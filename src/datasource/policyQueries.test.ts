import { dateTime, type DataQueryRequest, type DataSourceInstanceSettings } from '@grafana/data';
import type { BackendSrvRequest } from '@grafana/runtime';
import { fakeFetch, type Answer } from '../testing/fakeFetch';
import {
  DEFAULT_DENY_POLICY,
  SHOP_CHECK_CURRENT,
  SHOP_CHECK_DEFAULT_DENY,
  SHOP_CHECK_DRAFT,
  SHOP_DRAFTS,
  SHOP_DRAFTS_DEFAULT_DENY,
  SHOP_DRAFTS_REDIS,
} from '../testing/policyFixtures';
import { policyCheckMeta, policyDraftsMeta } from '../frames/policyFrames';
import { FlowsDataSource } from './datasource';
import { policyCheckRequest, policyDraftsRequest } from './hubRequests';
import { defaultDenyBody, parseCheckAgainst, parseDefaultDeny } from './policyQueries';
import type { FlowsJsonData, FlowsQuery } from './types';

const PROXY = '/api/datasources/proxy/uid/flows/hub';
const settings = {
  id: 1,
  uid: 'flows',
  type: 'flowlens-flows-datasource',
  name: 'Flows',
  url: '/api/datasources/proxy/uid/flows',
  jsonData: { hubUrl: 'http://hub:8080' },
  access: 'proxy',
} as unknown as DataSourceInstanceSettings<FlowsJsonData>;

let vars: Record<string, string | string[]> = {};
const interpolate = (text: string, _scoped?: unknown, format?: (v: unknown) => string) =>
  text.replace(/\$(\w+)/g, (_, name: string) => {
    const v = vars[name] ?? '';
    return Array.isArray(v) ? (format ? format(v) : v.join(',')) : v;
  });

const request = (targets: FlowsQuery[]) =>
  ({
    targets,
    range: { from: dateTime(1_000_000), to: dateTime(4_600_000), raw: { from: 'now-24h', to: 'now' } },
    scopedVars: {},
  }) as unknown as DataQueryRequest<FlowsQuery>;

/** A hub holding the fixtures, answering as policy-api.md says. */
function policyHub() {
  return fakeFetch((req: BackendSrvRequest): Answer => {
    const path = req.url.replace(PROXY, '');
    const p = (req.params ?? {}) as Record<string, string>;
    if (path === '/api/v1/policy-drafts') {
      const drafts =
        p.workload === 'redis' ? SHOP_DRAFTS_REDIS : p.defaultDeny ? SHOP_DRAFTS_DEFAULT_DENY : SHOP_DRAFTS;
      return { status: 200, data: drafts };
    }
    if (path === '/api/v1/policy-check' && req.method === 'GET') {
      return { status: 200, data: SHOP_CHECK_CURRENT };
    }
    if (path === '/api/v1/policy-check' && req.method === 'POST') {
      return { status: 200, data: req.data === SHOP_DRAFTS.yaml ? SHOP_CHECK_DRAFT : SHOP_CHECK_DEFAULT_DENY };
    }
    return { status: 404, data: { error: `no route ${req.method} ${path}` } };
  });
}

const DRAFTS: FlowsQuery = {
  refId: 'drafts',
  queryType: 'policyDrafts',
  namespace: '$namespace',
  workload: '$workload',
  defaultDeny: '$defaultdeny',
};
const CHECK: FlowsQuery = { ...DRAFTS, refId: 'check', queryType: 'policyCheck', checkAgainst: '$against' };

describe('policy queries', () => {
  beforeEach(() => {
    vars = { namespace: 'shop', workload: ['cart', 'redis'], defaultdeny: 'false', against: 'current' };
  });

  it('drafts: one GET with the namespace and range, no workload for All, no defaultDeny when off', async () => {
    const { fetch, requests } = policyHub();
    const ds = new FlowsDataSource(settings, { fetch, interpolate });
    const res = await ds.query(request([DRAFTS]));
    expect(res.errors).toBeUndefined();
    expect(requests.map((r) => [r.method, r.url, r.params, r.data])).toEqual([
      ['GET', `${PROXY}/api/v1/policy-drafts`, { namespace: 'shop', from: 1_000_000, to: 4_600_000 }, undefined],
    ]);
    expect(res.data[0].length).toBe(9);
    expect(policyDraftsMeta(res.data)?.yaml).toBe(SHOP_DRAFTS.yaml);
  });

  it('drafts: one workload and the default-deny switch reach the hub', async () => {
    vars.workload = 'redis';
    vars.defaultdeny = 'true';
    const { fetch, requests } = policyHub();
    const res = await new FlowsDataSource(settings, { fetch, interpolate }).query(request([DRAFTS]));
    expect(requests[0]?.params).toEqual({
      namespace: 'shop',
      workload: 'redis',
      defaultDeny: 'true',
      from: 1_000_000,
      to: 4_600_000,
    });
    expect(policyDraftsMeta(res.data)?.yaml).toBe(SHOP_DRAFTS_REDIS.yaml);
  });

  it('check against the current policies: a GET, no body', async () => {
    const { fetch, requests } = policyHub();
    const res = await new FlowsDataSource(settings, { fetch, interpolate }).query(request([CHECK]));
    expect(res.errors).toBeUndefined();
    expect(requests.map((r) => [r.method, r.url, r.params, r.data])).toEqual([
      ['GET', `${PROXY}/api/v1/policy-check`, { namespace: 'shop', from: 1_000_000, to: 4_600_000 }, undefined],
    ]);
    expect(policyCheckMeta(res.data)).toMatchObject({ against: 'current', denied: 1, policiesEvaluated: 2 });
  });

  it('check against this draft: the hub’s YAML, byte for byte, POSTed back as application/yaml', async () => {
    vars.against = 'draft';
    const { fetch, requests } = policyHub();
    const res = await new FlowsDataSource(settings, { fetch, interpolate }).query(request([CHECK]));
    expect(res.errors).toBeUndefined();
    expect(requests.map((r) => [r.method, r.url])).toEqual([
      ['GET', `${PROXY}/api/v1/policy-drafts`],
      ['POST', `${PROXY}/api/v1/policy-check`],
    ]);
    expect(requests[1]?.data).toBe(SHOP_DRAFTS.yaml);
    expect(requests[1]?.headers).toEqual({ 'Content-Type': 'application/yaml' });
    expect(requests[1]?.params).toEqual({ namespace: 'shop', from: 1_000_000, to: 4_600_000 });
    expect(res.data[0].length).toBe(0);
    expect(policyCheckMeta(res.data)).toMatchObject({ against: 'draft', denied: 0 });
  });

  it('check against default deny: the hub’s default-deny object POSTed as JSON', async () => {
    vars.against = 'defaultDeny';
    vars.workload = 'redis';
    const { fetch, requests } = policyHub();
    const res = await new FlowsDataSource(settings, { fetch, interpolate }).query(request([CHECK]));
    expect(requests[0]?.params).toEqual({ namespace: 'shop', defaultDeny: 'true', from: 1_000_000, to: 4_600_000 });
    expect(requests[1]?.method).toBe('POST');
    expect(JSON.parse(String(requests[1]?.data))).toEqual(DEFAULT_DENY_POLICY.object);
    expect(requests[1]?.headers).toEqual({ 'Content-Type': 'application/json' });
    expect(res.data[0].length).toBe(4);
  });

  it('refuses "All" namespaces and values it does not know, before calling the hub', async () => {
    const { fetch, requests } = policyHub();
    const ds = new FlowsDataSource(settings, { fetch, interpolate });
    vars.namespace = ['shop', 'ops'];
    let res = await ds.query(request([DRAFTS]));
    expect(res.errors?.[0]?.message).toMatch(/Choose a namespace/);
    vars.namespace = 'shop';
    vars.against = 'everything';
    res = await ds.query(request([CHECK]));
    expect(res.errors?.[0]?.message).toBe(
      'Unknown policies to check against "everything": use one of current, draft, defaultDeny'
    );
    vars.against = 'current';
    vars.defaultdeny = 'maybe';
    res = await ds.query(request([DRAFTS]));
    expect(res.errors?.[0]?.message).toBe('Default deny must be true or false, not "maybe"');
    expect(requests).toHaveLength(0);
  });

  it('says what is wrong when the hub refuses or answers something else', async () => {
    const answers: Answer[] = [
      { status: 400, data: { error: 'namespace: not a Kubernetes namespace name' } },
      { status: 200, data: { policies: [] } },
      { status: 200, data: { rows: [] } },
    ];
    const { fetch } = fakeFetch(() => answers.shift()!);
    const ds = new FlowsDataSource(settings, { fetch, interpolate });
    let res = await ds.query(request([DRAFTS]));
    expect(res.errors?.[0]?.message).toBe(
      'Flowlens hub error while drafting network policies (HTTP 400: namespace: not a Kubernetes namespace name).'
    );
    res = await ds.query(request([DRAFTS]));
    expect(res.errors?.[0]?.message).toMatch(/without their "yaml"/);
    res = await ds.query(request([CHECK]));
    expect(res.errors?.[0]?.message).toMatch(/policy check without a "denied" list/);
  });
});

describe('policy requests', () => {
  it('builds the two paths with only what is set, times as whole epoch ms', () => {
    expect(policyDraftsRequest({ namespace: 'shop', from: 1.5, to: 9.2, workload: '' })).toEqual({
      path: '/api/v1/policy-drafts',
      params: { namespace: 'shop', from: 1, to: 10 },
    });
    expect(policyCheckRequest({ namespace: 'shop', from: 0, to: 1 })).toEqual({
      path: '/api/v1/policy-check',
      params: { namespace: 'shop', from: 0, to: 1 },
    });
    const body = { contentType: 'application/yaml' as const, text: 'kind: NetworkPolicy\n' };
    expect(policyCheckRequest({ namespace: 'shop', from: 0, to: 1 }, body)).toMatchObject({ method: 'POST', body });
  });

  it('refuses a missing or malformed namespace, an inverted range and an empty draft', () => {
    expect(() => policyDraftsRequest({ namespace: '', from: 0, to: 1 })).toThrow(/Choose a namespace/);
    expect(() => policyDraftsRequest({ namespace: 'Shop_1', from: 0, to: 1 })).toThrow(
      '"Shop_1" is not a Kubernetes namespace name'
    );
    expect(() => policyCheckRequest({ namespace: 'shop', from: 5, to: 1 })).toThrow(/invalid time range/);
    expect(() =>
      policyCheckRequest({ namespace: 'shop', from: 0, to: 1 }, { contentType: 'application/yaml', text: ' \n' })
    ).toThrow('No policies to check: the draft is empty');
  });

  it('parses the page’s variables and finds the default-deny object', () => {
    expect([true, false, undefined, 'true', 'on', 'false', '', 'off'].map(parseDefaultDeny)).toEqual([
      true,
      false,
      false,
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(parseCheckAgainst(undefined)).toBe('current');
    expect(parseCheckAgainst('draft')).toBe('draft');
    expect(defaultDenyBody(SHOP_DRAFTS_DEFAULT_DENY).text).toBe(JSON.stringify(DEFAULT_DENY_POLICY.object));
    expect(() => defaultDenyBody(SHOP_DRAFTS)).toThrow(/no default-deny policy for namespace shop/);
  });
});
