// Bundles the importable dashboards (dashboards/*.json) into the built plugin (dist/dashboards/),
// where plugin.json "includes" point. The dashboards stay at the top level so they also import alone.
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';

const from = new URL('../dashboards/', import.meta.url);
const to = new URL('../dist/dashboards/', import.meta.url);
if (existsSync(from)) {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from).filter((n) => n.endsWith('.json'))) {
    cpSync(new URL(name, from), new URL(name, to));
  }
}
