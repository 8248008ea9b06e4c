/** The parts of a compose file and a Dockerfile the deploy tests look at. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; target?: string };
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
  environment?: Record<string, string | number | boolean | null>;
  entrypoint?: string[];
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
  depends_on?: string[] | Record<string, { condition: string }>;
  network_mode?: string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  networks?: Record<
    string,
    { name?: string; ipam?: { config?: Array<{ subnet?: string; ip_range?: string; gateway?: string }> } }
  >;
  volumes?: Record<string, unknown>;
}

export function loadCompose(file: string): ComposeFile {
  return parse(readFileSync(file, 'utf8')) as ComposeFile;
}

/**
 * Pinned: a digest, or a tag with at least major.minor.patch (v2.53.4, 12.4.0, 22.15.0-bookworm-slim,
 * 5.1.4). `latest`, a branch name or a bare major/minor tag float.
 */
export function imageIsPinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) {
    return true;
  }
  const slash = image.lastIndexOf('/');
  const colon = image.indexOf(':', slash + 1);
  if (colon < 0) {
    return false;
  }
  return /^v?\d+\.\d+\.\d+([-.][A-Za-z0-9.-]+)?$/.test(image.slice(colon + 1));
}

/** Stage names declared with `FROM … AS name`. */
export function dockerfileStages(dockerfile: string): Set<string> {
  return new Set([...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]!.toLowerCase()));
}

/** `FROM image` lines (instructions only), with ARG defaults substituted. */
export function dockerfileBaseImages(dockerfile: string): string[] {
  const args = new Map([...dockerfile.matchAll(/^ARG\s+(\w+)=(\S+)/gm)].map((m) => [m[1]!, m[2]!]));
  return [...dockerfile.matchAll(/^FROM\s+(\S+)/gim)].map((m) =>
    m[1]!.replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? `\${${name}}`)
  );
}

function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function inSubnet(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return (ipToInt(ip) & mask) === (ipToInt(base!) & mask);
}

export type ComposeEnv = Record<string, string | undefined>;

/**
 * Compose's interpolation of one string (compose-spec "Interpolation"): `$$` is a literal `$`;
 * `${VAR}` / `$VAR`; `${VAR:-default}` (unset or empty) and `${VAR-default}` (unset); `${VAR:?err}` /
 * `${VAR?err}` fail. An unset variable without a default is "" (compose warns).
 */
export function interpolate(value: string, env: ComposeEnv): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (m, braced?: string, op?: string, arg?: string, bare?: string) => {
      if (m === '$$') {
        return '$';
      }
      const name = (braced ?? bare)!;
      const v = env[name];
      const missing = op?.startsWith(':') ? v === undefined || v === '' : v === undefined;
      if (op?.endsWith('?') && missing) {
        throw new Error(`required variable ${name} is missing a value: ${arg}`);
      }
      if (op?.endsWith('-') && missing) {
        return arg ?? '';
      }
      return v ?? '';
    }
  );
}

/** Every string of a parsed compose file interpolated, as `docker compose config` does before anything runs. */
export function interpolateDeep<T>(value: T, env: ComposeEnv): T {
  if (typeof value === 'string') {
    return interpolate(value, env) as T;
  }
  if (Array.isArray(value)) {
    return value.map((v) => interpolateDeep(v, env)) as T;
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, env)])) as T;
  }
  return value;
}

/** A Docker network as `docker network inspect` shows its name and labels. */
export interface ExistingNetwork {
  name: string;
  labels: Record<string, string>;
}

/**
 * What `docker compose up` does with each network the file declares, given the networks the machine
 * already has: a non-external network whose name exists must carry compose's labels for this project
 * and key, or compose stops ("network X was found but has incorrect label com.docker.compose.network
 * set to …"). Returns those errors.
 */
export function composeNetworkErrors(
  project: string,
  compose: ComposeFile & { networks?: Record<string, { name?: string; external?: boolean } | null> },
  existing: ExistingNetwork[]
): string[] {
  const errors: string[] = [];
  for (const [key, net] of Object.entries(compose.networks ?? {})) {
    if (net?.external) {
      continue;
    }
    const name = net?.name ?? `${project}_${key}`;
    const found = existing.find((n) => n.name === name);
    if (!found) {
      continue;
    }
    const label = found.labels['com.docker.compose.network'] ?? '';
    if (label !== key || (found.labels['com.docker.compose.project'] ?? '') !== project) {
      errors.push(
        `network ${name} was found but has incorrect label com.docker.compose.network set to "${label}" (expected: "${key}")`
      );
    }
  }
  return errors;
}
