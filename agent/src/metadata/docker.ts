/**
 * Docker metadata (a Docker host without Kubernetes): lists containers through the Docker API (dockerode) and
 * re-lists on every container or network event, plus a periodic re-list in case the event stream broke.
 */
import Docker from 'dockerode';
import type { MetadataProvider, NodeInfo, PodInfo, ServiceInfo } from '../contracts/metadata.js';
import { containerInfos, dockerConnection } from './docker-objects.js';
import { MetadataStore } from './store.js';

export interface DockerMetadataOptions {
  nodeName: string;
  dockerHost?: string;
  log: (msg: string) => void;
  resyncMs?: number;
}

export class DockerMetadata implements MetadataProvider {
  readonly store = new MetadataStore();
  private readonly docker: Docker;
  private timer: NodeJS.Timeout | undefined;
  private events: NodeJS.ReadableStream | undefined;
  private stopped = false;
  private refreshing: Promise<void> | undefined;
  private again = false;
  refreshes = 0;

  constructor(private readonly opts: DockerMetadataOptions) {
    this.docker = new Docker(dockerConnection(opts.dockerHost));
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

  private async follow(): Promise<void> {
    if (this.stopped) {
      return;
    }
    try {
      const stream = (await this.docker.getEvents({
        filters: { type: ['container', 'network'] },
      })) as NodeJS.ReadableStream;
      this.events = stream;
      stream.on('data', () => void this.refresh().catch((err: Error) => this.opts.log(`docker list: ${err.message}`)));
      stream.on('error', () => undefined);
      stream.on('close', () => {
        if (!this.stopped) {
          setTimeout(() => void this.follow(), 1000).unref();
        }
      });
      // Anything that happened while (re)connecting.
      await this.refresh();
    } catch (err) {
      this.opts.log(`docker events: ${err instanceof Error ? err.message : String(err)}`);
      if (!this.stopped) {
        setTimeout(() => void this.follow(), 5000).unref();
      }
    }
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.refresh();
    void this.follow();
    this.timer = setInterval(
      () => void this.refresh().catch((err: Error) => this.opts.log(`docker list: ${err.message}`)),
      this.opts.resyncMs ?? 30_000
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    (this.events as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    await this.refreshing?.catch(() => undefined);
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
