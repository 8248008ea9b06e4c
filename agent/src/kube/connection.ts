/**
 * How the node agent reaches the Kubernetes API, without loading @kubernetes/client-node whole.
 *
 * `import '@kubernetes/client-node'` (or its KubeConfig alone, whose module imports the generated API) adds
 * ~70 MB of resident memory: every generated model and API class, node-fetch, openid-client, proxy agents.
 * The agent needs one node-scoped pod list + watch and a few owner GETs, so it uses the library's small
 * modules directly — kubeconfig parsing (config_types.js), service-account token files (file_auth.js) and
 * exec credential plugins (exec_auth.js) — with the same semantics as KubeConfig.applyToHTTPSOptions, and
 * plain node:https for the requests (api.ts). The hub keeps the full client (docs/dependencies.md).
 *
 * `KubeConnection` is the shape both satisfy: client-node's KubeConfig (the hub, the tests) and `NodeKubeConfig`.
 */
import { readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { isIPv6 } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import {
  newClusters,
  newContexts,
  newUsers,
  type Cluster,
  type Context,
  type User,
} from '@kubernetes/client-node/dist/config_types.js';
import { ExecAuth } from '@kubernetes/client-node/dist/exec_auth.js';
import { FileAuth } from '@kubernetes/client-node/dist/file_auth.js';

export interface KubeConnection {
  getCurrentCluster(): { server: string } | null;
  /** Adds TLS material and credentials (refreshed when they expire) to the options of one request. */
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const absolute = (root: string, file: string | undefined) => (file && !isAbsolute(file) ? join(root, file) : file);

function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) {
    return readFileSync(file);
  }
  return data ? Buffer.from(data, 'base64') : undefined;
}

export class NodeKubeConfig implements KubeConnection {
  private readonly fileAuth = new FileAuth();
  private readonly execAuth = new ExecAuth();

  private constructor(
    private readonly cluster: Cluster,
    private readonly user: User
  ) {
    if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
      throw new Error('HTTP protocol is not allowed when skipTLSVerify is not set or false');
    }
    const provider = (user.authProvider as { name?: string } | null | undefined)?.name;
    if (provider && !this.fileAuth.isAuthProvider(user)) {
      throw new Error(
        `kubeconfig user '${user.name}': auth-provider '${provider}' is not supported by the agent ` +
          '(use a token, a token file, a client certificate or an exec plugin)'
      );
    }
  }

  /**
   * The pod's service account, as client-node's KubeConfig.loadFromCluster (token file re-read every minute),
   * mounted at FLOWLENS_SERVICE_ACCOUNT_DIR (default /var/run/secrets/kubernetes.io/serviceaccount).
   */
  static fromCluster(
    env: NodeJS.ProcessEnv,
    dir = env.FLOWLENS_SERVICE_ACCOUNT_DIR?.trim() || SERVICE_ACCOUNT_DIR
  ): NodeKubeConfig {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    if (!host || !port) {
      throw new Error('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set in a cluster');
    }
    const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
    return new NodeKubeConfig(
      {
        name: 'inCluster',
        caFile: join(dir, 'ca.crt'),
        server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
        skipTLSVerify: false,
      },
      { name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } } }
    );
  }

  /**
   * A kubeconfig file's current context (relative file paths are taken from the file's directory). The YAML
   * parser is loaded only here: an agent in a pod reads its service account and never needs it.
   */
  static async fromFile(path: string): Promise<NodeKubeConfig> {
    const { default: yaml } = await import('js-yaml');
    const doc = yaml.load(readFileSync(path, 'utf8')) as Record<string, unknown> | null;
    if (!doc || typeof doc !== 'object') {
      throw new Error(`kubeconfig ${path} is empty or not a mapping`);
    }
    const clusters = newClusters(doc.clusters);
    const users = newUsers(doc.users);
    const contexts: Context[] = newContexts(doc.contexts);
    const current = doc['current-context'];
    const context = contexts.find((c) => c.name === current);
    if (!context) {
      throw new Error(`kubeconfig ${path}: current-context '${String(current)}' is not among its contexts`);
    }
    const cluster = clusters.find((c) => c.name === context.cluster);
    const user = users.find((u) => u.name === context.user);
    if (!cluster || !user) {
      throw new Error(`kubeconfig ${path}: context '${context.name}' names a cluster or user the file lacks`);
    }
    const root = dirname(path);
    cluster.caFile = absolute(root, cluster.caFile);
    user.certFile = absolute(root, user.certFile);
    user.keyFile = absolute(root, user.keyFile);
    return new NodeKubeConfig(cluster, user);
  }

  getCurrentCluster(): Cluster {
    return this.cluster;
  }

  async applyToHTTPSOptions(opts: RequestOptions): Promise<void> {
    const { cluster, user } = this;
    if (cluster.skipTLSVerify) {
      opts.rejectUnauthorized = false;
    }
    if (cluster.tlsServerName) {
      opts.servername = cluster.tlsServerName;
    }
    const ca = fileOrData(cluster.caFile, cluster.caData);
    if (ca) {
      opts.ca = ca;
    }
    const cert = fileOrData(user.certFile, user.certData);
    if (cert) {
      opts.cert = cert;
    }
    const key = fileOrData(user.keyFile, user.keyData);
    if (key) {
      opts.key = key;
    }
    const headers = (opts.headers ??= {}) as Record<string, string>;
    if (user.impersonateUser) {
      headers['Impersonate-User'] = user.impersonateUser;
    }
    if (this.fileAuth.isAuthProvider(user)) {
      await this.fileAuth.applyAuthentication(user, opts as never);
    } else if (this.execAuth.isAuthProvider(user)) {
      await this.execAuth.applyAuthentication(user, opts as never);
    }
    if (user.token) {
      headers.Authorization = `Bearer ${user.token}`;
    }
    if (user.username) {
      opts.auth = `${user.username}:${user.password ?? ''}`;
    }
  }
}
