/** `--stdout`: one report per line, the `hubble observe` of Flowlens. */
import type { ReportV1 } from '../contracts/report.js';
import type { ReportSink, ReporterStats } from '../contracts/stats.js';

export class StdoutSink implements ReportSink {
  private sent = 0;
  private failures = 0;

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {
    out.on('error', () => {
      this.failures++;
    });
  }

  send(report: ReportV1): void {
    this.out.write(`${JSON.stringify(report)}\n`);
    this.sent++;
  }

  stats(): ReporterStats {
    return { queued: 0, sent: this.sent, dropped: 0, failures: this.failures };
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.out.write('', () => resolve()));
  }
}
