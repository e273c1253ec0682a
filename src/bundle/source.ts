/**
 * Reading a bundle from disk: a directory, or the same tree as a .tar.gz / .tgz / .tar.
 * This is the I/O edge of the offline path. Everything it returns is plain data (paths and
 * bytes); parsing happens in `load.ts`.
 *
 * Safety: archives are untrusted (a bundle is often received from someone else). Entries with
 * absolute paths, `..` segments, symlinks, hard links or devices are rejected, and the total
 * decompressed size and the compression ratio are capped to defeat decompression bombs.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { createGunzip } from 'node:zlib';
import path from 'node:path';
import { Parser as TarParser, type ReadEntry } from 'tar';

export class BundleError extends Error {
  constructor(
    message: string,
    readonly bundle: string,
  ) {
    super(message);
    this.name = 'BundleError';
  }
}

export interface BundleSource {
  /** What the user passed (directory or archive path). */
  origin: string;
  kind: 'directory' | 'archive';
  /** Bundle-relative POSIX paths, sorted. */
  paths(): string[];
  has(p: string): boolean;
  bytes(p: string): Buffer;
  text(p: string): string;
  size(p: string): number;
  /** Entries that were refused (unsafe archive members, symlinks in a directory). */
  refused: { path: string; reason: string }[];
}

export interface OpenOptions {
  /** Total decompressed bytes allowed (default 4 GiB). */
  maxTotalBytes?: number;
  /** Decompressed/compressed ratio above which an archive larger than 64 MiB is treated as a bomb (default 200). */
  maxRatio?: number;
  /** Maximum number of entries (default 200,000). */
  maxEntries?: number;
}

const DEFAULTS: Required<OpenOptions> = {
  maxTotalBytes: 4 * 1024 ** 3,
  maxRatio: 200,
  maxEntries: 200_000,
};

class MemorySource implements BundleSource {
  refused: { path: string; reason: string }[] = [];
  private readonly files = new Map<string, Buffer>();
  private sorted: string[] | undefined;
  constructor(
    readonly origin: string,
    readonly kind: 'directory' | 'archive',
  ) {}
  add(p: string, data: Buffer): void {
    this.files.set(p, data);
    this.sorted = undefined;
  }
  paths(): string[] {
    return (this.sorted ??= [...this.files.keys()].sort());
  }
  has(p: string): boolean {
    return this.files.has(p);
  }
  bytes(p: string): Buffer {
    const b = this.files.get(p);
    if (!b) throw new BundleError(`no file ${p} in bundle`, this.origin);
    return b;
  }
  text(p: string): string {
    return this.bytes(p).toString('utf8');
  }
  size(p: string): number {
    return this.files.get(p)?.length ?? 0;
  }
}

/** Open a bundle directory or archive. Throws BundleError (a clear message, no stack) when it cannot. */
export async function openBundle(origin: string, opts: OpenOptions = {}): Promise<BundleSource> {
  const o = { ...DEFAULTS, ...opts };
  let st;
  try {
    st = await fs.stat(origin);
  } catch {
    throw new BundleError(`bundle not found: ${origin}`, origin);
  }
  if (st.isDirectory()) return readDirectory(origin, o);
  if (st.isFile()) return readArchive(origin, st.size, o);
  throw new BundleError(`not a directory or archive: ${origin}`, origin);
}

async function readDirectory(root: string, o: Required<OpenOptions>): Promise<BundleSource> {
  const src = new MemorySource(root, 'directory');
  let total = 0;
  let count = 0;
  async function walk(rel: string): Promise<void> {
    const abs = path.join(root, rel);
    const entries = await fs.readdir(abs, { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isSymbolicLink()) {
        // A symlink could point outside the bundle (e.g. /etc/shadow): never follow it.
        src.refused.push({ path: r, reason: 'symbolic link (not followed)' });
      } else if (e.isDirectory()) {
        await walk(r);
      } else if (e.isFile()) {
        if (++count > o.maxEntries) throw new BundleError(`more than ${o.maxEntries} files`, root);
        const data = await fs.readFile(path.join(root, r));
        total += data.length;
        if (total > o.maxTotalBytes) throw new BundleError(`bundle larger than ${o.maxTotalBytes} bytes`, root);
        src.add(r, data);
      } else {
        src.refused.push({ path: r, reason: 'not a regular file' });
      }
    }
  }
  await walk('');
  return src;
}

