/**
 * A local stand-in for a Slack incoming webhook: accepts the JSON POSTs a notifier sends
 * (Alertmanager slack_configs, Grafana's slack integration) and keeps them for the test to inspect.
 * Answers "ok" as Slack does.
 */
import { createServer, type Server } from 'node:http';

export interface SlackAttachment {
  title?: string;
  text?: string;
  fallback?: string;
  color?: string;
}

export interface SlackMessage {
  path: string;
  body: { text?: string; channel?: string; username?: string; attachments?: SlackAttachment[] };
}

export class SlackWebhookReceiver {
  readonly messages: SlackMessage[] = [];
  readonly rejected: string[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string
  ) {}

  static async start(path = '/services/T000/B000/flowlens-test'): Promise<SlackWebhookReceiver> {
    let receiver: SlackWebhookReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 1024 * 1024) {
          chunks.push(c);
        }
      });
      req.on('end', () => {
        const problem =
          req.method !== 'POST'
            ? `method ${req.method}`
            : req.url !== path
              ? `path ${req.url}`
              : !String(req.headers['content-type'] ?? '').includes('application/json')
                ? `content-type ${req.headers['content-type']}`
                : null;
        try {
          if (problem) {
            throw new Error(problem);
          }
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SlackMessage['body'];
          receiver?.messages.push({ path: req.url ?? '', body });
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        } catch (err) {
          receiver?.rejected.push(err instanceof Error ? err.message : String(err));
          res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_payload');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    receiver = new SlackWebhookReceiver(server, `http://127.0.0.1:${port}${path}`);
    return receiver;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
