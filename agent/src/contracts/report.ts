/**
 * Report contract v1: what a node agent sends to the hub and prints with `--stdout`.
 * The schema is the single source of truth for both sides (see docs/design.md).
 *
 * Contract 1.1 (additive: a 1.0 report still validates, `version` stays 1):
 *   - `cluster` on the report: the cluster the node belongs to;
 *   - `via` per flow: the address the socket used when a node translated the connection (kube-proxy DNAT:
 *     a ClusterIP or a NodePort address). On a client end it is set when the client's node translated, and
 *     `remoteIp`/`remotePort` are then the real backend; on a server end when the server's node translated a
 *     connection that arrived from another node, and `remoteIp` is then the original client (SNAT undone);
 *   - `rttUs.max` is the largest per-tick srtt sample of the report window (`min`/`avg` likewise per tick).
 *
 * Contract 1.2 (additive: 1.0 and 1.1 reports still validate, `version` stays 1): per flow and in `other`,
 * why packets and connections failed (`failureCountersSchema`); every field is optional and absent means 0.
 * `MAX_FLOWS_PER_REPORT` bounds the flows of one report: the agent's `--top-n` cannot exceed it and the hub
 * refuses a report holding more.
 *
 * Contract 1.2, `forwards` (additive, optional): connections this node translated for a client elsewhere to a
 * backend elsewhere (a NodePort with externalTrafficPolicy Cluster forwarded to another node, SNATed or not), per
 * report window and (client, via, backend, SNAT address), with how many connections (`forwardSchema`). Neither
 * end's socket is on this node, so no flow record shows them; the hub uses them to join the backend's view (whose
 * client is `snatIp`) with the client's (which used `via`). At most `MAX_FORWARDS_PER_REPORT` entries.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();

export const flowCountersSchema = z.object({
  bytesSent: count,
  bytesReceived: count,
  segmentsSent: count,
  segmentsReceived: count,
  retransmits: count,
  rtos: count,
  connectionsOpened: count,
  connectionsClosed: count,
});
export type FlowCounters = z.infer<typeof flowCountersSchema>;

/**
 * Contract 1.2: failures of one flow over the report window, all optional (absent = 0).
 *   - `connectAttempts`: connections this end tried to open (a SYN sent by connect()); client ends only;
 *   - `connectFailures`: attempts that never reached ESTABLISHED (no answer, or refused);
 *   - `connectRefused`: the failures answered with a reset (a subset of `connectFailures`);
 *   - `synRetransmits`: SYNs sent again for attempts of this window;
 *   - `resetsSent` / `resetsReceived`: resets this end sent / received on a connection past the handshake;
 *   - `drops`: packets of this flow the local kernel dropped, by the kernel's drop-reason name (the
 *     `skb_drop_reason` enum without its `SKB_DROP_REASON_` prefix, e.g. `NETFILTER_DROP`, `NO_SOCKET`).
 */
export const dropReasonSchema = z.string().regex(/^[A-Z0-9_]{1,64}$/);
export const failureCountersSchema = z.object({
  connectAttempts: count.optional(),
  connectFailures: count.optional(),
  connectRefused: count.optional(),
  synRetransmits: count.optional(),
  resetsSent: count.optional(),
  resetsReceived: count.optional(),
  drops: z
    .record(dropReasonSchema, count)
    .refine((d) => Object.keys(d).length <= 256, 'drops: at most 256 reasons')
    .optional(),
});
export type FailureCounters = z.infer<typeof failureCountersSchema>;
export const FAILURE_COUNTER_NAMES = [
  'connectAttempts',
  'connectFailures',
  'connectRefused',
  'synRetransmits',
  'resetsSent',
  'resetsReceived',
] as const satisfies ReadonlyArray<keyof FailureCounters>;

export const rttSummarySchema = z
  .object({ min: z.number().nonnegative(), avg: z.number().nonnegative(), max: z.number().nonnegative() })
  .nullable();
