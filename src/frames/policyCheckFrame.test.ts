import { SHOP_CHECK_CURRENT, SHOP_CHECK_DEFAULT_DENY, SHOP_CHECK_DRAFT } from '../testing/policyFixtures';
import { buildPolicyCheckFrame } from './policyCheckFrame';
import { describePolicyEndpoint, policyCheckMeta } from './policyFrames';

const column = (frame: ReturnType<typeof buildPolicyCheckFrame>, name: string) =>
  frame.fields.find((f) => f.name === name)!.values;

describe('policy check frame', () => {
  it('lists the denied flows client → server in the hub’s order, with port, bytes, side and policies', () => {
    const frame = buildPolicyCheckFrame(SHOP_CHECK_DEFAULT_DENY, { refId: 'check', against: 'defaultDeny' });
    expect(frame.length).toBe(4);
    expect(column(frame, 'client')).toEqual(['shop/cart', 'shop/frontend', 'shop/cart', '203.0.113.7']);
    expect(column(frame, 'server')).toEqual(['shop/redis', 'shop/cart', '52.217.4.10', 'shop/frontend']);
    expect(column(frame, 'client_ip')).toEqual(['10.1.2.20', '10.1.1.10', '10.1.2.20', '203.0.113.7']);
    expect(column(frame, 'server_port')).toEqual([6379, 8080, 443, 8080]);
    expect(column(frame, 'protocol')).toEqual(['TCP', 'TCP', 'TCP', 'TCP']);
    expect(column(frame, 'bytes')).toEqual([5_000_000, 2_000_000, 734_003, 91_234]);
    expect(column(frame, 'denied_by')).toEqual(['both', 'both', 'egress', 'ingress']);
    expect(column(frame, 'policies')).toEqual(Array(4).fill('shop/flowlens-default-deny'));
    expect(column(frame, 'first_seen')[0]).toBe(1764500005000);
    expect(policyCheckMeta([frame])).toEqual({
      kind: 'policyCheck',
      namespace: 'shop',
      against: 'defaultDeny',
      policiesEvaluated: 1,
      flowsChecked: 4,
      denied: 4,
    });
  });

  it('joins several policies of a denying side', () => {
    const twice = {
      ...SHOP_CHECK_CURRENT,
      denied: [{ ...SHOP_CHECK_CURRENT.denied[0]!, policies: ['shop/a', 'shop/b'] }],
    };
    expect(column(buildPolicyCheckFrame(twice, { against: 'current' }), 'policies')).toEqual(['shop/a, shop/b']);
  });

  it('nothing denied: an empty table whose meta still says what was checked', () => {
    const frame = buildPolicyCheckFrame(SHOP_CHECK_DRAFT, { against: 'draft' });
    expect(frame.length).toBe(0);
    expect(policyCheckMeta([frame])).toMatchObject({ against: 'draft', flowsChecked: 4, denied: 0 });
  });

  it('names an end by workload, else pod, else IP', () => {
    const e = { ip: '10.0.0.1', pod: 'p-1', namespace: 'ns', workload: null, kind: null };
    expect(describePolicyEndpoint(e)).toBe('ns/p-1');
    expect(describePolicyEndpoint({ ...e, workload: 'w' })).toBe('ns/w');
    expect(describePolicyEndpoint({ ...e, pod: null, namespace: null })).toBe('10.0.0.1');
    expect(describePolicyEndpoint({ ...e, ip: null, pod: null })).toBe('unknown');
  });
});
