import type { EndpointRef } from '../datasource/types';
import { CART_TO_REDIS, CART_TO_S3, FRONT_TO_CART } from '../testing/hubFixtures';
import { decodeEndpoint, drilldownFilter, encodeEndpoint, endpointOfNode, flowsOf } from './endpoints';
import { edgeDrilldownUrl, nodeDrilldownUrl } from './drilldownLinks';

const cart: EndpointRef = { kind: 'workload', namespace: 'shop', name: 'cart' };
const redis: EndpointRef = { kind: 'workload', namespace: 'shop', name: 'redis' };
const front: EndpointRef = { kind: 'workload', namespace: 'shop', name: 'front' };

describe('endpoint refs', () => {
  it('round-trip through a URL segment, including awkward names', () => {
    const refs: EndpointRef[] = [
      cart,
      { kind: 'pod', namespace: 'a~b', name: 'x/y z' },
      { kind: 'pod', namespace: null, name: 'p' },
      { kind: 'ip', ip: 'fd00::1' },
    ];
    for (const ref of refs) {
      const text = encodeEndpoint(ref);
      expect(text).not.toMatch(/\//);
      expect(decodeEndpoint(text)).toEqual(ref);
    }
  });

  it('rejects malformed segments', () => {
    for (const bad of ['', 'workload', 'service~a~b', 'ip', 'workload~a', 'pod~a~b~c', 'ip~%E0%A4%A']) {
      expect(decodeEndpoint(bad)).toBeUndefined();
    }
  });

  it('names service-map nodes in the view they were drawn in', () => {
    expect(endpointOfNode({ id: 'shop/cart', title: 'cart', namespace: 'shop', workload: 'cart' }, 'workload')).toEqual(
      cart
    );
    expect(endpointOfNode({ id: 'p', title: 'cart-1', namespace: 'shop', pod: 'cart-1' }, 'pod')).toEqual({
      kind: 'pod',
      namespace: 'shop',
      name: 'cart-1',
    });
    expect(endpointOfNode({ id: '1.2.3.4', title: '1.2.3.4', namespace: null, ip: '1.2.3.4' }, 'workload')).toEqual({
      kind: 'ip',
      ip: '1.2.3.4',
    });
  });

  it('builds drilldown URLs under the service map page with the time range', () => {
    const node = { id: 'shop/cart', title: 'cart', namespace: 'shop', workload: 'cart' };
    expect(nodeDrilldownUrl(node, 'workload', { from: 1000, to: 2000 })).toBe(
      '/a/flowlens-netobs-app/service-map/node/workload~shop~cart?from=1000&to=2000'
    );
    expect(edgeDrilldownUrl(node, { ...node, id: 'r', title: 'redis', workload: 'redis' }, 'workload')).toBe(
      '/a/flowlens-netobs-app/service-map/edge/workload~shop~cart/workload~shop~redis'
    );
    const west = { ...node, id: 'west/shop/cart', cluster: 'west' };
    expect(nodeDrilldownUrl(west, 'workload', { from: 1000, to: 2000 })).toBe(
      '/a/flowlens-netobs-app/service-map/node/workload~shop~cart?from=1000&to=2000&var-cluster=west'
    );
    expect(edgeDrilldownUrl(west, { ...west, id: 'west/shop/redis', workload: 'redis' }, 'workload')).toBe(
      '/a/flowlens-netobs-app/service-map/edge/workload~shop~cart/workload~shop~redis?var-cluster=west'
    );
  });
});

describe('flowsOf', () => {
  const rows = [CART_TO_REDIS, FRONT_TO_CART, CART_TO_S3];

  it('keeps both directions of one endpoint and says which is which', () => {
    expect(flowsOf(rows, cart).map((f) => [f.row, f.direction])).toEqual([
      [CART_TO_REDIS, 'outbound'],
      [FRONT_TO_CART, 'inbound'],
      [CART_TO_S3, 'outbound'],
    ]);
  });

  it('keeps only flows between two endpoints, whichever opened the connection', () => {
    expect(flowsOf(rows, cart, redis).map((f) => f.direction)).toEqual(['outbound']);
    expect(flowsOf(rows, redis, cart).map((f) => f.direction)).toEqual(['inbound']);
    expect(flowsOf(rows, cart, front).map((f) => f.row)).toEqual([FRONT_TO_CART]);
    expect(flowsOf(rows, front, redis)).toEqual([]);
  });

  it('matches pods and IPs too', () => {
    expect(flowsOf(rows, { kind: 'pod', namespace: 'shop', name: 'redis-0' }).map((f) => f.row)).toEqual([
      CART_TO_REDIS,
    ]);
    expect(flowsOf(rows, { kind: 'ip', ip: '52.216.1.1' }).map((f) => f.direction)).toEqual(['inbound']);
  });
});

describe('drilldownFilter', () => {
  it('asks the hub for exactly the flows of the endpoint (and peer)', () => {
    expect(drilldownFilter(cart, redis)).toEqual({ endpoint: 'workload:shop/cart', peer: 'workload:shop/redis' });
    expect(drilldownFilter({ kind: 'ip', ip: '1.1.1.1' }, redis)).toEqual({
      endpoint: 'ip:1.1.1.1',
      peer: 'workload:shop/redis',
    });
    expect(drilldownFilter({ kind: 'pod', namespace: 'shop', name: 'x' })).toEqual({ endpoint: 'pod:shop/x' });
    expect(drilldownFilter({ kind: 'ip', ip: 'fd00::1' })).toEqual({ endpoint: 'ip:fd00::1' });
    // Without a namespace the hub cannot match a name: the peer alone narrows, the rest is filtered here.
    expect(drilldownFilter({ kind: 'pod', namespace: null, name: 'x' }, redis)).toEqual({
      endpoint: 'workload:shop/redis',
    });
    expect(drilldownFilter({ kind: 'pod', namespace: null, name: 'x' })).toEqual({});
  });
});
