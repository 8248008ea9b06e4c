/**
 * Looks up the ReplicaSets and Jobs that own pods (one GET each, cached), so workload resolution can walk to the
 * Deployment or CronJob. Bounded: at most `maxEntries` owners are remembered; misses and API errors are retried
 * after `retryMs`.
 */
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { controllerOf } from './objects.js';
import type { OwnerLookup } from './workload.js';

export type OwnerKind = 'ReplicaSet' | 'Job';
/** Fetches an owner's metadata; resolves null when the API says 404, throws on other errors. */
export type FetchOwner = (kind: OwnerKind, namespace: string, name: string) => Promise<V1ObjectMeta | null>;

type Entry =
  | { found: true; controller: V1OwnerReference | null; at: number }
  | { found: false; at: number }
  | { found: 'error'; at: number };

export class OwnerCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(
    private readonly fetchOwner: FetchOwner,
    private readonly opts: { maxEntries?: number; retryMs?: number; now?: () => number; log?: (m: string) => void } = {}
  ) {}

  private key(kind: string, ns: string, name: string): string {
    return `${kind}/${ns}/${name}`;
  }

  /** Synchronous view for resolveWorkload: only what has been fetched. */
  readonly lookup: OwnerLookup = (kind, ns, name) => {
    const e = this.entries.get(this.key(kind, ns, name));
    if (!e || e.found === 'error') {
      return undefined;
    }
    return e.found ? { found: true, controller: e.controller } : { found: false };
  };

  /** Makes sure the owner is in the cache (fetching at most once at a time per owner). */
  async ensure(kind: OwnerKind, ns: string, name: string): Promise<void> {
    const key = this.key(kind, ns, name);
    const now = (this.opts.now ?? Date.now)();
    const e = this.entries.get(key);
    if (e && (e.found === true || now - e.at < (this.opts.retryMs ?? 30_000))) {
      return;
    }
    const running = this.inflight.get(key);
    if (running) {
      return running;
    }
    const p = this.fetchOwner(kind, ns, name)
      .then(
        (meta) =>
          this.put(
            key,
            meta ? { found: true, controller: controllerOf(meta) ?? null, at: now } : { found: false, at: now }
          ),
        (err: unknown) => {
          if (!e) {
            this.opts.log?.(`cannot read ${kind} ${ns}/${name}: ${err instanceof Error ? err.message : String(err)}`);
          }
          this.put(key, { found: 'error', at: now });
        }
      )
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private put(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    const max = this.opts.maxEntries ?? 10_000;
    while (this.entries.size > max) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
