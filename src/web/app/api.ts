/**
 * Talks to `caliscope serve`'s JSON API — or, in a report file, answers the same requests from
 * the data embedded in the page, so the views are the same code in both.
 */
import type { ReportData } from './types';
import { REPORT_DATA_ID, REPORT_CONTEXT, evidenceKey } from '../report-data.js';

const TOKEN_KEY = 'caliscope-token';

function readReport(): ReportData | undefined {
  const el = typeof document !== 'undefined' ? document.getElementById(REPORT_DATA_ID) : null;
  if (!el?.textContent) return undefined;
  try {
    return JSON.parse(el.textContent) as ReportData;
  } catch {
    return undefined;
  }
}

export const report: ReportData | undefined = readReport();
export const isReport = report !== undefined;

/** The token from the first page load's `?token=`, kept for API calls and shareable links, then removed from the address bar. */
function takeToken(): string | undefined {
  if (isReport) return undefined;
  const u = new URL(location.href);
  const t = u.searchParams.get('token');
  if (t) {
    sessionStorage.setItem(TOKEN_KEY, t);
    u.searchParams.delete('token');
    history.replaceState(history.state, '', u.pathname + u.search + u.hash);
    return t;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export const token = takeToken();

/** A link to the current view that opens on another browser of the same machine (it carries the token). */
export function shareableUrl(): string {
  return `${location.origin}${location.pathname}${token ? `?token=${encodeURIComponent(token)}` : ''}${location.hash}`;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function fromReport(path: string, params: URLSearchParams): unknown {
  const r = report!;
  switch (path) {
    case '/api/summary':
      return r.summary;
    case '/api/findings':
      return r.findings;
    case '/api/evidence': {
      const hit = r.evidence[evidenceKey(params.get('artifact') ?? '', Number(params.get('line') ?? 0))];
      if (!hit) throw new HttpError(404, 'this report holds no context for that line');
      const want = Number(params.get('context') ?? REPORT_CONTEXT);
      return { ...hit, lines: hit.lines.filter((l) => Math.abs(l.n - hit.line) <= want) };
    }
    case '/api/trace': {
      const t = r.traces.find((x) => x.query.from === params.get('from') && x.query.to === params.get('to') && String(x.query.port ?? '') === (params.get('port') ?? '') && x.query.protocol === (params.get('protocol') ?? 'TCP').toUpperCase());
      if (!t) throw new HttpError(404, 'this report does not hold that trace');
      return t;
    }
  }
  throw new HttpError(404, 'not available in a report (run caliscope serve for the interactive views)');
}

export async function getJson<T>(path: string, params: Record<string, string | number | undefined> = {}, signal?: AbortSignal): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') qs.set(k, String(v));
  if (isReport) return fromReport(path, qs) as T;
  const res = await fetch(`${path}${qs.size ? `?${qs}` : ''}`, { headers: token ? { 'X-Caliscope-Token': token } : {}, signal });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(res.status, text.slice(0, 200) || res.statusText);
  }
  if (!res.ok) throw new HttpError(res.status, (body as { error?: string }).error ?? res.statusText);
  return body as T;
}
