/**
 * prom-client's registry and the three metric types the agents use, each loaded from its own module of the package.
 *
 * The package's index (`import … from 'prom-client'`) also loads, at import, its default process metrics
 * (perf_hooks, and @opentelemetry/api for exemplars), the Pushgateway client (node:http, node:https) and the cluster
 * aggregator, none of which Flowlens uses: 10.4 MB of resident memory against 0.7 MB for these four modules
 * (a fresh node, RSS after import; docs/agent.md, Memory). These are the very classes the index exports (the same
 * module objects: prom-client-modules.test.ts), so the registry, the formats and every metric behave the same.
 * The package has no `exports` map, so its lib/ modules are public paths; its types are the index's.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const load = createRequire(import.meta.url);

export const Registry = load('prom-client/lib/registry') as typeof PromClient.Registry;
export const Counter = load('prom-client/lib/counter') as typeof PromClient.Counter;
export const Gauge = load('prom-client/lib/gauge') as typeof PromClient.Gauge;
export const Histogram = load('prom-client/lib/histogram') as typeof PromClient.Histogram;

// Each value above and its type share a name, as a class declaration's value and type do.
// eslint-disable-next-line no-redeclare
export type Registry<T extends PromClient.RegistryContentType = PromClient.PrometheusContentType> =
  PromClient.Registry<T>;
// eslint-disable-next-line no-redeclare
export type Counter<T extends string = string> = PromClient.Counter<T>;
// eslint-disable-next-line no-redeclare
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
// eslint-disable-next-line no-redeclare
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
export type { Metric, RegistryContentType } from 'prom-client';
