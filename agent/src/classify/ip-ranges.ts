/**
 * Longest-prefix match over AWS's ip-ranges.json format: which AWS service owns an address.
 * The file lists the same address space several times (AMAZON is the superset of every service,
 * EC2 and S3 overlap it); the most specific prefix wins, and on an equal prefix a named service
 * beats the AMAZON superset.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';

const ipRangesFileSchema = z.object({
  syncToken: z.string().optional(),
  createDate: z.string().optional(),
  prefixes: z
    .array(
      z.object({
        ip_prefix: z.string(),
        region: z.string().optional(),
        service: z.string(),
        network_border_group: z.string().optional(),
      })
    )
    .default([]),
  ipv6_prefixes: z
    .array(
      z.object({
        ipv6_prefix: z.string(),
        region: z.string().optional(),
        service: z.string(),
        network_border_group: z.string().optional(),
      })
    )
    .default([]),
});
export type IpRangesFile = z.input<typeof ipRangesFileSchema>;

export interface IpRangeMatch {
  service: string;
  region: string | null;
  prefix: string;
}

/** Parses a dotted IPv4 address into an unsigned 32-bit number. */
export function ipv4ToNumber(ip: string): number {
  const parts = ip.split('.');
  let n = 0;
  for (const p of parts) {
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

/** Expands an IPv6 address (with ::, optionally an embedded IPv4 tail) into a 128-bit bigint. */
export function ipv6ToBigInt(ip: string): bigint {
  let text = ip.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) {
    text = text.slice(0, zone);
  }
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToNumber(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const headParts = head === '' ? [] : head.split(':');
  const restParts = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? 0 : 8 - headParts.length - restParts.length;
  const groups = [...headParts, ...new Array<string>(fill).fill('0'), ...restParts];
  let n = 0n;
  for (const g of groups) {
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it carries, else null. */
export function unmapIpv4(ip: string): string | null {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : null;
}

interface Entry {
  service: string;
  region: string | null;
  prefix: string;
}

/**
 * The entry for a prefix listed twice: a named service beats the AMAZON superset; otherwise the later
 * entry (an override file's) wins.
 */
function better(a: Entry | undefined, b: Entry): Entry {
  if (a && b.service === 'AMAZON' && a.service !== 'AMAZON') {
    return a;
  }
  return b;
}

export class IpRanges {
  private readonly v4 = new Map<number, Map<number, Entry>>();
  private readonly v6 = new Map<number, Map<bigint, Entry>>();
  private v4Lengths: number[] = [];
  private v6Lengths: number[] = [];
  private readonly cache = new Map<string, IpRangeMatch | null>();
  private static readonly CACHE_MAX = 100_000;

  /** Number of prefixes loaded (IPv4 + IPv6). */
  size = 0;

  /** Adds every prefix of an ip-ranges.json document; throws naming the first bad entry. */
  add(doc: unknown, source = 'ip-ranges'): this {
    const parsed = ipRangesFileSchema.safeParse(doc);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    parsed.data.prefixes.forEach((p, i) => {
      const [addr, lenText] = p.ip_prefix.split('/');
      const len = Number(lenText);
      if (!addr || !isIPv4(addr) || !Number.isInteger(len) || len < 0 || len > 32) {
        throw new Error(`${source}: prefixes.${i}.ip_prefix: not an IPv4 prefix: ${p.ip_prefix}`);
      }
      const key = len === 0 ? 0 : (ipv4ToNumber(addr) & (~0 << (32 - len))) >>> 0;
      let byLen = this.v4.get(len);
      if (!byLen) {
        this.v4.set(len, (byLen = new Map()));
      }
      byLen.set(key, better(byLen.get(key), { service: p.service, region: p.region ?? null, prefix: p.ip_prefix }));
      this.size++;
    });
    parsed.data.ipv6_prefixes.forEach((p, i) => {
      const [addr, lenText] = p.ipv6_prefix.split('/');
      const len = Number(lenText);
      if (!addr || !isIPv6(addr) || !Number.isInteger(len) || len < 0 || len > 128) {
        throw new Error(`${source}: ipv6_prefixes.${i}.ipv6_prefix: not an IPv6 prefix: ${p.ipv6_prefix}`);
      }
      const key = maskV6(ipv6ToBigInt(addr), len);
      let byLen = this.v6.get(len);
      if (!byLen) {
        this.v6.set(len, (byLen = new Map()));
      }
      byLen.set(key, better(byLen.get(key), { service: p.service, region: p.region ?? null, prefix: p.ipv6_prefix }));
      this.size++;
    });
    this.v4Lengths = [...this.v4.keys()].sort((a, b) => b - a);
    this.v6Lengths = [...this.v6.keys()].sort((a, b) => b - a);
    this.cache.clear();
    return this;
  }

  /** The most specific prefix containing `ip`, or null. */
  lookup(ip: string): IpRangeMatch | null {
    const hit = this.cache.get(ip);
    if (hit !== undefined) {
      return hit;
    }
    const result = this.lookupUncached(ip);
    if (this.cache.size >= IpRanges.CACHE_MAX) {
      this.cache.clear();
    }
    this.cache.set(ip, result);
    return result;
  }

  private lookupUncached(ip: string): IpRangeMatch | null {
    const v4 = isIPv4(ip) ? ip : unmapIpv4(ip);
    if (v4 !== null) {
      const n = ipv4ToNumber(v4);
      for (const len of this.v4Lengths) {
        const key = len === 0 ? 0 : (n & (~0 << (32 - len))) >>> 0;
        const e = this.v4.get(len)!.get(key);
        if (e) {
          return { ...e };
        }
      }
      return null;
    }
    if (!isIPv6(ip)) {
      return null;
    }
    const n = ipv6ToBigInt(ip);
    for (const len of this.v6Lengths) {
      const e = this.v6.get(len)!.get(maskV6(n, len));
      if (e) {
        return { ...e };
      }
    }
    return null;
  }
}

function maskV6(n: bigint, len: number): bigint {
  if (len === 0) {
    return 0n;
  }
  const mask = ((1n << BigInt(len)) - 1n) << BigInt(128 - len);
  return n & mask;
}
