/**
 * Debian's real Prometheus for a test: own temp data dir, free loopback port, 1 s scrape interval, one target.
 * Plus small clients for its query API.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from './daemon.js';
import { freeLoopbackPort } from './free-port.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const PROMTOOL_BIN = '/usr/bin/promtool';

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export class PrometheusServer {
  private constructor(
    readonly url: string,
    private readonly daemon: Daemon,
    private readonly dir: string
  ) {}

  static async start(target: string, opts: { scrapeIntervalS?: number } = {}): Promise<PrometheusServer> {
    const dir = await mkdtemp(join(tmpdir(), 'flowlens-prom-'));
    const interval = `${opts.scrapeIntervalS ?? 1}s`;
    const config = [
      'global:',
      `  scrape_interval: ${interval}`,
      `  scrape_timeout: ${interval}`,
      'scrape_configs:',
      '  - job_name: flowlens-agent',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n');
    await writeFile(join(dir, 'prometheus.yml'), config);
    const port = await freeLoopbackPort();
    const daemon = Daemon.start('prometheus', PROMETHEUS_BIN, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ]);
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, daemon, dir);
    try {
      await daemon.waitReady(`${server.url}/-/ready`, 30_000);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  logs(): string {
    return this.daemon.logs();
  }

  async api<T>(path: string, params: Record<string, string>): Promise<T> {
    const res = await fetch(`${this.url}${path}?${new URLSearchParams(params)}`, {
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') {
      throw new Error(`prometheus ${path}: ${body.error}`);
    }
    return body.data;
  }

  async query(expr: string): Promise<PromSample[]> {
    const data = await this.api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
      '/api/v1/query',
      { query: expr }
    );
    return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Every stored sample of the matching series over the last `window` (e.g. "5m"). */
  async samples(selector: string, window = '5m'): Promise<Array<{ metric: Record<string, string>; values: number[] }>> {
    const data = await this.api<{ result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }>(
      '/api/v1/query',
      { query: `${selector}[${window}]` }
    );
    return data.result.map((r) => ({ metric: r.metric, values: r.values.map((v) => Number(v[1])) }));
  }

  async stop(): Promise<void> {
    await this.daemon.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
