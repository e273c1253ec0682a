/**
 * Writes a bundle directory incrementally: each file as soon as it is collected, and the
 * manifest rewritten after every file with `complete: false`, so a crash leaves a usable partial
 * bundle whose manifest says exactly what is in it. Nothing is written outside `root`.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { create as tarCreate } from 'tar';
import { BUNDLE_FORMAT, type Manifest, type ManifestFailure, type ManifestFile } from '../model/manifest.js';
import { checkMemberPath } from '../bundle/source.js';
import { MANIFEST_PATH, sha256 } from '../bundle/manifest.js';
import { VERSION } from '../version.js';

export interface BundleWriterOptions {
  /**
   * Rewrite manifest.json at most this often (ms). 0 (the default) rewrites it after every file;
   * collectors writing thousands of files use a few hundred ms, since each rewrite costs the whole
   * manifest. Files written since the last rewrite are on disk but not yet listed; `finish()`
   * always writes the final manifest.
   */
  manifestFlushMs?: number;
}

export class BundleWriter {
  readonly manifest: Manifest;
  private queue: Promise<void> = Promise.resolve();
  private readonly flushMs: number;
  private lastFlush = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly pathLocks = new Map<string, Promise<void>>();
  private readonly pending = new Set<Promise<void>>();
  /** path → position in manifest.files (a linear search per write is quadratic over a fleet). */
  private readonly index = new Map<string, number>();

  private constructor(
    readonly root: string,
    source: Manifest['source'],
    opts: BundleWriterOptions = {},
    previous?: Manifest,
  ) {
    this.flushMs = opts.manifestFlushMs ?? 0;
    this.manifest = previous
      ? { ...previous, complete: false, files: [...previous.files], failures: [...(previous.failures ?? [])], notes: [...(previous.notes ?? [])] }
      : {
          format: BUNDLE_FORMAT,
          createdAt: new Date().toISOString(),
          tool: `caliscope ${VERSION}`,
          source,
          complete: false,
          files: [],
          failures: [],
          notes: [],
        };
    this.manifest.files.forEach((f, i) => this.index.set(f.path, i));
  }

  static async create(root: string, source: Manifest['source'], opts: BundleWriterOptions = {}): Promise<BundleWriter> {
    await fs.mkdir(root, { recursive: true });
    const w = new BundleWriter(path.resolve(root), source, opts);
    await w.flushManifest();
    return w;
  }

  /**
   * Continues an existing (usually partial) bundle directory: keeps its manifest's files,
   * failures and notes and marks it incomplete until `finish()`. Without a readable manifest
   * this is `create`.
   */
  static async resume(root: string, source: Manifest['source'], opts: BundleWriterOptions = {}): Promise<BundleWriter> {
    let previous: Manifest | undefined;
    try {
      const m = JSON.parse(await fs.readFile(path.join(root, MANIFEST_PATH), 'utf8')) as Manifest;
      if (m && m.format === BUNDLE_FORMAT && Array.isArray(m.files)) previous = m;
    } catch {
      /* no manifest: start afresh */
    }
    if (!previous) return BundleWriter.create(root, source, opts);
    const w = new BundleWriter(path.resolve(root), source, opts, previous);
    await w.flushManifest();
    return w;
  }

  /** Resolves a bundle-relative path inside root, refusing anything that would escape it. */
  private resolve(rel: string): string {
    const c = checkMemberPath(rel);
    if (!c.ok) throw new Error(`refusing to write ${JSON.stringify(rel)}: ${c.reason}`);
    const abs = path.join(this.root, c.path);
    if (!abs.startsWith(this.root + path.sep)) throw new Error(`refusing to write outside the bundle: ${rel}`);
    return abs;
  }

  /**
   * Writes one file and records it. Disk writes of different files run concurrently (a fleet
   * writes thousands); writes of the same path stay in call order, and manifest updates are
   * serialised so the manifest never races.
   */
  writeFile(rel: string, data: string | Buffer, meta: Omit<ManifestFile, 'path' | 'sha256' | 'size'> = {}): Promise<void> {
    let abs: string;
    try {
      abs = this.resolve(rel);
    } catch (e) {
      return Promise.reject(e);
    }
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const prior = this.pathLocks.get(rel) ?? Promise.resolve();
    const done = prior
      .catch(() => {})
      .then(async () => {
        await fs.mkdir(path.dirname(abs), { recursive: true });
        await fs.writeFile(abs, buf);
      })
      .then(() => {
        const run = async () => {
          const entry: ManifestFile = { path: rel, sha256: sha256(buf), size: buf.length, ...meta };
          const i = this.index.get(rel);
          if (i !== undefined) this.manifest.files[i] = entry;
          else this.index.set(rel, this.manifest.files.push(entry) - 1);
          await this.maybeFlush();
        };
        this.queue = this.queue.then(run, run);
        return this.queue;
      });
    this.pathLocks.set(rel, done);
    this.pending.add(done);
    const cleanup = () => {
      this.pending.delete(done);
      if (this.pathLocks.get(rel) === done) this.pathLocks.delete(rel);
    };
    done.then(cleanup, cleanup);
    return done;
  }

