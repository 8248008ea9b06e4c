import { FieldType } from '@grafana/data';
import { SHOP_DRAFTS, SHOP_DRAFTS_DEFAULT_DENY } from '../testing/policyFixtures';
import { ASSUMED, OBSERVED, buildPolicyDraftsFrame } from './policyDraftsFrame';
import { policyDraftsMeta, policyYamlFileName } from './policyFrames';

const column = (frame: ReturnType<typeof buildPolicyDraftsFrame>, name: string) =>
  frame.fields.find((f) => f.name === name)!.values;

describe('policy drafts frame', () => {
  const frame = buildPolicyDraftsFrame(SHOP_DRAFTS, { refId: 'drafts' });

  it('has one row per rule, grouped by policy in the hub’s order', () => {
    const rules = SHOP_DRAFTS.policies.flatMap((p) => p.rules);
    expect(frame.length).toBe(rules.length);
    expect(frame.length).toBe(9);
    expect(column(frame, 'policy')).toEqual([
      ...Array(4).fill('flowlens-cart'),
      ...Array(3).fill('flowlens-frontend'),
      ...Array(2).fill('flowlens-redis'),
    ]);
    expect(column(frame, 'peer').slice(0, 4)).toEqual([
      'workload:shop/frontend',
      'workload:shop/redis',
      'ipBlock:52.216.0.0/15',
      'dns:kube-system/kube-dns',
    ]);
    expect(column(frame, 'direction').slice(0, 4)).toEqual(['ingress', 'egress', 'egress', 'egress']);
  });

  it('carries each rule’s evidence: bytes, flows, first and last seen, and marks DNS as assumed', () => {
    expect(column(frame, 'bytes')).toEqual(rulesOf('bytes'));
    expect(column(frame, 'flows')).toEqual(rulesOf('flows'));
    expect(column(frame, 'first_seen')).toEqual(rulesOf('firstSeenMs'));
    expect(column(frame, 'last_seen')).toEqual(rulesOf('lastSeenMs'));
    expect(column(frame, 'ports')[3]).toBe('UDP/53, TCP/53');
    const evidence = column(frame, 'evidence');
    const peers = column(frame, 'peer');
    peers.forEach((p: string, i: number) => expect(evidence[i]).toBe(p.startsWith('dns:') ? ASSUMED : OBSERVED));
    expect(frame.fields.find((f) => f.name === 'first_seen')!.type).toBe(FieldType.time);
    expect(frame.fields.find((f) => f.name === 'bytes')!.config.unit).toBe('decbytes');
  });

  it('keeps the hub’s YAML untouched for the code view and the download, named after the namespace', () => {
    const meta = policyDraftsMeta([frame]);
    expect(meta).toEqual({ kind: 'policyDrafts', namespace: 'shop', yaml: SHOP_DRAFTS.yaml, policies: 3 });
    expect(policyYamlFileName(meta!.namespace)).toBe('flowlens-policies-shop.yaml');
    expect(policyDraftsMeta([])).toBeUndefined();
  });

  it('names the default-deny policy’s workload as all pods, and it adds no rule rows', () => {
    const dd = buildPolicyDraftsFrame(SHOP_DRAFTS_DEFAULT_DENY);
    expect(dd.length).toBe(frame.length);
    expect(policyDraftsMeta([dd])!.policies).toBe(4);
    expect(column(dd, 'workload')).not.toContain(null);
  });

  it('an answer without policies is an empty table that still carries the (empty) YAML', () => {
    const empty = buildPolicyDraftsFrame({ ...SHOP_DRAFTS, policies: [], yaml: '' });
    expect(empty.length).toBe(0);
    expect(empty.fields).toHaveLength(frame.fields.length);
    expect(policyDraftsMeta([empty])!.yaml).toBe('');
  });
});

function rulesOf(key: 'bytes' | 'flows' | 'firstSeenMs' | 'lastSeenMs') {
  return SHOP_DRAFTS.policies.flatMap((p) => p.rules.map((r) => r[key]));
}
