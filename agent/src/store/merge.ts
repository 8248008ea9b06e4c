/**
 * The merge rule, written once: which rows are one flow, and how a flow's counters, category and Service come
 * from them. `mergeFlows` states it in plain code; `mergedFlowsSql` generates the SQL a store runs (DuckDB and
 * ClickHouse; what differs between the engines is a `MergeDialect`). The store's tests check one against the
 * other on random data. docs/hub.md "The merge rule" says the same in prose.
 *
 * 1. A flow is (client identity, server identity, server port). An identity is the address with the name it
 *    had when the row arrived (`flowIdentity`): a pod IP re-used by another pod is another flow, so history is
 *    never renamed; a loopback address is the node's own (127.0.0.1 on two nodes is two flows).
 * 2. Per flow, over the queried range (each end's rows summed first):
 *      client→server bytes = max(Σ client.bytesSent,  Σ server.bytesReceived)
 *      server→client bytes = max(Σ server.bytesSent,  Σ client.bytesReceived)
 *      bytes               = client→server + server→client
 *      segments            = the same rule over segmentsSent / segmentsReceived
 *      retransmits, rtos   = Σ client's + Σ server's (each end counts the segments it sent)
 *      rttUs               = mean of the per-window average RTTs of the rows that had a sample; rttMaxUs = max
 *      category            = mergeCategories over its rows (decided once, after the merge)
 *      service             = the Service of any row's `via` (a client end translated by its node, or a server
 *                            end whose node translated a NodePort), else the server address's own Service
 *      failures            = FAILURE_MERGE: the connect counters (attempts, failures, refused, SYN retransmits)
 *                            are the client end's; resets client→server = max(Σ client.resetsSent,
 *                            Σ server.resetsReceived), server→client = max(Σ server.resetsSent, Σ client.resetsReceived)
 *                            (both ends see one reset: never counted twice)
 *      drops               = Σ both ends' drops, per kernel reason (a drop counts where it happened)
 * 3. Service address views. A flow whose rows carry `via` (ip, port) belongs to the group (client, via ip, via
 *    port): the backends that client reached through that address. A flow from the same client *to* that
 *    address (a client end whose node did not translate, e.g. a NodePort reached via another node, or a
 *    connection the agent could not resolve) is the same traffic seen before translation. It is not a flow of
 *    its own: what it adds beyond the group's backends (per direction, max(0, its view − Σ the group's)) and
 *    its own retransmits, RTOs, RTT samples and drops go to the group's largest backend flow (most bytes; on a
 *    tie the store picks one); its failure counters likewise, each as max(0, its view − Σ the group's), since
 *    the backends' ends may have seen the same connects and resets. Totals stay exact and nothing points at the
 *    Service address.
 * 4. Forwarded connections (report `forwards`, applied before rule 3). A node that forwarded a client's connection
 *    to a backend on another node, SNATed, reports (client, via, backend, SNAT address, connections); the backend's
 *    node sees the SNAT address as the client. For a flow without via from S to backend B:port that forwards name
 *    with SNAT address S: what its server end saw beyond its client end (per direction, max(0, server view −
 *    client view); S's own connections to B, if any, are the client view) is split over the forwards' clients,
 *    and each share becomes server-end counters of the flow (client, B, port) with the forward's via and
 *    category. Per direction, a monitored client (one whose own end reported its flow to via ip:port, without
 *    via) weighs what that end counted beyond the backends it reached through the via that carry it (rule 3's
 *    group: backends whose own node translated), times the share of its connections through that via and S that
 *    went to B (floored). With every client monitored the total is split in proportion to those weights; otherwise the
 *    monitored clients get at most their weights (in proportion, if the total is smaller) and the others the
 *    rest, by connections. Shares are floors, the remainder of each group to its first client in rule order
 *    (monitored first, then most connections, client identity, via). Exact for one client per (S, B, port)
 *    over the range, and when every client but at most one is monitored and reached one backend through the
 *    via; otherwise an estimate, never a backend the client did not reach. A flow left without a client
 *    view (S itself sent nothing) goes, its retransmits, RTOs and RTT samples moved to the first share. Without
 *    SNAT, S is the client itself: its flow to B gains the via. Forwards of the queried range are summed.
 */
import { mergeCategories, mergedCategorySql, type Category } from '../classify/category.js';
import { DEFAULT_CLUSTER, FAILURE_COUNTER_NAMES } from '../contracts/report.js';
import type { Endpoint, FlowRow, ForwardRow } from './flow-store.js';

export type FailureCounterName = (typeof FAILURE_COUNTER_NAMES)[number];
type End = 'c' | 's';

/** snake_case of a counter name: the column it is stored in (`connectAttempts` → `connect_attempts`). */
export const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * How each failure field of a merged flow comes from its ends: the largest of the listed views, a view being
 * one end's counter summed over its rows (`c` the client end, `s` the server end). A counter one end alone
 * sees has one view; an event both ends see (a reset) has two and is counted once. Adding a failure counter:
 * one name in FAILURE_COUNTER_NAMES (stored per end by every store) and one line here.
 */
export const FAILURE_MERGE = {
  connectAttempts: [['c', 'connectAttempts']],
  connectFailures: [['c', 'connectFailures']],
  connectRefused: [['c', 'connectRefused']],
  synRetransmits: [['c', 'synRetransmits']],
  resetsFromClient: [
    ['c', 'resetsSent'],
    ['s', 'resetsReceived'],
  ],
  resetsFromServer: [
    ['s', 'resetsSent'],
    ['c', 'resetsReceived'],
  ],
} as const satisfies Record<string, ReadonlyArray<readonly [End, FailureCounterName]>>;
export type MergedFailureName = keyof typeof FAILURE_MERGE;
export const MERGED_FAILURE_NAMES = Object.keys(FAILURE_MERGE) as MergedFailureName[];

/** A merged flow's failures: FAILURE_MERGE's fields, and the packets dropped (total and by kernel reason). */
export type MergedFailures = Record<MergedFailureName, number> & {
  drops: number;
  dropsByReason: Record<string, number>;
};

/** What `metric=failures` ranks by: failed connects, resets both ways, and dropped packets, added up. */
export const FAILURE_SCORE_FIELDS = ['connectFailures', 'resetsFromClient', 'resetsFromServer', 'drops'] as const;
export const failureScore = (f: MergedFailures): number => FAILURE_SCORE_FIELDS.reduce((s, k) => s + f[k], 0);

/** An end's counter as a roll-up column: `c_connect_attempts`, `s_resets_received`, … */
const endColumn = ([e, c]: readonly [End, FailureCounterName]): string => `${e}_${snake(c)}`;
/**
 * The end views FAILURE_MERGE reads, as roll-up columns (`c_connect_attempts`, …, `s_resets_received`): stores
 * keep these, one per end and counter that some merged field reads, [end, raw column] each.
 */
export const FAILURE_END_VIEWS: Array<{ column: string; end: End; raw: string }> = [
  ...new Map(
    MERGED_FAILURE_NAMES.flatMap((n): ReadonlyArray<readonly [End, FailureCounterName]> => FAILURE_MERGE[n]).map(
      (v) => [endColumn(v), { column: endColumn(v), end: v[0], raw: snake(v[1]) }]
    )
  ).values(),
];
export const FAILURE_END_COLUMNS: string[] = FAILURE_END_VIEWS.map((v) => v.column);
/** The merged failure fields as SQL result columns (`f_connect_attempts`, …). */
export const failureResultColumn = (n: MergedFailureName): string => `f_${snake(n)}`;

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped form: the node's own addresses, never shared across nodes. */
export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.toLowerCase().startsWith('::ffff:127.');
}

/**
 * A flow end's identity: the address, with the pod it belonged to at the time (or the node, for loopback), in
 * its cluster. The cluster `default` (and an end without one) adds nothing, so identities stored before clusters
 * were kept stay what they were; any other cluster prefixes `<cluster>~` (a cluster name has no `~`). Two
 * clusters' ends never share an identity, so the merge never joins them, whatever their addresses and names.
 */
export function flowIdentity(e: Pick<Endpoint, 'ip' | 'pod' | 'namespace' | 'node' | 'cluster'>): string {
  const base = isLoopback(e.ip)
    ? `${e.ip}@${e.node ?? ''}`
    : e.pod === null
      ? e.ip
      : `${e.ip}|${e.namespace ?? ''}/${e.pod}`;
  return clusterQualified(e.cluster, base);
}

