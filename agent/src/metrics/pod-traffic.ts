/**
 * Pure logic behind the per-pod counters: turns one collector tick into per-pod increments (the local IP of
 * each flow looked up in the MetadataView) and decides when a pod's series may go.
 */
import type { FlowDelta } from '../contracts/flow.js';
import type { MetadataView, PodInfo } from '../contracts/metadata.js';
import type { FailureCounters } from '../contracts/report.js';
import { addFailures } from '../report/failures.js';

export interface PodLabels {
  namespace: string;
  pod: string;
  workload: string;
  node: string;
}

export interface PodIncrements {
  ingressFlows: number;
  egressFlows: number;
  ingressPackets: number;
  egressPackets: number;
  ingressBytes: number;
  egressBytes: number;
  retransmits: number;
  rtos: number;
}

export const POD_INCREMENT_NAMES = [
  'ingressFlows',
  'egressFlows',
  'ingressPackets',
  'egressPackets',
  'ingressBytes',
  'egressBytes',
  'retransmits',
  'rtos',
] as const satisfies ReadonlyArray<keyof PodIncrements>;

export function zeroIncrements(): PodIncrements {
  return {
    ingressFlows: 0,
    egressFlows: 0,
    ingressPackets: 0,
    egressPackets: 0,
    ingressBytes: 0,
    egressBytes: 0,
    retransmits: 0,
    rtos: 0,
  };
}

/** What one flow adds to its local pod: ingress is what the pod received, egress what it sent. */
export function incrementsOf(flow: FlowDelta): PodIncrements {
  return {
    ingressFlows: flow.direction === 'server' ? flow.connectionsOpened : 0,
    egressFlows: flow.direction === 'client' ? flow.connectionsOpened : 0,
    ingressPackets: flow.segmentsReceived,
    egressPackets: flow.segmentsSent,
    ingressBytes: flow.bytesReceived,
    egressBytes: flow.bytesSent,
    retransmits: flow.retransmits,
    rtos: flow.rtos,
  };
}

export function addInto(into: PodIncrements, more: PodIncrements): void {
  for (const name of POD_INCREMENT_NAMES) {
    into[name] += more[name];
  }
}

export function podLabels(pod: PodInfo, node: string): PodLabels {
  return { namespace: pod.namespace, pod: pod.name, workload: pod.workload, node };
}

/** A stable key for a label set. */
export function seriesKey(labels: PodLabels): string {
  return JSON.stringify([labels.namespace, labels.pod, labels.workload, labels.node]);
}

export interface PodTickResult {
  /** `failures`: what failed on the pod's flows (drops by reason, connect failures, resets), absent means 0. */
  pods: Map<string, { labels: PodLabels; ips: Set<string>; increments: PodIncrements; failures: FailureCounters }>;
  /** Traffic whose local IP is no pod (host network, the node's own addresses, unknown IPs). */
  unattributed: PodIncrements;
}

export function aggregateTick(flows: readonly FlowDelta[], metadata: MetadataView, node: string): PodTickResult {
  const pods: PodTickResult['pods'] = new Map();
  const unattributed = zeroIncrements();
  for (const flow of flows) {
    const pod = metadata.podByIp(flow.localIp);
    if (!pod || pod.hostNetwork) {
      addInto(unattributed, incrementsOf(flow));
      continue;
    }
    const labels = podLabels(pod, node);
    const key = seriesKey(labels);
    let entry = pods.get(key);
    if (!entry) {
      entry = { labels, ips: new Set(), increments: zeroIncrements(), failures: {} };
      pods.set(key, entry);
    }
    entry.ips.add(flow.localIp);
    addInto(entry.increments, incrementsOf(flow));
    addFailures(entry.failures, flow);
  }
  return { pods, unattributed };
}

interface TrackedSeries {
  labels: PodLabels;
  ips: Set<string>;
  /** When the series stopped matching any current pod (ms), or null while it does. */
  staleSince: number | null;
}

/**
 * Keeps cardinality bounded: a series lives while one of its IPs still belongs to a pod with exactly its labels;
 * once none does (pod deleted, relabelled, IP re-used), it is dropped after `graceMs`, so the last increments
 * are still scraped.
 */
export class SeriesLifecycle {
  private readonly series = new Map<string, TrackedSeries>();

  constructor(private readonly graceMs: number) {
    if (!Number.isFinite(graceMs) || graceMs < 0) {
      throw new Error(`grace period must be ≥ 0 ms, got ${graceMs}`);
    }
  }

  touch(key: string, labels: PodLabels, ips: Iterable<string>): void {
    let s = this.series.get(key);
    if (!s) {
      s = { labels, ips: new Set(), staleSince: null };
      this.series.set(key, s);
    }
    for (const ip of ips) {
      s.ips.add(ip);
    }
    s.staleSince = null;
  }

  /** Returns the label sets to remove now. */
  sweep(now: number, metadata: MetadataView): PodLabels[] {
    const removed: PodLabels[] = [];
    for (const [key, s] of this.series) {
      const current = [...s.ips].some((ip) => {
        const pod = metadata.podByIp(ip);
        return pod !== undefined && !pod.hostNetwork && seriesKey(podLabels(pod, s.labels.node)) === key;
      });
      if (current) {
        s.staleSince = null;
        continue;
      }
      s.staleSince ??= now;
      if (now - s.staleSince >= this.graceMs) {
        this.series.delete(key);
        removed.push(s.labels);
      }
    }
    return removed;
  }

  get size(): number {
    return this.series.size;
  }
}
