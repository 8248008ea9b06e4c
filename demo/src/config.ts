/**
 * Demo service configuration: the role comes from the command line, everything else from the
 * environment (as in the Kubernetes manifests under demo/k8s). Pure: no I/O.
 */
export const ROLES = ['catalog', 'frontend', 'storage', 'egress', 'loadgen'] as const;
export type Role = (typeof ROLES)[number];

export const USAGE = `Usage: service <role>

Flowlens demo services (HTTP, one process per role):
  catalog    serves GET /items?size=BYTES (default ${64 * 1024} bytes)
  frontend   GET / calls every URL in CATALOG_URLS in turn and returns a summary
  storage    GET / writes and reads an S3 object and a DynamoDB item (moto stands in for both)
  egress     GET / fetches EXTERNAL_URL (traffic leaving the cluster)
  loadgen    calls every URL in TARGET_URLS, REQUESTS_PER_SECOND times a second, for DURATION_SECONDS (0: forever)

Environment: PORT (default 8080), HOST (default 0.0.0.0), CATALOG_URLS, ITEM_BYTES, S3_ENDPOINT,
DYNAMODB_ENDPOINT, AWS_REGION (default us-east-1), BUCKET, TABLE, EXTERNAL_URL, TARGET_URLS,
REQUESTS_PER_SECOND (default 5), DURATION_SECONDS (default 0), REQUEST_TIMEOUT_MS (default 5000).
`;

export interface ServiceConfig {
  role: Role;
  host: string;
  port: number;
  itemBytes: number;
  catalogUrls: string[];
  s3Endpoint: string | null;
  dynamodbEndpoint: string | null;
  region: string;
  bucket: string;
  table: string;
  externalUrl: string | null;
  targetUrls: string[];
  requestsPerSecond: number;
  durationSeconds: number;
  requestTimeoutMs: number;
}

export class ConfigError extends Error {}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    throw new ConfigError(`${name} must be a number >= ${min}, got '${raw}'`);
  }
  return n;
}

function urls(env: NodeJS.ProcessEnv, name: string): string[] {
  const list = (env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const u of list) {
    try {
      new URL(u);
    } catch {
      throw new ConfigError(`${name}: '${u}' is not a URL`);
    }
  }
  return list;
}

function oneUrl(env: NodeJS.ProcessEnv, name: string): string | null {
  const list = urls(env, name);
  if (list.length > 1) {
    throw new ConfigError(`${name} takes one URL`);
  }
  return list[0] ?? null;
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): ServiceConfig {
  const role = argv[0];
  if (!ROLES.includes(role as Role)) {
    throw new ConfigError(role === undefined ? 'missing role' : `unknown role '${role}'`);
  }
  const config: ServiceConfig = {
    role: role as Role,
    host: env.HOST || '0.0.0.0',
    port: num(env, 'PORT', 8080, 0),
    itemBytes: num(env, 'ITEM_BYTES', 64 * 1024, 1),
    catalogUrls: urls(env, 'CATALOG_URLS'),
    s3Endpoint: oneUrl(env, 'S3_ENDPOINT'),
    dynamodbEndpoint: oneUrl(env, 'DYNAMODB_ENDPOINT'),
    region: env.AWS_REGION || 'us-east-1',
    bucket: env.BUCKET || 'flowlens-demo',
    table: env.TABLE || 'flowlens-demo',
    externalUrl: oneUrl(env, 'EXTERNAL_URL'),
    targetUrls: urls(env, 'TARGET_URLS'),
    requestsPerSecond: num(env, 'REQUESTS_PER_SECOND', 5, 0.1),
    durationSeconds: num(env, 'DURATION_SECONDS', 0, 0),
    requestTimeoutMs: num(env, 'REQUEST_TIMEOUT_MS', 5000, 1),
  };
  const needs: Partial<Record<Role, Array<[keyof ServiceConfig, string]>>> = {
    frontend: [['catalogUrls', 'CATALOG_URLS']],
    storage: [
      ['s3Endpoint', 'S3_ENDPOINT'],
      ['dynamodbEndpoint', 'DYNAMODB_ENDPOINT'],
    ],
    egress: [['externalUrl', 'EXTERNAL_URL']],
    loadgen: [['targetUrls', 'TARGET_URLS']],
  };
  for (const [key, name] of needs[config.role] ?? []) {
    const v = config[key];
    if (v === null || (Array.isArray(v) && v.length === 0)) {
      throw new ConfigError(`role ${config.role} needs ${name}`);
    }
  }
  return config;
}
