/**
 * `caliscope serve` without a browser: the access token on every request, the loopback Host
 * guard, read-only methods, static file confinement, API errors and pagination.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { loadBundle } from '../../src/bundle/load.js';
import { WebApi } from '../../src/web/api.js';
import { isLoopbackHost, startServer, type RunningServer } from '../../src/web/server.js';
import { ROOT, ensureWebBuilt, writeGeneratedBundle } from './helpers.js';

/** A raw request (fetch would not let us set Host). */
function raw(port: number, p: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: p, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('caliscope serve: access and safety', () => {
  let dir: string;
  let srv: RunningServer;
  let gen: Awaited<ReturnType<typeof writeGeneratedBundle>>;
  const auth = () => ({ 'x-caliscope-token': srv.token });

  beforeAll(async () => {
    ensureWebBuilt();
    dir = await mkdtemp(path.join(os.tmpdir(), 'caliscope-web-'));
    gen = await writeGeneratedBundle(dir, 3000);
    srv = await startServer(new WebApi(await loadBundle(dir)));
  });
  afterAll(async () => {
    await srv?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1, on a free port, and prints a URL with a long random token', () => {
    expect(srv.host).toBe('127.0.0.1');
    expect(srv.port).toBeGreaterThan(0);
    expect(srv.token.length).toBeGreaterThanOrEqual(32);
    expect(srv.url).toBe(`http://127.0.0.1:${srv.port}/?token=${srv.token}`);
  });

  it('refuses every request without the token (401), the page, the API and the assets', async () => {
    for (const p of ['/', '/index.html', '/api/summary', '/api/findings', '/assets/x.js', '/api/nodes']) {
      const r = await raw(srv.port, p);
      expect(r.status, p).toBe(401);
    }
    expect((await raw(srv.port, '/api/summary', { headers: { 'x-caliscope-token': `${srv.token}x` } })).status).toBe(401);
    expect((await raw(srv.port, `/api/summary?token=${'A'.repeat(srv.token.length)}`)).status).toBe(401);
    expect((await raw(srv.port, '/api/summary', { headers: { cookie: `caliscope_${srv.port}=wrong` } })).status).toBe(401);
  });

  it('accepts ?token= on the first load, sets an HttpOnly cookie, and then the cookie or the header', async () => {
    const first = await raw(srv.port, `/?token=${srv.token}`);
    expect(first.status).toBe(200);
    expect(first.body).toContain('<div id="app">');
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toMatch(new RegExp(`^caliscope_${srv.port}=`));
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const viaCookie = await raw(srv.port, '/api/summary', { headers: { cookie: cookie.split(';')[0] } });
    expect(viaCookie.status).toBe(200);
    expect((await raw(srv.port, '/api/summary', { headers: auth() })).status).toBe(200);
  });

  it('sends a strict CSP and no-referrer (the token must not leak through Referer)', async () => {
    const r = await raw(srv.port, '/', { headers: auth() });
    expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers only requests addressed to a loopback name (DNS rebinding guard)', async () => {
    expect((await raw(srv.port, '/api/summary', { headers: { ...auth(), host: 'evil.example:80' } })).status).toBe(403);
    expect((await raw(srv.port, '/api/summary', { headers: { ...auth(), host: `localhost:${srv.port}` } })).status).toBe(200);
  });

  it('is read-only: other methods get 405', async () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) expect((await raw(srv.port, '/api/summary', { method: m, headers: auth() })).status, m).toBe(405);
  });

  it('serves only files of the built client (no path traversal)', async () => {
    for (const p of ['/../package.json', '/%2e%2e/%2e%2e/package.json', '/assets/..%2f..%2f..%2fpackage.json', '/..%5c..%5cpackage.json']) {
      const r = await raw(srv.port, p, { headers: auth() });
      expect(r.status, p).toBe(404);
      expect(r.body).not.toContain('"name": "caliscope"');
    }
    const index = await raw(srv.port, '/', { headers: auth() });
    const js = /src="\.\/(assets\/[^"]+\.js)"/.exec(index.body)![1];
    const asset = await raw(srv.port, `/${js}`, { headers: auth() });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toContain('javascript');
  });

  it('answers API errors as JSON with a status: unknown API 404, bad parameters 400, unknown node 404', async () => {
    const cases: [string, number, RegExp][] = [
      ['/api/nope', 404, /no API/],
      ['/api/trace?from=1.2.3.4', 400, /missing parameter to/],
      ['/api/trace?from=1.2.3.4&to=10.0.0.1&port=99999', 400, /port must be/],
      ['/api/trace?from=1.2.3.4&to=10.0.0.1&port=80&protocol=GRE', 400, /protocol/],
      ['/api/trace?from=nope/nope&to=10.0.0.1&port=80', 400, /no pod nope\/nope/],
      ['/api/nodes/nope/chains', 404, /no node nope/],
      [`/api/nodes/${gen.node}/chain?table=filter&chain=NOPE`, 404, /no chain NOPE/],
      ['/api/evidence?artifact=../../etc/passwd&line=1', 404, /no artifact/],
      ['/api/policy/for?ep=x/y', 404, /no endpoint/],
    ];
    for (const [p, status, msg] of cases) {
      const r = await raw(srv.port, p, { headers: auth() });
      expect(r.status, p).toBe(status);
      expect(JSON.parse(r.body).error, p).toMatch(msg);
    }
  });

  it('pages the chain list and a chain, capping the page size', async () => {
    const get = async (p: string) => JSON.parse((await raw(srv.port, p, { headers: auth() })).body);
    const first = await get(`/api/nodes/${gen.node}/chains?limit=10`);
    expect(first.chains).toHaveLength(10);
    expect(first.total).toBe(gen.chains);
    const second = await get(`/api/nodes/${gen.node}/chains?limit=10&offset=10`);
    expect(second.chains[0].chain).not.toBe(first.chains[0].chain);
    const huge = await get(`/api/nodes/${gen.node}/chains?limit=100000000`);
    expect(huge.chains.length).toBeLessThanOrEqual(5000);
    const c = await get(`/api/nodes/${gen.node}/chain?table=${gen.biggest.table}&chain=${encodeURIComponent(gen.biggest.chain)}&limit=7&offset=3`);
    expect(c.total).toBe(gen.biggest.rules);
    expect(c.rules.map((r: { index: number }) => r.index)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    const ev = await get(`/api/evidence?artifact=nodes/${gen.node}/iptables-save.txt&line=${c.rules[0].line}&context=2`);
    expect(ev.lines.find((l: { n: number }) => l.n === c.rules[0].line).text).toContain(c.rules[0].raw);
  });
});

describe('caliscope serve: command line', () => {
  it('warns when asked to listen beyond loopback', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('192.168.1.10')).toBe(false);
    // The warning comes before the bundle is read, so a missing bundle ends the command without listening.
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', path.join(os.tmpdir(), 'no-such-bundle-caliscope'), '--host', '0.0.0.0', '--no-open'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.stderr).toMatch(/warning: listening on 0\.0\.0\.0/);
    expect(r.status).toBe(2);
  });

  it('rejects a bad port', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '.', '--port', 'x', '--no-open'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toMatch(/--port must be/);
    expect(r.status).toBe(2);
  });
});