/** An identity or address key in its cluster (see `flowIdentity`); the Service address of a `via` likewise. */
export function clusterQualified(cluster: string | undefined, key: string): string {
  return cluster === undefined || cluster === DEFAULT_CLUSTER ? key : `${cluster}~${key}`;
}

/** `flowIdentity` in SQL over a table with ip, pod, namespace and node columns (used to migrate old stores). */
export function flowIdentitySql(alias: string): string {
  const a = alias;
  return `CASE WHEN ${a}.ip LIKE '127.%' OR ${a}.ip = '::1' OR lower(${a}.ip) LIKE '::ffff:127.%'
      THEN ${a}.ip || '@' || coalesce(${a}.node, '')
    WHEN ${a}.pod IS NULL THEN ${a}.ip
    ELSE ${a}.ip || '|' || coalesce(${a}.namespace, '') || '/' || ${a}.pod END`;
}

export const flowKey = (r: Pick<FlowRow, 'client' | 'server' | 'serverPort'>): string =>
  `${flowIdentity(r.client)}\u0000${flowIdentity(r.server)}\u0000${r.serverPort}`;

export interface MergedFlow extends MergedFailures {
  key: string;
  client: Endpoint;
  server: Endpoint;
  serverPort: number;
  category: Category;
  /** The Service the flow went through (via), or the server address's own Service; null if none. */
  service: string | null;
  bytes: number;
  retransmits: number;
  rtos: number;
  rttUs: number | null;
  rttMaxUs: number | null;
  segments: number;
}

interface Acc {
  client: Endpoint;
  server: Endpoint;
  serverPort: number;
  categories: Category[];
  via: { ip: string; port: number; service: string | null } | null;
  cs: number;
  cr: number;
  ss: number;
  sr: number;
  gcs: number;
  gcr: number;
  gss: number;
  gsr: number;
  rt: number;
  rto: number;
  rttSum: number;
  rttN: number;
  rttMax: number | null;
  /** Σ of each end's failure counters (client, server). */
  fc: Record<FailureCounterName, number>;
  fs: Record<FailureCounterName, number>;
  drops: Map<string, number>;
}

const zeroCounters = (): Record<FailureCounterName, number> =>
  Object.fromEntries(FAILURE_COUNTER_NAMES.map((n) => [n, 0])) as Record<FailureCounterName, number>;
const failuresOf = (a: Acc): Record<MergedFailureName, number> =>
  Object.fromEntries(
    MERGED_FAILURE_NAMES.map((n) => [n, Math.max(...FAILURE_MERGE[n].map(([e, c]) => (e === 'c' ? a.fc : a.fs)[c]))])
  ) as Record<MergedFailureName, number>;
const addDrops = (into: Map<string, number>, from: Iterable<[string, number]>): void => {
  for (const [reason, n] of from) {
    into.set(reason, (into.get(reason) ?? 0) + n);
  }
};

const up = (a: Acc): number => Math.max(a.cs, a.sr);
const down = (a: Acc): number => Math.max(a.ss, a.cr);
const segUp = (a: Acc): number => Math.max(a.gcs, a.gsr);
const segDown = (a: Acc): number => Math.max(a.gss, a.gcr);
const maxOrNull = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.max(a, b);

const emptyAcc = (client: Endpoint, server: Endpoint, serverPort: number): Acc => ({
  client,
  server,
  serverPort,
  categories: [],
  via: null,
  cs: 0,
  cr: 0,
  ss: 0,
  sr: 0,
  gcs: 0,
  gcr: 0,
  gss: 0,
  gsr: 0,
  rt: 0,
  rto: 0,
  rttSum: 0,
  rttN: 0,
  rttMax: null,
  fc: zeroCounters(),
  fs: zeroCounters(),
  drops: new Map(),
});

/** Byte-wise string order (what SQL engines use by default), for the tie-breaks both forms share. */
const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Rule 4's split of one direction's forwarded total over the clients, in rule order (monitored first, then by
 * connections): monitored clients get their own view's part (w) — all of the total in proportion to it when every
 * client is monitored, else at most their views, the rest going to the others by connections (n).
 */
function viewShares(total: number, parts: Array<{ mon: boolean; w: number; n: number }>): number[] {
  const out = parts.map(() => 0);
  const give = (amount: number, idx: number[], weight: (i: number) => number): void => {
    const all = idx.reduce((s, i) => s + weight(i), 0);
    if (idx.length === 0 || all === 0) {
      return;
    }
    for (const i of idx) {
      out[i] = Math.floor((amount * weight(i)) / all);
    }
    out[idx[0]!]! += amount - idx.reduce((s, i) => s + out[i]!, 0);
  };
  const idx = parts.map((_, i) => i);
  const mon = idx.filter((i) => parts[i]!.mon);
  const others = idx.filter((i) => !parts[i]!.mon);
  const w = mon.reduce((s, i) => s + parts[i]!.w, 0);
  if (others.length === 0) {
    give(total, idx, (i) => (w > 0 ? parts[i]!.w : parts[i]!.n));
  } else {
    const a = Math.min(total, w);
    give(a, mon, (i) => parts[i]!.w);
    give(total - a, others, (i) => parts[i]!.n);
  }
  return out;
}

