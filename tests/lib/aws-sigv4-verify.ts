/**
 * Verifies an AWS Signature Version 4 (header-signed) request, following AWS's published algorithm:
 * canonical request → string to sign → HMAC-SHA256 signing key chain (date, region, service,
 * "aws4_request") → signature. Used by the local SNS endpoint so a test proves that a client really
 * signed its Publish call with the expected credentials, region and service.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SignedRequest {
  method: string;
  /** Path with its query string, as received (e.g. "/" or "/path?a=1"). */
  url: string;
  /** Header name → value(s), as Node's IncomingMessage.headersDistinct gives them. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface SigV4Expectation {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service: string;
  /** Reject a request whose X-Amz-Date is further than this from `now` (default 5 minutes). */
  maxClockSkewMs?: number;
  now?: Date;
}

export type SigV4Result = { ok: true; signedHeaders: string[] } | { ok: false; reason: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding as SigV4 requires (unreserved characters stay, everything else %XX uppercase). */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalUri(path: string): string {
  if (path === '') {
    return '/';
  }
  return path
    .split('/')
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join('/');
}

function canonicalQuery(query: string): string {
  if (query === '') {
    return '';
  }
  const pairs = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));
    return [uriEncode(dec(k)), uriEncode(dec(v))] as const;
  });
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(headers: SignedRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) {
    return undefined;
  }
  const values = Array.isArray(v) ? v : [v];
  return values.map((x) => x.trim().replace(/\s+/g, ' ')).join(',');
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

export function parseAuthorization(header: string): ParsedAuthorization | string {
  if (!header.startsWith(`${ALGORITHM} `)) {
    return `Authorization does not use ${ALGORITHM}`;
  }
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) {
      fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    return 'Authorization lacks Credential, SignedHeaders or Signature';
  }
  const scope = credential.split('/');
  if (scope.length !== 5) {
    return `malformed credential scope "${credential}"`;
  }
  const [accessKeyId, date, region, service, terminator] = scope as [string, string, string, string, string];
  return { accessKeyId, date, region, service, terminator, signedHeaders: signedHeaders.split(';'), signature };
}

/** Returns whether the request carries a valid SigV4 signature for the expected credentials and scope. */
export function verifySigV4(req: SignedRequest, expect: SigV4Expectation): SigV4Result {
  const authorization = headerValue(req.headers, 'authorization');
  if (!authorization) {
    return { ok: false, reason: 'no Authorization header' };
  }
  const auth = parseAuthorization(authorization);
  if (typeof auth === 'string') {
    return { ok: false, reason: auth };
  }
  if (auth.accessKeyId !== expect.accessKeyId) {
    return { ok: false, reason: `unknown access key ${auth.accessKeyId}` };
  }
  if (auth.region !== expect.region || auth.service !== expect.service || auth.terminator !== 'aws4_request') {
    return {
      ok: false,
      reason: `scope ${auth.region}/${auth.service}/${auth.terminator} is not ${expect.region}/${expect.service}/aws4_request`,
    };
  }
  const amzDate = headerValue(req.headers, 'x-amz-date');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    return { ok: false, reason: 'missing or malformed X-Amz-Date' };
  }
  if (!amzDate.startsWith(auth.date)) {
    return { ok: false, reason: `credential date ${auth.date} does not match X-Amz-Date ${amzDate}` };
  }
  const signedAt = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`
  );
  const now = (expect.now ?? new Date()).getTime();
  if (Math.abs(now - signedAt) > (expect.maxClockSkewMs ?? 5 * 60_000)) {
    return { ok: false, reason: `request signed at ${amzDate}, too far from now` };
  }
  if (!auth.signedHeaders.includes('host')) {
    return { ok: false, reason: 'host is not a signed header' };
  }
  const sorted = [...auth.signedHeaders].sort();
  if (sorted.join(';') !== auth.signedHeaders.join(';')) {
    return { ok: false, reason: 'SignedHeaders are not sorted' };
  }
  const canonicalHeaders: string[] = [];
  for (const name of auth.signedHeaders) {
    const value = headerValue(req.headers, name);
    if (value === undefined) {
      return { ok: false, reason: `signed header ${name} is absent` };
    }
    canonicalHeaders.push(`${name}:${value}\n`);
  }
  const payloadHash = sha256Hex(req.body);
  const declaredHash = headerValue(req.headers, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== 'UNSIGNED-PAYLOAD' && declaredHash !== payloadHash) {
    return { ok: false, reason: 'X-Amz-Content-Sha256 does not match the body' };
  }
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    canonicalHeaders.join(''),
    auth.signedHeaders.join(';'),
    declaredHash ?? payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${expect.secretAccessKey}`, auth.date);
  const kSigning = hmac(hmac(hmac(kDate, auth.region), auth.service), 'aws4_request');
  const expected = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(auth.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'signature does not match' };
  }
  return { ok: true, signedHeaders: auth.signedHeaders };
}
