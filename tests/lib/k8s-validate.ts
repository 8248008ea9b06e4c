/**
 * Validates Kubernetes objects (parsed YAML) without an API server, in two passes:
 *  1. the JSON schema of the object's apiVersion/kind from `kubernetes-models` (generated from the
 *     Kubernetes 1.27 OpenAPI document: types, required fields, enums, formats);
 *  2. strict field validation, as `kubectl apply --validate=strict` asks the API server to do: every
 *     key must be a field of its type, per the model metadata (attributeTypeMap) that
 *     @kubernetes/client-node generates from the Kubernetes OpenAPI document. JSON-schema pass 1
 *     accepts unknown keys, so a misspelt field (`hostPid`) would otherwise go unnoticed.
 */
import * as k8s from '@kubernetes/client-node';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export function describe(obj: K8sObject): string {
  return `${obj.kind}/${obj.metadata?.name ?? '?'}`;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

async function modelFor(apiVersion: string, kind: string): Promise<ModelClass> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(`kubernetes-models/${apiVersion}`)) as Record<string, unknown>;
  } catch {
    throw new Error(`unknown apiVersion ${apiVersion}`);
  }
  const model = mod[kind];
  if (typeof model !== 'function') {
    throw new Error(`unknown kind ${kind} in ${apiVersion}`);
  }
  return model as ModelClass;
}

/** Pass 1: JSON schema. Returns the validator's message, or null when valid. */
export async function schemaProblem(obj: K8sObject): Promise<string | null> {
  const Model = await modelFor(obj.apiVersion, obj.kind);
  try {
    new Model(obj).validate();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

interface Attribute {
  name: string;
  baseName: string;
  type: string;
}
type Attributes = Attribute[];

const k8sModels = k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attributes } | undefined>;

function clientModelName(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').pop() ?? apiVersion;
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

function walk(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) {
    return;
  }
  const arrayOf = /^Array<(.+)>$/.exec(type);
  if (arrayOf) {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, arrayOf[1]!, `${path}[${i}]`, out));
    }
    return;
  }
  const mapOf = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (mapOf) {
    if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        walk(v, mapOf[1]!, `${path}.${k}`, out);
      }
    }
    return;
  }
  const model = k8sModels[type];
  if (!model?.getAttributeTypeMap || typeof value !== 'object' || Array.isArray(value)) {
    return; // primitive, IntOrString, Quantity, any
  }
  const attrs = model.getAttributeTypeMap();
  const byName = new Map(attrs.map((a) => [a.baseName, a]));
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const attr = byName.get(key);
    if (!attr) {
      out.push(`${path}.${key}: unknown field for ${type}`);
      continue;
    }
    walk(v, attr.type, `${path}.${key}`, out);
  }
}

/** Pass 2: keys that are not fields of their type (empty when every key is known). */
export function unknownFields(obj: K8sObject): string[] {
  const name = clientModelName(obj.apiVersion, obj.kind);
  if (!k8sModels[name]?.getAttributeTypeMap) {
    return [`no model ${name} in @kubernetes/client-node`];
  }
  const out: string[] = [];
  walk(obj, name, describe(obj), out);
  return out;
}

/** Both passes; every problem found, prefixed with the object it is in. */
export async function validateK8sObject(obj: K8sObject): Promise<string[]> {
  if (typeof obj?.apiVersion !== 'string' || typeof obj?.kind !== 'string') {
    return [`not a Kubernetes object: ${JSON.stringify(obj).slice(0, 120)}`];
  }
  const problems: string[] = [];
  const schema = await schemaProblem(obj).catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
  if (schema) {
    problems.push(`${describe(obj)}: ${schema}`);
  }
  problems.push(...unknownFields(obj));
  return problems;
}