/** Rule 4 (see the header): flows seen from a SNAT address become the forwarded clients' flows. */
function attributeForwards(acc: Map<string, Acc>, forwards: ForwardRow[]): void {
  interface Piece {
    client: Endpoint;
    via: { ip: string; port: number; service: string | null };
    categories: Category[];
    n: number;
    order: string[];
    /** Connections of this client through this via and SNAT address, to any backend. */
    nVia: number;
  }
  const bySnat = new Map<string, Map<string, Piece>>();
  for (const f of forwards) {
    const k = `${flowIdentity(f.snat)}\u0000${flowIdentity(f.server)}\u0000${f.serverPort}`;
    const pk = `${flowIdentity(f.client)}\u0000${f.via.ip}\u0000${f.via.port}`;
    const pieces = bySnat.get(k) ?? new Map<string, Piece>();
    bySnat.set(k, pieces);
    const p = pieces.get(pk) ?? {
      client: f.client,
      via: { ip: f.via.ip, port: f.via.port, service: f.via.endpoint.service },
      categories: [],
      n: 0,
      nVia: 0,
      order: [flowIdentity(f.client), f.via.ip, String(f.via.port).padStart(5, '0')],
    };
    p.n += f.connections;
    p.categories.push(f.category);
    pieces.set(pk, p);
  }
  const nVia = new Map<string, number>();
  for (const f of forwards) {
    const k = `${flowIdentity(f.snat)}\u0000${flowIdentity(f.client)}\u0000${f.via.ip}\u0000${f.via.port}`;
    nVia.set(k, (nVia.get(k) ?? 0) + f.connections);
  }
  for (const [k, pieces] of bySnat) {
    const snat = k.split('\u0000')[0]!;
    for (const p of pieces.values()) {
      p.nVia = nVia.get(`${snat}\u0000${flowIdentity(p.client)}\u0000${p.via.ip}\u0000${p.via.port}`)!;
    }
  }
  // What each client's view of a via address already has in backends that carry the via (translated ends).
  const taken = new Map<string, number[]>();
  for (const a of acc.values()) {
    if (a.via) {
      const k = `${flowIdentity(a.client)}\u0000${a.via.ip}\u0000${a.via.port}`;
      const t = taken.get(k) ?? [0, 0, 0, 0];
      [up(a), down(a), segUp(a), segDown(a)].forEach((v, i) => (t[i]! += v));
      taken.set(k, t);
    }
  }
  const plans: Array<{ key: string; a: Acc; up: number[]; down: number[]; segUp: number[]; segDown: number[] }> = [];
  const pieceLists: Piece[][] = [];
  for (const [key, a] of acc) {
    const found = a.via ? undefined : bySnat.get(key);
    if (!found) {
      continue;
    }
    // Each client's own view of the via address (taken before any flow changes), the part of it going to this
    // backend by its connections, per direction: up, down, segments up, segments down.
    const list = [...found.values()]
      .map((p) => {
        const vk = `${flowIdentity(p.client)}\u0000${p.via.ip}\u0000${p.via.port}`;
        const v = acc.get(vk);
        const mon = v !== undefined && !v.via;
        const t = taken.get(vk) ?? [0, 0, 0, 0];
        const w = (view: number, d: number) => (mon ? Math.floor((Math.max(0, view - t[d]!) * p.n) / p.nVia) : 0);
        return { p, mon, w: [w(v?.cs ?? 0, 0), w(v?.cr ?? 0, 1), w(v?.gcs ?? 0, 2), w(v?.gcr ?? 0, 3)] };
      })
      .sort(
        (x, y) =>
          Number(y.mon) - Number(x.mon) ||
          y.p.n - x.p.n ||
          byteOrder(x.p.order.join('\u0000'), y.p.order.join('\u0000'))
      );
    const split = (total: number, d: number): number[] =>
      viewShares(
        total,
        list.map((x) => ({ ...x, w: x.w[d]!, n: x.p.n }))
      );
    plans.push({
      key,
      a,
      up: split(Math.max(0, a.sr - a.cs), 0),
      down: split(Math.max(0, a.ss - a.cr), 1),
      segUp: split(Math.max(0, a.gsr - a.gcs), 2),
      segDown: split(Math.max(0, a.gss - a.gcr), 3),
    });
    pieceLists.push(list.map((x) => x.p));
  }
  // All views are taken before any is changed: shares never feed other shares.
  const carried: Array<Pick<Acc, 'rt' | 'rto' | 'rttSum' | 'rttN' | 'rttMax' | 'fc' | 'fs' | 'drops'> | null> =
    plans.map((p) => {
      const a = p.a;
      a.sr -= p.up.reduce((s, v) => s + v, 0);
      a.ss -= p.down.reduce((s, v) => s + v, 0);
      a.gsr -= p.segUp.reduce((s, v) => s + v, 0);
      a.gss -= p.segDown.reduce((s, v) => s + v, 0);
      if (a.cs + a.cr > 0) {
        return null;
      }
      acc.delete(p.key);
      return {
        rt: a.rt,
        rto: a.rto,
        rttSum: a.rttSum,
        rttN: a.rttN,
        rttMax: a.rttMax,
        fc: a.fc,
        fs: a.fs,
        drops: a.drops,
      };
    });
  plans.forEach((p, i) => {
    pieceLists[i]!.forEach((piece, j) => {
      const k = `${flowIdentity(piece.client)}\u0000${flowIdentity(p.a.server)}\u0000${p.a.serverPort}`;
      const b = acc.get(k) ?? emptyAcc(piece.client, p.a.server, p.a.serverPort);
      acc.set(k, b);
      b.sr += p.up[j]!;
      b.ss += p.down[j]!;
      b.gsr += p.segUp[j]!;
      b.gss += p.segDown[j]!;
      b.categories.push(...piece.categories);
      b.via ??= piece.via;
      const c = carried[i];
      if (j === 0 && c) {
        b.rt += c.rt;
        b.rto += c.rto;
        b.rttSum += c.rttSum;
        b.rttN += c.rttN;
        b.rttMax = maxOrNull(b.rttMax, c.rttMax);
        for (const n of FAILURE_COUNTER_NAMES) {
          b.fc[n] += c.fc[n];
          b.fs[n] += c.fs[n];
        }
        for (const [reason, count] of c.drops) {
          b.drops.set(reason, (b.drops.get(reason) ?? 0) + count);
        }
      }
    });
  });
}

/** The merge rule over rows of any time range, and the forwards of that range (see the header). */
export function mergeFlows(rows: FlowRow[], forwards: ForwardRow[] = []): Map<string, MergedFlow> {
  const acc = new Map<string, Acc>();
  for (const r of rows) {
    const k = flowKey(r);
    let a = acc.get(k);
    if (!a) {
      a = emptyAcc(r.client, r.server, r.serverPort);
      acc.set(k, a);
    }
    a.categories.push(r.category);
    if (r.via && !a.via) {
      a.via = { ip: r.via.ip, port: r.via.port, service: r.via.endpoint.service };
    }
    if (r.side === 'client') {
      a.cs += r.bytesSent;
      a.cr += r.bytesReceived;
      a.gcs += r.segmentsSent;
      a.gcr += r.segmentsReceived;
    } else {
      a.ss += r.bytesSent;
      a.sr += r.bytesReceived;
      a.gss += r.segmentsSent;
      a.gsr += r.segmentsReceived;
    }
    const own = r.side === 'client' ? a.fc : a.fs;
    for (const n of FAILURE_COUNTER_NAMES) {
      own[n] += r[n] ?? 0;
    }
    addDrops(a.drops, Object.entries(r.drops ?? {}));
    a.rt += r.retransmits;
    a.rto += r.rtos;
    if (r.rttAvgUs !== null) {
      a.rttSum += r.rttAvgUs;
      a.rttN++;
    }
    a.rttMax = maxOrNull(a.rttMax, r.rttMaxUs);
  }
  attributeForwards(acc, forwards);

  // Service address groups: (client identity, via ip, via port) → the backend flows reached through it.
  const groupKey = (client: Endpoint, ip: string, port: number): string =>
    `${flowIdentity(client)}\u0000${ip}\u0000${port}`;
  const groups = new Map<string, Array<[string, Acc]>>();
  for (const [k, a] of acc) {
    if (a.via) {
      const g = groupKey(a.client, a.via.ip, a.via.port);
      groups.set(g, [...(groups.get(g) ?? []), [k, a]]);
    }
  }
  interface Extra {
    bytes: number;
    segments: number;
    rt: number;
    rto: number;
    rttSum: number;
    rttN: number;
    rttMax: number | null;
    failures: Record<MergedFailureName, number>;
    drops: Map<string, number>;
  }
  const noExtra = (): Extra => ({
    bytes: 0,
    segments: 0,
    rt: 0,
    rto: 0,
    rttSum: 0,
    rttN: 0,
    rttMax: null,
    failures: Object.fromEntries(MERGED_FAILURE_NAMES.map((n) => [n, 0])) as Record<MergedFailureName, number>,
    drops: new Map(),
  });
  const extra = new Map<string, Extra>();
  const absorbed = new Set<string>();
  for (const [k, a] of acc) {
    // A flow addressed to a Service address: its server identity is the bare address (no pod, not loopback).
    if (a.via || a.server.pod !== null || isLoopback(a.server.ip)) {
      continue;
    }
    const members = groups.get(groupKey(a.client, a.server.ip, a.serverPort));
    if (!members) {
      continue;
    }
    const target = [...members].sort(
      ([ka, x], [kb, y]) =>
        up(y) + down(y) - (up(x) + down(x)) ||
        flowIdentity(x.server).localeCompare(flowIdentity(y.server)) ||
        x.serverPort - y.serverPort ||
        ka.localeCompare(kb)
    )[0]![0];
    const gUp = members.reduce((s, [, m]) => s + up(m), 0);
    const gDown = members.reduce((s, [, m]) => s + down(m), 0);
    const gSegUp = members.reduce((s, [, m]) => s + segUp(m), 0);
    const gSegDown = members.reduce((s, [, m]) => s + segDown(m), 0);
    const e = extra.get(target) ?? noExtra();
    const mine = failuresOf(a);
    for (const n of MERGED_FAILURE_NAMES) {
      const group = members.reduce((s, [, m]) => s + failuresOf(m)[n], 0);
      e.failures[n] += Math.max(0, mine[n] - group);
    }
    addDrops(e.drops, a.drops);
    e.bytes += Math.max(0, up(a) - gUp) + Math.max(0, down(a) - gDown);
    e.segments += Math.max(0, segUp(a) - gSegUp) + Math.max(0, segDown(a) - gSegDown);
    e.rt += a.rt;
    e.rto += a.rto;
    e.rttSum += a.rttSum;
    e.rttN += a.rttN;
    e.rttMax = maxOrNull(e.rttMax, a.rttMax);
    extra.set(target, e);
    absorbed.add(k);
  }

  const out = new Map<string, MergedFlow>();
  for (const [key, a] of acc) {
    if (absorbed.has(key)) {
      continue;
    }
    const e = extra.get(key) ?? noExtra();
    const rttN = a.rttN + e.rttN;
    const own = failuresOf(a);
    const failures = Object.fromEntries(MERGED_FAILURE_NAMES.map((n) => [n, own[n] + e.failures[n]])) as Record<
      MergedFailureName,
      number
    >;
    const drops = new Map(a.drops);
    addDrops(drops, e.drops);
    const dropsByReason = Object.fromEntries([...drops].filter(([, n]) => n > 0).sort(([x], [y]) => (x < y ? -1 : 1)));
    out.set(key, {
      key,
      client: a.client,
      server: a.server,
      serverPort: a.serverPort,
      category: mergeCategories(a.categories),
      service: a.via?.service ?? a.server.service,
      bytes: up(a) + down(a) + e.bytes,
      retransmits: a.rt + e.rt,
      rtos: a.rto + e.rto,
      rttUs: rttN > 0 ? (a.rttSum + e.rttSum) / rttN : null,
      rttMaxUs: maxOrNull(a.rttMax, e.rttMax),
      segments: segUp(a) + segDown(a) + e.segments,
      ...failures,
      drops: Object.values(dropsByReason).reduce((s, n) => s + n, 0),
      dropsByReason,
    });
  }
  return out;
}

