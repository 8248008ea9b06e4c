/** `--stdout`: one report per line, the `hubble observe` of Flowlens. */
import type { ReportV1 } from '../contracts/report.js';
import type { ReportSink } from '../contracts/stats.js';

/** No stats(): the reporter self-metrics (queued, dropped …) describe delivery to the hub. */
export class StdoutSink implements ReportSink {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {
    out.on('error', (err: Error) => {
      // a closed pipe (`| head`) must not crash the agent
      process.stderr.write(`flowlens-agent node: stdout: ${err.message}\n`);
    });
  }

  send(report: ReportV1): void {
    this.out.write(`${JSON.stringify(report)}\n`);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.out.write('', () => resolve()));
  }
}
