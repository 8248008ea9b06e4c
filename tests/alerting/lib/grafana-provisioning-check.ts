/**
 * Grafana's startup provisioning, as far as Flowlens can stop it: runs provisioning/assemble.sh with
 * a given environment (real sh), then reads the assembled directory the way Grafana does: every
 * alerting file parsed, every string expanded (./grafana-expand.ts), each file checked against the
 * documented schema, each contact point integration against Grafana's own rules
 * (./grafana-notifiers.ts), and every policy receiver resolved to a provisioned contact point.
 * An empty list of problems means Grafana gets past provisioning with that environment.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { expandDeep, type Env } from './grafana-expand.js';
import { receiverError, type ProvisionedReceiver } from './grafana-notifiers.js';
import {
  alertRulesFile,
  appsFile,
  contactPointsFile,
  dashboardProvidersFile,
  datasourcesFile,
  policiesFile,
  templatesFile,
  type Route,
} from './grafana-provisioning-schema.js';

export const ASSEMBLE_SCRIPT = 'provisioning/assemble.sh';

export interface AssembledProvisioning {
  /** file (relative to the assembled dir) → parsed and expanded content */
  files: Map<string, Record<string, unknown>>;
  contactPoints: Map<string, string[]>;
  policyReceivers: string[];
  ruleFolders: string[];
  dashboardFolders: Array<{ folder?: string; folderUid?: string }>;
  problems: string[];
  stdout: string;
}

function routeReceivers(r: Route): string[] {
  return [...(r.receiver ? [r.receiver] : []), ...(r.routes ?? []).flatMap(routeReceivers)];
}

const SCHEMA_BY_DIR = {
  datasources: datasourcesFile,
  plugins: appsFile,
  dashboards: dashboardProvidersFile,
} as const;

/** Runs assemble.sh from `repoRoot` with exactly `env` (plus PATH) and checks what Grafana would read. */
export function assembleAndCheck(repoRoot: string, env: Env): AssembledProvisioning {
  const dest = mkdtempSync(join(tmpdir(), 'flowlens-grafana-prov-'));
  try {
    const cleanEnv = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<
      string,
      string
    >;
    const stdout = execFileSync(
      'sh',
      [join(repoRoot, ASSEMBLE_SCRIPT), join(repoRoot, 'provisioning'), join(dest, 'provisioning')],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...cleanEnv }, encoding: 'utf8' }
    );
    return checkDir(join(dest, 'provisioning'), env, stdout);
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
}

/** Checks an assembled provisioning directory (Grafana's provisioning path) for the given environment. */
export function checkDir(root: string, env: Env, stdout = ''): AssembledProvisioning {
  const out: AssembledProvisioning = {
    files: new Map(),
    contactPoints: new Map(),
    policyReceivers: [],
    ruleFolders: [],
    dashboardFolders: [],
    problems: [],
    stdout,
  };
  const issues = (file: string, e: { issues: Array<{ path: PropertyKey[]; message: string }> }): void => {
    for (const i of e.issues) {
      out.problems.push(`${file}: ${i.path.join('.')}: ${i.message}`);
    }
  };
  for (const dir of readdirSync(root)) {
    for (const name of readdirSync(join(root, dir)).filter((n) => /\.(ya?ml|json)$/.test(n))) {
      const rel = `${dir}/${name}`;
      const doc = expandDeep(parse(readFileSync(join(root, dir, name), 'utf8')) as Record<string, unknown>, env);
      out.files.set(rel, doc);
      if (dir in SCHEMA_BY_DIR) {
        const r = SCHEMA_BY_DIR[dir as keyof typeof SCHEMA_BY_DIR].safeParse(doc);
        if (!r.success) {
          issues(rel, r.error);
        } else if (dir === 'dashboards') {
          out.dashboardFolders.push(
            ...(r.data as { providers: Array<{ folder?: string; folderUid?: string }> }).providers
          );
        }
        continue;
      }
      if (dir !== 'alerting') {
        out.problems.push(`${rel}: Grafana does not read provisioning/${dir}`);
        continue;
      }
      if ('groups' in doc) {
        const r = alertRulesFile.safeParse(doc);
        if (r.success) {
          out.ruleFolders.push(...r.data.groups.map((g) => g.folder));
        } else {
          issues(rel, r.error);
        }
      }
      if ('templates' in doc) {
        const r = templatesFile.safeParse(doc);
        if (!r.success) {
          issues(rel, r.error);
        }
      }
      if ('contactPoints' in doc) {
        const r = contactPointsFile.safeParse(doc);
        if (!r.success) {
          issues(rel, r.error);
        }
        for (const cp of (doc.contactPoints ?? []) as Array<{ name: string; receivers: ProvisionedReceiver[] }>) {
          for (const receiver of cp.receivers ?? []) {
            const err = receiverError(cp.name, receiver);
            if (err) {
              out.problems.push(`${rel}: ${err}`);
            }
            out.contactPoints.set(cp.name, [...(out.contactPoints.get(cp.name) ?? []), String(receiver.type)]);
          }
        }
      }
      if ('policies' in doc) {
        const r = policiesFile.safeParse(doc);
        if (r.success) {
          out.policyReceivers.push(...r.data.policies.flatMap(routeReceivers));
        } else {
          issues(rel, r.error);
        }
      }
    }
  }
  for (const receiver of out.policyReceivers) {
    if (!out.contactPoints.has(receiver)) {
      out.problems.push(`notification policy: receiver '${receiver}' does not exist`);
    }
  }
  return out;
}