/** A sum that is NULL when any summed row has no value (a roll-up row written before schema version 2). */
export const exactSum = (expr: string): string => `CASE WHEN count(${expr}) = count(*) THEN sum(${expr}) END`;

/** The conditional aggregates the one-pass merge uses (`MergeDialect.aggIf`). */
export type AggIfName = 'sum' | 'max' | 'count' | 'any' | 'argMin';

/**
 * The few pieces of the merge rule's SQL that differ between engines; everything else in `mergedFlowsSql` is
 * SQL both DuckDB and ClickHouse run as written.
 */
export interface MergeDialect {
  /** An aggregate: `value` of the row that sorts first by `order` (SQL ORDER BY items, `expr [DESC]`). */
  firstBy(value: string, order: string[]): string;
  /**
   * An aggregate: the drop reasons of a group's rows (`list` a row's reasons) as one value `addReasons` reads;
   * with `drops`, only rows with drops are read.
   */
  collectReasons(list: string, drops?: string): string;
  /** No drop reasons (a row that carries none). */
  noReasons: string;
  /** True when the row `keys` (expressions) is among `cols` of relation `from`. */
  exists(keys: string[], from: string, cols: string[]): string;
  /** Two collected reason values (either may be NULL or empty) summed per reason; NULL or empty for none. */
  addReasons(a: string, b: string): string;
  /** An aggregate: summed reason values (`list`) of a group's rows summed per reason; `drops` the rows' drops. */
  groupReasons(list: string, drops: string): string;
  /**
   * An aggregate `fn` of `args` over the rows where `cond` holds (`count` takes no args; `argMin` takes value and
   * order); may be followed by OVER.
   */
  aggIf(fn: AggIfName, args: string[], cond: string): string;
  /** A tuple of `items` that compares item by item with another (`argMin`'s order, equality). */
  tuple(items: string[]): string;
  /**
   * The engine runs a CTE again at every reference (ClickHouse inlines them): `mergedFlowsSql` then writes rules
   * 1-3 as one pass over the flows with window functions (`onePassMergeSql`) instead of CTEs that join back.
   * DuckDB runs the one-pass form too, but its window operator over one partition per flow made the queries about
   * four times the CPU of the CTE form (docs/hub.md "The merge in one pass"), so it keeps the CTEs.
   */
  inlinesCtes?: boolean;
}

export const DUCKDB_DIALECT: MergeDialect = {
  firstBy: (value, order) => `first(${value} ORDER BY ${order.join(', ')})`,
  collectReasons: (list, drops) => (drops ? collectReasonsSql(list, drops) : `flatten(list(${list}))`),
  noReasons: 'NULL',
  exists: (keys, from, cols) =>
    `EXISTS (SELECT 1 FROM ${from} WHERE ${cols.map((c, i) => `${from}.${c} = ${keys[i]}`).join(' AND ')})`,
  addReasons: (a, b) => sumReasonsSql(`list_concat(${a}, ${b})`),
  groupReasons: (list, drops) => sumReasonsSql(collectReasonsSql(list, drops)),
  aggIf: (fn, args, cond) =>
    `${{ sum: 'sum', max: 'max', count: 'count', any: 'any_value', argMin: 'arg_min' }[fn]}(${args.length > 0 ? args.join(', ') : '*'}) FILTER (WHERE ${cond})`,
  tuple: (items) => `row(${items.join(', ')})`,
};

/**
 * ClickHouse (docs/hub.md "ClickHouse"): `argMin` over a tuple for an ordered first (DESC items negated, so
 * they must be numeric), and drop reasons as a Map(reason, n) summed by `sumMap` / `mapAdd`.
 */
export const CLICKHOUSE_DIALECT: MergeDialect = {
  firstBy: (value, order) =>
    `argMin(${value}, (${order.map((o) => (/\sDESC$/i.test(o) ? `-(${o.replace(/\s+DESC$/i, '')})` : o)).join(', ')}))`,
  collectReasons: (list) => `sumMap(${list})`,
  noReasons: 'map()',
  exists: (keys, from, cols) => `(${keys.join(', ')}) IN (SELECT ${cols.join(', ')} FROM ${from})`,
  addReasons: (a, b) => `mapAdd(${a}, ${b})`,
  groupReasons: (list) => `sumMap(${list})`,
  aggIf: (fn, args, cond) => `${fn}If(${[...args, cond].join(', ')})`,
  tuple: (items) => `(${items.join(', ')})`,
  inlinesCtes: true,
};

/**
 * The columns a query reads from the merged flows beyond the flow, its category, ends and bytes (always there):
 * the merge aggregates only these, so a query that shows no failures never sums them. All by default.
 */
export interface MergeOutputs {
  /** The merged failure fields (`f_*`), drops, drop_reasons and failures (`failureScore`). */
  failures?: boolean;
  /** segments. */
  segments?: boolean;
  /** retransmits, rtos, rtt_sum, rtt_n, rtt_max. */
  transport?: boolean;
}

/** The merged flows alone (category, ends, bytes): what time series and observed flows read. */
export const FLOWS_ONLY: MergeOutputs = { failures: false, segments: false, transport: false };

/** What a store knows of the rows `mergedFlowsSql` reads. */
export interface SourceShape {
  /**
   * At most one row per flow (client_ip, server_ip, server_port): e.g. one compacted roll-up bucket and no raw
   * rows. The per-flow sums are then each row's own values, so the merge reads the rows as they are instead of
   * grouping them (the largest cost of a query over one bucket). The answer is the same; a wrong claim is not.
   */
  oneRowPerFlow?: boolean;
}

/** `mergedCategorySql` of a single row: the same expression without the aggregate (min of one value is the value). */
function categoryOfRowSql(column: string): string {
  const agg = mergedCategorySql(column);
  const row = agg.replace(`CASE min(CASE ${column} `, `CASE (CASE ${column} `);
  if (row === agg) {
    throw new Error('mergedCategorySql changed its form: categoryOfRowSql must follow');
  }
  return row;
}

/** A per-flow aggregate of rows; with one row per flow (`SourceShape`), the row's own value. */
const perFlow =
  (one: boolean) =>
  (fn: 'sum' | 'max', expr: string): string =>
    one ? expr : `${fn}(${expr})`;

/** FAILURE_MERGE in SQL: each merged failure field from the end views' sums (`agg`, `perFlow`). */
function mergedFailuresSql(agg: (fn: 'sum', expr: string) => string): string {
  return MERGED_FAILURE_NAMES.map((n) => {
    const views = FAILURE_MERGE[n].map((v) => agg('sum', endColumn(v)));
    return `${views.length === 1 ? views[0] : `greatest(${views.join(', ')})`} AS ${failureResultColumn(n)}`;
  }).join(', ');
}

