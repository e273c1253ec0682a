/**
 * Reading untrusted bundles (src/bundle/source.ts): archives with traversal, absolute paths,
 * symlinks, hard links, decompression bombs; a normal round trip through BundleWriter →
 * packBundle → openBundle; verifyManifest on tampered and missing files.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync, constants as zc } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { BundleError, checkMemberPath, openBundle } from '../../src/bundle/source.js';
import { readManifest, sha256, verifyManifest } from '../../src/bundle/manifest.js';
import { BundleWriter, packBundle } from '../../src/collect/bundle-writer.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'csf-bundle-safety-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'chardev';
const TYPEFLAG: Record<EntryType, string> = { file: '0', hardlink: '1', symlink: '2', chardev: '3', dir: '5', fifo: '6' };

/** One ustar entry, written by hand: node-tar would sanitise exactly the paths we need to test. */
function tarEntry(name: string, body: Buffer | string = '', type: EntryType = 'file', linkname = ''): Buffer {
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s.slice(0, len), off, 'utf8');
  const octal = (n: number, len: number) => `${n.toString(8).padStart(len - 1, '0')}\0`;
  put(name, 0, 100);
  h.write(octal(type === 'dir' ? 0o755 : 0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(type === 'file' ? data.length : 0, 12), 124);
  h.write(octal(1700000000, 12), 136);
  h.write('        ', 148);
  put(TYPEFLAG[type], 156, 1);
  put(linkname, 157, 100);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = type === 'file' ? Buffer.alloc((512 - (data.length % 512)) % 512) : Buffer.alloc(0);
  return Buffer.concat([h, type === 'file' ? data : Buffer.alloc(0), pad]);
}

function archive(name: string, entries: Buffer[], gzip = true): string {
  const tar = Buffer.concat([...entries, Buffer.alloc(1024)]);
  const file = path.join(tmp, name);
  writeFileSync(file, gzip ? gzipSync(tar, { level: zc.Z_BEST_SPEED }) : tar);
  return file;
}

const IPT = '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n';

