/**
 * Report contract v1: what a node agent sends to the hub and prints with `--stdout`.
 * The schema is the single source of truth for both sides (see docs/contracts.md).
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

export const flowRecordSchema = flowCountersSchema.extend({
  localIp: ip,
  localPort: port,
  remoteIp: ip,
  remotePort: port,
  direction: directionSchema,
  local: localWorkloadSchema,
  rttUs: rttSummarySchema,
  /** Contract 1.1 (additive): the address the client socket used when the node translated the connection
   * (kube-proxy ClusterIP / NodePort); remoteIp/remotePort are then the real peer. Absent or null: untranslated. */
  via: z.object({ ip, port }).nullable().optional(),
});
export type FlowRecord = z.infer<typeof flowRecordSchema>;

/** Sum of the counters of the flows that did not make the top N; `flows` says how many there were. */
export const otherCountersSchema = flowCountersSchema.extend({ flows: count.optional() });
export type OtherCounters = z.infer<typeof otherCountersSchema>;

export const MAX_FLOWS_PER_REPORT = 10_000;

export const reportV1Schema = z.object({
  version: z.literal(1),
  reportId: z.string().uuid(),
  node: z.string().min(1).max(253),
  zone: z.string().max(253).nullable(),
  start: z.string().datetime({ offset: true }),
  end: z.string().datetime({ offset: true }),
  flows: z.array(flowRecordSchema).max(MAX_FLOWS_PER_REPORT),
  other: otherCountersSchema,
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