/**
 * Rules 1 and 2 in SQL: `source`'s rows summed per flow (client_ip, server_ip, server_port): category, the ends'
 * and via's ids, up and down (each direction the larger of its two ends' views), and as `want` asks segments
 * (NULL where a row predates them) and the transport columns. For the one-pass form (`onePass`) also the group
 * key of rule 3 (gk_ip, gk_port: the via address of a flow with one, else its own server address) and, as `want`
 * asks, the merged failure fields (FAILURE_MERGE), drops and drop_reasons. With `one` (one row per flow,
 * `SourceShape`), each row as it is.
 */
function flowSumsSql(
  source: string,
  want: Required<MergeOutputs>,
  dialect: MergeDialect,
  one: boolean,
  onePass = false
): string {
  const agg = perFlow(one);
  const segKnown = one ? 'c_seg_sent IS NOT NULL' : 'count(c_seg_sent) = count(*)';
  const viaOr = (via: string, own: string): string =>
    `CASE WHEN ${agg('max', 'via_ip')} > 0 THEN ${agg('max', via)} ELSE ${own} END`;
  const reasons = one
    ? `CASE WHEN drops > 0 THEN ${dialect.addReasons('drop_reasons', dialect.noReasons)} ELSE ${dialect.noReasons} END`
    : dialect.groupReasons('drop_reasons', 'drops');
  const list: Array<string | false> = [
    'client_ip, server_ip, server_port',
    `${one ? categoryOfRowSql('category') : mergedCategorySql('category')} AS category`,
    ['client_ep', 'server_ep', 'via_ip', 'via_port', 'via_ep'].map((c) => `${agg('max', c)} AS ${c}`).join(', '),
    `greatest(${agg('sum', 'c_sent')}, ${agg('sum', 's_recv')}) AS up`,
    `greatest(${agg('sum', 's_sent')}, ${agg('sum', 'c_recv')}) AS down`,
    want.segments &&
      `CASE WHEN ${segKnown} THEN greatest(${agg('sum', 'c_seg_sent')}, ${agg('sum', 's_seg_recv')}) END AS seg_up,
      CASE WHEN ${segKnown} THEN greatest(${agg('sum', 's_seg_sent')}, ${agg('sum', 'c_seg_recv')}) END AS seg_down`,
    want.transport &&
      ['retransmits', 'rtos', 'rtt_sum', 'rtt_n']
        .map((c) => `${agg('sum', c)} AS ${c}`)
        .concat(`${agg('max', 'rtt_max')} AS rtt_max`)
        .join(', '),
    onePass && `${viaOr('via_ip', 'server_ip')} AS gk_ip, ${viaOr('via_port', 'server_port')} AS gk_port`,
    onePass && want.failures && mergedFailuresSql(agg),
    onePass && want.failures && `${agg('sum', 'drops')} AS drops, ${reasons} AS drop_reasons`,
  ];
  return `SELECT ${list.filter((c): c is string => c !== false).join(',\n      ')}
      FROM (${source})${one ? '' : ' GROUP BY client_ip, server_ip, server_port'}`;
}

/**
 * The merge rule in SQL. `source` yields roll-up-shaped rows: client_ip, server_ip (identity ids), server_port,
 * category, client_ep, server_ep, c_sent, c_recv, s_sent, s_recv, c_seg_sent, c_seg_recv, s_seg_sent,
 * s_seg_recv (NULL in rows written before segments were kept), retransmits, rtos, rtt_sum, rtt_n, rtt_max,
 * via_ip (identity id of the via address, 0 when none), via_port, via_ep (the via's named end, 0 when none).
 * Schema 4 adds each end's failure counters (FAILURE_END_COLUMNS), drops (packets dropped, both ends) and
 * drop_reasons (a list of {reason, n}, a reason may repeat until summed; a Map(reason, n) on ClickHouse:
 * the dialect's `collectReasons` and `addReasons`).
 * A flow addressed to a Service address is recognised by its server_ip being some group's via_ip.
 * Yields one row per flow: client_ip, server_ip, server_port, category, client_ep, server_ep, via_ep, bytes, and
 * as `outputs` asks (all by default): segments; retransmits, rtos, rtt_sum, rtt_n, rtt_max (rtt_sum / rtt_n is
 * the flow's RTT); the merged failure fields (`failureResultColumn`: f_connect_attempts, …, f_resets_from_server),
 * drops, drop_reasons (one entry per reason) and failures (`failureScore`).
 *
 * Failures and drops are merged apart, from the rows that have any (few: most rows count none), so the merge of
 * every other flow sums only the traffic columns (docs/hub.md "Where the DuckDB hour's time went"). A row
 * without failures or drops adds nothing to their sums, so the result is the same as one pass over every row.
 * A dialect whose engine inlines CTEs (ClickHouse, `inlinesCtes`) gets the same rules in one pass instead
 * (`onePassMergeSql`): same output columns, same answers. Both forms take rules 1 and 2 (the per-flow sums) from
 * `flowSumsSql` and the failure fields from `mergedFailuresSql`; rule 3 is written in each form's terms.
 */
export function mergedFlowsSql(
  source: string,
  forwards?: string,
  dialect: MergeDialect = DUCKDB_DIALECT,
  outputs: MergeOutputs = {},
  shape: SourceShape = {}
): string {
  const want = { failures: true, segments: true, transport: true, ...outputs };
  if (forwards !== undefined) {
    source = forwardedRowsSql(source, forwards, dialect);
  }
  // One row per flow already (and no forwards, whose shares add rows): each end's sum is its one row.
  const one = shape.oneRowPerFlow === true && forwards === undefined;
  if (dialect.inlinesCtes) {
    return onePassMergeSql(source, want, dialect, one);
  }
  const order = ['up + down DESC', 'server_ip', 'server_port'];
  const f = MERGED_FAILURE_NAMES.map(failureResultColumn);
  const same = (a: string, b: string): string =>
    `${a}.client_ip = ${b}.client_ip AND ${a}.server_ip = ${b}.server_ip AND ${a}.server_port = ${b}.server_port`;
  const addressing = (e: string, g: string): string =>
    `${g}.client_ip = ${e}.client_ip AND ${g}.via_ip = ${e}.server_ip AND ${g}.via_port = ${e}.server_port`;
  const cols = (list: Array<string | false>): string => list.filter((c): c is string => c !== false).join(', ');
  const seg = want.segments;
  const tr = want.transport;
  const ctes = [
    `ends AS (${flowSumsSql(source, want, dialect, one)})`,
    `grp AS (
      SELECT client_ip, via_ip, via_port, ${cols([
        'sum(up) AS up, sum(down) AS down',
        seg && `${exactSum('seg_up')} AS seg_up, ${exactSum('seg_down')} AS seg_down`,
      ])},
        ${dialect.firstBy('server_ip', order)} AS t_ip, ${dialect.firstBy('server_port', order)} AS t_port
      FROM ends WHERE via_ip > 0 GROUP BY client_ip, via_ip, via_port)`,
    `adds AS (
      SELECT e.client_ip AS client_ip, g.t_ip AS server_ip, g.t_port AS server_port,
        ${cols([
          'sum(greatest(e.up - g.up, 0) + greatest(e.down - g.down, 0)) AS bytes',
          seg &&
            `sum(greatest(e.seg_up - g.seg_up, 0) + greatest(e.seg_down - g.seg_down, 0)) AS segments,
        count(*) - count(e.seg_up - g.seg_up + e.seg_down - g.seg_down) AS seg_unknown`,
          tr &&
            'sum(e.retransmits) AS retransmits, sum(e.rtos) AS rtos, sum(e.rtt_sum) AS rtt_sum, sum(e.rtt_n) AS rtt_n, max(e.rtt_max) AS rtt_max',
        ])}
      FROM ends e JOIN grp g ON ${addressing('e', 'g')}
      WHERE e.via_ip = 0 GROUP BY 1, 2, 3)`,
  ];
  if (want.failures) {
    const any = [...FAILURE_END_COLUMNS, 'drops'].map((c) => `${c} > 0`).join(' OR ');
    ctes.push(
      // The flows with any failure or drop (few: most rows count none), merged from their own rows: small, so the
      // joins below build their hash tables on it, never on the merged flows (docs/hub.md "The failure merge").
      `fx AS (
      SELECT client_ip, server_ip, server_port, ${mergedFailuresSql(perFlow(false))}, sum(drops) AS drops,
        ${dialect.collectReasons('drop_reasons', 'drops')} AS drop_reasons
      FROM (${source}) WHERE ${any} GROUP BY client_ip, server_ip, server_port)`,
      // The same flows with their via (rule 3 below).
      `fe AS (
      SELECT x.*, e.via_ip AS via_ip, e.via_port AS via_port FROM fx x JOIN ends e ON ${same('e', 'x')})`,
      // Rule 3 for failures: each Service address group's backends' failures, and what a flow addressed to the
      // group adds beyond them (per field, max(0, its view − Σ the group's)), to the group's target flow.
      `fgrp AS (
      SELECT client_ip, via_ip, via_port, ${f.map((c) => `sum(${c}) AS ${c}`).join(', ')}
      FROM fe WHERE via_ip > 0 GROUP BY client_ip, via_ip, via_port)`,
      `fadds AS (
      SELECT x.client_ip AS client_ip, g.t_ip AS server_ip, g.t_port AS server_port,
        ${f.map((c) => `sum(greatest(x.${c} - coalesce(fg.${c}, 0), 0)) AS ${c}`).join(', ')}, sum(x.drops) AS drops,
        ${dialect.collectReasons('x.drop_reasons', 'x.drops')} AS drop_reasons
      FROM fe x JOIN grp g ON ${addressing('x', 'g')} LEFT JOIN fgrp fg ON ${addressing('x', 'fg')}
      WHERE x.via_ip = 0 GROUP BY 1, 2, 3)`
    );
  }
  const failureCols = want.failures
    ? [
        f.map((c) => `coalesce(x.${c}, 0) + coalesce(xa.${c}, 0) AS ${c}`).join(', '),
        'coalesce(x.drops, 0) + coalesce(xa.drops, 0) AS drops',
        `${dialect.addReasons('x.drop_reasons', 'xa.drop_reasons')} AS drop_reasons`,
        `${failureScoreSql('x', 'xa')} AS failures`,
      ].join(',\n      ')
    : false;
  return `WITH ${ctes.join(',\n    ')}
    SELECT ${cols([
      `e.client_ip AS client_ip, e.server_ip AS server_ip, e.server_port AS server_port, e.category AS category,
      e.client_ep AS client_ep, e.server_ep AS server_ep, e.via_ep AS via_ep,
      e.up + e.down + coalesce(a.bytes, 0) AS bytes`,
      seg &&
        'CASE WHEN coalesce(a.seg_unknown, 0) = 0 THEN e.seg_up + e.seg_down + coalesce(a.segments, 0) END AS segments',
      tr &&
        `e.retransmits + coalesce(a.retransmits, 0) AS retransmits, e.rtos + coalesce(a.rtos, 0) AS rtos,
      e.rtt_sum + coalesce(a.rtt_sum, 0) AS rtt_sum, e.rtt_n + coalesce(a.rtt_n, 0) AS rtt_n,
      greatest(e.rtt_max, a.rtt_max) AS rtt_max`,
      failureCols,
    ])}
    FROM ends e LEFT JOIN adds a ON ${same('a', 'e')} LEFT JOIN grp ng ON ${addressing('e', 'ng')}${
      want.failures ? `\n      LEFT JOIN fx x ON ${same('x', 'e')} LEFT JOIN fadds xa ON ${same('xa', 'e')}` : ''
    }
    WHERE e.via_ip > 0 OR ng.client_ip IS NULL`;
}

