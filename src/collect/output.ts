/**
 * Where a collection goes: a directory, or a `.tar.gz`/`.tgz` archive. An archive is assembled
 * in a staging directory next to it (`<out>.partial/`), which is the usable partial bundle if
 * the collection stops, and which `resume` continues; it is packed and removed at the end.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Manifest } from '../model/manifest.js';
import { BundleWriter, packBundle } from './bundle-writer.js';

export function isArchivePath(out: string): boolean {
  return /\.(tar\.gz|tgz)$/i.test(out);
}

export interface BundleOutput {
  writer: BundleWriter;
  /** The directory being written. */
  dir: string;
  /** The manifest found when resuming (undefined for a fresh bundle). */
  previous?: Manifest;
  /** Finishes the manifest and, for an archive, packs it and removes the staging directory. Returns the final path. */
  finalize(): Promise<string>;
}

export async function openOutput(
  out: string,
  source: Manifest['source'],
  o: { resume?: boolean; manifestFlushMs?: number; checkPrevious?: (previous: Manifest | undefined) => void } = {},
): Promise<BundleOutput> {
  const archive = isArchivePath(out);
  const dir = archive ? `${out}.partial` : out;
  let previous: Manifest | undefined;
  const manifestPath = path.join(dir, 'manifest.json');
  try {
    previous = JSON.parse(await fs.readFile(manifestPath, 'utf8')) as Manifest;
  } catch {
    previous = undefined;
  }
  // Before anything is written: resuming must not touch a bundle it then refuses.
  if (o.resume) o.checkPrevious?.(previous);
  if (!o.resume) {
    if (previous) throw new Error(`${dir} already holds a bundle; pass resume to continue it, or choose another output`);
    if (archive && (await exists(out))) throw new Error(`${out} already exists`);
    const entries = await fs.readdir(dir).catch(() => [] as string[]);
    if (entries.length > 0) throw new Error(`${dir} exists and is not empty`);
  }
  const writer = o.resume
    ? await BundleWriter.resume(dir, source, { manifestFlushMs: o.manifestFlushMs })
    : await BundleWriter.create(dir, source, { manifestFlushMs: o.manifestFlushMs });
  return {
    writer,
    dir,
    previous: o.resume ? previous : undefined,
    async finalize() {
      await writer.finish();
      if (!archive) return out;
      const tmp = `${out}.tmp-${process.pid}`;
      await packBundle(dir, tmp);
      await fs.rename(tmp, out);
      await fs.rm(dir, { recursive: true, force: true });
      return out;
    },
  };
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.stat(p);
    return true;
  } catch {
    return false;
  }
}
