/** `conntrack -L` output (conntrack-tools), parsed into original and reply tuples (pure). */
export interface CtTuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

export interface CtEntry {
  orig: CtTuple;
  reply: CtTuple;
}

/** Parses the TCP and UDP lines of `conntrack -L`; other lines are skipped. */
export function parseConntrack(text: string): CtEntry[] {
  const entries: CtEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = [...line.matchAll(/\b(src|dst|sport|dport)=(\S+)/g)].map((m) => [m[1]!, m[2]!] as const);
    if (fields.length < 8) {
      continue;
    }
    const tuple = (at: number): CtTuple => {
      const get = (key: string) => fields.slice(at, at + 4).find(([k]) => k === key)?.[1] ?? '';
      return { src: get('src'), dst: get('dst'), sport: Number(get('sport')), dport: Number(get('dport')) };
    };
    entries.push({ orig: tuple(0), reply: tuple(4) });
  }
  return entries;
}

/** Whether the node that owns `entries` translated the destination (DNAT) of this entry. */
export function isDnat(e: CtEntry): boolean {
  return e.reply.src !== e.orig.dst || e.reply.sport !== e.orig.dport;
}