/**
 * Rules 1-3 as `mergedFlowsSql` yields them, in one pass over the source, for an engine that runs a CTE again at
 * every reference (ClickHouse: the CTE form read the source and summed every flow eight times, and analysing the
 * inlined query cost more than running it). The dialect's `aggIf` and `tuple` are all it needs of an engine, so
 * DuckDB runs it as well (slower there: see `inlinesCtes`). The flows are summed once (`flowSumsSql`); a window
 * over (client, Service address) — a flow with a via under its (client, via ip, via port), any other under its own
 * (client, server, port) — puts each Service address group's backends and the one flow addressed to that address (if any) in one
 * partition, so the group's sums, its target (the backend with the most bytes, then the lowest server and port)
 * and the addressing flow's counters are window aggregates. The addressing flow is dropped when the group has
 * backends; the target adds what it saw beyond them, per direction and per failure field, and its retransmits,
 * RTOs, RTT samples and drops, as `adds` and `fadds` do.
 */
function onePassMergeSql(source: string, want: Required<MergeOutputs>, dialect: MergeDialect, one: boolean): string {
  const f = MERGED_FAILURE_NAMES.map(failureResultColumn);
  const cols = (list: Array<string | false>): string => list.filter((c): c is string => c !== false).join(',\n      ');
  const seg = want.segments;
  const tr = want.transport;
  const fl = want.failures;
  const w = 'OVER w';
  const member = (fn: AggIfName, ...args: string[]): string => `${dialect.aggIf(fn, args, 'via_ip > 0')} ${w}`;
  const addr = (fn: AggIfName, ...args: string[]): string => `${dialect.aggIf(fn, args, 'via_ip = 0')} ${w}`;
  const when = (c: string, a: string, b: string): string => `CASE WHEN ${c} THEN ${a} ELSE ${b} END`;
  // A column the target flow gains from the flow addressed to its group (0, or NULL for rtt_max, elsewhere).
  const gain = (expr: string, none = '0'): string => when('is_target', expr, none);
  const segGroup = (c: string): string =>
    when(`${dialect.aggIf('count', [], `${c} IS NULL AND via_ip > 0`)} ${w} > 0`, 'NULL', member('sum', c));
  return `SELECT ${cols([
    'client_ip, server_ip, server_port, category, client_ep, server_ep, via_ep',
    `up + down + ${gain('greatest(a_up - g_up, 0) + greatest(a_down - g_down, 0)')} AS bytes`,
    seg &&
      `${when(
        'is_target',
        when(
          'a_seg_up - g_seg_up + a_seg_down - g_seg_down IS NULL',
          'NULL',
          'seg_up + seg_down + greatest(a_seg_up - g_seg_up, 0) + greatest(a_seg_down - g_seg_down, 0)'
        ),
        'seg_up + seg_down'
      )} AS segments`,
    tr &&
      `retransmits + ${gain('a_retransmits')} AS retransmits, rtos + ${gain('a_rtos')} AS rtos,
      rtt_sum + ${gain('a_rtt_sum')} AS rtt_sum, rtt_n + ${gain('a_rtt_n')} AS rtt_n,
      greatest(rtt_max, ${gain('a_rtt_max', 'NULL')}) AS rtt_max`,
    fl && f.map((c) => `${c} + ${gain(`greatest(a_${c} - g_${c}, 0)`)} AS ${c}`).join(', '),
    fl && `drops + ${gain('a_drops')} AS drops`,
    // Most flows drop nothing: the reasons are added only where the target absorbed some.
    fl &&
      `${when('is_target AND a_drops > 0', dialect.addReasons('drop_reasons', 'a_drop_reasons'), 'drop_reasons')} AS drop_reasons`,
    fl &&
      `${FAILURE_SCORE_FIELDS.map((k) => (k === 'drops' ? 'drops' : failureResultColumn(k)))
        .map((c) => `${c} + ${gain(c === 'drops' ? 'a_drops' : `greatest(a_${c} - g_${c}, 0)`)}`)
        .join(' + ')} AS failures`,
  ])}
    FROM (
      SELECT *, via_ip > 0 AND a_n > 0 AND ${dialect.tuple(['server_ip', 'server_port'])} = t AS is_target
      FROM (
        SELECT *, ${cols([
          `${dialect.aggIf('count', [], 'via_ip > 0')} ${w} AS g_n, ${member('sum', 'up')} AS g_up, ${member('sum', 'down')} AS g_down`,
          // The group's target: its backend that sorts first by (up + down DESC, server_ip, server_port).
          `${member('argMin', dialect.tuple(['server_ip', 'server_port']), dialect.tuple(['-(up + down)', 'server_ip', 'server_port']))} AS t`,
          `${dialect.aggIf('count', [], 'via_ip = 0')} ${w} AS a_n, ${addr('sum', 'up')} AS a_up, ${addr('sum', 'down')} AS a_down`,
          seg &&
            `${segGroup('seg_up')} AS g_seg_up, ${segGroup('seg_down')} AS g_seg_down,
        ${addr('any', 'seg_up')} AS a_seg_up, ${addr('any', 'seg_down')} AS a_seg_down`,
          tr &&
            `${['retransmits', 'rtos', 'rtt_sum', 'rtt_n'].map((c) => `${addr('sum', c)} AS a_${c}`).join(', ')}, ${addr('max', 'rtt_max')} AS a_rtt_max`,
          fl && f.map((c) => `${member('sum', c)} AS g_${c}, ${addr('sum', c)} AS a_${c}`).join(',\n        '),
          fl &&
            `${addr('sum', 'drops')} AS a_drops, ${addr('any', when('drops > 0', 'drop_reasons', dialect.noReasons))} AS a_drop_reasons`,
        ])}
        FROM (
          ${flowSumsSql(source, want, dialect, one, true)})
        WINDOW w AS (PARTITION BY client_ip, gk_ip, gk_port)))
    WHERE via_ip > 0 OR g_n = 0`;
}

