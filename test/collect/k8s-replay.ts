/**
 * A local HTTPS "API server" that replays test/fixtures/k8s-api/ responses for the cluster
 * collector tests: self-signed certificate made with openssl at test time, bearer-token auth,
 * discovery, paginated lists, Status errors, pod logs, and pod exec over WebSocket
 * (channel.k8s.io, enough of RFC 6455 for @kubernetes/client-node's Exec).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import os from 'node:os';
import path from 'node:path';

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/k8s-api');

interface Route {
  path: string;
  query?: Record<string, string>;
  status?: number;
  file: string;
  contentType?: string;
  dir: string;
}

/** Query parameters that select a different recorded response (others, like limit, do not). */
const SELECTING = ['continue', 'labelSelector', 'fieldSelector', 'container', 'previous'];

export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
}

/** Streams an exec: write stdout/stderr chunks, then return the exit code. */
export type ExecHandler = (req: ExecRequest, io: { stdout: (b: Buffer) => void; stderr: (b: Buffer) => void; closed: () => boolean }) => Promise<number>;

export interface ReplayServer {
  url: string;
  kubeconfig: string;
  token: string;
  requests: string[];
  /** Paths answered from a fixture route (not synthesized). */
  close(): Promise<void>;
  onExec?: ExecHandler;
}

/** A flavour under FIXTURES (with the shared `core/`), or an absolute directory (a recording). */
function loadRoutes(flavour: string): Route[] {
  const out: Route[] = [];
  for (const dir of path.isAbsolute(flavour) ? [flavour] : [flavour, 'core']) {
    const abs = path.isAbsolute(dir) ? dir : path.join(FIXTURES, dir);
    const { routes } = JSON.parse(readFileSync(path.join(abs, 'routes.json'), 'utf8')) as { routes: Omit<Route, 'dir'>[] };
    for (const r of routes) out.push({ ...r, dir: abs });
  }
  return out;
}

function discovered(routes: Route[]): Map<string, { kind: string; namespaced: boolean }> {
  // "/apis/<g>/<v>/<plural>" → kind, from every APIResourceList among the fixtures, plus the core group.
  const m = new Map<string, { kind: string; namespaced: boolean }>();
  for (const [plural, kind, ns] of [
    ['nodes', 'Node', false],
    ['namespaces', 'Namespace', false],
    ['pods', 'Pod', true],
    ['serviceaccounts', 'ServiceAccount', true],
    ['services', 'Service', true],
  ] as const)
    m.set(`/api/v1/${plural}`, { kind, namespaced: ns });
  m.set('/apis/discovery.k8s.io/v1/endpointslices', { kind: 'EndpointSlice', namespaced: true });
  m.set('/apis/networking.k8s.io/v1/networkpolicies', { kind: 'NetworkPolicy', namespaced: true });
  for (const r of routes) {
    if (!/^\/apis\/[^/]+\/[^/]+$/.test(r.path)) continue;
    const body = JSON.parse(readFileSync(path.join(r.dir, r.file), 'utf8')) as { kind?: string; resources?: { name: string; kind: string; namespaced: boolean }[] };
    if (body.kind !== 'APIResourceList') continue;
    for (const res of body.resources ?? []) if (!res.name.includes('/')) m.set(`${r.path}/${res.name}`, { kind: res.kind, namespaced: res.namespaced });
  }
  return m;
}

/** Every item of a cluster-wide list fixture, following its continue tokens. */
function allItems(routes: Route[], clusterPath: string): { metadata?: { name?: string; namespace?: string } }[] {
  const first = routes.find((x) => x.path === clusterPath && !x.query && (x.status ?? 200) === 200);
  if (!first) return [];
  const items: { metadata?: { name?: string; namespace?: string } }[] = [];
  let r: Route | undefined = first;
  while (r) {
    const body = JSON.parse(readFileSync(path.join(r.dir, r.file), 'utf8')) as { items?: typeof items; metadata?: { continue?: string } };
    items.push(...(body.items ?? []));
    const cont = body.metadata?.continue;
    r = cont ? routes.find((x) => x.path === clusterPath && x.query?.continue === cont) : undefined;
  }
  return items;
}