describe('openBundle refuses unsafe archive members and reads the rest', () => {
  it('path traversal, absolute paths, backslash traversal', async () => {
    const f = archive('traversal.tar.gz', [
      tarEntry('nodes/a/iptables-save.txt', IPT),
      tarEntry('../evil.txt', 'x'),
      tarEntry('nodes/../../evil2.txt', 'x'),
      tarEntry('/etc/passwd', 'root:x:0:0'),
      tarEntry('..\\..\\evil3.txt', 'x'),
    ]);
    const src = await openBundle(f);
    expect(src.paths()).toEqual(['nodes/a/iptables-save.txt']);
    expect(src.text('nodes/a/iptables-save.txt')).toBe(IPT);
    const reasons = Object.fromEntries(src.refused.map((r) => [r.path, r.reason]));
    expect(Object.values(reasons).filter((r) => r === 'path traversal (..)').length).toBe(3);
    expect(src.refused.some((r) => r.reason === 'absolute path' || /etc\/passwd/.test(r.path))).toBe(true);
  });

  it('symlinks, hard links and device/fifo entries', async () => {
    const f = archive('links.tar', [
      tarEntry('cluster/pods.yaml', 'apiVersion: v1\nkind: List\nitems: []\n'),
      tarEntry('nodes/a/iptables-save.txt', '', 'symlink', '/etc/shadow'),
      tarEntry('nodes/a/ipset.txt', '', 'hardlink', '/etc/shadow'),
      tarEntry('nodes/a/fifo', '', 'fifo'),
      tarEntry('nodes/a/dev', '', 'chardev'),
    ], false);
    const src = await openBundle(f);
    expect(src.paths()).toEqual(['cluster/pods.yaml']);
    expect(src.refused.map((r) => r.path).sort()).toEqual(['nodes/a/dev', 'nodes/a/fifo', 'nodes/a/ipset.txt', 'nodes/a/iptables-save.txt']);
    expect(src.refused.find((r) => r.path === 'nodes/a/iptables-save.txt')!.reason).toMatch(/SymbolicLink entries are not allowed/);
    expect(src.refused.find((r) => r.path === 'nodes/a/ipset.txt')!.reason).toMatch(/Link entries are not allowed/);
  });

  it('a symlink inside a bundle directory is not followed', async () => {
    const dir = path.join(tmp, 'dir-with-link');
    mkdirSync(path.join(dir, 'nodes', 'a'), { recursive: true });
    writeFileSync(path.join(dir, 'nodes', 'a', 'ipset.txt'), 'create x hash:ip\n');
    symlinkSync('/etc/passwd', path.join(dir, 'nodes', 'a', 'iptables-save.txt'));
    const src = await openBundle(dir);
    expect(src.paths()).toEqual(['nodes/a/ipset.txt']);
    expect(src.refused).toEqual([{ path: 'nodes/a/iptables-save.txt', reason: 'symbolic link (not followed)' }]);
  });

  it('a decompression bomb: total size cap', async () => {
    const f = archive('bomb.tar.gz', [tarEntry('nodes/a/conntrack.txt', Buffer.alloc(24 * 1024 * 1024))]);
    await expect(openBundle(f, { maxTotalBytes: 8 * 1024 * 1024 })).rejects.toThrow(/expands beyond 8388608 bytes \(decompression bomb\?\)/);
  });

  it('a decompression bomb: ratio cap (beyond 64 MiB)', async () => {
    const f = archive('ratio.tar.gz', [tarEntry('nodes/a/conntrack.txt', Buffer.alloc(70 * 1024 * 1024))]);
    const err = await openBundle(f, { maxRatio: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect((err as Error).message).toMatch(/expands more than 100x \(decompression bomb\?\)/);
  });

  it('too many entries', async () => {
    const f = archive('many.tar.gz', Array.from({ length: 30 }, (_, i) => tarEntry(`cluster/f${i}.yaml`, 'a: 1\n')));
    await expect(openBundle(f, { maxEntries: 20 })).rejects.toThrow(/more than 20 entries/);
  });

  it('garbage and empty archives fail with a clear error', async () => {
    const g = path.join(tmp, 'garbage.tar.gz');
    writeFileSync(g, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('not really gzip')]));
    await expect(openBundle(g)).rejects.toThrow(BundleError);
    await expect(openBundle(archive('empty.tar', [], false))).rejects.toThrow(/holds no files/);
    await expect(openBundle(path.join(tmp, 'nope'))).rejects.toThrow(/bundle not found/);
  });

  it('strips a single top-level directory', async () => {
    const f = archive('top.tar.gz', [tarEntry('mybundle/', '', 'dir'), tarEntry('mybundle/nodes/a/iptables-save.txt', IPT), tarEntry('mybundle/cluster/x.yaml', 'a: 1\n')]);
    expect((await openBundle(f)).paths()).toEqual(['cluster/x.yaml', 'nodes/a/iptables-save.txt']);
    // …but not a bundle directory itself: a cluster-only or a one-node bundle packed from its root.
    expect((await openBundle(archive('cluster-only.tar.gz', [tarEntry('cluster/pods.yaml', 'a: 1\n')]))).paths()).toEqual(['cluster/pods.yaml']);
    expect((await openBundle(archive('one-node.tar.gz', [tarEntry('nodes/a/ipset.txt', 'x\n')]))).paths()).toEqual(['nodes/a/ipset.txt']);
    // A wrapper directory that happens to be called "cluster" is recognised by its manifest.
    expect((await openBundle(archive('named-cluster.tar.gz', [tarEntry('cluster/manifest.json', '{}'), tarEntry('cluster/nodes/a/ipset.txt', 'x\n')]))).paths()).toEqual(['manifest.json', 'nodes/a/ipset.txt']);
  });

  it('checkMemberPath', () => {
    expect(checkMemberPath('a/./b//c')).toEqual({ ok: true, path: 'a/b/c' });
    expect(checkMemberPath('C:\\Windows\\x')).toEqual({ ok: false, reason: 'absolute path' });
    expect(checkMemberPath('a/\0b')).toEqual({ ok: false, reason: 'NUL byte in path' });
    expect(checkMemberPath('./')).toEqual({ ok: false, reason: 'empty path' });
  });
});

