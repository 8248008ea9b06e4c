import { dateTime, type DataQueryRequest, type DataSourceInstanceSettings } from '@grafana/data';
import { CART_TO_REDIS, CART_TO_S3, FRONT_TO_CART, SHOP_MAP } from '../testing/hubFixtures';
import { fakeFetch, type Answer } from '../testing/fakeFetch';
import { FlowsDataSource, stepFor } from './datasource';
import type { FlowsJsonData, FlowsQuery } from './types';

const settings = (jsonData: FlowsJsonData = { hubUrl: 'http://hub:8080' }, url = '/api/datasources/proxy/uid/flows') =>
  ({
    id: 1,
    uid: 'flows',
    type: 'flowlens-flows-datasource',
    name: 'Flows',
    url,
    jsonData,
    access: 'proxy',
  }) as unknown as DataSourceInstanceSettings<FlowsJsonData>;

const vars: Record<string, string | string[]> = {
  namespace: 'shop',
  all: ['shop', 'kube-system'],
  one: ['shop'],
  view: 'pod',
  bad: 'packets',
};
// Like templateSrv.replace: multi-value and "All" selections go through the format function.
const interpolate = (text: string, _scoped?: unknown, format?: (v: unknown) => string) =>
  text.replace(/\$(\w+)/g, (_, name: string) => {
    const v = vars[name] ?? '';
    return Array.isArray(v) ? (format ? format(v) : v.join(',')) : v;
  });

function request(targets: FlowsQuery[]): DataQueryRequest<FlowsQuery> {
  return {
    targets,
    range: { from: dateTime(1_000_000), to: dateTime(4_600_000), raw: { from: 'now-1h', to: 'now' } },
    intervalMs: 15_000,
    scopedVars: {},
  } as unknown as DataQueryRequest<FlowsQuery>;
}

function hub(answers: Record<string, (params: Record<string, unknown>) => Answer>) {
  return fakeFetch((req) => {
    const path = req.url.replace('/api/datasources/proxy/uid/flows/hub', '');
    const handler = answers[path];
    return handler ? handler(req.params ?? {}) : { status: 404, data: { error: `no route ${path}` } };
  });
}

