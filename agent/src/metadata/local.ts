/**
 * The node agent's metadata: Kubernetes (in-cluster service account, or KUBECONFIG), else the Docker API (DOCKER_HOST
 * or /var/run/docker.sock), else a static metadata file (FLOWLENS_METADATA_FILE), else none (IPs only).
 * FLOWLENS_METADATA=kubernetes|docker|file|none forces one.
 */
import { existsSync } from 'node:fs';
import type { KubeConnection } from '../kube/connection.js';
import type { MetadataProvider } from '../contracts/metadata.js';
import { noMetadata } from './none.js';
import { loadMetadataFile } from './static-file.js';

export type MetadataSource = 'kubernetes' | 'docker' | 'file' | 'none';
const SOURCES: MetadataSource[] = ['kubernetes', 'docker', 'file', 'none'];

/** Which source the environment points at (pure, so it can be tested). */
export function chooseMetadataSource(env: NodeJS.ProcessEnv, dockerSocketExists: boolean): MetadataSource {
  const forced = env.FLOWLENS_METADATA?.trim();
  if (forced) {
    if (!SOURCES.includes(forced as MetadataSource)) {
      throw new Error(`FLOWLENS_METADATA must be one of ${SOURCES.join(', ')}, got '${forced}'`);
    }
    return forced as MetadataSource;
  }
  if (env.KUBERNETES_SERVICE_HOST || env.KUBECONFIG) {
    return 'kubernetes';
  }
  if (env.DOCKER_HOST || dockerSocketExists) {
    return 'docker';
  }
  if (env.FLOWLENS_METADATA_FILE) {
    return 'file';
  }
  return 'none';
}

// The Kubernetes and Docker code is imported only when chosen. The agent never loads @kubernetes/client-node
// whole (~70 MB of resident memory): NodeKubeConfig uses only its kubeconfig and credential modules
// (src/kube/connection.ts; docs/dependencies.md, bench:agent).
async function kubeConfigFrom(env: NodeJS.ProcessEnv): Promise<KubeConnection> {
  const { NodeKubeConfig } = await import('../kube/connection.js');
  if (env.KUBERNETES_SERVICE_HOST) {
    return NodeKubeConfig.fromCluster(env);
  }
  const file = env.KUBECONFIG?.split(':').find((p) => p !== '');
  if (!file) {
    throw new Error('KUBECONFIG is empty and the agent is not running in a cluster');
  }
  return await NodeKubeConfig.fromFile(file);
}

export async function createLocalMetadata(opts: {
  nodeName: string;
  env: NodeJS.ProcessEnv;
  log: (msg: string) => void;
}): Promise<MetadataProvider> {
  const source = chooseMetadataSource(opts.env, existsSync('/var/run/docker.sock'));
  switch (source) {
    case 'kubernetes': {
      opts.log(`metadata: Kubernetes pods on node ${opts.nodeName}`);
      const { KubernetesMetadata } = await import('../kube/provider.js');
      return new KubernetesMetadata({
        kubeConfig: await kubeConfigFrom(opts.env),
        nodeName: opts.nodeName,
        log: opts.log,
      });
    }
    case 'docker': {
      opts.log(`metadata: Docker containers (${opts.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'})`);
      const { DockerMetadata } = await import('./docker.js');
      return new DockerMetadata({ nodeName: opts.nodeName, dockerHost: opts.env.DOCKER_HOST, log: opts.log });
    }
    case 'file': {
      const path = opts.env.FLOWLENS_METADATA_FILE;
      if (!path) {
        throw new Error('FLOWLENS_METADATA=file needs FLOWLENS_METADATA_FILE');
      }
      opts.log(`metadata: static file ${path}`);
      return loadMetadataFile(path);
    }
    case 'none':
      opts.log('metadata: none (flows carry IPs only)');
      return noMetadata();
  }
}
