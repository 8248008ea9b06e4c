/**
 * `flowlens-agent node`: checks the machine, loads and attaches the BPF programs (through flowlens-loader),
 * collects and reports until SIGTERM/SIGINT, then detaches. Exit 0 on a clean stop, 1 on an error, 2 on bad usage.
 *
 * Wiring: reports go to every ReportSink in `sinks`, every CollectorTick to every listener in `listeners`.
 */
import { networkInterfaces } from 'node:os';
import type { TickListener } from '../contracts/flow.js';
import type { MetadataView } from '../contracts/metadata.js';
import type { LocalWorkload } from '../contracts/report.js';
import type { ReportSink } from '../contracts/stats.js';
import { BpfLoader } from '../bpf/loader-process.js';
import { preflight, PreflightError } from '../bpf/preflight.js';
import { createLocalMetadata } from '../metadata/local.js';
import { noMetadata } from '../metadata/none.js';
import { startOpenMetrics } from '../metrics/index.js';
import { HubReporter } from '../reporter/hub-reporter.js';
import { runNodeAgent } from './agent.js';
import { NODE_USAGE, parseNodeOptions, UsageError, type NodeOptions } from './options.js';
import { StdoutSink } from './stdout-sink.js';
import { describeFailureHooks } from '../collector/failures.js';

const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** This node's own addresses (the host network's interfaces, read each time: they change) or one of its pods. */
function localTo(localOf: (ip: string) => LocalWorkload): (ip: string) => boolean {
  return (ip) =>
    localOf(ip) !== null ||
    Object.values(networkInterfaces()).some((list) => (list ?? []).some((a) => a.address === ip));
}

function localWorkload(metadata: MetadataView): (ip: string) => LocalWorkload {
  return (ip) => {
    const pod = metadata.podByIp(ip);
    return pod ? { namespace: pod.namespace, pod: pod.name, workload: pod.workload, kind: pod.kind } : null;
  };
}

export async function main(argv: string[]): Promise<number> {
  let opts: NodeOptions;
  try {
    opts = parseNodeOptions(argv, process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`flowlens-agent node: ${err.message}\n\n${NODE_USAGE}`);
      return 2;
    }
    throw err;
  }
  if (opts.help) {
    process.stdout.write(NODE_USAGE);
    return 0;
  }

  let machine;
  try {
    machine = preflight();
  } catch (err) {
    if (err instanceof PreflightError) {
      log(`flowlens-agent node: ${err.message}`);
      return 1;
    }
    throw err;
  }

  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    log(`flowlens-agent node: ${sig}, stopping`);
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  let loader: BpfLoader;
  try {
    loader = await BpfLoader.start({
      loader: machine.artifacts.loader,
      object: machine.artifacts.object,
      cgroup: machine.cgroup,
      maxSockets: opts.maxSockets,
      maxFlows: opts.maxFlows,
      bpfStats: opts.bpfStats,
    });
  } catch (err) {
    log(`flowlens-agent node: ${err instanceof Error ? err.message : String(err)}`);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    return 1;
  }
  log(
    (loader.ready.connPath === 'sockops'
      ? `flowlens-agent node: sock_ops program ${loader.ready.progId} attached to ${machine.cgroup} (link ${loader.ready.linkId}); `
      : `flowlens-agent node: state program ${loader.ready.progId} attached to inet_sock_set_state (link ${loader.ready.linkId}), ` +
        `no sock_ops (the kernel has tcp_sock.total_rto), scope ${machine.cgroup}; `) +
      `node ${opts.nodeName}, collect every ${opts.collectIntervalS}s, report every ${opts.reportIntervalS}s; ` +
      (loader.ready.bpfStats
        ? 'bpf_stats on (--bpf-stats: every BPF program on the node is timed)'
        : 'BPF run time not measured (--bpf-stats to measure it)')
  );

  const sinks: ReportSink[] = [];
  const listeners: TickListener[] = [];
  const closers: Array<() => Promise<void>> = [];
  let metadata: MetadataView = noMetadata();
  let code = 0;
  try {
    // Kubernetes (node-scoped watch), else Docker, else FLOWLENS_METADATA_FILE, else IPs only (docs/metrics.md).
    const provider = await createLocalMetadata({ nodeName: opts.nodeName, env: process.env, log });
    closers.push(() => provider.stop());
    await provider.start();
    metadata = provider;
    if (opts.stdout) {
      sinks.push(new StdoutSink());
    }
    if (opts.hub) {
      // Queue on disk when FLOWLENS_HUB_QUEUE_DIR is set (survives an agent restart), else in memory (docs/hub.md).
      sinks.push(
        new HubReporter({
          url: opts.hub,
          token: opts.hubToken ?? undefined,
          queueDir: process.env.FLOWLENS_HUB_QUEUE_DIR || undefined,
          log,
        })
      );
    }
    const metrics = await startOpenMetrics({
      env: process.env,
      nodeName: opts.nodeName,
      metadata,
      reporterStats: () => sinks.find((s) => s.stats)?.stats?.(),
      log,
    });
    closers.push(() => metrics.close());
    listeners.push(metrics.onTick);
    let hooksSaid: string | null = null;
    listeners.push((tick) => {
      const said = tick.stats ? describeFailureHooks(tick.stats) : null;
      if (said !== null && said !== hooksSaid) {
        hooksSaid = said;
        log(said);
      }
    });

    await runNodeAgent(
      {
        nodeName: opts.nodeName,
        zone: opts.zone,
        ...(opts.cluster !== null ? { cluster: opts.cluster } : {}),
        collectIntervalS: opts.collectIntervalS,
        reportIntervalS: opts.reportIntervalS,
        topN: opts.topN,
        capacity: { maxSockets: loader.ready.maxSockets, maxFlows: loader.ready.maxFlows },
      },
      {
        source: loader,
        sinks,
        listeners,
        localOf: localWorkload(metadata),
        isLocal: localTo(localWorkload(metadata)),
        log,
      },
      stop.signal
    );
  } catch (err) {
    log(`flowlens-agent node: ${err instanceof Error ? err.message : String(err)}`);
    code = 1;
  } finally {
    await loader.close();
    for (const close of [...closers, ...sinks.map((s) => () => s.close())]) {
      await close().catch((err: unknown) => log(`flowlens-agent node: while stopping: ${String(err)}`));
    }
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  if (code === 0) {
    log('flowlens-agent node: detached, bye');
  }
  return code;
}
