/**
 * A list + watch of one resource (the reflector every Kubernetes client runs), with a field selector:
 *  - list, then watch from the list's resourceVersion (with bookmarks, so a quiet watch still advances it);
 *  - the server ends a watch (its timeout): watch again from the last resourceVersion seen;
 *  - 410 Gone (history compacted): list again, and remove what the new list no longer has;
 *  - a dropped connection or an API that is down: retry with a capped backoff, from the last resourceVersion.
 */
import { ApiError, type KubeApi, type WatchHandle } from './api.js';

/** What identifies an object: all a removal needs (the informer keeps only this of each object it has seen). */
export interface ObjectRef {
  metadata?: { name?: string; namespace?: string; uid?: string };
}

export interface WatchHandlers<T> {
  upsert(obj: T): void;
  remove(obj: ObjectRef): void;
}

export interface ResourceWatch {
  /** Resolves once the first list is in and its watch is open (or failed to open), or when stopped. */
  synced: Promise<void>;
  isSynced(): boolean;
  /** Successful lists so far (the first one plus every re-list). */
  lists(): number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

interface Meta {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

interface List<T> {
  metadata?: { resourceVersion?: string };
  items: T[];
}

/** The server asked for a fresh list (410 Gone / Expired). */
class Expired extends Error {}

const keyOf = (o: Meta) => o.metadata?.uid ?? `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export function watchResource<T extends Meta>(opts: {
  api: KubeApi;
  path: string;
  fieldSelector?: string;
  handlers: WatchHandlers<T>;
  log: (msg: string) => void;
  backoffMs?: { min: number; max: number };
}): ResourceWatch {
  const { min, max } = opts.backoffMs ?? { min: 500, max: 30_000 };
  const known = new Map<string, ObjectRef>();
  const ref = (o: Meta): ObjectRef => ({
    metadata: { name: o.metadata?.name, namespace: o.metadata?.namespace, uid: o.metadata?.uid },
  });
  let lists = 0;
  let markSynced!: () => void;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  let stopped = true;
  let resourceVersion: string | undefined;
  let current: WatchHandle | undefined;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  const list = async () => {
    const l = await opts.api.get<List<T>>(opts.path, { fieldSelector: opts.fieldSelector });
    const seen = new Set<string>();
    for (const item of l.items ?? []) {
      const k = keyOf(item);
      seen.add(k);
      known.set(k, ref(item));
      opts.handlers.upsert(item);
    }
    for (const [k, item] of known) {
      if (!seen.has(k)) {
        known.delete(k);
        opts.handlers.remove(item);
      }
    }
    resourceVersion = l.metadata?.resourceVersion;
    lists++;
  };

  const onEvent = (e: { type: string; object: T }) => {
    if (e.type === 'ERROR') {
      const status = e.object as { code?: number; message?: string };
      throw status.code === 410 ? new Expired(status.message) : new ApiError(status.code ?? 0, String(status.message));
    }
    const rv = e.object.metadata?.resourceVersion;
    if (rv) {
      resourceVersion = rv;
    }
    if (e.type === 'BOOKMARK') {
      return;
    }
    const k = keyOf(e.object);
    if (e.type === 'DELETED') {
      known.delete(k);
      opts.handlers.remove(e.object);
    } else {
      known.set(k, ref(e.object));
      opts.handlers.upsert(e.object);
    }
  };

  const watchOnce = async () => {
    let failure: unknown;
    // the server closes a watch after timeoutSeconds; a few minutes, spread so many agents do not re-watch at once
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    current = await opts.api.watch<T>(
      opts.path,
      {
        fieldSelector: opts.fieldSelector,
        resourceVersion,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(timeoutSeconds),
      },
      (e) => {
        try {
          onEvent(e);
        } catch (err) {
          failure = err;
          current?.abort();
        }
      },
      (timeoutSeconds + 60) * 1000
    );
    if (stopped) {
      current.abort(); // stop() came while the watch was opening
    }
    markSynced(); // listed, and the watch for what changes next is open
    await current.done;
    if (failure) {
      throw failure;
    }
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  const run = async () => {
    let delay = min;
    let needList = true;
    while (!stopped) {
      try {
        if (needList) {
          await list();
          needList = false;
        }
        await watchOnce();
        delay = min; // a watch that ended cleanly was healthy
      } catch (err) {
        if (stopped) {
          break;
        }
        if (lists > 0) {
          markSynced();
        }
        if (err instanceof Expired || (err instanceof ApiError && err.code === 410)) {
          needList = true; // re-list at once: the watch cannot resume from where it was
          continue;
        }
        const message = err instanceof Error ? err.message : String(err);
        opts.log(`kubernetes watch ${opts.path}: ${message}; retrying in ${delay} ms`);
        await sleep(delay);
        delay = Math.min(max, delay * 2);
      }
    }
  };

  return {
    synced,
    isSynced: () => lists > 0,
    lists: () => lists,
    start: async () => {
      if (!stopped) {
        return;
      }
      stopped = false;
      loop = run();
    },
    stop: async () => {
      stopped = true;
      wake?.();
      current?.abort();
      markSynced();
      await loop;
    },
  };
}