describe('round trip and manifest verification', () => {
  async function makeBundle(dir: string) {
    const w = await BundleWriter.create(dir, { kind: 'test' });
    await w.writeFile('nodes/a/iptables-save.txt', IPT, { command: 'iptables-save -c', exitCode: 0 });
    await w.writeFile('nodes/a/ipset.txt', 'create s hash:ip\n');
    await w.writeFile('cluster/pods.yaml', 'apiVersion: v1\nkind: List\nitems: []\n');
    return w.finish();
  }

  it('BundleWriter → packBundle → openBundle keeps every byte and the manifest verifies', async () => {
    const dir = path.join(tmp, 'rt');
    const m = await makeBundle(dir);
    const tgz = path.join(tmp, 'rt.tar.gz');
    await packBundle(dir, tgz);
    for (const origin of [dir, tgz]) {
      const src = await openBundle(origin);
      expect(src.paths()).toEqual(['cluster/pods.yaml', 'manifest.json', 'nodes/a/ipset.txt', 'nodes/a/iptables-save.txt']);
      expect(src.refused).toEqual([]);
      expect(src.text('nodes/a/iptables-save.txt')).toBe(IPT);
      const read = readManifest(src);
      expect(read.issues).toEqual([]);
      expect(read.manifest!.files).toEqual(m.files);
      expect(verifyManifest(src, read.manifest!)).toEqual({ ok: true, checked: 3, mismatched: [], missing: [], unlisted: [] });
    }
  });

  it('detects tampered, missing and unlisted files', async () => {
    const dir = path.join(tmp, 'tamper');
    await makeBundle(dir);
    writeFileSync(path.join(dir, 'nodes/a/ipset.txt'), 'create s hash:ip\nadd s 10.0.0.1\n');
    rmSync(path.join(dir, 'cluster/pods.yaml'));
    writeFileSync(path.join(dir, 'nodes/a/extra.txt'), 'x');
    const src = await openBundle(dir);
    const r = verifyManifest(src, readManifest(src).manifest!);
    expect(r.ok).toBe(false);
    expect(r.mismatched).toEqual([{ path: 'nodes/a/ipset.txt', expected: sha256('create s hash:ip\n'), actual: sha256('create s hash:ip\nadd s 10.0.0.1\n') }]);
    expect(r.missing).toEqual(['cluster/pods.yaml']);
    expect(r.unlisted).toEqual(['nodes/a/extra.txt']);
  });

  it('a partial bundle (crash before finish) says so and still verifies what it lists', async () => {
    const dir = path.join(tmp, 'partial');
    const w = await BundleWriter.create(dir, { kind: 'test' });
    await w.writeFile('nodes/a/ipset.txt', 'create s hash:ip\n');
    // no finish(): the process "died" here
    const src = await openBundle(dir);
    const read = readManifest(src);
    expect(read.manifest!.complete).toBe(false);
    expect(read.issues.map((i) => i.reason)).toContain('manifest says the collection did not complete: the bundle is partial');
    expect(verifyManifest(src, read.manifest!).ok).toBe(true);
  });

  it('BundleWriter refuses paths that leave the bundle', async () => {
    const w = await BundleWriter.create(path.join(tmp, 'refuse'), { kind: 'test' });
    await expect(w.writeFile('../x', 'x')).rejects.toThrow(/path traversal/);
    await expect(w.writeFile('/etc/x', 'x')).rejects.toThrow(/absolute path/);
    await w.finish();
  });
});
