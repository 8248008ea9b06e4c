/** Pure mapping from the Docker engine's container list to PodInfo: container IP → container name, compose labels. */
import type { ContainerInfo } from 'dockerode';
import type { PodInfo } from '../contracts/metadata.js';

export const COMPOSE_PROJECT = 'com.docker.compose.project';
export const COMPOSE_SERVICE = 'com.docker.compose.service';
/** Namespace of containers that are not part of a compose project. */
export const STANDALONE_NAMESPACE = 'docker';

export function containerInfos(c: ContainerInfo, node: string): PodInfo[] {
  const name = (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, '');
  const labels = c.Labels ?? {};
  const ips = new Set<string>();
  for (const net of Object.values(c.NetworkSettings?.Networks ?? {})) {
    if (net.IPAddress) {
      ips.add(net.IPAddress);
    }
    if (net.GlobalIPv6Address) {
      ips.add(net.GlobalIPv6Address);
    }
  }
  return [...ips].map((ip) => ({
    ip,
    name,
    namespace: labels[COMPOSE_PROJECT] ?? STANDALONE_NAMESPACE,
    workload: labels[COMPOSE_SERVICE] ?? name,
    kind: 'Container',
    node,
  }));
}

/** Where the Docker API is, from DOCKER_HOST (unix:// or tcp://) or the default socket. */
export function dockerConnection(
  dockerHost: string | undefined
): { socketPath: string } | { host: string; port: number } {
  if (!dockerHost) {
    return { socketPath: '/var/run/docker.sock' };
  }
  if (dockerHost.startsWith('unix://')) {
    return { socketPath: dockerHost.slice('unix://'.length) };
  }
  const m = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(dockerHost);
  if (m) {
    return { host: m[1]!, port: Number(m[2]) };
  }
  throw new Error(`DOCKER_HOST must be unix:///path or tcp://host:port, got '${dockerHost}'`);
}
