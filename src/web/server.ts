/**
 * `caliscope serve`: a node:http server for the web client and its JSON API over one bundle.
 *
 * Access: a random token is required on every request — `?token=` on the first page load (the
 * server then sets a cookie), the cookie or an `X-Caliscope-Token` header afterwards. Without it:
 * 401. Bound to 127.0.0.1 by default, where requests must also name a loopback host (a page on
 * another site rebinding its DNS name to 127.0.0.1 gets 403). Read-only: GET and HEAD only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ApiError, WebApi } from './api.js';
import { CONTENT_TYPES, webAssetsBuilt, webAssetsDir } from './assets.js';
import { toJson } from './json.js';

export interface ServeOptions {
  host?: string;
  /** 0 (default): a free port. */
  port?: number;
  /** Default: 24 random bytes. */
  token?: string;
  assetsDir?: string;
  /** Called for each request that failed with a 5xx (for the terminal). */
  onError?: (e: Error, url: string) => void;
}

export interface RunningServer {
  server: Server;
  api: WebApi;
  host: string;
  port: number;
  token: string;
  /** The URL to open: includes the token. */
  url: string;
  close(): Promise<void>;
}

export const TOKEN_HEADER = 'x-caliscope-token';

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const h = req.headers.cookie;
  if (!h) return undefined;
  for (const part of h.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

function sameToken(a: string | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function send(res: ServerResponse, status: number, body: string | Buffer, type: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, toJson(value), 'application/json; charset=utf-8', { 'cache-control': 'no-store' });
}

const NOT_BUILT_PAGE = (dir: string) =>
  `<!doctype html><meta charset="utf-8"><title>caliscope</title><p>The web client is not built (no <code>${dir.replace(/[<&]/g, '')}/index.html</code>). Run <code>npm run build:web</code> and restart <code>caliscope serve</code>. The JSON API under <code>/api/</code> works without it.</p>`;

export function startServer(api: WebApi, opts: ServeOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const assets = path.resolve(opts.assetsDir ?? webAssetsDir());
  const loopback = isLoopbackHost(host);
  let cookieName = 'caliscope_token';

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return send(res, 400, 'bad request', 'text/plain; charset=utf-8');
    }
    const isApi = url.pathname.startsWith('/api/');
    const deny = (status: number, message: string) => (isApi ? sendJson(res, status, { error: message }) : send(res, status, `<!doctype html><meta charset="utf-8"><title>caliscope</title><p>${message}</p>`, 'text/html; charset=utf-8'));

    if (loopback) {
      const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopbackHost(hostHeader)) return deny(403, 'this server only answers requests addressed to the loopback interface');
    }
    const queryToken = url.searchParams.get('token') ?? undefined;
    const headerToken = req.headers[TOKEN_HEADER];
    const presented = queryToken ?? (typeof headerToken === 'string' ? headerToken : undefined) ?? cookieValue(req, cookieName);
    if (!sameToken(presented, token)) return deny(401, 'access token missing or wrong: open the URL that `caliscope serve` printed (it ends with ?token=…)');
    if (req.method !== 'GET' && req.method !== 'HEAD') return deny(405, 'read-only server: GET only');

    const setCookie: Record<string, string> = sameToken(queryToken, token) ? { 'set-cookie': `${cookieName}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict` } : {};

    if (isApi) {
      try {
        const value = api.handle(url.pathname.slice(4), url.searchParams);
        return sendJson(res, 200, value);
      } catch (e) {
        if (e instanceof ApiError) return sendJson(res, e.status, { error: e.message });
        opts.onError?.(e as Error, req.url ?? '');
        return sendJson(res, 500, { error: `internal error: ${(e as Error).message}` });
      }
    }

    // Static client: / and /index.html are the app; /assets/* its files.
    let rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
    if (rel === 'favicon.ico') rel = 'favicon.svg';
    const file = path.resolve(assets, rel);
    if (!file.startsWith(assets + path.sep)) return deny(404, 'not found');
    if (rel === 'index.html' && !webAssetsBuilt(assets)) return send(res, 503, NOT_BUILT_PAGE(assets), 'text/html; charset=utf-8', setCookie);
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return deny(404, 'not found');
    }
    const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    const cache = rel.startsWith('assets/') ? { 'cache-control': 'private, max-age=31536000, immutable' } : { 'cache-control': 'no-store' };
    return send(res, 200, body, type, { ...cache, ...setCookie });
  };

  const server = createServer((req, res) => {
    handler(req, res).catch((e: Error) => {
      opts.onError?.(e, req.url ?? '');
      if (!res.headersSent) sendJson(res, 500, { error: e.message });
      else res.destroy();
    });
  });
  // A page left open keeps connections alive; do not let them hold `close()` forever.
  server.keepAliveTimeout = 5_000;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      // Cookies are per host, not per port: two servers must not overwrite each other's.
      cookieName = `caliscope_${port}`;
      const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      resolve({
        server,
        api,
        host,
        port,
        token,
        url: `http://${urlHost}:${port}/?token=${token}`,
        close: () =>
          new Promise<void>((ok) => {
            server.close(() => ok());
            server.closeAllConnections();
          }),
      });
    });
  });
}