export type RttSummary = z.infer<typeof rttSummarySchema>;

export const localWorkloadSchema = z
  .object({
    namespace: z.string().max(253),
    pod: z.string().max(253),
    workload: z.string().max(253),
    kind: z.string().max(63),
  })
  .nullable();
export type LocalWorkload = z.infer<typeof localWorkloadSchema>;

const ip = z.string().ip();
const port = z.number().int().min(0).max(65535);

export const directionSchema = z.enum(['client', 'server']);
export type Direction = z.infer<typeof directionSchema>;

/** The address a connection was sent to before a node translated it (report contract 1.1). */
export const viaSchema = z.object({ ip, port }).nullable();
export type Via = z.infer<typeof viaSchema>;

export const flowRecordSchema = flowCountersSchema.merge(failureCountersSchema).extend({
  localIp: ip,
  localPort: port,
  remoteIp: ip,
  remotePort: port,
  direction: directionSchema,
  local: localWorkloadSchema,
  rttUs: rttSummarySchema,
  via: viaSchema.optional(),
});
export type FlowRecord = z.infer<typeof flowRecordSchema>;

/** Sum of the counters of the flows that did not make the top N; `flows` says how many there were. */
export const otherCountersSchema = flowCountersSchema.merge(failureCountersSchema).extend({ flows: count.optional() });
export type OtherCounters = z.infer<typeof otherCountersSchema>;

/**
 * Contract 1.2: connections forwarded through this node over the report window. `snatIp` is the address the backend
 * saw as its client (null when the node kept the source); `connections` counts connections opened in the window.
 */
export const forwardSchema = z.object({
  clientIp: ip,
  via: z.object({ ip, port }),
  backendIp: ip,
  backendPort: port,
  snatIp: ip.nullable(),
  connections: z.number().int().positive(),
});
export type Forward = z.infer<typeof forwardSchema>;

/** Forward entries one report may hold (the agent keeps the ones with most connections). */
export const MAX_FORWARDS_PER_REPORT = 10_000;

/** Flows one report may hold: the upper bound of the agent's `--top-n` and the hub's per-report limit. */
export const MAX_FLOWS_PER_REPORT = 10_000;

/**
 * A cluster's name (report contract 1.1 `cluster`, the hub's `--cluster`, the API's `cluster` parameter): letters,
 * digits, `.`, `_` and `-`, starting with a letter or digit, at most 253 characters. One rule for every place
 * that takes a name, so the store's flow identities (`<cluster>~<address>`) stay unambiguous.
 */
export const CLUSTER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
export const clusterNameSchema = z
  .string()
  .regex(
    CLUSTER_NAME_PATTERN,
    'a cluster name is letters, digits, ".", "_" and "-" (at most 253, starting with a letter or digit)'
  );
/** The cluster of a report without one, and of flows stored before clusters were kept (docs/hub.md). */
export const DEFAULT_CLUSTER = 'default';

export const reportV1Schema = z.object({
  version: z.literal(1),
  reportId: z.string().uuid(),
  node: z.string().min(1).max(253),
  cluster: clusterNameSchema.optional(),
  zone: z.string().max(253).nullable(),
  start: z.string().datetime({ offset: true }),
  end: z.string().datetime({ offset: true }),
  flows: z.array(flowRecordSchema).max(MAX_FLOWS_PER_REPORT),
  other: otherCountersSchema,
  forwards: z.array(forwardSchema).max(MAX_FORWARDS_PER_REPORT).optional(),
});
export type ReportV1 = z.infer<typeof reportV1Schema>;

export function emptyCounters(): FlowCounters {
  return {
    bytesSent: 0,
    bytesReceived: 0,
    segmentsSent: 0,
    segmentsReceived: 0,
    retransmits: 0,
    rtos: 0,
    connectionsOpened: 0,
    connectionsClosed: 0,
  };
}

export const COUNTER_NAMES = Object.keys(flowCountersSchema.shape) as Array<keyof FlowCounters>;
