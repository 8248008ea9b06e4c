/** Renders top-contributors rows as a terminal table (pure). */
export interface TopEnd {
  ip: string | null;
  pod: string | null;
  namespace: string | null;
  workload: string | null;
  node?: string | null;
  zone?: string | null;
  service?: string | null;
}

export interface TopRowView {
  /** The row's cluster (API 1.4; absent from older hubs). */
  cluster?: string;
  category: string;
  local: TopEnd;
  remote: TopEnd;
  serverPort?: number | null;
  value: number;
  bytes: number;
  retransmits: number;
  rtos: number;
  rttUs: number | null;
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function humanRtt(us: number | null): string {
  if (us === null) {
    return '-';
  }
  return us >= 1000 ? `${(us / 1000).toFixed(1)} ms` : `${Math.round(us)} µs`;
}

/** namespace/pod (or workload), else service, else the address. */
export function endName(e: TopEnd): string {
  const name = e.pod ?? e.workload;
  if (name && e.namespace) {
    return `${e.namespace}/${name}`;
  }
  if (e.service) {
    return `svc/${e.service}`;
  }
  return e.ip ?? '?';
}

const truncate = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/** The table; a CLUSTER column leads when the rows come from more than one cluster. */
export function renderTable(rows: TopRowView[], width = 160): string {
  const clusters = new Set(rows.map((r) => r.cluster ?? ''));
  const lead = clusters.size > 1;
  const header = [...(lead ? ['CLUSTER'] : []), 'CATEGORY', 'CLIENT', 'SERVER', 'BYTES', 'RETRANS', 'RTOS', 'RTT'];
  const nameWidth = Math.max(16, Math.floor((width - 60) / 2));
  const body = rows.map((r) => [
    ...(lead ? [r.cluster ?? ''] : []),
    r.category,
    truncate(endName(r.local), nameWidth),
    truncate(endName(r.remote) + (r.serverPort ? `:${r.serverPort}` : ''), nameWidth),
    humanBytes(r.bytes),
    String(r.retransmits),
    String(r.rtos),
    humanRtt(r.rttUs),
  ]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const right = new Set([3, 4, 5, 6].map((i) => i + (lead ? 1 : 0)));
  const line = (row: string[]): string =>
    row
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)].join('\n') + '\n';
}
