/**
 * TabSeparated text written straight into bytes: the ClickHouse store's raw rows (clickhouse-append.ts `rawTsv`).
 * Building the text as a string made one rope node per field and per row, flattened and encoded again into a
 * Buffer: most of the encoding's cost and much of its garbage. Here fields go into one growing scratch buffer as
 * bytes (digits written directly, ASCII strings copied by char code), and a report's text is copied out once.
 *
 * A number is written as `String(v)` writes it: a non-negative integer up to 2^53 digit by digit, anything
 * else (fractions, negatives, larger values) through `String` itself.
 */

const TAB = 0x09;
const NEWLINE = 0x0a;
const ZERO = 0x30;

export class TsvWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Room for `n` more bytes. */
  private room(n: number): void {
    if (this.pos + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
  }

  tab(): void {
    this.room(1);
    this.buf[this.pos++] = TAB;
  }

  newline(): void {
    this.room(1);
    this.buf[this.pos++] = NEWLINE;
  }

  /** A number as `String(v)` writes it (the caller checked it is finite). */
  number(v: number): void {
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER && Number.isInteger(v)) {
      this.digits(v);
    } else {
      this.text(String(v));
    }
  }

  /** A non-negative safe integer in decimal. */
  private digits(n: number): void {
    let len = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) {
      len++;
    }
    this.room(len);
    const buf = this.buf;
    let p = this.pos + len;
    while (n >= 10) {
      const q = Math.floor(n / 10);
      buf[--p] = ZERO + (n - q * 10);
      n = q;
    }
    buf[--p] = ZERO + n;
    this.pos += len;
  }

  /** A string as UTF-8 (ASCII copied by char code; anything else through Buffer's own encoder). */
  text(s: string): void {
    const n = s.length;
    this.room(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = p;
        this.utf8(s.slice(i));
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  private utf8(s: string): void {
    this.room(Buffer.byteLength(s, 'utf8'));
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Drops what was written since the last `take` (a report refused part-way). */
  reset(): void {
    this.pos = 0;
  }

  /** The bytes written since the last `take`, as a Buffer of their own; the writer starts over. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    return out;
  }
}