function statusBody(code: number, reason: string, message: string) {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

export interface ExtraRoute {
  path: string;
  query?: Record<string, string>;
  status?: number;
  body: unknown;
}

export async function startReplayServer(flavour: 'crd' | 'v3' | (string & {}), o: { delayMs?: number; extra?: ExtraRoute[] } = {}): Promise<ReplayServer> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'csf-k8s-replay-'));
  const key = path.join(tmp, 'key.pem');
  const cert = path.join(tmp, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const routes = loadRoutes(flavour);
  const kinds = discovered(routes);
  const token = `replay-token-${Math.random().toString(36).slice(2)}`;
  const requests: string[] = [];
  const state: { onExec?: ExecHandler } = {};

  const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const send = (code: number, body: string, type = 'application/json') => {
      const go = () => {
        res.writeHead(code, { 'Content-Type': type, 'Audit-Id': createHash('md5').update(req.url ?? '').digest('hex') });
        res.end(body);
      };
      if (o.delayMs) setTimeout(go, o.delayMs);
      else go();
    };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
    if (req.method !== 'GET') return send(405, statusBody(405, 'MethodNotAllowed', 'the server does not allow this method'));
    const q = url.searchParams;
    const matches = (r: { path: string; query?: Record<string, string> }) =>
      r.path === url.pathname && SELECTING.every((k) => (q.get(k) ?? undefined) === r.query?.[k]);
    const extra = o.extra?.find(matches);
    if (extra) return send(extra.status ?? 200, typeof extra.body === 'string' ? extra.body : JSON.stringify(extra.body), typeof extra.body === 'string' ? 'text/plain' : 'application/json');
    const candidates = routes.filter((r) => {
      if (r.path !== url.pathname) return false;
      for (const k of SELECTING) if ((q.get(k) ?? undefined) !== r.query?.[k]) return false;
      return true;
    });
    const r = candidates[0];
    if (r) {
      const body = readFileSync(path.join(r.dir, r.file), 'utf8');
      if (r.contentType === 'text/plain') {
        // Logs honour tailLines like the kubelet does.
        const tail = Number(q.get('tailLines') ?? 0);
        const text = tail > 0 ? body.split('\n').slice(-tail - 1).join('\n') : body;
        return send(r.status ?? 200, text, 'text/plain');
      }
      return send(r.status ?? 200, body);
    }
    // A namespaced list without its own fixture: the cluster-wide one filtered to the namespace.
    const nsMatch = /^(\/apis?\/(?:[^/]+\/)?[^/]+)\/namespaces\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (nsMatch && !q.get('continue')) {
      const clusterPath = `${nsMatch[1]}/${nsMatch[3]}`;
      const all = routes.find((x) => x.path === clusterPath && !x.query && (x.status ?? 200) === 200);
      const k = kinds.get(clusterPath);
      if (k?.namespaced) {
        let items: { metadata?: { namespace?: string } }[] = [];
        let base: Record<string, unknown> = { kind: `${k.kind}List`, apiVersion: clusterPath.startsWith('/api/') ? 'v1' : clusterPath.split('/').slice(2, 4).join('/'), metadata: { resourceVersion: '48211' } };
        if (all) {
          const body = JSON.parse(readFileSync(path.join(all.dir, all.file), 'utf8')) as Record<string, unknown>;
          items = allItems(routes, clusterPath);
          base = { ...body, metadata: { resourceVersion: (body.metadata as { resourceVersion?: string }).resourceVersion } };
        }
        return send(200, JSON.stringify({ ...base, items: items.filter((i) => i.metadata?.namespace === nsMatch[2]) }));
      }
    }
    // A single object: looked up in its (possibly paginated) list, as `kubectl get pod x` or `kubectl logs` ask.
    const one = /^(\/apis?\/(?:[^/]+\/)?[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (one && kinds.has(`${one[1]}/${one[3]}`)) {
      const clusterPath = `${one[1]}/${one[3]}`;
      const k = kinds.get(clusterPath)!;
      const apiVersion = clusterPath.startsWith('/api/') ? 'v1' : clusterPath.split('/').slice(2, 4).join('/');
      for (const item of allItems(routes, clusterPath)) {
        if (item.metadata?.name === one[4] && (!one[2] || item.metadata?.namespace === one[2])) return send(200, JSON.stringify({ apiVersion, kind: k.kind, ...item }));
      }
      return send(404, JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `${one[3]} "${one[4]}" not found`, reason: 'NotFound', details: { name: one[4], kind: one[3] }, code: 404 }));
    }
    const k = kinds.get(url.pathname);
    if (k) {
      const apiVersion = url.pathname.startsWith('/api/') ? 'v1' : url.pathname.split('/').slice(2, 4).join('/');
      return send(200, JSON.stringify({ kind: `${k.kind}List`, apiVersion, metadata: { resourceVersion: '48211' }, items: [] }));
    }
    return send(404, statusBody(404, 'NotFound', 'the server could not find the requested resource'));
  });

  server.on('upgrade', (req, socket: Duplex) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    requests.push(`UPGRADE ${url.pathname}`);
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
    if (!m || req.headers.authorization !== `Bearer ${token}` || !state.onExec) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const accept = createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.write(
      ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`, 'Sec-WebSocket-Protocol: v4.channel.k8s.io', '', ''].join('\r\n'),
    );
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('error', () => (closed = true));
    socket.on('data', (d: Buffer) => {
      // The client's close frame (opcode 8): answer it and hang up.
      if ((d[0] & 0x0f) === 8 && !closed) {
        socket.write(wsFrame(8, Buffer.alloc(0)));
        socket.end();
      }
    });
    const send = (channel: number, data: Buffer) => {
      if (closed) return;
      for (let i = 0; i < data.length || i === 0; i += 64 * 1024) {
        socket.write(wsFrame(2, Buffer.concat([Buffer.from([channel]), data.subarray(i, i + 64 * 1024)])));
        if (data.length === 0) break;
      }
    };
    const exec: ExecRequest = { namespace: m[1], pod: m[2], container: url.searchParams.get('container') ?? '', command: url.searchParams.getAll('command') };
    state
      .onExec(exec, { stdout: (b) => send(1, b), stderr: (b) => send(2, b), closed: () => closed })
      .then((code) => {
        const status =
          code === 0
            ? { metadata: {}, status: 'Success' }
            : { metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: exit status ${code}`, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] } };
        send(3, Buffer.from(JSON.stringify(status)));
        if (!closed) socket.write(wsFrame(8, Buffer.from([0x03, 0xe8])));
        setTimeout(() => socket.end(), 50);
      })
      .catch(() => socket.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const url = `https://127.0.0.1:${port}`;
  const kubeconfig = path.join(tmp, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: replay-${flavour}`,
      '  cluster:',
      `    server: ${url}`,
      `    certificate-authority-data: ${readFileSync(cert).toString('base64')}`,
      'users:',
      '- name: caliscope',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      `- name: replay-${flavour}`,
      '  context:',
      `    cluster: replay-${flavour}`,
      '    user: caliscope',
      `current-context: replay-${flavour}`,
      '',
    ].join('\n'),
  );
  const api: ReplayServer = {
    url,
    kubeconfig,
    token,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(tmp, { recursive: true, force: true });
    },
    set onExec(h: ExecHandler | undefined) {
      state.onExec = h;
    },
    get onExec() {
      return state.onExec;
    },
  };
  return api;
}

function wsFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  let head: Buffer;
  if (len < 126) head = Buffer.from([0x80 | opcode, len]);
  else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}
