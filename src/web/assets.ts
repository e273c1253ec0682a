/**
 * Where the built web client lives. `vite build` writes it to <package>/dist/web/app/; this
 * module is at <package>/src/web/ (run with tsx) or <package>/dist/web/ (installed), so the same
 * relative path finds it from both. CALISCOPE_WEB_ASSETS overrides it (tests, packagers).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function webAssetsDir(): string {
  const env = process.env.CALISCOPE_WEB_ASSETS;
  if (env) return path.resolve(env);
  return fileURLToPath(new URL('../../dist/web/app/', import.meta.url));
}

export function webAssetsBuilt(dir = webAssetsDir()): boolean {
  return existsSync(path.join(dir, 'index.html'));
}

export class AssetsMissingError extends Error {
  constructor(dir: string) {
    super(`the web client is not built (no ${path.join(dir, 'index.html')}): run \`npm run build:web\``);
    this.name = 'AssetsMissingError';
  }
}

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

/**
 * The client as one HTML file: the built index.html with its scripts and stylesheets inlined
 * (for `caliscope report`, which must work offline from a file attached to a ticket).
 */
export function inlineClientHtml(dir = webAssetsDir()): string {
  if (!webAssetsBuilt(dir)) throw new AssetsMissingError(dir);
  let html = readFileSync(path.join(dir, 'index.html'), 'utf8');
  const read = (ref: string) => {
    const rel = ref.replace(/^\.?\//, '');
    const file = path.resolve(dir, rel);
    if (!file.startsWith(path.resolve(dir) + path.sep)) throw new Error(`asset ${ref} is outside ${dir}`);
    return readFileSync(file, 'utf8');
  };
  // Module preloads are for the network; everything is inline below.
  html = html.replace(/<link\s+rel="modulepreload"[^>]*>\s*/g, '');
  html = html.replace(/<link\s+rel="stylesheet"[^>]*href="([^"]+)"[^>]*>/g, (_m, href: string) => `<style>\n${read(href).replace(/<\/style/gi, '<\\/style')}\n</style>`);
  html = html.replace(/<script\s+type="module"[^>]*src="([^"]+)"[^>]*><\/script>/g, (_m, src: string) => `<script type="module">\n${read(src).replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--')}\n</script>`);
  return html;
}
