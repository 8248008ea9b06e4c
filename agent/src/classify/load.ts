/** Loads the bundled ip-ranges.json snapshot plus an optional override file (`--ip-ranges-file`). */
import { readFile } from 'node:fs/promises';
import { IpRanges } from './ip-ranges.js';

/** The snapshot shipped in the repository (agent/data/ip-ranges.json); see docs/hub.md to refresh it. */
export const BUNDLED_IP_RANGES = new URL('../../data/ip-ranges.json', import.meta.url);

async function readJson(path: string | URL): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${String(path)}: not valid JSON: ${(err as Error).message}`);
  }
}

/** Bundled prefixes first, then the override's; an override prefix replaces a bundled one of the same length. */
export async function loadIpRanges(overrideFile?: string): Promise<IpRanges> {
  const ranges = new IpRanges().add(await readJson(BUNDLED_IP_RANGES), 'bundled ip-ranges.json');
  if (overrideFile) {
    ranges.add(await readJson(overrideFile), overrideFile);
  }
  return ranges;
}
