import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { loadBundle } from '../../bundle/load.js';
import { WebApi } from '../../web/api.js';
import { isLoopbackHost, startServer } from '../../web/server.js';
import { webAssetsBuilt, webAssetsDir } from '../../web/assets.js';
import { styleFor } from '../../report/style.js';
import { action, UsageError } from '../run.js';

/** Opens the URL in the desktop's browser; silently does nothing where there is none (a server, a container). */
function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No opener: the URL is printed anyway.
  }
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('open a local web UI over a bundle: findings, topology, traces, policy, rules, reachability matrix')
    .argument('<bundle>', 'bundle directory or .tar.gz')
    .option('--host <host>', 'address to listen on (anything but loopback exposes the bundle to the network)', '127.0.0.1')
    .option('--port <n>', 'port (default: a free one)', '0')
    .option('--no-open', 'do not open a browser')
    .action(
      action(async (path: string, opts: { host: string; port: string; open: boolean }) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, got ${opts.port}`);
        const st = styleFor(process.stderr);
        if (!isLoopbackHost(opts.host)) {
          process.stderr.write(st.yellow(`warning: listening on ${opts.host}: anyone who can reach this address and learns the URL's token can read the whole bundle (cluster resources, rules, addresses). Prefer the default 127.0.0.1 with an SSH tunnel.\n`));
        }
        if (!webAssetsBuilt()) process.stderr.write(st.yellow(`warning: the web client is not built (${webAssetsDir()}); only the JSON API will work. Run: npm run build:web\n`));
        const t0 = performance.now();
        const bundle = await loadBundle(path);
        const api = new WebApi(bundle);
        api.warm();
        const srv = await startServer(api, {
          host: opts.host,
          port,
          onError: (e, url) => process.stderr.write(`caliscope serve: ${url}: ${e.message}\n`),
        });
        process.stdout.write(`caliscope serve: ${bundle.nodes.length} nodes loaded in ${Math.round(performance.now() - t0)} ms\n`);
        process.stdout.write(`open ${srv.url}\n`);
        process.stdout.write(styleFor().dim('(Ctrl-C to stop; the server only reads the bundle)\n'));
        if (opts.open) openBrowser(srv.url);
        await new Promise<void>((resolve) => {
          const stop = () => {
            srv.close().then(resolve, resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }),
    );
}
