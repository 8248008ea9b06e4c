/**
 * A "newc" cpio archive (the format the kernel unpacks as an initramfs), written in memory. Pure: the caller
 * reads the files and writes the result.
 */

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Uint8Array; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'char'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`cpio: field out of range: ${n}`);
  }
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function record(ino: number, mode: number, data: Uint8Array, name: string, rdev: [number, number] = [0, 0]) {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const header =
    '070701' + [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0].map(hex8).join('');
  const head = Buffer.concat([Buffer.from(header, 'ascii'), nameBytes]);
  return [head, Buffer.alloc(pad4(head.length)), Buffer.from(data), Buffer.alloc(pad4(data.length))];
}

/** Paths are relative to the archive root ("bin/busybox"); a leading "/" is dropped. */
export function cpioArchive(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    const path = e.path.replace(/^\/+/, '');
    if (path === '' || seen.has(path)) {
      throw new Error(`cpio: empty or duplicate path '${e.path}'`);
    }
    seen.add(path);
    const ino = i + 1;
    switch (e.kind) {
      case 'dir':
        parts.push(...record(ino, S_IFDIR | (e.mode ?? 0o755), new Uint8Array(0), path));
        break;
      case 'file':
        parts.push(...record(ino, S_IFREG | (e.mode ?? 0o644), e.data, path));
        break;
      case 'symlink':
        parts.push(...record(ino, S_IFLNK | 0o777, Buffer.from(e.target, 'utf8'), path));
        break;
      case 'char':
        parts.push(...record(ino, S_IFCHR | (e.mode ?? 0o600), new Uint8Array(0), path, [e.major, e.minor]));
        break;
    }
  });
  parts.push(...record(0, 0, new Uint8Array(0), 'TRAILER!!!'));
  return Buffer.concat(parts);
}

/** Every parent directory of the given paths, parents first (for archives that list files only). */
export function parentDirs(paths: string[]): string[] {
  const dirs = new Set<string>();
  for (const p of paths) {
    const parts = p.replace(/^\/+/, '').split('/');
    for (let i = 1; i < parts.length; i++) {
      dirs.add(parts.slice(0, i).join('/'));
    }
  }
  return [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
}
