/**
 * The networking.k8s.io/v1 NetworkPolicy shape Flowlens reads (metadata files, `POST /api/v1/policy-check`
 * bodies), validated with zod: fields the evaluator does not use (status, managedFields, …) pass through
 * unread; a wrong type in a field it does use is an error naming the field.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import type { NetworkPolicy } from '../contracts/metadata.js';

const labelSelector = z
  .object({
    matchLabels: z.record(z.string()).optional(),
    matchExpressions: z
      .array(
        z.object({
          key: z.string().min(1),
          operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
          values: z.array(z.string()).optional(),
        })
      )
      .optional(),
  })
  .passthrough();

const cidr = z.string().refine((c) => {
  const [addr, len, extra] = c.split('/');
  const bits = isIP(addr ?? '') === 4 ? 32 : isIP(addr ?? '') === 6 ? 128 : 0;
  return bits > 0 && extra === undefined && /^\d+$/.test(len ?? '') && Number(len) <= bits;
}, 'expected a CIDR such as 10.0.0.0/8');

const port = z
  .object({
    protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
    port: z.union([z.number().int().min(1).max(65535), z.string().min(1)]).optional(),
    endPort: z.number().int().min(1).max(65535).optional(),
  })
  .passthrough();

const peer = z
  .object({
    podSelector: labelSelector.optional(),
    namespaceSelector: labelSelector.optional(),
    ipBlock: z.object({ cidr, except: z.array(cidr).optional() }).optional(),
  })
  .passthrough();

export const networkPolicySchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.literal('NetworkPolicy').optional(),
    metadata: z
      .object({
        name: z.string().min(1),
        namespace: z.string().min(1).optional(),
        labels: z.record(z.string()).optional(),
        annotations: z.record(z.string()).optional(),
      })
      .passthrough(),
    spec: z
      .object({
        podSelector: labelSelector,
        policyTypes: z.array(z.enum(['Ingress', 'Egress'])).optional(),
        ingress: z
          .array(z.object({ from: z.array(peer).optional(), ports: z.array(port).optional() }).passthrough())
          .optional()
          .nullable(),
        egress: z
          .array(z.object({ to: z.array(peer).optional(), ports: z.array(port).optional() }).passthrough())
          .optional()
          .nullable(),
      })
      .passthrough(),
  })
  .passthrough();

/** Validates one NetworkPolicy; `where` prefixes the error (e.g. "networkPolicies.2"). */
export function parseNetworkPolicy(doc: unknown, where: string): NetworkPolicy {
  const parsed = networkPolicySchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${[where, ...issue.path].join('.')}: ${issue.message}`);
  }
  const p = parsed.data;
  return {
    ...p,
    spec: { ...p.spec, ingress: p.spec.ingress ?? undefined, egress: p.spec.egress ?? undefined },
  } as NetworkPolicy;
}
