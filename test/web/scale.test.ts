/**
 * A 200 000-rule ruleset (bench/gen/iptables.ts) in the Rules view: the API pages chains and
 * rules, and the page keeps only the rows in view in the DOM, however long the chain. No
 * wall-clock assertions: the behaviour that keeps it fast is what is checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { loadBundle } from '../../src/bundle/load.js';
import { WebApi } from '../../src/web/api.js';
import { startServer, type RunningServer } from '../../src/web/server.js';
import { describeIf, ensureWebBuilt, hasChromium, launchChromium, writeGeneratedBundle } from './helpers.js';

let dir: string;
let srv: RunningServer;
let gen: Awaited<ReturnType<typeof writeGeneratedBundle>>;

beforeAll(async () => {
  ensureWebBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'caliscope-web-200k-'));
  gen = await writeGeneratedBundle(dir, 200_000);
  srv = await startServer(new WebApi(await loadBundle(dir)));
}, 180_000);

afterAll(async () => {
  await srv?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function get<T>(p: string): Promise<T> {
  const r = await fetch(`http://127.0.0.1:${srv.port}${p}`, { headers: { 'x-caliscope-token': srv.token } });
  expect(r.status, p).toBe(200);
  return (await r.json()) as T;
}

describe('200k-rule ruleset: the API pages', () => {
  it('lists the chains a page at a time, never more than 5000', async () => {
    expect(gen.chains).toBeGreaterThan(10_000);
    const all = await get<{ total: number; chains: unknown[] }>(`/api/nodes/${gen.node}/chains?limit=1000000`);
    expect(all.total).toBe(gen.chains);
    expect(all.chains.length).toBe(5000);
    const def = await get<{ chains: unknown[] }>(`/api/nodes/${gen.node}/chains`);
    expect(def.chains.length).toBe(500);
  });

  it('returns one page of the biggest chain with its total', async () => {
    expect(gen.biggest.rules).toBeGreaterThan(2000);
    const base = `/api/nodes/${gen.node}/chain?table=${gen.biggest.table}&chain=${encodeURIComponent(gen.biggest.chain)}`;
    const p = await get<{ total: number; rules: { index: number }[] }>(`${base}&limit=300`);
    expect(p.total).toBe(gen.biggest.rules);
    expect(p.rules).toHaveLength(300);
    const last = await get<{ rules: { index: number }[] }>(`${base}&offset=${gen.biggest.rules - 1}&limit=300`);
    expect(last.rules.map((r) => r.index)).toEqual([gen.biggest.rules]);
  });

  it('caps search results and says how many there are', async () => {
    const r = await get<{ total: number; hits: unknown[] }>(`/api/nodes/${gen.node}/search?q=ACCEPT`);
    expect(r.total).toBeGreaterThan(200);
    expect(r.hits.length).toBe(200);
  });
});

describeIf(hasChromium(), `no Chromium at ${process.env.CALISCOPE_CHROMIUM ?? '/usr/bin/chromium'}`, '200k-rule ruleset: the Rules view is virtualised', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('renders a few dozen rows of a chain of thousands and of a list of 20 000+ chains, and fetches the end when scrolled there', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const base = `http://127.0.0.1:${srv.port}/?token=${srv.token}`;
    await page.goto(`${base}#/rules?node=${gen.node}&table=${gen.biggest.table}&chain=${encodeURIComponent(gen.biggest.chain)}`);
    const rules = page.getByTestId('rule-vlist');
    await rules.waitFor();
    await page.locator('[data-testid="rule-row"]').first().waitFor();
    expect(Number(await rules.getAttribute('data-count'))).toBe(gen.biggest.rules);
    const inDom = await page.locator('[data-testid="rule-row"]').count();
    expect(inDom).toBeGreaterThan(10);
    expect(inDom).toBeLessThan(120);

    const chains = page.getByTestId('chain-vlist');
    expect(Number(await chains.getAttribute('data-count'))).toBe(gen.chains);
    const chainRows = await page.locator('[data-testid="chain-row"]').count();
    expect(chainRows).toBeGreaterThan(10);
    expect(chainRows).toBeLessThan(120);

    // Scrolled to the end: the last page is fetched and shown, and the DOM stays small.
    await rules.evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    const lastIndex = String(gen.biggest.rules);
    await page.locator('[data-testid="rule-row"] .idx', { hasText: new RegExp(`^${lastIndex}$`) }).waitFor();
    expect(await page.locator('[data-testid="rule-row"]').count()).toBeLessThan(120);

    await chains.evaluate((el) => {
      el.scrollTop = el.scrollHeight / 2;
    });
    await expect.poll(async () => page.locator('[data-testid="chain-row"]').count()).toBeGreaterThan(10);
    expect(await page.locator('[data-testid="chain-row"]').count()).toBeLessThan(120);
    expect(errors).toEqual([]);
    await page.close();
  });
}, 120_000);
