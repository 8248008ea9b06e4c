/**
 * Docker metadata (a Docker host without Kubernetes): lists containers through the Docker API (dockerode) and
 * re-lists on every container or network event, plus a periodic re-list in case an event was missed.
 *
 * The engine may be down when the agent starts, or go away later (dockerd restart): start() never fails for
 * that. It logs once that flows carry IPs only for now, and reconnects (event stream + re-list) with an
 * exponential backoff (0.5 s to 30 s); the last known containers stay until a list succeeds again.
 */
import Docker from 'dockerode';
import type { MetadataProvider, NodeInfo, PodInfo, ServiceInfo } from '../contracts/metadata.js';
import { backoffDelay } from '../reporter/backoff.js';
import { containerInfos, dockerConnection } from './docker-objects.js';
import { MetadataStore } from './store.js';

export interface DockerMetadataOptions {
  nodeName: string;
  dockerHost?: string;
  log: (msg: string) => void;
  resyncMs?: number;
  /** Reconnect backoff; 500 ms doubling up to 30 s unless given. */
  backoffMs?: { min: number; max: number };
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class DockerMetadata implements MetadataProvider {
  readonly store = new MetadataStore();
  private readonly docker: Docker;
  private readonly where: string;
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private events: NodeJS.ReadableStream | undefined;
  private stopped = false;
  private connected = false;
  private attempt = 0;
  private refreshing: Promise<void> | undefined;
  private again = false;
  refreshes = 0;

  constructor(private readonly opts: DockerMetadataOptions) {
    this.docker = new Docker(dockerConnection(opts.dockerHost));
    this.where = opts.dockerHost ?? 'unix:///var/run/docker.sock';
  }

  /** Re-lists the containers; calls arriving during a refresh coalesce into one more. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        await this.listOnce();
      } while (this.again && !this.stopped);
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async listOnce(): Promise<void> {
    const containers = await this.docker.listContainers();
    const seen = new Set<string>();
    for (const c of containers) {
      seen.add(c.Id);
      this.store.setPod(c.Id, containerInfos(c, this.opts.nodeName));
    }
    for (const id of this.store.podIds()) {
      if (!seen.has(id)) {
        this.store.removePod(id);
      }
    }
    this.refreshes++;
  }

  /** The engine did not answer: say so once per outage, then try again later. */
  private lost(err: unknown): void {
    if (this.connected || this.attempt === 0) {
      this.opts.log(
        `metadata: Docker engine at ${this.where} unreachable (${message(err)}); ` +
          'flows carry IPs only until it answers, retrying with backoff'
      );
    }
    this.connected = false;
    this.scheduleFollow();
  }

  private scheduleFollow(): void {
    if (this.stopped || this.retry) {
      return;
    }
    const { min, max } = this.opts.backoffMs ?? { min: 500, max: 30_000 };
    this.retry = setTimeout(
      () => {
        this.retry = undefined;
        void this.follow();
      },
      backoffDelay(this.attempt++, min, max)
    );
    this.retry.unref();
  }

  /** Opens the event stream, then re-lists (to catch anything that happened while it was closed). */
  private async follow(): Promise<void> {
    if (this.stopped) {
      return;
    }
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.docker.getEvents({
        filters: { type: ['container', 'network'] },
      })) as NodeJS.ReadableStream;
    } catch (err) {
      this.lost(err);
      return;
    }
    if (this.stopped) {
      (stream as unknown as { destroy: () => void }).destroy();
      return;
    }
    const previous = this.events;
    this.events = stream;
    (previous as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    stream.on('data', () => void this.refresh().catch((err: unknown) => this.lost(err)));
    stream.on('error', () => undefined);
    stream.on('close', () => {
      // Only the current stream's end matters (a replaced one was closed on purpose).
      if (this.events !== stream) {
        return;
      }
      this.events = undefined;
      if (!this.stopped) {
        this.lost(new Error('event stream closed'));
      }
    });
    try {
      await this.refresh();
    } catch (err) {
      (stream as unknown as { destroy: () => void }).destroy();
      this.lost(err);
      return;
    }
    if (!this.connected) {
      this.opts.log(
        `metadata: Docker engine at ${this.where} answers: ${this.store.size().pods} containers with an IP`
      );
    }
    this.connected = true;
    this.attempt = 0;
  }

  /** Resolves once the first list is in, or the engine was found unreachable (then IPs only, retrying). */
  async start(): Promise<void> {
    this.stopped = false;
    this.attempt = 0;
    await this.follow();
    this.timer = setInterval(() => {
      if (this.connected) {
        void this.refresh().catch((err: unknown) => this.lost(err));
      }
    }, this.opts.resyncMs ?? 30_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.retry);
    this.retry = undefined;
    (this.events as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    await this.refreshing?.catch(() => undefined);
  }

  /** True while the event stream is open and the last list succeeded. */
  get isConnected(): boolean {
    return this.connected;
  }

  podByIp(ip: string): PodInfo | undefined {
    return this.store.podByIp(ip);
  }

  nodeByName(name: string): NodeInfo | undefined {
    return name === this.opts.nodeName ? { name, zone: null } : undefined;
  }

  nodeByIp(): NodeInfo | undefined {
    return undefined;
  }

  serviceByIp(): ServiceInfo | undefined {
    return undefined;
  }
}
