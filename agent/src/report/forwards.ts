/**
 * Report `forwards` (contract 1.2), pure: the connections this node translated, summed per (client, via, backend,
 * SNAT address) over a report window, then only those forwarded through this node — client and backend both
 * elsewhere (a NodePort with externalTrafficPolicy Cluster whose backend runs on another node). A connection with a
 * local end needs no entry: that end's flow record already carries the translation (`via`).
 */
import type { KernelForward } from '../bpf/protocol.js';
import { MAX_FORWARDS_PER_REPORT, type Forward } from '../contracts/report.js';
import { compareText } from '../compare.js';

export function forwardKey(f: Omit<KernelForward, 'connections'>): string {
  return `${f.clientIp}|${f.via.ip}|${f.via.port}|${f.backendIp}|${f.backendPort}|${f.snatIp ?? '-'}`;
}

/** Sums ticks' forwards into one report window. */
export class ForwardWindow {
  private sums = new Map<string, Forward>();

  add(forwards: readonly KernelForward[]): void {
    for (const f of forwards) {
      if (f.connections <= 0) {
        continue;
      }
      const k = forwardKey(f);
      const had = this.sums.get(k);
      if (had) {
        had.connections += f.connections;
      } else {
        this.sums.set(k, {
          clientIp: f.clientIp,
          via: { ip: f.via.ip, port: f.via.port },
          backendIp: f.backendIp,
          backendPort: f.backendPort,
          snatIp: f.snatIp,
          connections: f.connections,
        });
      }
    }
  }

  get size(): number {
    return this.sums.size;
  }

  /** The window's sums; the window starts empty again. */
  take(): Forward[] {
    const out = [...this.sums.values()];
    this.sums = new Map();
    return out;
  }
}

/**
 * The entries a report carries: connections forwarded through this node (neither the client nor the backend is a
 * local address or a pod of this node), at most `max` of them, most connections first (ties in key order, so the
 * same window always gives the same report).
 */
export function forwardedThrough(
  forwards: readonly Forward[],
  isLocal: (ip: string) => boolean,
  max = MAX_FORWARDS_PER_REPORT
): Forward[] {
  return forwards
    .filter((f) => !isLocal(f.clientIp) && !isLocal(f.backendIp))
    .sort((a, b) => b.connections - a.connections || compareText(forwardKey(a), forwardKey(b)))
    .slice(0, max);
}
