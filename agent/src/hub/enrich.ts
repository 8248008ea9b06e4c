/**
 * Turns a validated report into stored rows: each flow oriented client → server, both ends named from the
 * hub's cluster-wide metadata (falling back to what agents said about their own pods), and classified.
 *
 * Clusters: the hub's metadata describes its own cluster only (`--cluster`, the name of reports without one). A
 * report of another cluster is named by an Enricher of that cluster with no metadata: only what that cluster's
 * agents said about their own pods, so an address two clusters share never borrows a name across them. Every
 * end carries its cluster (part of its flow identity: merge.ts `flowIdentity`).
 */
import { categorize } from '../classify/category.js';
import type { IpRanges } from '../classify/ip-ranges.js';
import type { MetadataView } from '../contracts/metadata.js';
import { noMetadata } from '../metadata/none.js';
import {
  DEFAULT_CLUSTER,
  FAILURE_COUNTER_NAMES,
  type FlowRecord,
  type Forward,
  type LocalWorkload,
  type ReportV1,
  type Via,
} from '../contracts/report.js';
import type { Endpoint, FlowRow, ForwardRow, StoredReport, ViaEnd } from '../store/flow-store.js';
import { isLoopback } from '../store/merge.js';

interface Learned {
  local: NonNullable<LocalWorkload>;
  node: string;
  /** The reporting node's zone (the report's `zone`). */
  zone: string | null;
}

const LEARNED_MAX = 500_000;
/** Other clusters with an Enricher of their own at once (the least recently used one goes beyond this). */
const CLUSTERS_MAX = 1024;
/** Endpoint names are cached this long, so metadata changes (a re-used pod IP) show up soon. */
const ENDPOINT_CACHE_MS = 30_000;

export class Enricher {
  /** What agents told us about their own pods, for IPs the hub's metadata does not know. */
  private readonly learned = new Map<string, Learned>();
  /** Named ends by IP: remote ends, and each reporting node's own (local) ends. */
  private readonly remoteEnds = new Map<string, Endpoint>();
  private readonly localEnds = new Map<string, Map<string, Endpoint>>();
  /** Named Service addresses (`via`) by ip:port. */
  private readonly viaEnds = new Map<string, ViaEnd>();
  private endpointsSince = 0;
  /** Enrichers of other clusters' reports (no metadata: their agents' own words only), by cluster. */
  private readonly others = new Map<string, Enricher>();

  constructor(
    private readonly metadata: MetadataView,
    private readonly ranges: IpRanges,
    private readonly now: () => number = Date.now,
    /** The cluster this metadata describes: the hub's own, and the cluster of reports without one. */
    readonly cluster: string = DEFAULT_CLUSTER,
    /** Another cluster's enricher (no metadata): a pod's zone is the one its node's agent reported. */
    private readonly zonesFromAgents = false
  ) {}

  enrich(report: ReportV1): StoredReport {
    const cluster = report.cluster ?? this.cluster;
    if (cluster !== this.cluster) {
      return this.other(cluster).enrich(report);
    }
    const t = this.now();
    if (t - this.endpointsSince > ENDPOINT_CACHE_MS) {
      this.remoteEnds.clear();
      this.localEnds.clear();
      this.viaEnds.clear();
      this.endpointsSince = t;
    }
    for (const f of report.flows) {
      if (f.local) {
        this.learn(f.localIp, f.local, report.node, report.zone);
      }
    }
    const mine = this.localEnds.get(report.node) ?? new Map<string, Endpoint>();
    this.localEnds.set(report.node, mine);
    const rows = report.flows.map((f) => this.row(report, mine, f));
    const o = report.other;
    const forwards = (report.forwards ?? []).map((f) => this.forward(f));
    return {
      reportId: report.reportId,
      node: report.node,
      startMs: Date.parse(report.start),
      endMs: Date.parse(report.end),
      rows,
      other: {
        flows: o.flows ?? 0,
        bytesSent: o.bytesSent,
        bytesReceived: o.bytesReceived,
        retransmits: o.retransmits,
        rtos: o.rtos,
      },
      ...(forwards.length > 0 ? { forwards } : {}),
    };
  }

  private other(cluster: string): Enricher {
    let e = this.others.get(cluster);
    if (e) {
      this.others.delete(cluster);
    } else {
      if (this.others.size >= CLUSTERS_MAX) {
        this.others.delete(this.others.keys().next().value!);
      }
      e = new Enricher(noMetadata(), this.ranges, this.now, cluster, true);
    }
    this.others.set(cluster, e);
    return e;
  }

  /** A forwarded connection (contract 1.2 `forwards`): its three addresses named as remote ends, classified. */
  private forward(f: Forward): ForwardRow {
    const end = (ip: string): Endpoint => this.remoteEnds.get(ip) ?? this.named(this.remoteEnds, ip, null, null);
    const client = end(f.clientIp);
    const server = end(f.backendIp);
    return {
      client,
      server,
      serverPort: f.backendPort,
      snat: f.snatIp === null ? client : end(f.snatIp),
      via: this.via(f.via),
      category: categorize(client, server, this.ranges),
      connections: f.connections,
    };
  }

