// Recorded-by-hand answers of the hub's policy API (policy-api.md, issue 16) for namespace `shop`: frontend is
// called from the internet and calls cart; cart calls redis and S3; redis only receives. Used by the unit tests and
// by the browser suite's stand-in hub (tests/browser/lib/policyHub.ts). Not shipped: the plugin never imports it.
import type { PolicyCheckResponse, PolicyDraft, PolicyDraftsResponse } from '../datasource/policyTypes';

export const FROM = 1764500000000;
export const TO = 1764586400000;
const NS = 'shop';

const selector = (app: string) => ({ matchLabels: { app } });
const inNamespace = (ns: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': ns } });
const DNS_PEER = {
  namespaceSelector: inNamespace('kube-system'),
  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
};
const DNS_PORTS = [
  { protocol: 'UDP', port: 53 },
  { protocol: 'TCP', port: 53 },
];
const DNS_RULE = {
  direction: 'egress' as const,
  peer: 'dns:kube-system/kube-dns',
  ports: ['UDP/53', 'TCP/53'],
  bytes: 0,
  flows: 0,
  firstSeenMs: null,
  lastSeenMs: null,
  assumed: true,
};

function policy(name: string, app: string, annotations: Record<string, string>, spec: object) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: NS, annotations },
    spec: { podSelector: selector(app), policyTypes: ['Ingress', 'Egress'], ...spec },
  };
}

export const CART_POLICY: PolicyDraft = {
  name: 'flowlens-cart',
  workload: 'cart',
  object: policy(
    'flowlens-cart',
    'cart',
    {
      'flowlens.io/ingress-0':
        'workload:shop/frontend TCP/8080: 2000000 bytes in 4 flows, 2025-11-30T10:53:21Z to 2025-12-01T10:46:40Z',
      'flowlens.io/egress-0':
        'workload:shop/redis TCP/6379: 5000000 bytes in 2 flows, 2025-11-30T10:53:25Z to 2025-12-01T10:46:00Z',
      'flowlens.io/egress-1':
        'ipBlock:52.216.0.0/15 TCP/443: 734003 bytes in 1 flow, 2025-11-30T12:00:00Z to 2025-11-30T12:05:00Z',
      'flowlens.io/egress-2': 'dns:kube-system/kube-dns UDP/53 TCP/53: assumed (the agent sees TCP only)',
    },
    {
      ingress: [
        {
          from: [{ namespaceSelector: inNamespace(NS), podSelector: selector('frontend') }],
          ports: [{ protocol: 'TCP', port: 8080 }],
        },
      ],
      egress: [
        {
          to: [{ namespaceSelector: inNamespace(NS), podSelector: selector('redis') }],
          ports: [{ protocol: 'TCP', port: 6379 }],
        },
        { to: [{ ipBlock: { cidr: '52.216.0.0/15' } }], ports: [{ protocol: 'TCP', port: 443 }] },
        { to: [DNS_PEER], ports: DNS_PORTS },
      ],
    }
  ),
  rules: [
    {
      direction: 'ingress',
      peer: 'workload:shop/frontend',
      ports: ['TCP/8080'],
      bytes: 2_000_000,
      flows: 4,
      firstSeenMs: 1764500001000,
      lastSeenMs: 1764586000000,
      assumed: false,
    },
    {
      direction: 'egress',
      peer: 'workload:shop/redis',
      ports: ['TCP/6379'],
      bytes: 5_000_000,
      flows: 2,
      firstSeenMs: 1764500005000,
      lastSeenMs: 1764585960000,
      assumed: false,
    },
    {
      direction: 'egress',
      peer: 'ipBlock:52.216.0.0/15',
      ports: ['TCP/443'],
      bytes: 734_003,
      flows: 1,
      firstSeenMs: 1764504000000,
      lastSeenMs: 1764504300000,
      assumed: false,
    },
    DNS_RULE,
  ],
};

export const FRONTEND_POLICY: PolicyDraft = {
  name: 'flowlens-frontend',
  workload: 'frontend',
  object: policy(
    'flowlens-frontend',
    'frontend',
    {
      'flowlens.io/ingress-0':
        'ipBlock:203.0.113.7/32 TCP/8080: 91234 bytes in 3 flows, 2025-11-30T10:55:00Z to 2025-12-01T10:40:00Z',
      'flowlens.io/egress-0':
        'workload:shop/cart TCP/8080: 2000000 bytes in 4 flows, 2025-11-30T10:53:21Z to 2025-12-01T10:46:40Z',
      'flowlens.io/egress-1': 'dns:kube-system/kube-dns UDP/53 TCP/53: assumed (the agent sees TCP only)',
    },
    {
      ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.7/32' } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
      egress: [
        {
          to: [{ namespaceSelector: inNamespace(NS), podSelector: selector('cart') }],
          ports: [{ protocol: 'TCP', port: 8080 }],
        },
        { to: [DNS_PEER], ports: DNS_PORTS },
      ],
    }
  ),
  rules: [
    {
      direction: 'ingress',
      peer: 'ipBlock:203.0.113.7/32',
      ports: ['TCP/8080'],
      bytes: 91_234,
      flows: 3,
      firstSeenMs: 1764500100000,
      lastSeenMs: 1764585600000,
      assumed: false,
    },
    {
      direction: 'egress',
      peer: 'workload:shop/cart',
      ports: ['TCP/8080'],
      bytes: 2_000_000,
      flows: 4,
      firstSeenMs: 1764500001000,
      lastSeenMs: 1764586000000,
      assumed: false,
    },
    DNS_RULE,
  ],
};

