/**
 * The in-memory index behind every live metadata provider (Kubernetes watch, Docker): who owns an IP.
 * Providers call the upsert/remove methods as objects come and go; enrichment code only sees MetadataView.
 * Objects are keyed by a stable id (the Kubernetes uid, the Docker container id), so a re-used IP never
 * loses its new owner when the old one is deleted late.
 */
import type { MetadataView, NodeInfo, PodInfo, ServiceInfo } from '../contracts/metadata.js';

interface Owned<T> {
  id: string;
  items: T[];
}

/** One id owns a set of entries keyed by IP; the last writer of an IP wins, and only the owner removes it. */
class IpIndex<T extends { ip: string }> {
  private readonly byId = new Map<string, Owned<T>>();
  private readonly byIp = new Map<string, { id: string; item: T }>();

  set(id: string, items: T[]): void {
    this.remove(id);
    if (items.length === 0) {
      return;
    }
    this.byId.set(id, { id, items });
    for (const item of items) {
      this.byIp.set(item.ip, { id, item });
    }
  }

  remove(id: string): void {
    const old = this.byId.get(id);
    if (!old) {
      return;
    }
    this.byId.delete(id);
    for (const item of old.items) {
      if (this.byIp.get(item.ip)?.id === id) {
        this.byIp.delete(item.ip);
        // Another owner that still lists this IP (e.g. a pod that was shadowed) takes it back.
        for (const other of this.byId.values()) {
          const again = other.items.find((i) => i.ip === item.ip);
          if (again) {
            this.byIp.set(item.ip, { id: other.id, item: again });
            break;
          }
        }
      }
    }
  }

  get(ip: string): T | undefined {
    return this.byIp.get(ip)?.item;
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  find(match: (item: T) => boolean): T | undefined {
    for (const owned of this.byId.values()) {
      const hit = owned.items.find(match);
      if (hit) {
        return hit;
      }
    }
    return undefined;
  }

  items(): T[] {
    return [...this.byId.values()].flatMap((o) => o.items);
  }

  get ipCount(): number {
    return this.byIp.size;
  }
}

export class MetadataStore implements MetadataView {
  private readonly pods = new IpIndex<PodInfo>();
  private readonly services = new IpIndex<ServiceInfo>();
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly nodeIps = new Map<string, string>();

  /** Replaces everything `id` owned by `pods` (one entry per IP; an empty list removes the owner). */
  setPod(id: string, pods: PodInfo[]): void {
    this.pods.set(id, pods);
  }

  removePod(id: string): void {
    this.pods.remove(id);
  }

  podIds(): string[] {
    return this.pods.ids();
  }

  /** Every pod entry (one per IP), for network-policy selectors. */
  allPods(): PodInfo[] {
    return this.pods.items();
  }

  setService(id: string, services: ServiceInfo[]): void {
    this.services.set(id, services);
  }

  removeService(id: string): void {
    this.services.remove(id);
  }

  setNode(node: NodeInfo): void {
    this.removeNode(node.name);
    this.nodes.set(node.name, node);
    for (const ip of node.addresses ?? []) {
      this.nodeIps.set(ip, node.name);
    }
  }

  removeNode(name: string): void {
    const old = this.nodes.get(name);
    if (!old) {
      return;
    }
    this.nodes.delete(name);
    for (const ip of old.addresses ?? []) {
      if (this.nodeIps.get(ip) === name) {
        this.nodeIps.delete(ip);
      }
    }
  }

  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  podByIp(ip: string): PodInfo | undefined {
    return this.pods.get(ip);
  }

  nodeByName(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  nodeByIp(ip: string): NodeInfo | undefined {
    const name = this.nodeIps.get(ip);
    return name === undefined ? undefined : this.nodes.get(name);
  }

  serviceByIp(ip: string): ServiceInfo | undefined {
    return this.services.get(ip);
  }

  /** A scan over the Services (a hub looks a Service address up once per 30 s cache period). */
  serviceByNodePort(port: number): ServiceInfo | undefined {
    return this.services.find((s) => s.nodePorts?.includes(port) === true);
  }

  /** Sizes, so tests and self-metrics can tell nothing leaks. */
  size(): { pods: number; podIps: number; services: number; nodes: number } {
    return {
      pods: this.pods.ids().length,
      podIps: this.pods.ipCount,
      services: this.services.ids().length,
      nodes: this.nodes.size,
    };
  }
}