  private learn(ip: string, local: NonNullable<LocalWorkload>, node: string, zone: string | null): void {
    const had = this.learned.get(ip);
    if (
      had &&
      had.node === node &&
      had.zone === zone &&
      had.local.pod === local.pod &&
      had.local.namespace === local.namespace
    ) {
      return;
    }
    if (!had && this.learned.size >= LEARNED_MAX) {
      const oldest = this.learned.keys().next();
      if (!oldest.done) {
        this.learned.delete(oldest.value);
      }
    }
    // A copy of the contract's four fields: the report is the parsed document, which may carry fields it does not
    // know (ignored), and this map outlives it.
    const { namespace, pod, workload, kind } = local;
    this.learned.set(ip, { local: { namespace, pod, workload, kind }, node, zone });
    this.remoteEnds.delete(ip);
    this.localEnds.get(node)?.delete(ip);
  }

  /** One flow's row; `mine` caches the reporting node's own ends. */
  private row(report: ReportV1, mine: Map<string, Endpoint>, f: FlowRecord): FlowRow {
    const local = mine.get(f.localIp) ?? this.named(mine, f.localIp, report.node, report.zone);
    // A loopback peer is the reporting node's own address, never another node's (docs/hub.md).
    const remote = isLoopback(f.remoteIp)
      ? (mine.get(f.remoteIp) ?? this.named(mine, f.remoteIp, report.node, report.zone))
      : (this.remoteEnds.get(f.remoteIp) ?? this.named(this.remoteEnds, f.remoteIp, null, null));
    const isClient = f.direction === 'client';
    const client = isClient ? local : remote;
    const server = isClient ? remote : local;
    const row: FlowRow = {
      clientIp: client.ip,
      serverIp: server.ip,
      serverPort: isClient ? f.remotePort : f.localPort,
      side: f.direction,
      category: categorize(client, server, this.ranges),
      client,
      server,
      bytesSent: f.bytesSent,
      bytesReceived: f.bytesReceived,
      segmentsSent: f.segmentsSent,
      segmentsReceived: f.segmentsReceived,
      retransmits: f.retransmits,
      rtos: f.rtos,
      connectionsOpened: f.connectionsOpened,
      connectionsClosed: f.connectionsClosed,
      rttAvgUs: f.rttUs ? f.rttUs.avg : null,
      rttMaxUs: f.rttUs ? f.rttUs.max : null,
      via: f.via ? this.via(f.via) : null,
      drops: f.drops,
      // Report contract 1.2: why connections and packets failed (absent = 0), stored and merged by the store.
      // Written in the literal (not added by name afterwards) so every row has one shape from the start.
      connectAttempts: f.connectAttempts,
      connectFailures: f.connectFailures,
      connectRefused: f.connectRefused,
      synRetransmits: f.synRetransmits,
      resetsSent: f.resetsSent,
      resetsReceived: f.resetsReceived,
    } satisfies Required<Record<(typeof FAILURE_COUNTER_NAMES)[number], unknown>> & FlowRow;
    return row;
  }

  /** Names a Service address: a ClusterIP, or a node address with a NodePort (when the metadata knows it). */
  private via(v: NonNullable<Via>): ViaEnd {
    const key = `${v.ip}|${v.port}`;
    const had = this.viaEnds.get(key);
    if (had) {
      return had;
    }
    const m = this.metadata;
    const svc = m.serviceByIp(v.ip) ?? m.serviceByNodePort?.(v.port);
    const node = m.nodeByIp(v.ip);
    const e: ViaEnd = {
      ip: v.ip,
      port: v.port,
      endpoint: {
        ip: v.ip,
        pod: null,
        namespace: svc?.namespace ?? null,
        workload: null,
        kind: 'Service',
        node: node?.name ?? null,
        zone: node?.zone ?? null,
        service: svc?.name ?? null,
        cluster: this.cluster,
      },
    };
    this.viaEnds.set(key, e);
    return e;
  }

  /**
   * Names an address. `reporter` is the node that reported the flow when the address is that node's own
   * (the local end): it lives there even when no metadata knows it.
   */
  endpoint(ip: string, reporter: string | null, reporterZone: string | null): Endpoint {
    return this.named(new Map(), ip, reporter, reporterZone);
  }

  private named(cache: Map<string, Endpoint>, ip: string, reporter: string | null, zoneHint: string | null): Endpoint {
    const m = this.metadata;
    const pod = m.podByIp(ip);
    const learned = pod ? undefined : this.learned.get(ip);
    const hostNode = pod ? undefined : m.nodeByIp(ip);
    const nodeName = pod?.node ?? hostNode?.name ?? learned?.node ?? reporter;
    const node = nodeName ? m.nodeByName(nodeName) : undefined;
    // Another cluster's enricher has no node metadata: a pod's zone is what its own node's agent reported.
    const agentZone = this.zonesFromAgents && learned !== undefined && learned.node === nodeName ? learned.zone : null;
    const zone = node?.zone ?? (nodeName !== null && nodeName === reporter ? zoneHint : null) ?? agentZone;
    const svc = m.serviceByIp(ip);
    const e: Endpoint = {
      ip,
      pod: pod?.name ?? learned?.local.pod ?? null,
      namespace: pod?.namespace ?? learned?.local.namespace ?? svc?.namespace ?? null,
      workload: pod?.workload ?? learned?.local.workload ?? null,
      kind: pod?.kind ?? learned?.local.kind ?? (hostNode ? 'Node' : null),
      node: nodeName ?? null,
      zone,
      service: svc?.name ?? null,
      cluster: this.cluster,
    };
    cache.set(ip, e);
    return e;
  }
}
