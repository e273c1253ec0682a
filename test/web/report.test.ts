/**
 * `caliscope report`: one HTML file with everything inline; opened from disk in Chromium it shows
 * the findings (with evidence context) and the chosen traces without a single network request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadBundle } from '../../src/bundle/load.js';
import { WebApi } from '../../src/web/api.js';
import { parseTraceSpec } from '../../src/web/report.js';
import { REPORT_DATA_ID, type ReportData } from '../../src/web/report-data.js';
import { ROOT, describeIf, ensureWebBuilt, hasChromium, labBundle, launchChromium, writeGeneratedBundle } from './helpers.js';

function runReport(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'report', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

function embedded(html: string): ReportData {
  const m = new RegExp(`<script type="application/json" id="${REPORT_DATA_ID}">([\\s\\S]*?)</script>`).exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]) as ReportData;
}

/** Every URL the page refers to by src/href, minus data: URLs and in-page anchors. */
function externalRefs(html: string): string[] {
  const refs = [...html.matchAll(/\s(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]);
  return refs.filter((r) => !r.startsWith('data:') && !r.startsWith('#'));
}

let tmp: string;
beforeAll(async () => {
  ensureWebBuilt();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'caliscope-report-'));
}, 120_000);
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('caliscope report: one self-contained file', () => {
  it('parses --trace specs', () => {
    expect(parseTraceSpec('frontend/web-1,backend/api-1,8080,TCP')).toEqual({ from: 'frontend/web-1', to: 'backend/api-1', port: 8080, protocol: 'TCP' });
    expect(parseTraceSpec('a/b, 10.0.0.1 ,,icmp')).toEqual({ from: 'a/b', to: '10.0.0.1', protocol: 'ICMP' });
    expect(parseTraceSpec('a/b,svc:ns/name,80')).toEqual({ from: 'a/b', to: 'svc:ns/name', port: 80, protocol: 'TCP' });
    expect(parseTraceSpec('a/b,c/d,80,UDP,1400')).toEqual({ from: 'a/b', to: 'c/d', port: 80, protocol: 'UDP', size: 1400 });
    expect(() => parseTraceSpec('a/b')).toThrow(/expected/);
    expect(() => parseTraceSpec('a/b,c/d,70000,TCP')).toThrow(/port/);
    expect(() => parseTraceSpec('a/b,c/d,80,GRE')).toThrow(/protocol/);
  });

  it('inlines the client and the data; refers to nothing outside the file; forbids fetching by CSP', async () => {
    const dir = path.join(tmp, 'gen');
    await writeGeneratedBundle(dir, 2000, 'n1');
    const out = path.join(tmp, 'gen.html');
    const r = runReport([dir, '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*gen\.html \(\d+ KiB\)/);
    const html = await readFile(out, 'utf8');
    expect(externalRefs(html)).toEqual([]);
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+rel="stylesheet"/i);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'`);
    expect(html).toMatch(/<style>[\s\S]+<\/style>/);
    const data = embedded(html);
    expect(data.mode).toBe('report');
    expect(data.summary.nodes).toEqual(['n1']);
    expect(data.traces).toEqual([]);
  });

  it('refuses a malformed --trace and reports a trace it cannot run (the file is still written)', async () => {
    const dir = path.join(tmp, 'gen');
    const bad = runReport([dir, '-o', path.join(tmp, 'x.html'), '--trace', 'only-one']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--trace: expected/);
    const out = path.join(tmp, 'missing.html');
    const r = runReport([dir, '-o', out, '--trace', 'no/such-pod,10.0.0.1,80,TCP']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no pod no\/such-pod/);
    expect(embedded(await readFile(out, 'utf8')).traceErrors).toHaveLength(1);
  });
});

const bundle = labBundle();
describeIf(!!bundle && hasChromium(), !bundle ? 'no sample bundle (samples/lab-bundle, or set CALISCOPE_WEB_BUNDLE)' : 'no Chromium', 'caliscope report opened from disk in Chromium', () => {
  it('shows the findings with evidence context and the traces, and makes no request', async () => {
    // A cross-node flow the dataplane drops, to include as a trace.
    const api = new WebApi(await loadBundle(bundle!));
    const pods = api.summary().endpoints.filter((e) => e.kind === 'workload' && e.ips.length > 0);
    let spec: string | undefined;
    outer: for (const a of pods)
      for (const b of pods)
        if (a.node !== b.node && api.traceQuery({ from: a.id, to: b.id, port: 80, protocol: 'TCP' }).verdict === 'dropped') {
          spec = `${a.id},${b.id},80,TCP`;
          break outer;
        }
    expect(spec).toBeDefined();
    const ok = pods.find((a) => pods.some((b) => b.id !== a.id))!;
    const spec2 = `${ok.id},${pods.find((b) => b.id !== ok.id)!.id},,ICMP`;
    const out = path.join(tmp, 'lab.html');
    const r = runReport([bundle!, '-o', out, '--trace', spec!, '--trace', spec2]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const html = await readFile(out, 'utf8');
    expect(externalRefs(html)).toEqual([]);
    const data = embedded(html);
    expect(data.traces).toHaveLength(2);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (req) => requests.push(req.url()));
      const url = pathToFileURL(out).href;
      await page.goto(url);
      await page.getByTestId('view-findings').waitFor();
      const cards = page.getByTestId('finding');
      await expect.poll(() => cards.count()).toBe(data.findings.findings.length);
      const i = data.findings.findings.findIndex((f) => f.evidence.some((e) => e.artifact && (e.line ?? 0) > 0));
      if (i >= 0) {
        const f = data.findings.findings[i];
        const ev = f.evidence.findIndex((e) => e.artifact && (e.line ?? 0) > 0);
        await cards.nth(i).getByTestId('finding-head').click();
        await cards.nth(i).getByTestId('evidence').nth(ev).getByTestId('evidence-toggle').click();
        const ctx = cards.nth(i).getByTestId('evidence-context');
        await ctx.waitFor();
        expect(await ctx.locator('.ctx-hit').getAttribute('data-line')).toBe(String(f.evidence[ev].line));
      }
      await page.getByTestId('nav-trace').click();
      const results = page.getByTestId('trace-result');
      await expect.poll(() => results.count()).toBe(2);
      expect(await results.first().getAttribute('data-verdict')).toBe('dropped');
      expect(await results.first().getByTestId('drop-info').count()).toBeGreaterThan(0);
      expect(await page.getByTestId('nav-rules').count()).toBe(0);
      expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
}, 180_000);
