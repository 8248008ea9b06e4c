/**
 * The merge rule, written once: which rows are one flow, and how a flow's counters, category and Service come
 * from them. `mergeFlows` states it in plain code; `mergedFlowsSql` generates the SQL a store runs (DuckDB
 * today; the SQL sticks to aggregates a ClickHouse engine has too). The store's tests check one against the
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
 */
import { mergeCategories, mergedCategorySql, type Category } from '../classify/category.js';
import { FAILURE_COUNTER_NAMES } from '../contracts/report.js';
import type { Endpoint, FlowRow } from './flow-store.js';

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

/** A flow end's identity: the address, with the pod it belonged to at the time (or the node, for loopback). */
export function flowIdentity(e: Pick<Endpoint, 'ip' | 'pod' | 'namespace' | 'node'>): string {
  if (isLoopback(e.ip)) {
    return `${e.ip}@${e.node ?? ''}`;
  }
  return e.pod === null ? e.ip : `${e.ip}|${e.namespace ?? ''}/${e.pod}`;
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

/** The merge rule over rows of any time range (see the header). */
export function mergeFlows(rows: FlowRow[]): Map<string, MergedFlow> {
  const acc = new Map<string, Acc>();
  for (const r of rows) {
    const k = flowKey(r);
    let a = acc.get(k);
    if (!a) {
      a = {
        client: r.client,
        server: r.server,
        serverPort: r.serverPort,
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
      };
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

/**
 * The few pieces of the merge rule's SQL that differ between engines; everything else in `mergedFlowsSql` is
 * SQL both DuckDB and ClickHouse run as written.
 */
export interface MergeDialect {
  /** An aggregate: `value` of the row that sorts first by `order` (SQL ORDER BY items, `expr [DESC]`). */
  firstBy(value: string, order: string[]): string;
  /** True when no Service address group (CTE `grp`) holds the flow `alias` as (client, via ip, via port). */
  notAddressed(alias: string): string;
  /** An aggregate: the drop reasons of a group's rows (`list` a row's reasons) as one value `addReasons` reads. */
  collectReasons(list: string): string;
  /** Two collected reason values (either may be NULL or empty) summed per reason; NULL or empty for none. */
  addReasons(a: string, b: string): string;
  /** An aggregate: summed reason values (`list`) of a group's rows summed per reason; `drops` the rows' drops. */
  groupReasons(list: string, drops: string): string;
}

export const DUCKDB_DIALECT: MergeDialect = {
  firstBy: (value, order) => `first(${value} ORDER BY ${order.join(', ')})`,
  notAddressed: (e) =>
    `NOT EXISTS (SELECT 1 FROM grp g WHERE g.client_ip = ${e}.client_ip AND g.via_ip = ${e}.server_ip
      AND g.via_port = ${e}.server_port)`,
  collectReasons: (list) => `flatten(list(${list}))`,
  addReasons: (a, b) => sumReasonsSql(`list_concat(${a}, ${b})`),
  groupReasons: (list, drops) => sumReasonsSql(collectReasonsSql(list, drops)),
};

/**
 * ClickHouse (docs/hub.md "ClickHouse"): `argMin` over a tuple for an ordered first (DESC items negated, so
 * they must be numeric), a tuple NOT IN for the anti-join (correlated subqueries are not in older LTS), and
 * drop reasons as a Map(reason, n) summed by `sumMap` / `mapAdd`.
 */
export const CLICKHOUSE_DIALECT: MergeDialect = {
  firstBy: (value, order) =>
    `argMin(${value}, (${order.map((o) => (/\sDESC$/i.test(o) ? `-(${o.replace(/\s+DESC$/i, '')})` : o)).join(', ')}))`,
  notAddressed: (e) =>
    `(${e}.client_ip, ${e}.server_ip, ${e}.server_port) NOT IN (SELECT client_ip, via_ip, via_port FROM grp)`,
  collectReasons: (list) => `sumMap(${list})`,
  addReasons: (a, b) => `mapAdd(${a}, ${b})`,
  groupReasons: (list) => `sumMap(${list})`,
};

/**
 * The merge rule in SQL. `source` yields roll-up-shaped rows: client_ip, server_ip (identity ids), server_port,
 * category, client_ep, server_ep, c_sent, c_recv, s_sent, s_recv, c_seg_sent, c_seg_recv, s_seg_sent,
 * s_seg_recv (NULL in rows written before segments were kept), retransmits, rtos, rtt_sum, rtt_n, rtt_max,
 * via_ip (identity id of the via address, 0 when none), via_port, via_ep (the via's named end, 0 when none).
 * Schema 4 adds each end's failure counters (FAILURE_END_COLUMNS), drops (packets dropped, both ends) and
 * drop_reasons (a list of {reason, n}, a reason may repeat until summed; a Map(reason, n) on ClickHouse:
 * the dialect's `collectReasons` and `addReasons`).
 * A flow addressed to a Service address is recognised by its server_ip being some group's via_ip.
 * Yields one row per flow: client_ip, server_ip, server_port, category, client_ep, server_ep, via_ep, bytes,
 * segments, retransmits, rtos, rtt_sum, rtt_n, rtt_max (rtt_sum / rtt_n is the flow's RTT), the merged failure
 * fields (`failureResultColumn`: f_connect_attempts, …, f_resets_from_server), drops, drop_reasons (one entry
 * per reason) and failures (`failureScore`).
 */
export function mergedFlowsSql(source: string, dialect: MergeDialect = DUCKDB_DIALECT): string {
  const order = ['up + down DESC', 'server_ip', 'server_port'];
  const f = MERGED_FAILURE_NAMES.map(failureResultColumn);
  const merged = MERGED_FAILURE_NAMES.map((n) => {
    const views = FAILURE_MERGE[n].map((v) => `sum(${endColumn(v)})`);
    return `${views.length === 1 ? views[0] : `greatest(${views.join(', ')})`} AS ${failureResultColumn(n)}`;
  });
  // Drop reasons of the flows that dropped anything (few): read apart, so the merge of every other flow never
  // touches a list.
  return `WITH dr AS (
      SELECT client_ip, server_ip, server_port, ${dialect.collectReasons('drop_reasons')} AS drop_reasons
      FROM (${source}) WHERE drops > 0 GROUP BY client_ip, server_ip, server_port),
    ends AS (
      SELECT client_ip, server_ip, server_port, ${mergedCategorySql('category')} AS category,
        max(client_ep) AS client_ep, max(server_ep) AS server_ep,
        max(via_ip) AS via_ip, max(via_port) AS via_port, max(via_ep) AS via_ep,
        greatest(sum(c_sent), sum(s_recv)) AS up, greatest(sum(s_sent), sum(c_recv)) AS down,
        CASE WHEN count(c_seg_sent) = count(*) THEN greatest(sum(c_seg_sent), sum(s_seg_recv)) END AS seg_up,
        CASE WHEN count(c_seg_sent) = count(*) THEN greatest(sum(s_seg_sent), sum(c_seg_recv)) END AS seg_down,
        sum(retransmits) AS retransmits, sum(rtos) AS rtos, sum(rtt_sum) AS rtt_sum, sum(rtt_n) AS rtt_n,
        max(rtt_max) AS rtt_max, ${merged.join(', ')}, sum(drops) AS drops
      FROM (${source}) GROUP BY client_ip, server_ip, server_port),
    grp AS (
      SELECT client_ip, via_ip, via_port, sum(up) AS up, sum(down) AS down,
        ${exactSum('seg_up')} AS seg_up, ${exactSum('seg_down')} AS seg_down, ${f.map((c) => `sum(${c}) AS ${c}`).join(', ')},
        ${dialect.firstBy('server_ip', order)} AS t_ip, ${dialect.firstBy('server_port', order)} AS t_port
      FROM ends WHERE via_ip > 0 GROUP BY client_ip, via_ip, via_port),
    adds AS (
      SELECT e.client_ip AS client_ip, g.t_ip AS server_ip, g.t_port AS server_port,
        sum(greatest(e.up - g.up, 0) + greatest(e.down - g.down, 0)) AS bytes,
        sum(greatest(e.seg_up - g.seg_up, 0) + greatest(e.seg_down - g.seg_down, 0)) AS segments,
        count(*) - count(e.seg_up - g.seg_up + e.seg_down - g.seg_down) AS seg_unknown,
        sum(e.retransmits) AS retransmits, sum(e.rtos) AS rtos, sum(e.rtt_sum) AS rtt_sum, sum(e.rtt_n) AS rtt_n,
        max(e.rtt_max) AS rtt_max, ${f.map((c) => `sum(greatest(e.${c} - g.${c}, 0)) AS ${c}`).join(', ')},
        sum(e.drops) AS drops
      FROM ends e JOIN grp g ON g.client_ip = e.client_ip AND g.via_ip = e.server_ip AND g.via_port = e.server_port
      WHERE e.via_ip = 0 GROUP BY 1, 2, 3),
    add_dr AS (
      SELECT e.client_ip AS client_ip, g.t_ip AS server_ip, g.t_port AS server_port,
        ${dialect.collectReasons('d.drop_reasons')} AS drop_reasons
      FROM dr d JOIN ends e ON e.client_ip = d.client_ip AND e.server_ip = d.server_ip AND e.server_port = d.server_port
        JOIN grp g ON g.client_ip = e.client_ip AND g.via_ip = e.server_ip AND g.via_port = e.server_port
      WHERE e.via_ip = 0 GROUP BY 1, 2, 3)
    SELECT e.client_ip AS client_ip, e.server_ip AS server_ip, e.server_port AS server_port, e.category AS category,
      e.client_ep AS client_ep, e.server_ep AS server_ep, e.via_ep AS via_ep,
      e.up + e.down + coalesce(a.bytes, 0) AS bytes,
      CASE WHEN coalesce(a.seg_unknown, 0) = 0 THEN e.seg_up + e.seg_down + coalesce(a.segments, 0) END AS segments,
      e.retransmits + coalesce(a.retransmits, 0) AS retransmits, e.rtos + coalesce(a.rtos, 0) AS rtos,
      e.rtt_sum + coalesce(a.rtt_sum, 0) AS rtt_sum, e.rtt_n + coalesce(a.rtt_n, 0) AS rtt_n,
      greatest(e.rtt_max, a.rtt_max) AS rtt_max, ${f.map((c) => `e.${c} + coalesce(a.${c}, 0) AS ${c}`).join(', ')},
      e.drops + coalesce(a.drops, 0) AS drops,
      ${dialect.addReasons('d.drop_reasons', 'ad.drop_reasons')} AS drop_reasons,
      ${failureScoreSql('e', 'a')} AS failures
    FROM ends e LEFT JOIN adds a ON a.client_ip = e.client_ip AND a.server_ip = e.server_ip
      AND a.server_port = e.server_port
      LEFT JOIN dr d ON d.client_ip = e.client_ip AND d.server_ip = e.server_ip AND d.server_port = e.server_port
      LEFT JOIN add_dr ad ON ad.client_ip = e.client_ip AND ad.server_ip = e.server_ip
      AND ad.server_port = e.server_port
    WHERE e.via_ip > 0 OR ${dialect.notAddressed('e')}`;
}

/** `failureScore` in SQL over the merge's own flow (alias `e`) plus what it absorbed (alias `a`, may be NULL). */
function failureScoreSql(e: string, a: string): string {
  const parts = FAILURE_SCORE_FIELDS.map((k) => (k === 'drops' ? 'drops' : failureResultColumn(k)));
  return parts.map((c) => `${e}.${c} + coalesce(${a}.${c}, 0)`).join(' + ');
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
