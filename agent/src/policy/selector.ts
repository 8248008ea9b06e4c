/** Kubernetes label selectors (metav1.LabelSelector) and CIDR membership, as NetworkPolicy peers use them. */
import { isIP } from 'node:net';
import { ipv4ToNumber, ipv6ToBigInt, unmapIpv4 } from '../classify/ip-ranges.js';
import type { LabelSelector } from '../contracts/metadata.js';

/**
 * True when `labels` satisfy the selector: every matchLabels pair AND every matchExpression (In: the key has
 * one of the values; NotIn: the key is absent or has none of them; Exists; DoesNotExist). An empty selector
 * matches everything.
 */
export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (labels[k] !== v) {
      return false;
    }
  }
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(value!)) {
          return false;
        }
        break;
      case 'NotIn':
        if (has && values.includes(value!)) {
          return false;
        }
        break;
      case 'Exists':
        if (!has) {
          return false;
        }
        break;
      case 'DoesNotExist':
        if (has) {
          return false;
        }
        break;
    }
  }
  return true;
}

function parse(ip: string): { v: 4; n: bigint } | { v: 6; n: bigint } | null {
  const v4 = isIP(ip) === 4 ? ip : unmapIpv4(ip);
  if (v4 !== null) {
    return { v: 4, n: BigInt(ipv4ToNumber(v4)) };
  }
  return isIP(ip) === 6 ? { v: 6, n: ipv6ToBigInt(ip) } : null;
}

/** True when `ip` is inside `cidr` (IPv4 or IPv6; an IPv4-mapped IPv6 address counts as its IPv4 address). */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, lenText] = cidr.split('/');
  const net = parse(base ?? '');
  const addr = parse(ip);
  if (!net || !addr || net.v !== addr.v) {
    return false;
  }
  const bits = net.v === 4 ? 32n : 128n;
  const len = BigInt(lenText ?? String(bits));
  const shift = bits - len;
  return net.n >> shift === addr.n >> shift;
}

/** `ip` as a one-address ipBlock CIDR: /32 for IPv4, /128 for IPv6. */
export function hostCidr(ip: string): string {
  const v4 = isIP(ip) === 4 ? ip : unmapIpv4(ip);
  return v4 !== null ? `${v4}/32` : `${ip}/128`;
}