export const REDIS_POLICY: PolicyDraft = {
  name: 'flowlens-redis',
  workload: 'redis',
  object: policy(
    'flowlens-redis',
    'redis',
    {
      'flowlens.io/ingress-0':
        'workload:shop/cart TCP/6379: 5000000 bytes in 2 flows, 2025-11-30T10:53:25Z to 2025-12-01T10:46:00Z',
      'flowlens.io/egress-0': 'dns:kube-system/kube-dns UDP/53 TCP/53: assumed (the agent sees TCP only)',
    },
    {
      ingress: [
        {
          from: [{ namespaceSelector: inNamespace(NS), podSelector: selector('cart') }],
          ports: [{ protocol: 'TCP', port: 6379 }],
        },
      ],
      egress: [{ to: [DNS_PEER], ports: DNS_PORTS }],
    }
  ),
  rules: [
    {
      direction: 'ingress',
      peer: 'workload:shop/cart',
      ports: ['TCP/6379'],
      bytes: 5_000_000,
      flows: 2,
      firstSeenMs: 1764500005000,
      lastSeenMs: 1764585960000,
      assumed: false,
    },
    DNS_RULE,
  ],
};

export const DEFAULT_DENY_POLICY: PolicyDraft = {
  name: 'flowlens-default-deny',
  workload: null,
  object: {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'flowlens-default-deny', namespace: NS },
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  },
  rules: [],
};

const DNS_YAML = `    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: kube-system
          podSelector:
            matchLabels:
              k8s-app: kube-dns
      ports:
        - protocol: UDP
          port: 53
        - protocol: TCP
          port: 53
`;

const CART_YAML = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: flowlens-cart
  namespace: shop
  annotations:
    flowlens.io/ingress-0: "workload:shop/frontend TCP/8080: 2000000 bytes in 4 flows, 2025-11-30T10:53:21Z to 2025-12-01T10:46:40Z"
    flowlens.io/egress-0: "workload:shop/redis TCP/6379: 5000000 bytes in 2 flows, 2025-11-30T10:53:25Z to 2025-12-01T10:46:00Z"
    flowlens.io/egress-1: "ipBlock:52.216.0.0/15 TCP/443: 734003 bytes in 1 flow, 2025-11-30T12:00:00Z to 2025-11-30T12:05:00Z"
    flowlens.io/egress-2: "dns:kube-system/kube-dns UDP/53 TCP/53: assumed (the agent sees TCP only)"
spec:
  podSelector:
    matchLabels:
      app: cart
  policyTypes:
    - Ingress
    - Egress
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: shop
          podSelector:
            matchLabels:
              app: frontend
      ports:
        - protocol: TCP
          port: 8080
  egress:
    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: shop
          podSelector:
            matchLabels:
              app: redis
      ports:
        - protocol: TCP
          port: 6379
    - to:
        - ipBlock:
            cidr: 52.216.0.0/15
      ports:
        - protocol: TCP
          port: 443
${DNS_YAML}`;

const FRONTEND_YAML = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: flowlens-frontend
  namespace: shop
  annotations:
    flowlens.io/ingress-0: "ipBlock:203.0.113.7/32 TCP/8080: 91234 bytes in 3 flows, 2025-11-30T10:55:00Z to 2025-12-01T10:40:00Z"
    flowlens.io/egress-0: "workload:shop/cart TCP/8080: 2000000 bytes in 4 flows, 2025-11-30T10:53:21Z to 2025-12-01T10:46:40Z"
    flowlens.io/egress-1: "dns:kube-system/kube-dns UDP/53 TCP/53: assumed (the agent sees TCP only)"
spec:
  podSelector:
    matchLabels:
      app: frontend
  policyTypes:
    - Ingress
    - Egress
  ingress:
    - from:
        - ipBlock:
            cidr: 203.0.113.7/32
      ports:
        - protocol: TCP
          port: 8080
  egress:
    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: shop
          podSelector:
            matchLabels:
              app: cart
      ports:
        - protocol: TCP
          port: 8080
${DNS_YAML}`;

const REDIS_YAML = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: flowlens-redis
  namespace: shop
  annotations:
    flowlens.io/ingress-0: "workload:shop/cart TCP/6379: 5000000 bytes in 2 flows, 2025-11-30T10:53:25Z to 2025-12-01T10:46:00Z"
    flowlens.io/egress-0: "dns:kube-system/kube-dns UDP/53 TCP/53: assumed (the agent sees TCP only)"