/** `failureScore` in SQL over a flow's own failures (alias `e`) plus what it absorbed (alias `a`); either may be NULL. */
function failureScoreSql(e: string, a: string): string {
  const parts = FAILURE_SCORE_FIELDS.map((k) => (k === 'drops' ? 'drops' : failureResultColumn(k)));
  return parts.map((c) => `coalesce(${e}.${c}, 0) + coalesce(${a}.${c}, 0)`).join(' + ');
}

/**
 * Sums a list of {reason, n} per reason (DuckDB list lambdas; ClickHouse has sumMap for the same); NULL for an
 * empty list, so flows without drops (nearly all) cost nothing. Lists stay short: one entry per kernel drop
 * reason seen, and stores sum them whenever they compact rows.
 */
export function sumReasonsSql(list: string): string {
  return `CASE WHEN len(${list}) > 0 THEN list_transform(list_distinct(list_transform(${list}, lambda x: x.reason)),
    lambda k: {'reason': k, 'n': list_sum(list_transform(list_filter(${list}, lambda x: x.reason = k), lambda x: x.n))}) END`;
}

/** The drop-reason lists of a group's rows, one list (aggregate; only rows that dropped anything are read). */
export function collectReasonsSql(list: string, drops: string): string {
  return `flatten(list(${list}) FILTER (WHERE ${drops} > 0))`;
}

const SEGS = ['c_seg_sent', 'c_seg_recv', 's_seg_sent', 's_seg_recv'] as const;

/**
 * Rule 4 in SQL: `source` (roll-up-shaped rows) summed per flow, with the flows seen from a SNAT address turned into
 * the forwarded clients' shares (see the header); yields the same roll-up shape, so rules 1-3 run on it unchanged.
 * `forwards` yields: client_ip, client_ep, server_ip, server_ep, server_port, snat_ip (identity ids; snat_ip is the
 * client's when the source was kept), via_ip, via_port, via_ep, category, connections, and the tie-break keys
 * client_key (the client's identity) and via_key (the via address).
 */
export function forwardedRowsSql(source: string, forwards: string, dialect: MergeDialect = DUCKDB_DIALECT): string {
  const as = (cols: string[]): string => cols.map((c) => `b.${c} AS ${c}`).join(', ');
  return `WITH ${forwardSharesCtes(source, forwards, dialect)}
    SELECT ${as(['client_ip', 'server_ip', 'server_port', 'category', 'client_ep', 'server_ep', 'c_sent', 'c_recv'])},
      b.s_sent - coalesce(m.f_down, 0) AS s_sent, b.s_recv - coalesce(m.f_up, 0) AS s_recv,
      ${as(['c_seg_sent', 'c_seg_recv'])}, b.s_seg_sent - coalesce(m.f_seg_down, 0) AS s_seg_sent,
      b.s_seg_recv - coalesce(m.f_seg_up, 0) AS s_seg_recv,
      ${as(['retransmits', 'rtos', 'rtt_sum', 'rtt_n', 'rtt_max', 'via_ip', 'via_port', 'via_ep', ...FAILURE_END_COLUMNS, 'drops', 'drop_reasons'])}
    FROM b LEFT JOIN m ON m.client_ip = b.client_ip AND m.server_ip = b.server_ip AND m.server_port = b.server_port
    WHERE m.gone IS NULL OR NOT m.gone
    UNION ALL
    SELECT client_ip, server_ip, server_port, category, client_ep, server_ep, c_sent, c_recv, s_sent, s_recv,
      c_seg_sent, c_seg_recv, s_seg_sent, s_seg_recv, retransmits, rtos, rtt_sum, rtt_n, rtt_max, via_ip, via_port,
      via_ep, ${FAILURE_END_COLUMNS.join(', ')}, drops, drop_reasons
    FROM pieces`;
}

/**
 * Rule 4's shares as fractions, for time series (which spread each flow over steps): per flow seen from a SNAT
 * address (snat_ip, server_ip, server_port), each share's client_ip with up_frac / down_frac, the parts of the
 * flow's server view per direction that went to that client, and carry (1 for the share that takes over the
 * flow's retransmits, RTOs and RTT samples because the flow is gone).
 */
export function forwardSharesSql(source: string, forwards: string, dialect: MergeDialect = DUCKDB_DIALECT): string {
  return `WITH ${forwardSharesCtes(source, forwards, dialect)}
    SELECT snat_ip, server_ip, server_port, client_ip, s_recv / nullif(flow_s_recv, 0) AS up_frac,
      s_sent / nullif(flow_s_sent, 0) AS down_frac, CASE WHEN rk = 1 AND gone THEN 1 ELSE 0 END AS carry
    FROM pieces`;
}

