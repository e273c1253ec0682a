/**
 * A small read-only Kubernetes API client over @kubernetes/client-node's KubeConfig: kubeconfig
 * files, contexts, exec/OIDC/token auth, in-cluster service accounts and proxies all come from
 * client-node exactly as kubectl resolves them; requests are plain GETs (discovery, paginated
 * lists, pod logs) so any resource — including CRDs and aggregated APIs — is listed the same way.
 * Pod exec goes through client-node's `Exec` (WebSocket, channel.k8s.io).
 */
import http from 'node:http';
import https from 'node:https';
import type { Writable } from 'node:stream';
import { Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';

export interface KubeConnectOptions {
  /** Path to a kubeconfig (default: $KUBECONFIG, then ~/.kube/config, then in-cluster). */
  kubeconfig?: string;
  context?: string;
  /** Use the pod's service account (KUBERNETES_SERVICE_HOST, /var/run/secrets/…). */
  inCluster?: boolean;
}

export function loadKubeConfig(o: KubeConnectOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (o.inCluster) kc.loadFromCluster();
  else if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else kc.loadFromDefault();
  if (o.context) {
    if (!kc.getContextObject(o.context)) throw new Error(`context ${JSON.stringify(o.context)} not found in kubeconfig`);
    kc.setCurrentContext(o.context);
  }
  if (!kc.getCurrentCluster()) throw new Error('no cluster in the kubeconfig (or current context)');
  return kc;
}

/** A non-2xx answer, with the Kubernetes Status object when the server sent one. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly path: string,
    readonly body?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export interface GetOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Stop reading after this many bytes (logs). */
  maxBytes?: number;
  accept?: string;
  /** Retries of transient failures for this request (default: the client's `retries`). */
  retries?: number;
}

export interface KubeResponse {
  status: number;
  body: Buffer;
  truncated: boolean;
}

export interface ListPage {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items?: Record<string, unknown>[];
}

export class KubeApi {
  readonly server: string;
  /** Retries of transient failures (429, 5xx, connection resets) per request. */
  retries = 3;
  retryBaseMs = 500;

  constructor(readonly kc: KubeConfig) {
    const c = kc.getCurrentCluster();
    if (!c) throw new Error('no current cluster in kubeconfig');
    this.server = c.server.replace(/\/+$/, '');
  }

  get contextName(): string {
    return this.kc.getCurrentContext();
  }

  /**
   * Fails fast, with a clear message, when the API server cannot be reached or rejects the
   * credentials — instead of every later request failing after its retries. Any other answer
   * (even 403/404 for /version) proves the server is there.
   */
  async checkReachable(signal?: AbortSignal): Promise<void> {
    try {
      await this.get('/version', { timeoutMs: 15_000, signal, retries: 1 });
    } catch (e) {
      if (e instanceof KubeApiError) {
        if (e.status === 401) throw new Error(`the API server at ${this.server} rejected the credentials of context ${JSON.stringify(this.contextName)} (401 Unauthorized)`);
        return;
      }
      throw new Error(`cannot reach the API server at ${this.server}: ${(e as Error).message}`);
    }
  }

  /** One GET, retried on transient errors. Throws KubeApiError for non-2xx answers. */
  async get(path: string, o: GetOptions = {}): Promise<KubeResponse> {
    let attempt = 0;
    for (;;) {
      try {
        return await this.getOnce(path, o);
      } catch (e) {
        const transient =
          (e instanceof KubeApiError && (e.status === 429 || e.status >= 500)) ||
          (!(e instanceof KubeApiError) && /ECONNRESET|ECONNREFUSED|EPIPE|socket hang up|ETIMEDOUT|EAI_AGAIN/.test(String((e as Error).message)));
        if (!transient || attempt >= (o.retries ?? this.retries) || o.signal?.aborted) throw e;
        attempt++;
        await sleep(this.retryBaseMs * 2 ** (attempt - 1), o.signal);
      }
    }
  }

