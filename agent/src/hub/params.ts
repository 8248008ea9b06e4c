/** Parses and validates the query API's URL parameters (pure). Errors name the parameter. */
import { CATEGORIES, isCategory, type Category } from '../classify/category.js';
import { CLUSTER_NAME_PATTERN } from '../contracts/report.js';
import type {
  EndpointFilter,
  GroupBy,
  MapQuery,
  Metric,
  RangeQuery,
  SeriesQuery,
  TopQuery,
} from '../store/flow-store.js';

export class ParamError extends Error {}

export const MAX_TOP_LIMIT = 500;
export const MAX_MAP_EDGES = 5000;
export const MAX_POINTS = 11_000;
const METRICS: Metric[] = ['bytes', 'retransmits', 'rtos', 'rtt', 'failures'];

/** Epoch milliseconds (what Grafana sends), epoch seconds are not accepted; or RFC 3339. */
export function parseTime(name: string, text: string): number {
  if (/^\d+$/.test(text)) {
    const ms = Number(text);
    if (Number.isSafeInteger(ms)) {
      return ms;
    }
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) {
      return ms;
    }
  }
  throw new ParamError(`${name}: expected epoch milliseconds or an RFC 3339 time, got '${text}'`);
}

function one(p: URLSearchParams, name: string): string | undefined {
  const v = p.get(name);
  return v === null || v === '' ? undefined : v;
}

function oneOf<T extends string>(p: URLSearchParams, name: string, allowed: readonly T[], fallback: T): T {
  const v = one(p, name);
  if (v === undefined) {
    return fallback;
  }
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ParamError(`${name}: expected one of ${allowed.join(', ')}, got '${v}'`);
  }
  return v as T;
}

function int(p: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const v = one(p, name);
  if (v === undefined) {
    return fallback;
  }
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ParamError(`${name}: expected an integer from ${min} to ${max}, got '${v}'`);
  }
  return n;
}

/**
 * A drilldown end: `pod:NAMESPACE/NAME`, `workload:NAMESPACE/NAME` or `ip:ADDRESS` (Kubernetes names hold no
 * ':' or '/', so the first of each splits unambiguously; an IPv6 address keeps its colons).
 */
export function parseEndpointFilter(name: string, text: string): EndpointFilter {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? '' : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (kind === 'ip' && /^[0-9a-fA-F:.]+$/.test(rest) && (rest.includes('.') || rest.includes(':'))) {
    return { kind: 'ip', ip: rest };
  }
  if (kind === 'pod' || kind === 'workload') {
    const slash = rest.indexOf('/');
    const ns = rest.slice(0, slash);
    const n = rest.slice(slash + 1);
    if (slash > 0 && n !== '' && !n.includes('/')) {
      return { kind, namespace: ns, name: n };
    }
  }
  throw new ParamError(`${name}: expected pod:NAMESPACE/NAME, workload:NAMESPACE/NAME or ip:ADDRESS, got '${text}'`);
}

/**
 * A cluster name (the API's `cluster`, the hub's `--cluster`), by the report contract's one rule
 * (`CLUSTER_NAME_PATTERN`); `name` is what the error names.
 */
export function parseClusterName(text: string, name = 'cluster'): string {
  if (!CLUSTER_NAME_PATTERN.test(text)) {
    throw new ParamError(
      `${name}: expected a cluster name (letters, digits, '.', '_', '-'; at most 253, starting with a letter or digit), got '${text.slice(0, 300)}'`
    );
  }
  return text;
}

export function parseRange(p: URLSearchParams, nowMs: number): RangeQuery {
  const toMs = one(p, 'to') === undefined ? nowMs : parseTime('to', one(p, 'to')!);
  const fromMs = one(p, 'from') === undefined ? toMs - 3600_000 : parseTime('from', one(p, 'from')!);
  if (fromMs >= toMs) {
    throw new ParamError('from: must be before to');
  }
  const q: RangeQuery = { fromMs, toMs };
  const cats = p
    .getAll('category')
    .flatMap((c) => c.split(','))
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (cats.length > 0) {
    for (const c of cats) {
      if (!isCategory(c)) {
        throw new ParamError(`category: expected one of ${CATEGORIES.join(', ')}, got '${c}'`);
      }
    }
    q.categories = [...new Set(cats)] as Category[];
  }
  const cluster = one(p, 'cluster');
  if (cluster !== undefined) {
    q.cluster = parseClusterName(cluster);
  }
  const ns = one(p, 'namespace');
  if (ns !== undefined) {
    q.namespace = ns;
  }
  const wl = one(p, 'workload');
  if (wl !== undefined) {
    q.workload = wl;
  }
  const endpoint = one(p, 'endpoint');
  const peer = one(p, 'peer');
  if (endpoint !== undefined) {
    q.endpoint = parseEndpointFilter('endpoint', endpoint);
  }
  if (peer !== undefined) {
    if (endpoint === undefined) {
      throw new ParamError('peer: needs endpoint');
    }
    q.peer = parseEndpointFilter('peer', peer);
  }
  return q;
}

export function parseTopQuery(p: URLSearchParams, nowMs: number): TopQuery {
  return {
    ...parseRange(p, nowMs),
    metric: oneOf(p, 'metric', METRICS, 'bytes'),
    limit: int(p, 'limit', 100, 1, MAX_TOP_LIMIT),
    groupBy: oneOf<GroupBy>(p, 'groupBy', ['flow', 'pod', 'workload', 'namespace'], 'flow'),
  };
}

export function parseMapQuery(p: URLSearchParams, nowMs: number): MapQuery {
  return {
    ...parseRange(p, nowMs),
    groupBy: oneOf(p, 'groupBy', ['workload', 'pod'] as const, 'workload'),
    limit: int(p, 'limit', 1000, 1, MAX_MAP_EDGES),
  };
}

export function parseSeriesQuery(p: URLSearchParams, nowMs: number): SeriesQuery {
  const range = parseRange(p, nowMs);
  const span = range.toMs - range.fromMs;
  const stepText = one(p, 'step');
  let stepMs: number;
  if (stepText === undefined) {
    stepMs = Math.max(30_000, Math.ceil(span / 300 / 30_000) * 30_000);
  } else {
    const m = /^(\d+)(ms|s|m|h)?$/.exec(stepText);
    if (!m) {
      throw new ParamError(`step: expected milliseconds or a duration like 30s, 5m, 1h, got '${stepText}'`);
    }
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
    stepMs = Number(m[1]) * unit;
    if (stepMs <= 0) {
      throw new ParamError('step: must be positive');
    }
  }
  if (span / stepMs > MAX_POINTS) {
    throw new ParamError(`step: too small for the range (more than ${MAX_POINTS} points)`);
  }
  return {
    ...range,
    metric: oneOf(p, 'metric', METRICS, 'bytes'),
    stepMs,
    groupBy: oneOf(p, 'groupBy', ['total', 'category', 'namespace', 'workload'] as const, 'total'),
    limit: int(p, 'limit', 10, 1, 100),
  };
}
