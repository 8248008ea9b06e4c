/**
 * A local stand-in for the Amazon SNS query API, enough for `Publish`: it verifies each request's
 * SigV4 signature against the test's credentials (service "sns"), parses the form-encoded
 * Action/TopicArn/Subject/Message, and answers with SNS's XML PublishResponse. Requests with a bad
 * signature get SNS's 403 SignatureDoesNotMatch error and are kept in `rejected`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { verifySigV4, type SigV4Expectation } from './aws-sigv4-verify.js';

export interface SnsPublish {
  topicArn: string;
  subject: string | null;
  message: string;
  messageId: string;
  signedHeaders: string[];
}

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

function errorXml(code: string, message: string): string {
  return `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message.replace(/[<&>]/g, '')}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

export class SnsEndpoint {
  readonly published: SnsPublish[] = [];
  readonly rejected: string[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string
  ) {}

  static async start(credentials: Omit<SigV4Expectation, 'service'>): Promise<SnsEndpoint> {
    let endpoint: SnsEndpoint | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const reject = (status: number, code: string, reason: string) => {
          endpoint?.rejected.push(`${code}: ${reason}`);
          res.writeHead(status, { 'content-type': 'text/xml' }).end(errorXml(code, reason));
        };
        const verdict = verifySigV4(
          { method: req.method ?? '', url: req.url ?? '/', headers: req.headersDistinct, body },
          { ...credentials, service: 'sns' }
        );
        if (!verdict.ok) {
          reject(403, 'SignatureDoesNotMatch', verdict.reason);
          return;
        }
        if (
          req.method !== 'POST' ||
          !String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
        ) {
          reject(
            400,
            'InvalidParameter',
            `expected a form-encoded POST, got ${req.method} ${req.headers['content-type']}`
          );
          return;
        }
        const form = new URLSearchParams(body.toString('utf8'));
        const action = form.get('Action');
        const topicArn = form.get('TopicArn');
        const message = form.get('Message');
        if (action !== 'Publish') {
          reject(400, 'InvalidAction', `action ${action} is not Publish`);
          return;
        }
        if (!topicArn || !/^arn:aws:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+(\.fifo)?$/.test(topicArn)) {
          reject(400, 'InvalidParameter', `bad TopicArn ${topicArn}`);
          return;
        }
        if (!message) {
          reject(400, 'InvalidParameter', 'empty Message');
          return;
        }
        const messageId = randomUUID();
        endpoint?.published.push({
          topicArn,
          subject: form.get('Subject'),
          message,
          messageId,
          signedHeaders: verdict.signedHeaders,
        });
        res
          .writeHead(200, { 'content-type': 'text/xml' })
          .end(
            `<PublishResponse xmlns="${XMLNS}"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`
          );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    endpoint = new SnsEndpoint(server, `http://127.0.0.1:${port}`);
    return endpoint;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
