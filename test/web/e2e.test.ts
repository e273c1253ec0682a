/**
 * The web UI end to end: `caliscope serve` on the sample lab bundle (real kernel output, faults
 * injected), driven by real headless Chromium. Each view is loaded and checked against the API's
 * answers; screenshots of each view go to docs/screenshots/ (see docs/web.md).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { SummaryResponse, TraceResponse, EndpointFacts } from '../../src/web/api.js';
import type { Diagnosis } from '../../src/checks/run.js';
import type { MatrixJson } from '../../src/calico/policy/matrix.js';
import { ROOT, apiGet, describeIf, ensureWebBuilt, hasChromium, labBundle, launchChromium, startServe, type ServeProcess } from './helpers.js';

const bundle = labBundle();
const SHOTS = path.join(ROOT, 'docs/screenshots');

/** Screenshots land in docs/ when missing or when asked (CALISCOPE_UPDATE_SCREENSHOTS=1); otherwise in a temp dir. */
function shotPath(name: string): string {
  const doc = path.join(SHOTS, `${name}.png`);
  if (process.env.CALISCOPE_UPDATE_SCREENSHOTS === '1' || !existsSync(doc)) {
    mkdirSync(SHOTS, { recursive: true });
    return doc;
  }
  const dir = path.join(os.tmpdir(), 'caliscope-screenshots');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}.png`);
}

const why = !bundle ? 'no sample bundle (samples/lab-bundle, or set CALISCOPE_WEB_BUNDLE)' : `no Chromium at ${process.env.CALISCOPE_CHROMIUM ?? '/usr/bin/chromium'} (apt-get install chromium)`;

describeIf(!!bundle && hasChromium(), why, 'web UI end to end (caliscope serve + headless Chromium)', () => {
  let s: ServeProcess;
  let browser: Browser;
  let page: Page;
  let summary: SummaryResponse;
  let dropped: TraceResponse;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ensureWebBuilt();
    s = await startServe(bundle!);
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1500, height: 950 } });
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    summary = await apiGet<SummaryResponse>(s, '/api/summary');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  const view = (name: string) => page.getByTestId(`view-${name}`);

  it('refuses requests without the token, also from the browser', async () => {
    expect((await fetch(`${s.origin}/`)).status).toBe(401);
    expect((await fetch(`${s.origin}/api/summary`)).status).toBe(401);
    expect((await fetch(`${s.origin}/api/findings`, { headers: { 'x-caliscope-token': 'guess' } })).status).toBe(401);
    const r = await page.goto(`${s.origin}/`);
    expect(r?.status()).toBe(401);
    expect(await page.textContent('body')).toContain('token');
  });

  it('opens with ?token=, drops it from the address bar, and keeps working on the cookie', async () => {
    await page.goto(s.url);
    await view('findings').waitFor();
    expect(page.url()).not.toContain('token=');
    await page.goto(`${s.origin}/#/topology`);
    await view('topology').getByTestId('topology-svg').waitFor();
  });

  it('Findings: ranked and filterable; a finding opens to its evidence with the surrounding raw lines', async () => {
    const d = await apiGet<Diagnosis>(s, '/api/findings');
    await page.goto(`${s.origin}/#/findings`);
    await view('findings').waitFor();
    const cards = page.getByTestId('finding');
    await expect.poll(() => cards.count()).toBe(d.findings.length);
    expect(d.findings.length, 'the sample bundle has faults injected: diagnose must find them').toBeGreaterThan(0);
    const sev = await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-severity')));
    const rank = { error: 0, warning: 1, info: 2 } as Record<string, number>;
    expect(sev.map((x) => rank[x!])).toEqual([...sev.map((x) => rank[x!])].sort((a, b) => a - b));

    // Filter: without errors, only the others remain.
    await page.getByTestId('filter-error').uncheck();
    await expect.poll(() => cards.count()).toBe(d.findings.filter((f) => f.severity !== 'error').length);
    await page.getByTestId('filter-error').check();

    const i = d.findings.findIndex((f) => f.evidence.some((e) => e.artifact && (e.line ?? 0) > 0));
    expect(i, 'a finding with a line of evidence').toBeGreaterThanOrEqual(0);
    const f = d.findings[i];
    const ev = f.evidence.findIndex((e) => e.artifact && (e.line ?? 0) > 0);
    const card = cards.nth(i);
    await card.getByTestId('finding-head').click();
    await card.getByTestId('remediation').waitFor();
    await card.getByTestId('evidence').nth(ev).getByTestId('evidence-toggle').click();
    const ctx = card.getByTestId('evidence-context');
    await ctx.waitFor();
    const hit = ctx.locator('.ctx-hit');
    expect(await hit.getAttribute('data-line')).toBe(String(f.evidence[ev].line));
    expect(await ctx.locator('.ctx-line').count()).toBeGreaterThan(1);
    if (f.evidence[ev].text) expect((await hit.textContent())!.replace(/\s+/g, ' ')).toContain(f.evidence[ev].text!.replace(/\s+/g, ' ').slice(0, 40));
    await page.screenshot({ path: shotPath('findings') });
  });

  it('Topology: every node with its pods; a pod opens its endpoint facts and the policies selecting it', async () => {
    await page.goto(`${s.origin}/#/topology`);
    const svg = view('topology').getByTestId('topology-svg');
    await svg.waitFor();
    expect(await page.getByTestId('topo-node').count()).toBeGreaterThanOrEqual(summary.nodes.length);
    const ep = summary.endpoints.find((e) => e.kind === 'workload' && e.ips.length > 0)!;
    await page.locator(`[data-testid="topo-pod"][data-pod="${ep.id}"]`).click();
    const panel = page.getByTestId('pod-panel');
    await panel.waitFor();
    expect(await panel.textContent()).toContain(ep.ips[0]);
    expect(await panel.getByTestId('pod-iface').textContent()).toMatch(/cali|\w/);
    expect(page.url()).toContain(`pod=${encodeURIComponent(ep.id)}`);
    await page.screenshot({ path: shotPath('topology') });
  });

  it('Trace: a flow that crosses nodes and is dropped — hops drawn, the dropping rule highlighted, the URL shareable', async () => {
    // A cross-node pod pair whose trace ends in a rule drop (policy or injected fault), found through the API.
    const pods = summary.endpoints.filter((e) => e.kind === 'workload' && e.ips.length > 0);
    let best: TraceResponse | undefined;
    search: for (const a of pods)
      for (const b of pods) {
        if (a.node === b.node) continue;
        const r = await apiGet<TraceResponse>(s, `/api/trace?from=${encodeURIComponent(a.id)}&to=${encodeURIComponent(b.id)}&port=80&protocol=TCP`);
        if (r.verdict !== 'dropped' || !r.dropped?.chain || !r.dropped.line) continue;
        const nodes = new Set(r.hops.map((h) => h.node).filter(Boolean));
        if (nodes.has(a.node) && nodes.has(b.node)) {
          best = r;
          break search;
        }
        best ??= r;
      }
    expect(best, 'the sample bundle must hold a cross-node flow dropped by a rule').toBeDefined();
    dropped = best!;
    const q = dropped.query;

    await page.goto(`${s.origin}/#/trace`);
    await page.getByTestId('trace-from').fill(q.from);
    await page.getByTestId('trace-to').fill(q.to);
    await page.getByTestId('trace-port').fill(String(q.port));
    const t0 = Date.now();
    await page.getByTestId('trace-submit').click();
    const result = page.getByTestId('trace-result');
    await result.waitFor();
    const renderMs = Date.now() - t0;
    console.log(`[web] trace ${q.from} → ${q.to}: drawn ${renderMs} ms after submit (server ${dropped.ms} ms)`);
    expect(page.url()).toContain(`from=${encodeURIComponent(q.from)}`);

    expect(await page.getByTestId('trace-verdict').getAttribute('data-verdict')).toBe('dropped');
    const boxes = page.getByTestId('diagram-forward').getByTestId('hop-box');
    expect(await boxes.count()).toBe(dropped.hops.length);
    const drawnNodes = new Set((await boxes.evaluateAll((els) => els.map((e) => e.getAttribute('data-node')))).filter(Boolean));
    expect(drawnNodes.size, 'the path crosses nodes').toBeGreaterThanOrEqual(2);
    const droppedBox = page.getByTestId('diagram-forward').locator('[data-testid="hop-box"][data-outcome="dropped"]');
    expect(await droppedBox.count()).toBe(1);
    expect(await droppedBox.getAttribute('data-node')).toBe(dropped.dropped!.node);

    const info = page.getByTestId('drop-info').first();
    expect(await info.getAttribute('data-chain')).toBe(dropped.dropped!.chain);
    expect(await info.getAttribute('data-line')).toBe(String(dropped.dropped!.line));
    const card = page.getByTestId('hops-forward').locator('[data-testid="hop-card"][data-outcome="dropped"]');
    const decisive = card.getByTestId('decisive-rule');
    await decisive.first().waitFor();
    expect(await decisive.first().getAttribute('data-line')).toBe(String(dropped.dropped!.line));
    expect(await card.textContent()).toContain('tcpdump');
    await page.screenshot({ path: shotPath('trace') });

    // The URL is the query: opening it again shows the same trace.
    const shared = page.url();
    await page.goto('about:blank');
    await page.goto(shared);
    await page.getByTestId('trace-result').waitFor();
    expect(await page.getByTestId('trace-verdict').getAttribute('data-verdict')).toBe('dropped');
  });

  it('Policy: tiers → policies → rules with the verdict for a peer; a wrong-case selector shows its near miss', async () => {
    const q = dropped.query;
    const target = dropped.destination.id;
    await page.goto(`${s.origin}/#/policy?ep=${encodeURIComponent(target)}&peer=${encodeURIComponent(q.from)}&port=${q.port}&protocol=TCP`);
    await page.getByTestId('policy-ingress').waitFor();
    const verdict = page.getByTestId('verdict-ingress');
    await verdict.waitFor();
    expect(['allow', 'deny', 'not-applicable']).toContain(await verdict.getAttribute('data-verdict'));

    const facts = await apiGet<EndpointFacts>(s, `/api/policy/for?ep=${encodeURIComponent(target)}`);
    const [key, value] = Object.entries(facts.endpoint.labels).find(([k, v]) => !k.startsWith('projectcalico.org/') && /[a-z]/.test(v))!;
    const input = page.getByTestId('selector-input');
    await input.fill(`${key} == '${value.toUpperCase()}'`);
    const miss = page.locator('[data-testid="near-miss"][data-kind="case"]');
    await miss.first().waitFor();
    expect(await miss.first().textContent()).toContain(value);
    expect(await page.getByTestId('selector-count').textContent()).toBe('0');
    await page.getByTestId('selector-playground').scrollIntoViewIfNeeded();
    await page.screenshot({ path: shotPath('policy'), fullPage: true });
    await miss.first().getByTestId('near-miss-apply').click();
    await expect.poll(async () => Number(await page.getByTestId('selector-count').textContent())).toBeGreaterThan(0);

    await input.fill(`${key} == '${value}`);
    await page.getByTestId('selector-error').waitFor();
  });

  it('Rules: a node’s chains, the dropping chain with its jump graph and the line highlighted, search, ipsets', async () => {
    const d = dropped.dropped!;
    await page.goto(`${s.origin}/#/rules?node=${encodeURIComponent(d.node!)}&table=${d.table}&chain=${encodeURIComponent(d.chain!)}&line=${d.line}`);
    const detail = page.getByTestId('chain-detail');
    await detail.waitFor();
    expect(await detail.getAttribute('data-chain')).toBe(d.chain);
    await page.getByTestId('chain-graph').waitFor();
    const row = page.locator(`[data-testid="rule-row"][data-line="${d.line}"]`);
    await row.waitFor();
    expect(await row.getAttribute('class')).toContain('highlight');
    expect(await page.getByTestId('chain-row').count()).toBeGreaterThan(3);
    await page.screenshot({ path: shotPath('rules') });

    await page.getByTestId('rules-tab-search').click();
    await page.getByTestId('rules-search-input').fill(d.chain!);
    await page.getByTestId('rules-search-input').press('Enter');
    await page.getByTestId('search-count').waitFor();
    expect(await page.getByTestId('search-hit').count()).toBeGreaterThan(0);

    await page.getByTestId('rules-tab-ipsets').click();
    await page.getByTestId('ipset-list').waitFor();
    const sets = page.getByTestId('ipset-row');
    await expect.poll(() => sets.count()).toBeGreaterThan(0);
    await sets.first().click();
    await page.getByTestId('member-vlist').waitFor();
  });

  it('Matrix: the namespace truth table; a cell opens that flow in the Trace view', async () => {
    const ns = dropped.destination.id.split('/')[0];
    const m = await apiGet<MatrixJson>(s, `/api/matrix?ns=${encodeURIComponent(ns)}&port=80&protocol=TCP`);
    await page.goto(`${s.origin}/#/matrix?ns=${encodeURIComponent(ns)}&port=80&protocol=TCP`);
    await page.getByTestId('matrix-table').waitFor();
    expect(await page.getByTestId('matrix-cell').count()).toBe(m.endpoints.length ** 2);
    await page.screenshot({ path: shotPath('matrix') });
    const cell = page.locator('[data-testid="matrix-cell"] a').first();
    await cell.click();
    await page.getByTestId('trace-result').waitFor();
    expect(page.url()).toContain('#/trace?');
  });

  it('raised no script errors', () => {
    expect(pageErrors).toEqual([]);
  });
}, 180_000);
