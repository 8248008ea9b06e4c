/**
 * The hand-written Docker Engine API fixtures (tests/fixtures/docker/, see its README) as FakeContainers for
 * tests/lib/fake-docker-engine.ts: the list entry and the inspect of each container, served verbatim.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeContainer } from './fake-docker-engine.js';

export const DOCKER_FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'docker');

export type DockerEvent = { Type: string; Action: string } & Record<string, unknown>;

interface Summary {
  Id: string;
  Names: string[];
  Labels: Record<string, string>;
  State: string;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(join(DOCKER_FIXTURES, file), 'utf8')) as T;

/** Every fixture container by name (fresh copies: tests may change them). */
export function dockerFixtureContainers(): Map<string, FakeContainer> {
  const out = new Map<string, FakeContainer>();
  for (const summary of readJson<Summary[]>('containers.json')) {
    const name = summary.Names[0]!.replace(/^\//, '');
    out.set(name, {
      id: summary.Id,
      name,
      labels: summary.Labels,
      state: 'running',
      summary: summary as unknown as Record<string, unknown>,
      inspect: readJson<Record<string, unknown>>(join('inspect', `${name}.json`)),
    });
  }
  return out;
}

/** The /events objects of events.json, by what happened ('worker-started', 'cache-stopped', …). */
export function dockerFixtureEvents(): Record<string, DockerEvent[]> {
  return readJson<Record<string, DockerEvent[]>>('events.json');
}

/** Replaces one container address everywhere it appears in a container's list entry and inspect. */
export function readdress(c: FakeContainer, from: string, to: string): FakeContainer {
  const swap = <T>(v: T): T => JSON.parse(JSON.stringify(v).replaceAll(`"${from}"`, `"${to}"`)) as T;
  return { ...c, summary: swap(c.summary), inspect: swap(c.inspect) };
}
