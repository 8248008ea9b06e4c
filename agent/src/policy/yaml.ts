/**
 * NetworkPolicy objects to and from YAML. Output: one `---`-led document per object, keys in the order the
 * objects were built (drafts build them in a fixed order), no anchors, no line folding — the same objects give
 * byte-identical text. js-yaml is the agent's YAML library already (docs/dependencies.md).
 * Input (`POST /api/v1/policy-check`): YAML or JSON, one or many documents, NetworkPolicy objects or Lists of them.
 */
import yaml from 'js-yaml';
import type { NetworkPolicy } from '../contracts/metadata.js';
import { parseNetworkPolicy } from './schema.js';

export function policiesToYaml(objects: NetworkPolicy[]): string {
  return objects.map((o) => `---\n${yaml.dump(o, { noRefs: true, lineWidth: -1, sortKeys: false })}`).join('');
}

/**
 * Parses NetworkPolicies; objects without a namespace get `namespace`. Throws naming the document and field of
 * the first problem (nothing half-read is used).
 */
export function parsePolicies(text: string, namespace: string): NetworkPolicy[] {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text);
  } catch (err) {
    throw new Error(`not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const out: NetworkPolicy[] = [];
  docs.forEach((doc, i) => {
    if (doc === null || doc === undefined) {
      return; // an empty document (a trailing ---)
    }
    const d = doc as { kind?: unknown; items?: unknown };
    const items = typeof d.kind === 'string' && d.kind.endsWith('List') && Array.isArray(d.items) ? d.items : [doc];
    items.forEach((item, j) => {
      const where = items === d.items ? `document ${i + 1}.items.${j}` : `document ${i + 1}`;
      const k = (item as { kind?: unknown })?.kind;
      if (k !== undefined && k !== 'NetworkPolicy') {
        throw new Error(`${where}: kind ${String(k)} is not a NetworkPolicy`);
      }
      const p = parseNetworkPolicy(item, where);
      out.push({ ...p, metadata: { ...p.metadata, namespace: p.metadata.namespace ?? namespace } });
    });
  });
  return out;
}
