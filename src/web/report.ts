/**
 * `caliscope report`: one self-contained HTML file for a ticket — the web client with its script
 * and styles inlined, and the data it shows (findings, the chosen traces, the raw lines around
 * every evidence line) embedded as JSON. Opened from disk it fetches nothing: a CSP forbids it.
 */
import type { Bundle } from '../model/bundle.js';
import type { TraceQuery } from '../trace/types.js';
import { WebApi, ApiError, type TraceResponse } from './api.js';
import { inlineClientHtml } from './assets.js';
import { jsonForHtml } from './json.js';
import { REPORT_CONTEXT, REPORT_DATA_ID, evidenceKey, type ReportData } from './report-data.js';
import { VERSION } from '../version.js';

export class TraceSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceSpecError';
  }
}

/** `from,to,port,proto[,size]`: `frontend/web-1,backend/api-1,8080,TCP`, `a/b,10.0.0.1,,ICMP`, `a/b,svc:ns/name,80`. */
export function parseTraceSpec(spec: string): TraceQuery {
  const parts = spec.split(',').map((s) => s.trim());
  if (parts.length < 2 || parts.length > 5 || !parts[0] || !parts[1]) throw new TraceSpecError(`--trace: expected 'from,to,port,proto', got ${JSON.stringify(spec)}`);
  const [from, to, portS = '', protoS = '', sizeS = ''] = parts;
  const protocol = (protoS || 'TCP').toUpperCase();
  if (!['TCP', 'UDP', 'SCTP', 'ICMP'].includes(protocol)) throw new TraceSpecError(`--trace ${spec}: protocol must be TCP, UDP, SCTP or ICMP`);
  const num = (s: string, what: string, min: number, max: number) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min || n > max) throw new TraceSpecError(`--trace ${spec}: ${what} must be ${min}-${max}`);
    return n;
  };
  return {
    from,
    to,
    protocol: protocol as TraceQuery['protocol'],
    ...(portS ? { port: num(portS, 'port', 0, 65535) } : {}),
    ...(sizeS ? { size: num(sizeS, 'size', 20, 65535) } : {}),
  };
}

/** Evidence lines kept with context in one report (a finding can list thousands). */
const MAX_EVIDENCE = 3000;

export function buildReportData(bundle: Bundle, traces: TraceQuery[], api = new WebApi(bundle)): ReportData {
  const findings = api.findings();
  const done: TraceResponse[] = [];
  const traceErrors: ReportData['traceErrors'] = [];
  for (const q of traces) {
    try {
      done.push(api.traceQuery(q));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      traceErrors.push({ query: `${q.from},${q.to},${q.port ?? ''},${q.protocol}`, error: e.message });
    }
  }
  const evidence: ReportData['evidence'] = {};
  let n = 0;
  const add = (artifact: string | undefined, line: number | undefined) => {
    if (!artifact || n >= MAX_EVIDENCE) return;
    const k = evidenceKey(artifact, line ?? 0);
    if (evidence[k]) return;
    const c = api.evidence.context(artifact, line ?? 0, REPORT_CONTEXT);
    if (c) {
      evidence[k] = c;
      n++;
    }
  };
  for (const f of findings.findings) for (const e of f.evidence) add(e.artifact, e.line);
  for (const t of done) {
    for (const p of t.paths) {
      add(p.dropped?.artifact, p.dropped?.line);
      add(p.reply?.dropped?.artifact, p.reply?.dropped?.line);
    }
  }
  // Ms are of this machine's run, not meaningful in a ticket.
  return { mode: 'report', generatedAt: new Date().toISOString(), version: VERSION, summary: api.summary(), findings, traces: done.map((t) => ({ ...t, ms: 0 })), traceErrors, evidence };
}

const REPORT_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

export function renderReportHtml(data: ReportData, assetsDir?: string): string {
  let html = inlineClientHtml(assetsDir);
  const name = data.summary.origin.split('/').filter(Boolean).pop() ?? data.summary.origin;
  html = html.replace(/<title>[^<]*<\/title>/, `<title>caliscope report — ${escapeHtml(name)}</title>`);
  html = html.replace(/<head>/, `<head>\n    <meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}" />`);
  const payload = `<script type="application/json" id="${REPORT_DATA_ID}">${jsonForHtml(data)}</script>\n`;
  // Before the client script: it reads the data when it starts.
  const at = html.indexOf('<script type="module">');
  return at >= 0 ? `${html.slice(0, at)}${payload}${html.slice(at)}` : html.replace('</body>', `${payload}</body>`);
}
