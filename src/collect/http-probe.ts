/**
 * HTTP GETs of Felix's metrics and health endpoints. On the local host this is node:http; in a
 * network namespace or a pod it must run *there* (localhost is per namespace), so it runs
 * `curl`, else `wget`, else bash's /dev/tcp through the same Exec as every other command.
 */
import http from 'node:http';
import type { Argv, HttpStep, StepResult } from './node-plan.js';
import { formatCommand, type Exec } from './exec.js';

export type HttpGet = (step: HttpStep) => Promise<StepResult>;

/** GET through node:http from this process (its network namespace). */
export const localHttpGet: HttpGet = (step) =>
  new Promise((resolve) => {
    const started = Date.now();
    const command = `GET ${step.url}`;
    const chunks: Buffer[] = [];
    let len = 0;
    let truncated = false;
    const done = (r: Partial<StepResult>) =>
      resolve({ id: step.id, command, stdout: Buffer.concat(chunks), stderr: '', code: 0, timedOut: false, durationMs: Date.now() - started, ...r });
    let req: http.ClientRequest;
    try {
      req = http.get(step.url, { timeout: step.timeoutMs }, (res) => {
        res.on('data', (c: Buffer) => {
          if (truncated) return;
          if (len + c.length > step.maxBytes) {
            chunks.push(c.subarray(0, step.maxBytes - len));
            truncated = true;
            res.destroy();
            done({ httpStatus: res.statusCode ?? 0, truncated: true });
            return;
          }
          chunks.push(c);
          len += c.length;
        });
        res.on('end', () => done({ httpStatus: res.statusCode ?? 0 }));
        res.on('error', (e) => done({ httpStatus: res.statusCode ?? 0, error: e.message, code: 1 }));
      });
    } catch (e) {
      done({ httpStatus: 0, error: (e as Error).message, code: 1 });
      return;
    }
    req.on('timeout', () => {
      req.destroy(new Error(`timed out after ${step.timeoutMs} ms`));
    });
    req.on('error', (e: NodeJS.ErrnoException) => done({ httpStatus: 0, error: describeNetError(e), code: 1, timedOut: /timed out/.test(e.message) }));
  });

function describeNetError(e: NodeJS.ErrnoException): string {
  if (e.code === 'ECONNREFUSED') return 'not reachable (connection refused)';
  return e.message;
}

/** The commands tried, in order, to GET `url` where node:http cannot run. */
export function httpAlternatives(url: string, timeoutMs: number): Argv[] {
  const u = new URL(url);
  const secs = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  const host = u.hostname;
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const path = `${u.pathname}${u.search}`;
  return [
    ['curl', '-sS', '-m', secs, '-D', '-', '-o', '-', url],
    ['wget', '-q', '-S', '-T', secs, '-O', '-', url],
    [
      'bash',
      '-c',
      'exec 3<>"/dev/tcp/$1/$2" && printf "GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$3" "$1" >&3 && cat <&3',
      'caliscope-http',
      host,
      port,
      path,
    ],
  ];
}

/**
 * Turns the output of one of `httpAlternatives` into status + body. curl (-D -) and bash print
 * the raw response (status line, headers, blank line, body); wget prints headers on stderr.
 */
export function parseHttpOutput(r: StepResult): StepResult {
  const tool = r.command.split(' ')[0];
  if (r.notFound) return r;
  if (tool === 'wget') {
    const m = [...r.stderr.matchAll(/HTTP\/[\d.]+ (\d{3})/g)].pop();
    const status = m ? Number(m[1]) : 0;
    return { ...r, httpStatus: status, ...(status === 0 ? { error: unreachable(r) } : {}) };
  }
  const text = r.stdout;
  let body = text;
  let status = 0;
  // Skip interim 1xx responses and read the final status line.
  let rest = text;
  for (;;) {
    if (rest.subarray(0, 5).toString('latin1') !== 'HTTP/') break;
    const end = rest.indexOf('\r\n\r\n');
    const head = rest.subarray(0, end < 0 ? rest.length : end).toString('latin1');
    const sm = /^HTTP\/[\d.]+ (\d{3})/.exec(head);
    status = sm ? Number(sm[1]) : 0;
    body = end < 0 ? Buffer.alloc(0) : rest.subarray(end + 4);
    rest = body;
    if (status < 100 || status >= 200) break;
  }
  return { ...r, stdout: body, httpStatus: status, ...(status === 0 ? { error: unreachable(r) } : {}) };
}

function unreachable(r: StepResult): string {
  if (r.timedOut) return 'timed out';
  const line = r.stderr.split('\n').find((l) => l.trim() !== '')?.trim();
  if (line && /refused/i.test(line)) return 'not reachable (connection refused)';
  return line ? `not reachable (${line})` : `not reachable (exit code ${r.code})`;
}

/** GET through an Exec (namespace, pod): the first of curl / wget / bash that exists. */
export function execHttpGet(exec: Exec): HttpGet {
  return async (step) => {
    let last: StepResult | undefined;
    for (const [cmd, ...args] of httpAlternatives(step.url, step.timeoutMs)) {
      const r = await exec(cmd, args, { timeoutMs: step.timeoutMs + 1000, maxBytes: step.maxBytes + 64 * 1024 });
      const res: StepResult = { id: step.id, command: formatCommand(cmd, args), ...r };
      if (r.notFound) {
        last = res;
        continue;
      }
      return parseHttpOutput(res);
    }
    return { ...(last as StepResult), error: 'no HTTP client (curl, wget, bash) in the target', httpStatus: 0 };
  };
}
