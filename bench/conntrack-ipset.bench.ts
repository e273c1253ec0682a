/**
 * Conntrack and ipset parsing at node scale:
 * - 1,000,000 `conntrack -L` lines: parse time and memory. Measured in a fresh child process
 *   (this file re-run with CALISCOPE_BENCH_CHILD set) that only reads the generated file, so the
 *   RSS is the parser's, not that of earlier benches or of the generator; the child also reports
 *   the index build and 100,000 tuple lookups.
 * - `ipset save` with 100,000 members across Felix-style sets: parse + compile + 100,000
 *   membership lookups.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchRow } from './types.js';
import { generateConntrack } from './gen/conntrack.js';
import { generateFelixIpsets } from './gen/ipset.js';
import { parseConntrack } from '../src/parse/conntrack.js';
import { indexConntrack } from '../src/model/conntrack.js';
import { parseIpset } from '../src/parse/ipset.js';
import { compileIpsets } from '../src/model/ipset.js';

const CONNTRACK_ENTRIES = 1_000_000;
const IPSET_MEMBERS = 100_000;
const LOOKUPS = 100_000;

interface ChildResult {
  inputMB: number;
  rssBeforeMB: number;
  rssAfterMB: number;
  heapUsedMB: number;
  parseSeconds: number;
  entries: number;
  issues: number;
  indexSeconds: number;
  lookupSeconds: number;
  found: number;
}

const mb = (b: number) => b / (1024 * 1024);

async function child(file: string): Promise<void> {
  const text = readFileSync(file, 'utf8');
  globalThis.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const parsed = parseConntrack(text, 'bench/conntrack.txt');
  const t1 = performance.now();
  globalThis.gc?.();
  const mem = process.memoryUsage();
  const t2 = performance.now();
  const idx = indexConntrack(parsed.value);
  const t3 = performance.now();
  const es = parsed.value.entries;
  let found = 0;
  for (let i = 0; i < LOOKUPS; i++) {
    const e = es[(i * 7919) % es.length];
    const t = i & 1 ? e.reply : e.orig;
    if (idx.find(e.protoNum, t.src, t.sport ?? t.id, t.dst, t.dport)) found++;
  }
  const t4 = performance.now();
  const r: ChildResult = {
    inputMB: mb(Buffer.byteLength(text)),
    rssBeforeMB: mb(rssBefore),
    rssAfterMB: mb(mem.rss),
    heapUsedMB: mb(mem.heapUsed),
    parseSeconds: (t1 - t0) / 1000,
    entries: es.length,
    issues: parsed.issues.length,
    indexSeconds: (t3 - t2) / 1000,
    lookupSeconds: (t4 - t3) / 1000,
    found,
  };
  process.stdout.write(JSON.stringify(r));
}

const bench: Bench = async () => {
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'caliscope-bench-ct-'));
  try {
    const file = path.join(dir, 'conntrack.txt');
    const self = fileURLToPath(import.meta.url);
    // Generation (1 GB of transient strings) also runs in a child, so this process stays small
    // and its garbage collector does not compete with the measured child for CPU.
    const runChild = (mode: string) =>
      execFileSync(process.execPath, ['--expose-gc', '--max-old-space-size=4096', '--import', 'tsx', self, file], {
        env: { ...process.env, CALISCOPE_BENCH_CHILD: mode },
        // `--import tsx` resolves from the working directory: run from the repository root.
        cwd: path.resolve(path.dirname(self), '..'),
        maxBuffer: 1 << 20,
        encoding: 'utf8',
      });
    runChild('generate');
    const out = runChild('conntrack');
    const r = JSON.parse(out) as ChildResult;
    if (r.entries !== CONNTRACK_ENTRIES || r.issues !== 0) throw new Error(`conntrack parse read ${r.entries} entries with ${r.issues} issues`);
    if (r.found !== LOOKUPS) throw new Error(`conntrack index found ${r.found} of ${LOOKUPS}`);
    rows.push(
      { name: 'conntrack -L parse, 1M entries', value: r.parseSeconds, unit: 's', limit: 2, limitKind: 'max', note: `${r.inputMB.toFixed(0)} MB input` },
      {
        name: 'conntrack 1M entries: RSS after parse',
        value: r.rssAfterMB,
        unit: 'MB',
        note: `child process; ${r.rssBeforeMB.toFixed(0)} MB with only the input loaded, heap ${r.heapUsedMB.toFixed(0)} MB`,
      },
      { name: 'conntrack 1M entries: build tuple index', value: r.indexSeconds, unit: 's' },
      { name: 'conntrack: 100k tuple lookups', value: r.lookupSeconds, unit: 's' },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const g = generateFelixIpsets(IPSET_MEMBERS, LOOKUPS);
  const t0 = performance.now();
  const parsed = parseIpset(g.text, 'bench/ipset.txt');
  const t1 = performance.now();
  const member = compileIpsets(parsed.value);
  // Compile every set up front, so compile and lookup times are reported separately.
  for (const name of parsed.value.sets.keys()) member(name, '0.0.0.0');
  const t2 = performance.now();
  let hits = 0;
  let indeterminate = 0;
  for (const [set, ip, proto, port] of g.queries) {
    const v = member(set, ip, proto, port);
    if (v === true) hits++;
    else if (v === undefined) indeterminate++;
  }
  const t3 = performance.now();
  if (parsed.issues.length > 0) throw new Error(`ipset parse issues: ${parsed.issues[0].reason}`);
  if (indeterminate > 0) throw new Error(`${indeterminate} indeterminate ipset lookups`);
  rows.push(
    { name: `ipset save parse, ${g.members} members / ${g.sets.length} sets`, value: (t1 - t0) / 1000, unit: 's' },
    { name: 'ipset compile all sets', value: (t2 - t1) / 1000, unit: 's' },
    { name: `ipset ${g.queries.length / 1000}k membership lookups`, value: (t3 - t2) / 1000, unit: 's', note: `${hits} hits` },
    { name: 'ipset parse + compile + lookups', value: (t3 - t0) / 1000, unit: 's', limit: 2, limitKind: 'max' },
  );
  return rows;
};

export default bench;

if (process.env.CALISCOPE_BENCH_CHILD === 'generate' && process.argv[2]) {
  writeFileSync(process.argv[2], generateConntrack(CONNTRACK_ENTRIES, { seed: 42 }).text);
} else if (process.env.CALISCOPE_BENCH_CHILD === 'conntrack' && process.argv[2]) {
  await child(process.argv[2]);
}
