/** Bearer-token checks: constant-time, and nothing about the token ever reaches a log line or a response. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export type AuthResult = 'ok' | 'missing' | 'wrong';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class TokenCheck {
  private readonly expected: Buffer;

  constructor(token: string) {
    if (token.length === 0) {
      throw new Error('empty token');
    }
    this.expected = digest(token);
  }

  /** Hashing first makes the comparison constant-time whatever the presented token's length. */
  check(headers: IncomingHttpHeaders): AuthResult {
    const header = headers.authorization;
    if (typeof header !== 'string') {
      return 'missing';
    }
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!m) {
      return 'missing';
    }
    return timingSafeEqual(digest(m[1]!), this.expected) ? 'ok' : 'wrong';
  }
}
