import { bodyMessage, hubErrorMessage } from './hubErrors';
import { namesOf } from './hubClient';
import {
  clustersRequest,
  serviceMapRequest,
  timeseriesRequest,
  topContributorsRequest,
  workloadsRequest,
} from './hubRequests';
import { parseVariableQuery } from './variableQuery';

describe('hub requests', () => {
  it('sends only the filters that are set, times as whole epoch ms', () => {
    expect(
      topContributorsRequest({ metric: 'rtt', category: 'UNCLASSIFIED', from: 1.5, to: 9.2, namespace: '' })
    ).toEqual({
      path: '/api/v1/top-contributors',
      params: { metric: 'rtt', category: 'UNCLASSIFIED', from: 1, to: 10 },
    });
    expect(serviceMapRequest({ groupBy: 'pod', from: 0, to: 1, namespace: 'shop' }).params).toEqual({
      groupBy: 'pod',
      namespace: 'shop',
      from: 0,
      to: 1,
    });
    expect(timeseriesRequest({ metric: 'bytes', from: 0, to: 1, categories: [] }).params).toEqual({
      metric: 'bytes',
      from: 0,
      to: 1,
    });
    expect(workloadsRequest().params).toEqual({});
  });

  it('passes the cluster (hub API 1.4) on every flow query, lists clusters over a window', () => {
    const w = { from: 0, to: 1 };
    expect(
      topContributorsRequest({ ...w, metric: 'bytes', category: 'INTRA_AZ', cluster: 'west' }).params.cluster
    ).toBe('west');
    expect(serviceMapRequest({ ...w, groupBy: 'pod', cluster: 'west' }).params.cluster).toBe('west');
    expect(timeseriesRequest({ ...w, metric: 'bytes', cluster: 'west' }).params.cluster).toBe('west');
    expect(serviceMapRequest({ ...w, groupBy: 'pod', cluster: '' }).params).not.toHaveProperty('cluster');
    expect(workloadsRequest('shop', 'west').params).toEqual({ namespace: 'shop', cluster: 'west' });
    expect(clustersRequest({ from: 1.5, to: 9.2 })).toEqual({ path: '/api/v1/clusters', params: { from: 1, to: 10 } });
    expect(
      namesOf(
        {
          clusters: [
            { name: 'east', lastSeen: 1 },
            { name: 'west', lastSeen: 2 },
          ],
        },
        'clusters'
      )
    ).toEqual(['east', 'west']);
  });

  it('refuses an inverted or unset time range before calling the hub', () => {
    expect(() => serviceMapRequest({ groupBy: 'pod', from: 5, to: 1 })).toThrow('invalid time range: from=5 to=1');
    expect(() => serviceMapRequest({ groupBy: 'pod', from: NaN, to: 1 })).toThrow(/invalid time range/);
  });
});

describe('hub error messages', () => {
  it('reads the hub body, Grafana body or text', () => {
    expect(bodyMessage({ error: 'metric: expected one of bytes' })).toBe('metric: expected one of bytes');
    expect(bodyMessage({ message: 'Bad Gateway' })).toBe('Bad Gateway');
    expect(bodyMessage({ error: { message: 'nested' } })).toBe('nested');
    expect(bodyMessage('  plain  ')).toBe('plain');
    expect(bodyMessage({})).toBeUndefined();
  });

  it('says what to check for each kind of failure', () => {
    expect(hubErrorMessage({ status: 0, data: {}, statusText: 'TypeError: fetch failed' }, 'x')).toBe(
      'Flowlens hub unreachable while x: TypeError: fetch failed. Check that Grafana can reach the hub URL.'
    );
    expect(hubErrorMessage({ status: 504, data: '' }, 'x')).toMatch(/^Flowlens hub unreachable while x \(HTTP 504\)/);
    expect(hubErrorMessage({ status: 404, data: { error: 'no route /x' } }, 'x')).toMatch(
      /no such endpoint .* base URL/
    );
    expect(hubErrorMessage({ status: 500, data: { error: 'internal error' } }, 'x')).toBe(
      'Flowlens hub error while x (HTTP 500: internal error).'
    );
    expect(hubErrorMessage(new Error('boom'), 'x')).toBe(
      'Flowlens hub unreachable while x: boom. Check that Grafana can reach the hub URL.'
    );
  });
});

describe('names lists', () => {
  it('accepts the hub forms and refuses anything else', () => {
    expect(namesOf({ namespaces: ['a', 'b', 'a'] }, 'namespaces')).toEqual(['a', 'b']);
    expect(namesOf({ workloads: [{ namespace: 'n', workload: 'w', kind: null }] }, 'workloads')).toEqual(['w']);
    expect(namesOf(['x'], 'namespaces')).toEqual(['x']);
    expect(() => namesOf({ rows: [] }, 'namespaces')).toThrow('Flowlens hub answered without a "namespaces" list');
  });
});

describe('variable queries', () => {
  it('parses the forms', () => {
    expect(parseVariableQuery(' clusters ')).toEqual({ kind: 'clusters' });
    expect(parseVariableQuery(' namespaces ')).toEqual({ kind: 'namespaces' });
    expect(parseVariableQuery('workloads')).toEqual({ kind: 'workloads' });
    expect(parseVariableQuery('workloads( shop )')).toEqual({ kind: 'workloads', namespace: 'shop' });
    expect(parseVariableQuery('workloads()')).toEqual({ kind: 'workloads' });
    expect(() => parseVariableQuery('pods')).toThrow(
      /use clusters, namespaces, namespaces\(<cluster>\), workloads, workloads\(<namespace>\[, <cluster>\]\)/
    );
  });

  it('reads a cluster argument; empty and All (*) are no filter', () => {
    expect(parseVariableQuery('namespaces(east)')).toEqual({ kind: 'namespaces', cluster: 'east' });
    expect(parseVariableQuery('namespaces(*)')).toEqual({ kind: 'namespaces' });
    expect(parseVariableQuery('namespaces()')).toEqual({ kind: 'namespaces' });
    expect(parseVariableQuery('workloads(shop, west)')).toEqual({
      kind: 'workloads',
      namespace: 'shop',
      cluster: 'west',
    });
    expect(parseVariableQuery('workloads(*, west)')).toEqual({ kind: 'workloads', cluster: 'west' });
    expect(parseVariableQuery('workloads(shop, *)')).toEqual({ kind: 'workloads', namespace: 'shop' });
    expect(() => parseVariableQuery('namespaces(a, b)')).toThrow(/namespaces takes one argument/);
    expect(() => parseVariableQuery('workloads(a, b, c)')).toThrow(/workloads takes a namespace and a cluster/);
  });
});
