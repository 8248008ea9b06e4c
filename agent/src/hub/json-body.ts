/**
 * `JSON.parse` of a request body without one large string. A report of 500 flows is about 150 KB; decoded as one
 * string it is a V8 "large object" (anything over 128 KiB gets pages of its own: mapped, faulted in, unmapped
 * again at the next scavenge), and on this machine making that string cost 3–4 µs per record, more than parsing
 * it (about 1 µs). So a large body is parsed in pieces well below that size, read straight from the Buffer:
 *
 *   - one pass over the bytes follows JSON's strings and nesting (no values are built) and, in every array that is
 *     a member of the top-level object (a report's `flows`, `forwards`), picks element boundaries (commas) about
 *     every `PIECE_SIZES.pieceBytes`;
 *   - each run of elements between two picked commas is parsed as `[…]`; the rest of the body (the last run of each
 *     array in its place) is parsed as the top-level object; the runs' elements are put back in front of the
 *     array's last run.
 *
 * The result is what `JSON.parse` of the whole body gives. Each piece is strict JSON and every byte of the body is
 * in exactly one piece, so when every piece parses the body is valid: a run `[G]` that parses ends outside any
 * string, one element deep, after a value, which is exactly where the next comma is allowed. Anything unusual —
 * not an object at the top, a top-level key written with escapes or given twice, `__proto__`, a piece that does
 * not parse — falls back to `JSON.parse` of the whole body, so malformed bodies get `JSON.parse`'s own error.
 */

export interface PieceSizes {
  /** Bodies up to this size are one string (well below V8's 128 KiB large-object threshold, even as UTF-16). */
  wholeBytes: number;
  /** Size at which a run of array elements becomes a piece of its own: about 160 flow records of a report. */
  pieceBytes: number;
}

export const PIECE_SIZES: PieceSizes = { wholeBytes: 60 * 1024, pieceBytes: 48 * 1024 };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** A top-level array member cut into runs: its key, its `[` and the commas after which a new run starts. */
interface CutArray {
  key: string;
  open: number;
  cuts: number[];
}

/**
 * The top-level arrays worth cutting, or null when the body is not one plain object whose top-level keys are all
 * distinct and written without escapes (then the whole body goes to `JSON.parse`).
 */
export function findCuts(buf: Uint8Array, pieceBytes: number): CutArray[] | null {
  const n = buf.length;
  let i = 0;
  while (i < n && isSpace(buf[i]!)) {
    i++;
  }
  if (buf[i] !== OPEN_OBJECT) {
    return null;
  }
  const keys = new Set<string>();
  const arrays: CutArray[] = [];
  let depth = 0;
  let expectKey = false;
  let lastKey: string | null = null;
  // The top-level array being read, where its current run starts, and whether the run holds a value yet.
  let array: CutArray | null = null;
  let runStart = 0;
  let runHasValue = false;
  for (; i < n; i++) {
    const c = buf[i]!;
    if (c === QUOTE) {
      const start = i + 1;
      let escaped = false;
      for (i++; ; i++) {
        if (i >= n) {
          return null;
        }
        const d = buf[i]!;
        if (d === QUOTE) {
          break;
        }
        if (d === BACKSLASH) {
          escaped = true;
          i++;
        }
      }
      if (depth === 1 && expectKey) {
        if (escaped) {
          return null;
        }
        // As JSON.parse sees it (bytes that are not UTF-8 read as U+FFFD there too).
        const key = Buffer.from(buf.buffer, buf.byteOffset + start, i - start).toString('utf8');
        if (keys.has(key)) {
          return null;
        }
        keys.add(key);
        lastKey = key;
        expectKey = false;
      } else {
        runHasValue = true;
      }
      continue;
    }
    switch (c) {
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        if (depth === 1 && c === OPEN_ARRAY && lastKey !== null) {
          array = { key: lastKey, open: i, cuts: [] };
          runStart = i + 1;
          runHasValue = false;
        } else {
          runHasValue = true;
        }
        depth++;
        expectKey = depth === 1;
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        depth--;
        if (depth < 0) {
          return null;
        }
        if (depth === 1 && array !== null) {
          if (array.cuts.length > 0) {
            // The run after the last cut must hold a value: `[a, ]` is not JSON, `[]` would be.
            if (!runHasValue) {
              return null;
            }
            arrays.push(array);
          }
          array = null;
        } else if (depth === 0) {
          // The top-level object closed: only whitespace may follow.
          for (i++; i < n; i++) {
            if (!isSpace(buf[i]!)) {
              return null;
            }
          }
          return arrays;
        }
        break;
      case COMMA:
        if (depth === 1) {
          expectKey = true;
        } else if (depth === 2 && array !== null && i - runStart >= pieceBytes) {
          if (!runHasValue) {
            return null;
          }
          array.cuts.push(i);
          runStart = i + 1;
          runHasValue = false;
        }
        break;
      default:
        if (!isSpace(c)) {
          runHasValue = true;
        }
    }
  }
  return null;
}

/** `buf[from, to)` as text. */
function text(buf: Buffer, from: number, to: number): string {
  return buf.toString('utf8', from, to);
}

/** The body's JSON value, as `JSON.parse(buf.toString('utf8'))` gives it (see the file comment). Throws as it does. */
export function parseJsonBody(buf: Buffer, sizes: PieceSizes = PIECE_SIZES): unknown {
  if (buf.length <= sizes.wholeBytes) {
    return JSON.parse(buf.toString('utf8'));
  }
  const arrays = findCuts(buf, sizes.pieceBytes);
  if (arrays === null || arrays.length === 0 || arrays.some((a) => a.key === '__proto__')) {
    return JSON.parse(buf.toString('utf8'));
  }
  try {
    return parseInPieces(buf, arrays);
  } catch {
    // Not JSON after all: the whole body gives the error (and the value, were a piece ever wrong).
    return JSON.parse(buf.toString('utf8'));
  }
}

function parseInPieces(buf: Buffer, arrays: CutArray[]): unknown {
  const heads: unknown[][] = [];
  let outer = '';
  let from = 0;
  for (const a of arrays) {
    const head: unknown[] = [];
    let start = a.open + 1;
    for (const cut of a.cuts) {
      const run = JSON.parse(`[${text(buf, start, cut)}]`) as unknown[];
      for (let k = 0; k < run.length; k++) {
        head.push(run[k]);
      }
      start = cut + 1;
    }
    heads.push(head);
    // The body up to and including the array's `[`, then (next turn) from its last run on.
    outer += text(buf, from, a.open + 1);
    from = start;
  }
  outer += text(buf, from, buf.length);
  const doc = JSON.parse(outer) as Record<string, unknown>;
  for (let k = 0; k < arrays.length; k++) {
    const tail = doc[arrays[k]!.key];
    if (!Array.isArray(tail)) {
      throw new Error('unreachable: a cut array is not an array');
    }
    const head = heads[k]!;
    for (let j = 0; j < tail.length; j++) {
      head.push(tail[j]);
    }
    doc[arrays[k]!.key] = head;
  }
  return doc;
}
