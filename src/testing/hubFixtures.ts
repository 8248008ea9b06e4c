// Hub answers shaped like the hub's query API v1, for unit tests (not shipped: nothing in the plugin imports this).
import type { Endpoint, RemoteEndpoint, ServiceMapResponse, TopContributorRow } from '../datasource/hubTypes';

export function endpoint(p: Partial<RemoteEndpoint> = {}): RemoteEndpoint {
  return {
    ip: null,
    pod: null,
    namespace: null,
    workload: null,
    kind: null,
    node: null,
    zone: null,
    service: null,
    ...p,
  };
}

export function local(p: Partial<Endpoint> = {}): Endpoint {
  const { service: _service, ...rest } = endpoint(p);
  return rest;
}

export const CART_TO_REDIS: TopContributorRow = {
  category: 'INTRA_AZ',
  local: local({
    ip: '10.0.1.5',
    pod: 'cart-7d9f',
    namespace: 'shop',
    workload: 'cart',
    kind: 'Deployment',
    node: 'n1',
    zone: 'a',
  }),
  remote: endpoint({
    ip: '10.0.1.9',
    pod: 'redis-0',
    namespace: 'shop',
    workload: 'redis',
    kind: 'StatefulSet',
    node: 'n1',
    zone: 'a',
  }),
  serverPort: 6379,
  value: 5_000_000,
  bytes: 5_000_000,
  retransmits: 12,
  rtos: 1,
  rttUs: 250,
};

export const FRONT_TO_CART: TopContributorRow = {
  category: 'INTER_AZ',
  local: local({
    ip: '10.0.2.4',
    pod: 'front-55c',
    namespace: 'shop',
    workload: 'front',
    kind: 'Deployment',
    node: 'n2',
    zone: 'b',
  }),
  remote: endpoint({
    ip: '10.0.1.5',
    pod: 'cart-7d9f',
    namespace: 'shop',
    workload: 'cart',
    kind: 'Deployment',
    node: 'n1',
    zone: 'a',
  }),
  serverPort: 8080,
  value: 2_000_000,
  bytes: 2_000_000,
  retransmits: 0,
  rtos: 0,
  rttUs: { min: 400, avg: 800, max: 2000 },
};

export const CART_TO_S3: TopContributorRow = {
  category: 'AMAZON_S3',
  local: local({
    ip: '10.0.1.5',
    pod: 'cart-7d9f',
    namespace: 'shop',
    workload: 'cart',
    kind: 'Deployment',
    node: 'n1',
    zone: 'a',
  }),
  remote: endpoint({ ip: '52.216.1.1', service: 'S3' }),
  serverPort: 443,
  value: 900,
  bytes: 900,
  retransmits: 0,
  rtos: 0,
  rttUs: null,
};

export const SHOP_MAP: ServiceMapResponse = {
  nodes: [
    { id: 'shop/front', title: 'front', namespace: 'shop', kind: 'Deployment', workload: 'front' },
    { id: 'shop/cart', title: 'cart', namespace: 'shop', kind: 'Deployment', workload: 'cart' },
    { id: 'shop/redis', title: 'redis', namespace: 'shop', kind: 'StatefulSet', workload: 'redis' },
  ],
  edges: [
    { id: 'e1', source: 'shop/front', target: 'shop/cart', bytes: 2_000_000, retransmits: 0, rtos: 0, rttUs: 800 },
    { id: 'e2', source: 'shop/cart', target: 'shop/redis', bytes: 5_000_000, retransmits: 12, rtos: 1, rttUs: 250 },
  ],
};
