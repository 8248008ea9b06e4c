/**
 * A list + watch of one resource through @kubernetes/client-node's ListWatch (its real informer), with a field
 * selector and automatic recovery: the client re-lists by itself after a 410 Gone and resumes after a clean
 * close; after an error (dropped connection, API down) we restart it with a capped backoff.
 */
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';

export interface WatchHandlers<T> {
  upsert(obj: T): void;
  remove(obj: T): void;
}

export interface ResourceWatch {
  /** Resolves after the first successful list (or when stopped). */
  synced: Promise<void>;
  isSynced(): boolean;
  /** Successful lists so far (the first one plus every re-list). */
  lists(): number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function watchResource<T extends KubernetesObject>(opts: {
  kubeConfig: KubeConfig;
  path: string;
  list: (fieldSelector: string | undefined) => Promise<KubernetesListObject<T>>;
  fieldSelector?: string;
  handlers: WatchHandlers<T>;
  log: (msg: string) => void;
  backoffMs?: { min: number; max: number };
}): ResourceWatch {
  const { min, max } = opts.backoffMs ?? { min: 500, max: 30_000 };
  let lists = 0;
  let markSynced!: () => void;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  let stopped = false;
  let delay = min;
  let retry: NodeJS.Timeout | undefined;
  const informer = new ListWatch<T>(
    opts.path,
    new Watch(opts.kubeConfig),
    async () => {
      const list = await opts.list(opts.fieldSelector);
      lists++;
      delay = min;
      markSynced();
      return list;
    },
    false,
    undefined,
    opts.fieldSelector
  );
  informer.on('add', (o) => opts.handlers.upsert(o));
  informer.on('update', (o) => opts.handlers.upsert(o));
  informer.on('delete', (o) => opts.handlers.remove(o));
  informer.on('connect', () => {
    if (lists > 0) {
      delay = min;
    }
  });
  informer.on('error', (err: unknown) => {
    if (stopped) {
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    opts.log(`kubernetes watch ${opts.path}: ${message}; retrying in ${delay} ms`);
    clearTimeout(retry);
    retry = setTimeout(() => {
      if (!stopped) {
        void informer.start();
      }
    }, delay);
    retry.unref();
    delay = Math.min(max, delay * 2);
  });
  return {
    synced,
    isSynced: () => lists > 0,
    lists: () => lists,
    start: async () => {
      stopped = false;
      await informer.start();
    },
    stop: async () => {
      stopped = true;
      clearTimeout(retry);
      markSynced();
      await informer.stop();
    },
  };
}