describe('FlowsDataSource', () => {
  it('asks the hub through the proxy route once per category and joins the rows by value', async () => {
    const byCategory: Record<string, unknown[]> = { INTRA_AZ: [CART_TO_REDIS], INTER_AZ: [FRONT_TO_CART] };
    const { fetch, requests } = hub({
      '/api/v1/top-contributors': (p) => ({ status: 200, data: { rows: byCategory[String(p.category)] ?? [] } }),
    });
    const ds = new FlowsDataSource(settings(), { fetch, interpolate });
    const res = await ds.query(
      request([{ refId: 'A', queryType: 'topTalkers', categories: ['INTER_AZ', 'INTRA_AZ'], namespace: '$namespace' }])
    );
    expect(res.errors).toBeUndefined();
    expect(requests.map((r) => r.params)).toEqual([
      {
        metric: 'bytes',
        category: 'INTER_AZ',
        limit: 100,
        groupBy: 'flow',
        namespace: 'shop',
        from: 1_000_000,
        to: 4_600_000,
      },
      {
        metric: 'bytes',
        category: 'INTRA_AZ',
        limit: 100,
        groupBy: 'flow',
        namespace: 'shop',
        from: 1_000_000,
        to: 4_600_000,
      },
    ]);
    expect(requests.every((r) => r.method === 'GET' && r.showErrorAlert === false)).toBe(true);
    expect(JSON.stringify(requests)).not.toMatch(/authorization|token/i);
    const frame = res.data[0];
    expect(frame.refId).toBe('A');
    expect(frame.fields.find((f: { name: string }) => f.name === 'bytes').values).toEqual([5_000_000, 2_000_000]);
  });

  it('treats "All" as no filter and asks all five categories when none are picked', async () => {
    const { fetch, requests } = hub({ '/api/v1/top-contributors': () => ({ status: 200, data: { rows: [] } }) });
    const ds = new FlowsDataSource(settings(), { fetch, interpolate });
    await ds.query(
      request([{ refId: 'A', queryType: 'topTalkers', categories: [], namespace: '$all', workload: '$one' }])
    );
    expect(requests.map((r) => r.params?.category)).toEqual([
      'INTRA_AZ',
      'INTER_AZ',
      'AMAZON_S3',
      'AMAZON_DYNAMODB',
      'UNCLASSIFIED',
    ]);
    expect(requests.every((r) => r.params?.namespace === undefined && r.params?.workload === 'shop')).toBe(true);
  });

  it('drills down to both directions of an edge, pushing only a safe filter to the hub', async () => {
    const { fetch, requests } = hub({
      '/api/v1/top-contributors': (p) => ({
        status: 200,
        data: {
          rows:
            p.category === 'AMAZON_S3' ? [CART_TO_S3] : p.category === 'INTRA_AZ' ? [CART_TO_REDIS] : [FRONT_TO_CART],
        },
      }),
    });
    const ds = new FlowsDataSource(settings(), { fetch, interpolate });
    const res = await ds.query(
      request([
        {
          refId: 'D',
          queryType: 'topTalkers',
          categories: ['INTRA_AZ', 'INTER_AZ', 'AMAZON_S3'],
          endpoint: { kind: 'workload', namespace: 'shop', name: 'cart' },
          peer: { kind: 'workload', namespace: 'shop', name: 'front' },
        },
      ])
    );
    expect(requests[0]?.params).toMatchObject({
      endpoint: 'workload:shop/cart',
      peer: 'workload:shop/front',
      limit: 500,
    });
    expect(requests[0]?.params).not.toHaveProperty('namespace');
    const frame = res.data[0];
    expect(frame.fields.find((f: { name: string }) => f.name === 'direction').values).toEqual(['inbound']);
    expect(frame.fields.find((f: { name: string }) => f.name === 'local_workload').values).toEqual(['front']);
  });

  it('builds Node Graph frames for the service map in the chosen view', async () => {
    const { fetch, requests } = hub({ '/api/v1/service-map': () => ({ status: 200, data: SHOP_MAP }) });
    const ds = new FlowsDataSource(settings(), { fetch, interpolate });
    const res = await ds.query(
      request([{ refId: 'M', queryType: 'serviceMap', mapGroupBy: '$view' as never, namespace: '$namespace' }])
    );
    expect(requests[0]?.params).toEqual({ groupBy: 'pod', namespace: 'shop', from: 1_000_000, to: 4_600_000 });
    expect(res.data.map((f: { name: string }) => f.name)).toEqual(['nodes', 'edges']);
    const link = res.data[0].fields.find((f: { name: string }) => f.name === 'drilldown').values[0];
    expect(link).toBe('/a/flowlens-netobs-app/service-map/node/pod~shop~front?from=1000000&to=4600000');
  });

  it('asks for time series with the panel interval as step', async () => {
    const { fetch, requests } = hub({
      '/api/v1/timeseries': () => ({ status: 200, data: { series: [{ name: 'total', points: [[1_000_000, 4]] }] } }),
    });
    const ds = new FlowsDataSource(settings(), { fetch, interpolate });
    const res = await ds.query(
      request([
        {
          refId: 'T',
          queryType: 'timeseries',
          metric: 'retransmits',
          categories: ['INTRA_AZ', 'INTER_AZ'],
          seriesGroupBy: 'category',
        },
      ])
    );
    expect(requests[0]?.params).toEqual({
      metric: 'retransmits',
      category: 'INTRA_AZ,INTER_AZ',
      groupBy: 'category',
      step: 15_000,
      from: 1_000_000,
      to: 4_600_000,
    });
    expect(res.data[0].fields[1].values).toEqual([4]);
  });

  it('reports each failing query with a readable message and keeps the others', async () => {
    const { fetch } = hub({
      '/api/v1/service-map': () => ({ status: 200, data: SHOP_MAP }),
      '/api/v1/top-contributors': () => ({
        status: 400,
        data: { error: "limit: expected an integer from 1 to 500, got '0'" },
      }),
    });
    const ds = new FlowsDataSource(settings(), { fetch, interpolate });
    const res = await ds.query(
      request([
        { refId: 'A', queryType: 'topTalkers' },
        { refId: 'B', queryType: 'serviceMap' },
      ])
    );
    expect(res.data).toHaveLength(2);
    expect(res.errors).toHaveLength(1);
    expect(res.errors?.[0]?.refId).toBe('A');
    expect(res.errors?.[0]?.message).toBe(
      "Flowlens hub error while fetching top contributors (INTRA_AZ) (HTTP 400: limit: expected an integer from 1 to 500, got '0')."
    );
  });

  it('rejects a variable that expands to something the hub does not know', async () => {
    const { fetch, requests } = hub({});
    const ds = new FlowsDataSource(settings(), { fetch, interpolate });
    const res = await ds.query(request([{ refId: 'A', metric: '$bad' as never }]));
    expect(requests).toHaveLength(0);
    expect(res.errors?.[0]?.message).toBe(
      'Unknown metric "packets": use one of bytes, retransmits, rtos, rtt, failures'
    );
  });

  it('explains that direct (browser) access cannot work', async () => {
    const { fetch } = hub({});
    const ds = new FlowsDataSource(settings(undefined, ''), { fetch, interpolate });
    const res = await ds.query(request([{ refId: 'A' }]));
    expect(res.errors?.[0]?.message).toMatch(/server \(proxy\) access/);
  });

  describe('testDatasource', () => {
    it('succeeds when health and an authenticated call succeed', async () => {
      const { fetch, requests } = hub({
        '/api/v1/health': () => ({ status: 200, data: { status: 'ok' } }),
        '/api/v1/namespaces': () => ({ status: 200, data: { namespaces: ['shop'] } }),
      });
      const ds = new FlowsDataSource(settings(), { fetch, interpolate });
      await expect(ds.testDatasource()).resolves.toMatchObject({ status: 'success' });
      expect(requests.map((r) => r.url)).toEqual([
        '/api/datasources/proxy/uid/flows/hub/api/v1/health',
        '/api/datasources/proxy/uid/flows/hub/api/v1/namespaces',
      ]);
    });

    it('says the hub is unreachable on a proxy 502', async () => {
      const { fetch } = hub({ '/api/v1/health': () => ({ status: 502, data: { message: 'Bad Gateway' } }) });
      const ds = new FlowsDataSource(settings(), { fetch, interpolate });
      const res = await ds.testDatasource();
      expect(res.status).toBe('error');
      expect(res.message).toMatch(/^Flowlens hub unreachable while checking health \(HTTP 502: Bad Gateway\)/);
    });

    it('says the token is wrong on 401', async () => {
      const { fetch } = hub({
        '/api/v1/health': () => ({ status: 200, data: { status: 'ok' } }),
        '/api/v1/namespaces': () => ({ status: 401, data: { error: 'invalid bearer token' } }),
      });
      const ds = new FlowsDataSource(settings(), { fetch, interpolate });
      const res = await ds.testDatasource();
      expect(res.message).toMatch(/refused the query token .*HTTP 401: invalid bearer token/);
    });

    it('asks for the hub URL first', async () => {
      const ds = new FlowsDataSource(settings({}), { fetch: hub({}).fetch, interpolate });
      await expect(ds.testDatasource()).resolves.toMatchObject({
        status: 'error',
        message: expect.stringMatching(/hub URL/),
      });
    });
  });

  it('lists namespaces and workloads for template variables', async () => {
    const { fetch, requests } = hub({
      '/api/v1/namespaces': () => ({ status: 200, data: { namespaces: ['shop', 'kube-system'] } }),
      '/api/v1/workloads': () => ({
        status: 200,
        data: {
          workloads: [
            { namespace: 'shop', workload: 'cart', kind: 'Deployment' },
            { namespace: 'shop', workload: 'redis', kind: null },
          ],
        },
      }),
    });
    const ds = new FlowsDataSource(settings(), { fetch, interpolate });
    await expect(ds.metricFindQuery('namespaces')).resolves.toEqual([
      { text: 'shop', value: 'shop' },
      { text: 'kube-system', value: 'kube-system' },
    ]);
    await expect(ds.metricFindQuery('workloads($namespace)')).resolves.toEqual([
      { text: 'cart', value: 'cart' },
      { text: 'redis', value: 'redis' },
    ]);
    expect(requests[1]?.params).toEqual({ namespace: 'shop' });
    await ds.metricFindQuery('workloads($all)');
    expect(requests[2]?.params).toEqual({});
    await ds.metricFindQuery('namespaces(west)');
    expect(requests[3]?.params).toEqual({ cluster: 'west' });
    await ds.metricFindQuery('workloads($namespace, west)');
    expect(requests[4]?.params).toEqual({ namespace: 'shop', cluster: 'west' });
    await expect(ds.metricFindQuery('pods')).rejects.toThrow(/Unknown Flowlens variable query "pods"/);
  });

  it('passes the cluster variable to every flow query ("All": every cluster) and lists clusters over the range', async () => {
    const { fetch, requests } = hub({
      '/api/v1/top-contributors': () => ({ status: 200, data: { rows: [{ ...CART_TO_REDIS, cluster: 'west' }] } }),
      '/api/v1/service-map': () => ({ status: 200, data: SHOP_MAP }),
      '/api/v1/clusters': () => ({
        status: 200,
        data: {
          clusters: [
            { name: 'east', lastSeen: 1 },
            { name: 'west', lastSeen: 2 },
          ],
        },
      }),
    });
    vars.cluster = 'west';
    vars.every = ['east', 'west'];
    try {
      const ds = new FlowsDataSource(settings(), { fetch, interpolate });
      const res = await ds.query(
        request([
          { refId: 'A', queryType: 'topTalkers', categories: ['INTRA_AZ'], cluster: '$cluster' },
          { refId: 'B', queryType: 'serviceMap', cluster: '$cluster' },
          { refId: 'C', queryType: 'serviceMap', cluster: '$every' },
        ])
      );
      expect(res.errors).toBeUndefined();
      expect(requests.map((r) => r.params?.cluster)).toEqual(['west', 'west', undefined]);
      const table = res.data.find((f) => f.refId === 'A');
      expect(table.fields.find((f: { name: string }) => f.name === 'cluster').values).toEqual(['west']);
      const range = { from: dateTime(1_000_000), to: dateTime(4_600_000) };
      await expect(ds.metricFindQuery('clusters', { range })).resolves.toEqual([
        { text: 'east', value: 'east' },
        { text: 'west', value: 'west' },
      ]);
      expect(requests[requests.length - 1]?.params).toEqual({ from: 1_000_000, to: 4_600_000 });
    } finally {
      delete vars.cluster;
      delete vars.every;
    }
  });

  it('turns Grafana intervals into whole-second steps', () => {
    expect(stepFor(undefined)).toBeUndefined();
    expect(stepFor(0)).toBeUndefined();
    expect(stepFor(200)).toBe(1000);
    expect(stepFor(15_400)).toBe(15_000);
  });
});