  private async getOnce(path: string, o: GetOptions): Promise<KubeResponse> {
    const opts: https.RequestOptions = { headers: {} };
    await this.kc.applyToHTTPSOptions(opts);
    const url = new URL(this.server + path);
    const mod = url.protocol === 'http:' ? http : https;
    opts.method = 'GET';
    opts.headers = { ...(opts.headers as Record<string, string>), Accept: o.accept ?? 'application/json', 'User-Agent': 'caliscope' };
    const timeoutMs = o.timeoutMs ?? 60_000;
    return new Promise<KubeResponse>((resolve, reject) => {
      const req = mod.request(url, opts, (res) => {
        const chunks: Buffer[] = [];
        let len = 0;
        let truncated = false;
        res.on('data', (c: Buffer) => {
          if (truncated) return;
          if (o.maxBytes !== undefined && len + c.length > o.maxBytes) {
            chunks.push(c.subarray(0, o.maxBytes - len));
            len = o.maxBytes;
            truncated = true;
            res.destroy();
            settle();
            return;
          }
          chunks.push(c);
          len += c.length;
        });
        const settle = () => {
          const body = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ status, body, truncated });
          else reject(toApiError(status, body, path));
        };
        res.on('end', settle);
        res.on('error', (e) => (truncated ? undefined : reject(e)));
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`request timed out after ${timeoutMs} ms: GET ${path}`)));
      const onAbort = () => req.destroy(new Error('aborted'));
      o.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => o.signal?.removeEventListener('abort', onAbort));
      req.on('error', reject);
      req.end();
    });
  }

  async getJSON<T = Record<string, unknown>>(path: string, o: GetOptions = {}): Promise<T> {
    const r = await this.get(path, o);
    try {
      return JSON.parse(r.body.toString('utf8')) as T;
    } catch (e) {
      throw new Error(`GET ${path}: response is not JSON: ${(e as Error).message}`);
    }
  }

  /**
   * Pages of a list (limit/continue). When a continue token expires mid-list (410), the server's
   * Status carries a fresh token for an inconsistent continuation, which is used (and reported
   * through `onInconsistent`); without one the list restarts once.
   */
  async *listPages(path: string, o: GetOptions & { limit?: number; onInconsistent?: () => void } = {}): AsyncGenerator<{ page: ListPage; bytes: number }> {
    const limit = o.limit ?? 500;
    let cont: string | undefined;
    let restarted = false;
    for (;;) {
      const sep = path.includes('?') ? '&' : '?';
      const q = `limit=${limit}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
      let page: ListPage;
      let bytes: number;
      try {
        const r = await this.get(`${path}${sep}${q}`, o);
        bytes = r.body.length;
        try {
          page = JSON.parse(r.body.toString('utf8')) as ListPage;
        } catch (e) {
          throw new Error(`GET ${path}: response is not JSON: ${(e as Error).message}`);
        }
      } catch (e) {
        if (e instanceof KubeApiError && e.status === 410 && cont) {
          const fresh = (e.body?.metadata as { continue?: string } | undefined)?.continue;
          o.onInconsistent?.();
          if (fresh) {
            cont = fresh;
            continue;
          }
          if (!restarted) {
            restarted = true;
            cont = undefined;
            continue;
          }
        }
        throw e;
      }
      yield { page, bytes };
      cont = page.metadata?.continue || undefined;
      if (!cont) return;
    }
  }

  /** Runs a command in a container, streaming stdout/stderr; resolves with the exit code. */
  async exec(
    target: { namespace: string; pod: string; container: string },
    command: string[],
    io: { stdout: Writable; stderr: Writable; signal?: AbortSignal },
  ): Promise<{ code: number; message?: string }> {
    const ex = new Exec(this.kc);
    return new Promise((resolve, reject) => {
      let status: V1Status | undefined;
      let settled = false;
      const done = (f: () => void) => {
        if (settled) return;
        settled = true;
        f();
      };
      ex.exec(target.namespace, target.pod, target.container, command, io.stdout, io.stderr, null, false, (s) => {
        status = s;
      })
        .then((ws) => {
          const onAbort = () => {
            ws.close();
            done(() => reject(new Error('aborted')));
          };
          if (io.signal?.aborted) return onAbort();
          io.signal?.addEventListener('abort', onAbort, { once: true });
          ws.on('close', () => {
            io.signal?.removeEventListener('abort', onAbort);
            if (!status) {
              // No status frame: the connection dropped; end the streams so readers finish.
              io.stdout.end();
              io.stderr.end();
              return done(() => reject(new Error('exec connection closed before the command finished')));
            }
            done(() => resolve(execStatusCode(status!)));
          });
          ws.on('error', (e: Error) => done(() => reject(e)));
        })
        .catch((e: unknown) => done(() => reject(e instanceof Error ? e : new Error(describeWsError(e)))));
    });
  }
}

function describeWsError(e: unknown): string {
  const o = e as { message?: string; error?: Error };
  return o?.error?.message ?? o?.message ?? String(e);
}

/** Exit code from the exec Status frame (`Success`, or `NonZeroExitCode` with an ExitCode cause). */
export function execStatusCode(s: V1Status): { code: number; message?: string } {
  if (s.status === 'Success') return { code: 0 };
  const cause = s.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (cause?.message && /^\d+$/.test(cause.message)) return { code: Number(cause.message), message: s.message };
  return { code: -1, message: s.message ?? s.reason ?? 'exec failed' };
}

function toApiError(status: number, body: Buffer, path: string): KubeApiError {
  let obj: Record<string, unknown> | undefined;
  try {
    obj = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  if (obj && obj.kind === 'Status') {
    return new KubeApiError(status, String(obj.reason ?? ''), `${status} ${String(obj.reason ?? '')}: ${String(obj.message ?? '')}`.trim(), path, obj);
  }
  const text = body.toString('utf8').slice(0, 300).trim();
  return new KubeApiError(status, '', `${status}${text ? `: ${text}` : ''}`, path, obj);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
