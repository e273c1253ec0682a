/**
 * Shared steps of the web UI tests: the built client (built here when missing or stale), the
 * sample bundle, headless Chromium through playwright-core, and `caliscope serve` as a real
 * child process.
 */
import { describe } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHROMIUM = process.env.CALISCOPE_CHROMIUM ?? '/usr/bin/chromium';
export const SAMPLE_BUNDLE = path.join(ROOT, 'samples/lab-bundle');
const ASSETS = path.join(ROOT, 'dist/web/app');
const CLIENT_SRC = path.join(ROOT, 'src/web/app');
const inCI = process.env.CI === 'true';

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

function fresh(): boolean {
  const index = path.join(ASSETS, 'index.html');
  return existsSync(index) && statSync(index).mtimeMs >= newestMtime(CLIENT_SRC);
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Builds the client with Vite when dist/web/app is missing or older than its sources. Test files
 * run in parallel processes: a lock directory keeps them from building over each other.
 */
export function ensureWebBuilt(): void {
  if (fresh()) return;
  const lock = path.join(ROOT, 'dist', '.web-build-lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a crashed build is taken over after two minutes.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // Released meanwhile.
      }
      sleepMs(200);
      if (fresh()) return;
    }
  }
  try {
    if (!fresh()) execFileSync(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', path.join(CLIENT_SRC, 'vite.config.ts')], { cwd: ROOT, stdio: 'inherit' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * The bundle the end-to-end tests drive: CALISCOPE_WEB_BUNDLE, else samples/lab-bundle. Absent:
 * undefined (the caller skips loudly, or fails in CI).
 */
export function labBundle(): string | undefined {
  const env = process.env.CALISCOPE_WEB_BUNDLE;
  if (env) return env;
  return existsSync(path.join(SAMPLE_BUNDLE, 'nodes')) ? SAMPLE_BUNDLE : undefined;
}

/** `describe` for suites that need something this machine may lack: skipped loudly outside CI, failing in CI. */
export function describeIf(ok: boolean, why: string, name: string, fn: () => void, timeout?: number): void {
  if (ok) {
    describe(name, { timeout }, fn);
    return;
  }
  if (inCI) {
    describe(name, () => {
      throw new Error(`${name}: ${why}, and CI=true forbids skipping it`);
    });
    return;
  }
  console.warn(`\n*** SKIPPED ${name}: ${why} ***\n`);
  describe.skip(`${name} (skipped: ${why})`, fn);
}

export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

export interface ServeProcess {
  url: string;
  origin: string;
  token: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Runs `caliscope serve <bundle> --no-open` as the CLI does and waits for the URL it prints. */
export async function startServe(bundle: string, extra: string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', bundle, '--no-open', ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`caliscope serve printed no URL in 60 s\nstdout: ${out}\nstderr: ${err}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /open (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`caliscope serve exited with ${code}\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  const u = new URL(url);
  return {
    url,
    origin: u.origin,
    token: u.searchParams.get('token')!,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function apiGet<T>(s: ServeProcess, p: string): Promise<T> {
  const r = await fetch(`${s.origin}${p}`, { headers: { 'x-caliscope-token': s.token } });
  if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** A bundle of one node holding a generated Calico-shaped ruleset (bench/gen/iptables.ts) and its ipsets. */
export async function writeGeneratedBundle(dir: string, rules: number, node = 'big-node'): Promise<{ dir: string; node: string; biggest: { table: string; chain: string; rules: number }; chains: number }> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { generateCalicoRulesetWithSets, ipsetRestoreText } = await import('../../bench/gen/iptables.js');
  const g = generateCalicoRulesetWithSets({ rules, seed: 7 });
  await mkdir(path.join(dir, 'nodes', node), { recursive: true });
  await writeFile(path.join(dir, 'nodes', node, 'iptables-save.txt'), g.text);
  await writeFile(path.join(dir, 'nodes', node, 'ipset.txt'), ipsetRestoreText(g.ipsets));
  // The biggest chain, found the way an operator would: by counting `-A` lines.
  const counts = new Map<string, number>();
  let table = '';
  for (const line of g.text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const m = /^(?:\[\d+:\d+\] )?-A (\S+)/.exec(line);
    if (m) counts.set(`${table} ${m[1]}`, (counts.get(`${table} ${m[1]}`) ?? 0) + 1);
  }
  let biggest = { table: '', chain: '', rules: 0 };
  for (const [k, n] of counts) if (n > biggest.rules) biggest = { table: k.split(' ')[0], chain: k.split(' ')[1], rules: n };
  const chains = g.text.split('\n').filter((l) => /^:\S+ /.test(l)).length;
  return { dir, node, biggest, chains };
}
