/**
 * `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) and prints
 * one table of figures with the issue's limits. Exit code 1 if a limit is missed, so a regression
 * is visible. Never part of `npm test`: timings belong here, not in unit tests.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Bench, BenchRow } from './types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => /\.bench\.(ts|js)$/.test(f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const rows: (BenchRow & { bench: string })[] = [];
let failed = false;
// Each bench file runs in a fresh process (CALISCOPE_BENCH_CHILD): a 1M-entry conntrack parse
// leaves a heap that would slow the next bench's GC, and figures must not depend on order.
const child = process.env.CALISCOPE_BENCH_CHILD === '1';
for (const f of files) {
  process.stderr.write(`bench: ${f} ...\n`);
  if (!child) {
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), f], {
      env: { ...process.env, CALISCOPE_BENCH_CHILD: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 16 << 20,
    });
    const line = r.stdout.split('\n').find((l) => l.startsWith('{"rows":'));
    if (r.status !== 0 && !line) {
      failed = true;
      process.stderr.write(`  FAILED: exit ${r.status}\n`);
      continue;
    }
    const got = JSON.parse(line!) as { rows: (BenchRow & { bench: string })[]; failed: boolean };
    rows.push(...got.rows);
    if (got.failed) failed = true;
    continue;
  }
  const mod = (await import(pathToFileURL(path.join(here, f)).href)) as { default: Bench };
  try {
    for (const r of await mod.default()) {
      rows.push({ ...r, bench: f.replace(/\.bench\.(ts|js)$/, '') });
      process.stderr.write(`  ${r.name}: ${fmt(r.value)} ${r.unit}\n`);
    }
  } catch (e) {
    failed = true;
    process.stderr.write(`  FAILED: ${(e as Error).stack}\n`);
  }
}
if (child) {
  // NaN (a figure not measured) does not survive JSON: send it as null and restore it.
  console.log(JSON.stringify({ rows: rows.map((r) => ({ ...r, value: Number.isNaN(r.value) ? null : r.value })), failed }));
  process.exit(0);
}
for (const r of rows) if (r.value === null) r.value = Number.NaN;

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3);
}

console.log(`\n${'bench'.padEnd(18)} ${'measure'.padEnd(58)} ${'value'.padStart(12)} ${'unit'.padEnd(10)} limit`);
for (const r of rows) {
  let verdict = '';
  if (r.limit !== undefined) {
    const ok = r.limitKind === 'min' ? r.value >= r.limit : r.value <= r.limit;
    if (!ok) failed = true;
    verdict = `${r.limitKind === 'min' ? '>=' : '<='} ${r.limit} ${ok ? 'ok' : 'MISSED'}`;
  }
  console.log(`${r.bench.padEnd(18)} ${r.name.padEnd(58)} ${fmt(r.value).padStart(12)} ${r.unit.padEnd(10)} ${verdict}${r.note ? `  (${r.note})` : ''}`);
}
process.exitCode = failed ? 1 : 0;
