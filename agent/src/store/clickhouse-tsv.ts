/**
 * TabSeparated text written straight into bytes: the ClickHouse store's raw rows (clickhouse-append.ts `rawTsv`).
 * Building the text as a string made one rope node per field and per row, flattened and encoded again into a
 * Buffer: most of the encoding's cost and much of its garbage. Here fields go into a slab as bytes (digits written
 * directly, ASCII strings copied by char code), and a report's bytes are handed out as a view of the slab: no
 * copy, no allocation per report. Reports written one after another share a slab (about ten 500-flow reports a
 * slab), which lives until the last of them is released.
 *
 * A number is written as `String(v)` writes it: a non-negative integer up to 2^53 digit by digit, anything
 * else (fractions, negatives, larger values) through `String` itself.
 */

const TAB = 0x09;
const NEWLINE = 0x0a;
const ZERO = 0x30;

/** Bytes of one slab: a few reports' rows, so a slab is freed soon after its reports are stored. */
const SLAB_BYTES = 1024 * 1024;

export class TsvWriter {
  private buf: Buffer;
  /** Where the report being written starts in `buf`. */
  private start = 0;
  private pos = 0;

  constructor(private readonly slabBytes = SLAB_BYTES) {
    this.buf = Buffer.allocUnsafeSlow(slabBytes);
  }

  /** Room for `n` more bytes: a new slab when this one is full, the report's bytes so far moved into it. */
  private room(n: number): void {
    if (this.pos + n > this.buf.length) {
      const written = this.pos - this.start;
      const next = Buffer.allocUnsafeSlow(Math.max(this.slabBytes, 2 * (written + n)));
      this.buf.copy(next, 0, this.start, this.pos);
      this.buf = next;
      this.start = 0;
      this.pos = written;
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
    this.pos = this.start;
  }

  /** The bytes written since the last `take` (a view of the slab, never written again); the next report follows. */
  take(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return out;
  }
}
