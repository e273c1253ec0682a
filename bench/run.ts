/**
 * `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) and prints
 * one table of figures with the issue's limits. Exit code 1 if a limit is missed, so a regression
 * is visible. Never part of `npm test`: timings belong here, not in unit tests.
 */
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
for (const f of files) {
  const mod = (await import(pathToFileURL(path.join(here, f)).href)) as { default: Bench };
  process.stderr.write(`bench: ${f} ...\n`);
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