spec:
  podSelector:
    matchLabels:
      app: redis
  policyTypes:
    - Ingress
    - Egress
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: shop
          podSelector:
            matchLabels:
              app: cart
      ports:
        - protocol: TCP
          port: 6379
  egress:
${DNS_YAML}`;

const DEFAULT_DENY_YAML = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: flowlens-default-deny
  namespace: shop
spec:
  podSelector: {}
  policyTypes:
    - Ingress
    - Egress
`;

/** GET /api/v1/policy-drafts?namespace=shop */
export const SHOP_DRAFTS: PolicyDraftsResponse = {
  from: FROM,
  to: TO,
  namespace: NS,
  policies: [CART_POLICY, FRONTEND_POLICY, REDIS_POLICY],
  yaml: CART_YAML + FRONTEND_YAML + REDIS_YAML,
};

/** GET /api/v1/policy-drafts?namespace=shop&defaultDeny=true */
export const SHOP_DRAFTS_DEFAULT_DENY: PolicyDraftsResponse = {
  ...SHOP_DRAFTS,
  policies: [DEFAULT_DENY_POLICY, ...SHOP_DRAFTS.policies],
  yaml: DEFAULT_DENY_YAML + SHOP_DRAFTS.yaml,
};

/** GET /api/v1/policy-drafts?namespace=shop&workload=redis */
export const SHOP_DRAFTS_REDIS: PolicyDraftsResponse = {
  ...SHOP_DRAFTS,
  policies: [REDIS_POLICY],
  yaml: REDIS_YAML,
};

const endpoint = (ip: string, workload: string | null, pod: string | null, namespace: string | null = null) => ({
  ip,
  pod,
  namespace: workload || pod ? (namespace ?? NS) : null,
  workload,
  kind: workload ? 'Deployment' : null,
});
const FRONTEND = endpoint('10.1.1.10', 'frontend', 'frontend-7d9f8-abcde');
const CART = endpoint('10.1.2.20', 'cart', 'cart-5c4b7-xk2p9');
const REDIS = endpoint('10.1.3.30', 'redis', 'redis-0');
const INTERNET_CLIENT = endpoint('203.0.113.7', null, null);
const S3 = endpoint('52.217.4.10', null, null);

/** GET /api/v1/policy-check?namespace=shop: the cluster's policies let frontend in only from an ingress gateway. */
export const SHOP_CHECK_CURRENT: PolicyCheckResponse = {
  from: FROM,
  to: TO,
  namespace: NS,
  policiesEvaluated: 2,
  flowsChecked: 4,
  denied: [
    {
      client: INTERNET_CLIENT,
      server: FRONTEND,
      serverPort: 8080,
      protocol: 'TCP',
      bytes: 91_234,
      firstSeenMs: 1764500100000,
      lastSeenMs: 1764585600000,
      deniedBy: 'ingress',
      policies: ['shop/frontend-from-gateway'],
    },
  ],
};

/** POST /api/v1/policy-check?namespace=shop with the draft's YAML: a draft denies none of its own traffic. */
export const SHOP_CHECK_DRAFT: PolicyCheckResponse = {
  from: FROM,
  to: TO,
  namespace: NS,
  policiesEvaluated: 3,
  flowsChecked: 4,
  denied: [],
};

/** POST /api/v1/policy-check?namespace=shop with only the default-deny policy: everything observed is denied. */
export const SHOP_CHECK_DEFAULT_DENY: PolicyCheckResponse = {
  from: FROM,
  to: TO,
  namespace: NS,
  policiesEvaluated: 1,
  flowsChecked: 4,
  denied: [
    {
      client: CART,
      server: REDIS,
      serverPort: 6379,
      protocol: 'TCP',
      bytes: 5_000_000,
      firstSeenMs: 1764500005000,
      lastSeenMs: 1764585960000,
      deniedBy: 'both',
      policies: ['shop/flowlens-default-deny'],
    },
    {
      client: FRONTEND,
      server: CART,
      serverPort: 8080,
      protocol: 'TCP',
      bytes: 2_000_000,
      firstSeenMs: 1764500001000,
      lastSeenMs: 1764586000000,
      deniedBy: 'both',
      policies: ['shop/flowlens-default-deny'],
    },
    {
      client: CART,
      server: S3,
      serverPort: 443,
      protocol: 'TCP',
      bytes: 734_003,
      firstSeenMs: 1764504000000,
      lastSeenMs: 1764504300000,
      deniedBy: 'egress',
      policies: ['shop/flowlens-default-deny'],
    },
    {
      client: INTERNET_CLIENT,
      server: FRONTEND,
      serverPort: 8080,
      protocol: 'TCP',
      bytes: 91_234,
      firstSeenMs: 1764500100000,
      lastSeenMs: 1764585600000,
      deniedBy: 'ingress',
      policies: ['shop/flowlens-default-deny'],
    },
  ],
};
