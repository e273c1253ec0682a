/** Terminal rendering of a trace: one block per hop, the deciding rule quoted with its line. */
import type { Hop, PathResult, Step, TraceResult } from '../trace/types.js';
import type { Style } from './style.js';

function pkt(h: Hop): string {
  const p = h.packet;
  const ports = p.sport !== undefined || p.dport !== undefined ? `:${p.sport ?? '*'} → ${p.dst}:${p.dport ?? '*'}` : ` → ${p.dst}`;
  const base = `${p.proto.toUpperCase()} ${p.src}${p.sport !== undefined || p.dport !== undefined ? ports : ` → ${p.dst}`}`;
  return p.inner ? `${base} [inner ${p.inner.src} → ${p.inner.dst}]` : base;
}

function stepLines(s: Step, st: Style, verbose: boolean): string[] {
  switch (s.kind) {
    case 'hook': {
      const out: string[] = [];
      const tables = s.tables.map((t) => `${t.table}${t.fate === 'accept' ? '' : `:${t.fate.toUpperCase()}`}`).join(' ');
      const head = `${s.hook.padEnd(11)} ${tables || '(no rules)'}`;
      out.push(s.fate === 'accept' ? head : s.fate === 'indeterminate' ? st.yellow(head) : st.red(head));
      const hits = verbose ? s.hits : s.hits.filter((h) => !h.action.startsWith('jump') || s.fate !== 'accept');
      for (const h of verbose ? hits : s.hits.filter((h) => /DROP|REJECT|DNAT|SNAT|MASQUERADE|ACCEPT|MARK/.test(h.action)).slice(-6)) {
        out.push(st.dim(`    ${h.table}/${h.chain} #${h.index} L${h.line}: ${h.action}`));
      }
      for (const n of s.nat) out.push(st.cyan(`    ${n.kind}: ${n.before.addr}${n.before.port !== undefined ? `:${n.before.port}` : ''} → ${n.after.addr}${n.after.port !== undefined ? `:${n.after.port}` : ''} (${n.chain} L${n.rule.line})`));
      if (s.fate !== 'accept' && s.decision) {
        const d = s.decision;
        out.push((s.fate === 'indeterminate' ? st.yellow : st.red)(`    ${d.table}/${d.chain}${d.rule ? ` rule ${d.rule.index}` : ' policy'} (line ${d.line}): ${d.text}${d.reason ? ` — ${d.reason}` : ''}`));
      }
      return out;
    }
    case 'route':
      return [`route       ${s.summary}${s.evidence?.line ? st.dim(` (${s.evidence.artifact}:${s.evidence.line})`) : ''}`];
    case 'check':
      return [`${s.ok ? st.green('ok') : st.red('FAIL')}          ${s.name}: ${s.detail}${s.evidence?.line ? st.dim(` (${s.evidence.artifact}:${s.evidence.line})`) : ''}`];
    case 'encap':
      return [st.cyan(`encap       ${s.detail}`)];
    case 'decap':
      return [st.cyan(`decap       ${s.detail}`)];
    case 'conntrack':
      return [`conntrack   ${s.detail}`];
    case 'note':
      return [st.dim(`note        ${s.detail}`)];
  }
}

function renderHops(hops: Hop[], st: Style, verbose: boolean): string[] {
  const out: string[] = [];
  hops.forEach((h, i) => {
    const mark = h.outcome === 'dropped' ? st.red('✗') : h.outcome === 'indeterminate' ? st.yellow('?') : h.outcome === 'delivered' ? st.green('✓') : '→';
    out.push(`${mark} ${String(i + 1).padStart(2)}. ${st.bold(h.title)}  ${st.dim(pkt(h))}`);
    for (const s of h.steps) for (const l of stepLines(s, st, verbose)) out.push(`       ${l}`);
    if (verbose) for (const c of h.capture) out.push(st.dim(`       capture: ${c}`));
  });
  return out;
}

function verdictLine(p: Pick<PathResult, 'verdict' | 'dropped' | 'indeterminate' | 'deliveredTo'>, st: Style, what: string): string {
  if (p.verdict === 'delivered') return st.green(`${what}: DELIVERED${p.deliveredTo ? ` to ${p.deliveredTo}` : ''}`);
  if (p.verdict === 'dropped' && p.dropped) {
    const d = p.dropped;
    return st.red(`${what}: DROPPED on ${d.node ?? '?'} — ${d.reason}${d.artifact ? `\n    evidence: ${d.artifact}${d.line ? `:${d.line}` : ''}${d.text ? `  ${d.text}` : ''}` : ''}`);
  }
  return st.yellow(`${what}: INDETERMINATE — ${p.indeterminate?.reason ?? 'cannot be decided from the bundle'}`);
}

export function renderTraceText(r: TraceResult, st: Style, opts: { verbose?: boolean } = {}): string {
  const v = opts.verbose ?? false;
  const out: string[] = [];
  const q = r.query;
  out.push(st.bold(`Trace ${q.protocol}${q.port !== undefined ? ` port ${q.port}` : ''}: ${r.source.id} (${r.source.ip}) → ${r.destination.id} (${r.destination.ip})`));
  const paths = r.paths.length > 1 ? r.paths : [r.paths[0]];
  paths.forEach((p, i) => {
    if (!p) return;
    out.push('');
    if (r.paths.length > 1) out.push(st.bold(`Path ${i + 1}/${r.paths.length}${p.branch ? `: ${p.branch}` : ''}`));
    out.push(...renderHops(p.hops, st, v));
    out.push(verdictLine(p, st, 'forward'));
    if (p.reply) {
      out.push('', st.bold('Reply'));
      out.push(...renderHops(p.reply.hops, st, v));
      out.push(verdictLine(p.reply, st, 'reply'));
    }
  });
  if (r.intent) out.push('', `policy intent: ${r.intent.allowed ? st.green('allowed') : st.red('denied')} — ${r.intent.summary}`);
  if (r.disagreement) out.push(st.yellow(`intent vs dataplane: ${r.disagreement}`));
  for (const n of r.notes) out.push(st.dim(`note: ${n}`));
  const replyLost = r.verdict === 'delivered' && r.reply && r.reply.verdict !== 'delivered';
  out.push('', st.bold(`Verdict: ${r.verdict.toUpperCase()}`) + (r.reply ? `, reply ${r.reply.verdict}` : '') + (replyLost ? ' — the connection fails: the reply does not come back' : ''));
  return out.join('\n');
}