/** Validates an archive member path; returns the normalised bundle-relative path or a reason. */
export function checkMemberPath(p: string): { ok: true; path: string } | { ok: false; reason: string } {
  if (p.includes('\0')) return { ok: false, reason: 'NUL byte in path' };
  if (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p)) return { ok: false, reason: 'absolute path' };
  const parts = p.replace(/\\/g, '/').split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..')) return { ok: false, reason: 'path traversal (..)' };
  if (parts.length === 0) return { ok: false, reason: 'empty path' };
  return { ok: true, path: parts.join('/') };
}

/** Top-level directories of the bundle layout (never a wrapper to strip). */
const BUNDLE_TOPS = new Set(['cluster', 'nodes', 'logs']);

async function readArchive(file: string, compressedSize: number, o: Required<OpenOptions>): Promise<BundleSource> {
  const src = new MemorySource(file, 'archive');
  const head = Buffer.alloc(2);
  const fh = await fs.open(file, 'r');
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  let total = 0;
  let count = 0;
  const chunks = new Map<string, Buffer[]>();

  await new Promise<void>((resolve, reject) => {
    const fail = (msg: string) => {
      input.destroy();
      reject(new BundleError(msg, file));
    };
    const parser = new TarParser({
      strict: false,
      onwarn: () => {},
      onReadEntry: (entry: ReadEntry) => {
        const checked = checkMemberPath(entry.path);
        if (entry.type === 'Directory') {
          entry.resume();
          return;
        }
        if (!checked.ok) {
          src.refused.push({ path: entry.path, reason: checked.reason });
          entry.resume();
          return;
        }
        if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
          src.refused.push({ path: checked.path, reason: `${entry.type} entries are not allowed` });
          entry.resume();
          return;
        }
        if (++count > o.maxEntries) return fail(`archive has more than ${o.maxEntries} entries`);
        const parts: Buffer[] = [];
        chunks.set(checked.path, parts);
        entry.on('data', (c: Buffer) => {
          total += c.length;
          if (total > o.maxTotalBytes) return fail(`archive expands beyond ${o.maxTotalBytes} bytes (decompression bomb?)`);
          if (total > 64 * 1024 ** 2 && total / Math.max(1, compressedSize) > o.maxRatio) {
            return fail(`archive expands more than ${o.maxRatio}x (decompression bomb?)`);
          }
          parts.push(c);
        });
      },
    });
    parser.on('error', (e: Error) => reject(new BundleError(`not a readable tar archive: ${e.message}`, file)));
    parser.on('end', () => resolve());
    const input = createReadStream(file);
    input.on('error', (e) => reject(new BundleError(`cannot read ${file}: ${e.message}`, file)));
    if (gz) {
      const gunzip = createGunzip();
      gunzip.on('error', (e) => reject(new BundleError(`not a readable gzip archive: ${e.message}`, file)));
      input.pipe(gunzip).pipe(parser);
    } else {
      input.pipe(parser);
    }
  });
  if (count === 0 && src.refused.length === 0) throw new BundleError('archive holds no files (is it a bundle?)', file);
  // Archives made with `tar -C parent dir` put everything under one top directory: strip it.
  // Not when that directory is a bundle directory itself (a cluster-only or one-node bundle packed
  // from its root has just `cluster/…` or `nodes/…`), unless a manifest says it wraps a bundle.
  const all = [...chunks.keys()];
  const tops = new Set(all.map((p) => p.split('/')[0]));
  const top = [...tops][0];
  const wrapsBundle = !BUNDLE_TOPS.has(top) || all.includes(`${top}/manifest.json`);
  const strip = tops.size === 1 && all.every((p) => p.includes('/')) && wrapsBundle ? `${top}/` : '';
  for (const [p, parts] of chunks) src.add(strip ? p.slice(strip.length) : p, Buffer.concat(parts));
  return src;
}

/** A bundle assembled in memory (tests, lab, collectors before writing). */
export function memoryBundle(files: Record<string, string | Buffer>, origin = '<memory>'): BundleSource {
  const src = new MemorySource(origin, 'directory');
  for (const [p, d] of Object.entries(files)) src.add(p, typeof d === 'string' ? Buffer.from(d) : d);
  return src;
}