/** The CTEs rule 4's SQL shares (b: flows summed, m: flows seen from a SNAT address, pieces: the shares). */
function forwardSharesCtes(source: string, forwards: string, dialect: MergeDialect): string {
  const flow = 'snat_ip, server_ip, server_port';
  // Per direction: the forwarded total of the flow from S, the client view's column, the share's output column.
  const dirs = [
    { d: 'up', total: 'f_up', view: 'c_sent', merged: 'greatest(c_sent, s_recv)', out: 's_recv' },
    { d: 'down', total: 'f_down', view: 'c_recv', merged: 'greatest(s_sent, c_recv)', out: 's_sent' },
    {
      d: 'seg_up',
      total: 'f_seg_up',
      view: 'c_seg_sent',
      merged: 'greatest(c_seg_sent, s_seg_recv)',
      out: 's_seg_recv',
    },
    {
      d: 'seg_down',
      total: 'f_seg_down',
      view: 'c_seg_recv',
      merged: 'greatest(s_seg_sent, c_seg_recv)',
      out: 's_seg_sent',
    },
  ];
  const each = (fn: (x: (typeof dirs)[number]) => string): string => dirs.map(fn).join(', ');
  const carried = (col: string): string => `CASE WHEN rk = 1 AND gone THEN ${col} ELSE 0 END AS ${col}`;
  const order = 'n DESC, client_key, via_key, via_port';
  return `b AS (
      SELECT client_ip, server_ip, server_port, ${mergedCategorySql('category')} AS category,
        max(client_ep) AS client_ep, max(server_ep) AS server_ep, max(via_ip) AS via_ip, max(via_port) AS via_port,
        max(via_ep) AS via_ep, sum(c_sent) AS c_sent, sum(c_recv) AS c_recv, sum(s_sent) AS s_sent,
        sum(s_recv) AS s_recv, ${SEGS.map((c) => `${exactSum(c)} AS ${c}`).join(', ')},
        sum(retransmits) AS retransmits, sum(rtos) AS rtos, sum(rtt_sum) AS rtt_sum, sum(rtt_n) AS rtt_n,
        max(rtt_max) AS rtt_max, ${FAILURE_END_COLUMNS.map((c) => `sum(${c}) AS ${c}`).join(', ')},
        sum(drops) AS drops, ${dialect.collectReasons('drop_reasons', 'drops')} AS drop_reasons
      FROM (${source}) GROUP BY client_ip, server_ip, server_port),
    fw AS (
      SELECT snat_ip, server_ip, server_port, client_ip, via_ip, via_port, max(client_ep) AS client_ep,
        max(via_ep) AS via_ep, ${mergedCategorySql('category')} AS category, sum(connections) AS n,
        max(client_key) AS client_key, max(via_key) AS via_key
      FROM (${forwards}) GROUP BY snat_ip, server_ip, server_port, client_ip, via_ip, via_port),
    taken AS (
      SELECT client_ip, via_ip, via_port, ${each((x) => `sum(${x.merged}) AS t_${x.d}`)}
      FROM b WHERE via_ip > 0 GROUP BY client_ip, via_ip, via_port),
    fv AS (
      SELECT fw.*, v.client_ip IS NOT NULL AS mon,
        ${each((x) => `greatest(coalesce(v.${x.view}, 0) - coalesce(t.t_${x.d}, 0), 0) AS v_${x.d}`)},
        sum(fw.n) OVER (PARTITION BY fw.snat_ip, fw.client_ip, fw.via_ip, fw.via_port) AS n_via
      FROM fw LEFT JOIN b v ON v.client_ip = fw.client_ip AND v.server_ip = fw.via_ip AND v.server_port = fw.via_port
        AND v.via_ip = 0
        LEFT JOIN taken t ON t.client_ip = fw.client_ip AND t.via_ip = fw.via_ip AND t.via_port = fw.via_port),
    m AS (
      SELECT b.*, greatest(b.s_recv - b.c_sent, 0) AS f_up, greatest(b.s_sent - b.c_recv, 0) AS f_down,
        greatest(b.s_seg_recv - b.c_seg_sent, 0) AS f_seg_up, greatest(b.s_seg_sent - b.c_seg_recv, 0) AS f_seg_down,
        b.c_sent + b.c_recv = 0 AS gone
      FROM b WHERE b.via_ip = 0
        AND ${dialect.exists(['b.client_ip', 'b.server_ip', 'b.server_port'], 'fw', ['snat_ip', 'server_ip', 'server_port'])}),
    p0 AS (
      SELECT fw.client_ip AS client_ip, m.client_ip AS snat_ip, m.server_ip AS server_ip, m.server_port AS server_port,
        fw.category AS category, fw.client_ep AS client_ep, m.server_ep AS server_ep, fw.via_ip AS via_ip,
        fw.via_port AS via_port, fw.via_ep AS via_ep, fw.n AS n, fw.mon AS mon,
        ${each((x) => `CASE WHEN fw.mon THEN floor(fw.v_${x.d} * fw.n / fw.n_via) ELSE 0 END AS w_${x.d}`)},
        ${['f_up', 'f_down', 'f_seg_up', 'f_seg_down', 'gone', 'retransmits', 'rtos', 'rtt_sum', 'rtt_n', 'rtt_max']
          .map((c) => `m.${c} AS ${c}`)
          .join(', ')},
        m.s_recv AS flow_s_recv, m.s_sent AS flow_s_sent,
        ${[...FAILURE_END_COLUMNS, 'drops', 'drop_reasons'].map((c) => `m.${c} AS ${c}`).join(', ')},
        row_number() OVER (PARTITION BY m.client_ip, m.server_ip, m.server_port
          ORDER BY fw.mon DESC, fw.${order.split(', ').join(', fw.')}) AS rk,
        row_number() OVER (PARTITION BY m.client_ip, m.server_ip, m.server_port, fw.mon
          ORDER BY fw.${order.split(', ').join(', fw.')}) AS rk_grp
      FROM m JOIN fv fw ON fw.snat_ip = m.client_ip AND fw.server_ip = m.server_ip AND fw.server_port = m.server_port),
    p AS (
      SELECT *, max(CASE WHEN mon THEN 0 ELSE 1 END) OVER (PARTITION BY ${flow}) AS has_u,
        sum(n) OVER (PARTITION BY ${flow}) AS n_all,
        sum(CASE WHEN mon THEN 0 ELSE n END) OVER (PARTITION BY ${flow}) AS n_u,
        ${each((x) => `sum(CASE WHEN mon THEN w_${x.d} ELSE 0 END) OVER (PARTITION BY ${flow}) AS wsum_${x.d}`)}
      FROM p0),
    q AS (
      SELECT *,
        ${each(
          (x) => `CASE WHEN has_u = 0 THEN ${x.total} WHEN mon THEN least(${x.total}, wsum_${x.d})
          ELSE ${x.total} - least(${x.total}, wsum_${x.d}) END AS amt_${x.d},
        CASE WHEN has_u = 0 AND wsum_${x.d} = 0 THEN n WHEN mon THEN w_${x.d} ELSE n END AS wt_${x.d},
        CASE WHEN has_u = 0 AND wsum_${x.d} = 0 THEN n_all WHEN mon THEN wsum_${x.d} ELSE n_u END AS tot_${x.d}`
        )},
        CASE WHEN has_u = 1 AND mon THEN 1 ELSE 0 END AS grp,
        (has_u = 0 AND rk = 1) OR (has_u = 1 AND rk_grp = 1) AS first_of_grp
      FROM p),
    q2 AS (
      SELECT *,
        ${each((x) => `CASE WHEN tot_${x.d} > 0 THEN floor(amt_${x.d} * wt_${x.d} / tot_${x.d}) ELSE 0 END AS s0_${x.d}`)}
      FROM q),
    pieces AS (
      SELECT client_ip, server_ip, server_port, category, client_ep, server_ep, 0 AS c_sent, 0 AS c_recv,
        ${each(
          (x) => `s0_${x.d} + CASE WHEN first_of_grp THEN amt_${x.d} - sum(s0_${x.d})
          OVER (PARTITION BY ${flow}, grp) ELSE 0 END AS ${x.out}`
        )},
        0 AS c_seg_sent, 0 AS c_seg_recv,
        ${carried('retransmits')}, ${carried('rtos')}, ${carried('rtt_sum')}, ${carried('rtt_n')},
        CASE WHEN rk = 1 AND gone THEN rtt_max END AS rtt_max, via_ip, via_port, via_ep,
        ${FAILURE_END_COLUMNS.map(carried).join(', ')}, ${carried('drops')},
        CASE WHEN rk = 1 AND gone THEN drop_reasons ELSE ${dialect.noReasons} END AS drop_reasons, snat_ip, rk, gone,
        flow_s_recv, flow_s_sent
      FROM q2)`;
}

/**
 * Rule 4 for time series: `per` yields per-step rows (t, client_ip, server_ip, server_port, cs, cr, ss, sr,
 * retransmits, rtos, rtt_sum, rtt_n); each step of a flow seen from a SNAT address is spread over the forwarded
 * clients by the fractions `shares` (forwardSharesSql) gives, so the steps of each share add up to the share.
 */
export function forwardedStepsSql(per: string, shares: string): string {
  const moved = ['retransmits', 'rtos', 'rtt_sum', 'rtt_n', ...FAILURE_END_COLUMNS, 'drops'];
  return `WITH sh AS (${shares}),
    k AS (SELECT snat_ip, server_ip, server_port, sum(up_frac) AS up_frac, sum(down_frac) AS down_frac,
      max(carry) AS carry FROM sh GROUP BY snat_ip, server_ip, server_port)
    SELECT x.t AS t, x.client_ip AS client_ip, x.server_ip AS server_ip, x.server_port AS server_port, x.cs AS cs,
      x.cr AS cr, x.ss * (1 - coalesce(k.down_frac, 0)) AS ss,
      x.sr * (1 - coalesce(k.up_frac, 0)) AS sr,
      ${moved.map((c) => `CASE WHEN k.carry = 1 THEN 0 ELSE x.${c} END AS ${c}`).join(', ')}
    FROM ${per} x LEFT JOIN k ON k.snat_ip = x.client_ip AND k.server_ip = x.server_ip AND k.server_port = x.server_port
    UNION ALL
    SELECT x.t AS t, sh.client_ip AS client_ip, x.server_ip AS server_ip, x.server_port AS server_port, 0 AS cs, 0 AS cr, x.ss * coalesce(sh.down_frac, 0) AS ss,
      x.sr * coalesce(sh.up_frac, 0) AS sr,
      ${moved.map((c) => `CASE WHEN sh.carry = 1 THEN x.${c} ELSE 0 END AS ${c}`).join(', ')}
    FROM ${per} x JOIN sh ON sh.snat_ip = x.client_ip AND sh.server_ip = x.server_ip AND sh.server_port = x.server_port`;
}