  /** Changes the manifest (after every write queued so far) and persists it like a file write. */
  update(fn: (m: Manifest) => void): Promise<void> {
    const run = async () => {
      const files = this.manifest.files;
      const n = files.length;
      fn(this.manifest);
      if (this.manifest.files !== files || this.manifest.files.length !== n) {
        this.index.clear();
        this.manifest.files.forEach((f, i) => this.index.set(f.path, i));
      }
      await this.maybeFlush();
    };
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  /** True when the manifest lists this path. */
  has(rel: string): boolean {
    return this.index.has(rel);
  }

  recordFailure(f: ManifestFailure): void {
    this.manifest.failures!.push(f);
    this.scheduleFlush();
  }

  note(s: string): void {
    this.manifest.notes!.push(s);
    this.scheduleFlush();
  }

  async finish(): Promise<Manifest> {
    await Promise.allSettled([...this.pending]);
    await this.queue.catch(() => {});
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.manifest.complete = true;
    this.manifest.files.sort((a, b) => a.path.localeCompare(b.path));
    this.index.clear();
    this.manifest.files.forEach((f, i) => this.index.set(f.path, i));
    await this.flushManifest();
    return this.manifest;
  }

  /** Writes the manifest now (still `complete: false`), e.g. before giving up on a collection. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await this.queue.catch(() => {});
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flushManifest();
  }

  private async maybeFlush(): Promise<void> {
    if (this.flushMs <= 0 || Date.now() - this.lastFlush >= this.flushMs) {
      await this.flushManifest();
      return;
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.manifest.complete) return;
    const delay = Math.max(0, this.flushMs - (Date.now() - this.lastFlush));
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      const run = () => this.flushManifest();
      this.queue = this.queue.then(run, run);
    }, delay);
    this.flushTimer.unref();
  }

  private async flushManifest(): Promise<void> {
    this.lastFlush = Date.now();
    const tmp = path.join(this.root, `.${MANIFEST_PATH}.tmp`);
    await fs.writeFile(tmp, `${JSON.stringify(this.manifest, null, 2)}\n`);
    await fs.rename(tmp, path.join(this.root, MANIFEST_PATH));
  }
}

/** Packs a bundle directory as .tar.gz with paths relative to the bundle root. */
export async function packBundle(dir: string, outFile: string): Promise<void> {
  const entries = await fs.readdir(dir);
  await tarCreate({ gzip: true, file: outFile, cwd: dir, portable: true }, entries.sort());
}

/**
 * `caliscope bundle seal DIR`: (re)writes manifest.json for a hand-made bundle, with the sha256 of
 * every file, so `bundle verify` can later detect tampering or truncation in transit.
 */
export async function sealBundle(dir: string): Promise<Manifest> {
  const root = path.resolve(dir);
  const files: ManifestFile[] = [];
  async function walk(rel: string): Promise<void> {
    for (const e of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === MANIFEST_PATH || e.name.startsWith('.')) continue;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) {
        const data = await fs.readFile(path.join(root, r));
        files.push({ path: r, sha256: sha256(data), size: data.length });
      }
    }
  }
  await walk('');
  let previous: Partial<Manifest> = {};
  try {
    previous = JSON.parse(await fs.readFile(path.join(root, MANIFEST_PATH), 'utf8')) as Manifest;
  } catch {
    /* no manifest yet */
  }
  const byPath = new Map((previous.files ?? []).map((f) => [f.path, f]));
  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    createdAt: previous.createdAt ?? new Date().toISOString(),
    tool: `caliscope ${VERSION}`,
    source: previous.source ?? { kind: 'manual' },
    complete: true,
    // Keep what a collector recorded about each file (command, exit code); refresh the hashes.
    files: files.sort((a, b) => a.path.localeCompare(b.path)).map((f) => ({ ...byPath.get(f.path), ...f })),
    failures: previous.failures ?? [],
    notes: previous.notes ?? [],
  };
  await fs.writeFile(path.join(root, MANIFEST_PATH), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export const BUNDLE_README = `# caliscope bundle

Put raw evidence here exactly as the commands print it, then run \`caliscope bundle seal .\`
(optional: records sha256s) and \`caliscope diagnose .\`. Every file is optional.

cluster/                 any *.yaml / *.json from \`kubectl get -o yaml\` or \`calicoctl get -o yaml\`
                         (Pods, Namespaces, NetworkPolicies, Calico resources, IPAM blocks, ...)
nodes/<node-name>/
  iptables-save.txt      iptables-save -c            ip6tables-save.txt   ip6tables-save -c
  ipset.txt              ipset save   (or ipset list)
  ip-addr.json           ip -j -d addr               (.txt from plain \`ip addr\` also works)
  ip-link.json           ip -j -d link
  ip-route.json          ip -j route show table all  ip6-route.json  ip -j -6 route show table all
  ip-rule.json           ip -j rule                  ip6-rule.json   ip -j -6 rule
  ip-neigh.json          ip -j neigh
  bridge-fdb.json        bridge -j fdb show
  conntrack.txt          conntrack -L                conntrack-stats.txt  conntrack -S
  sysctl.txt             sysctl -a
  bird-protocols.txt     birdcl show protocols all   bird-routes.txt      birdcl show route
  calicoctl-node-status.txt   calicoctl node status
  felix-metrics.txt      curl -s localhost:9091/metrics
  felix.log              kubectl logs -n calico-system <calico-node pod> -c calico-node
`;

/** `caliscope bundle init DIR`: an empty bundle layout with a README of what goes where. */
export async function initBundle(dir: string, nodes: string[] = []): Promise<void> {
  const root = path.resolve(dir);
  await fs.mkdir(path.join(root, 'cluster'), { recursive: true });
  for (const n of nodes) {
    const c = checkMemberPath(n);
    if (!c.ok || c.path.includes('/')) throw new Error(`invalid node name ${JSON.stringify(n)}`);
    await fs.mkdir(path.join(root, 'nodes', n), { recursive: true });
  }
  await fs.mkdir(path.join(root, 'nodes'), { recursive: true });
  await fs.writeFile(path.join(root, 'README.md'), BUNDLE_README);
  await sealBundle(root);
}
