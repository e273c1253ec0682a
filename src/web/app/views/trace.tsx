/**
 * Trace: pick a flow, see its path hop by hop (drawn, then each hop unfolded to the rules that
 * acted, the deciding rule highlighted), where and why it was dropped, the reply, and the
 * tcpdump commands to watch each hop live. The query lives in the URL.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { isReport, report, shareableUrl } from '../api';
import { Badge, CodeBlock, CopyButton, ErrorBox, EvidenceItem, Field, Loading, loc, useApi } from '../components';
import { hrefFor, navigate } from '../router';
import type { DropInfo, Hop, PathResult, Step, SummaryResponse, TraceResponse } from '../types';

const PROTOS = ['TCP', 'UDP', 'SCTP', 'ICMP'];

function TraceForm({ params, summary }: { params: Record<string, string>; summary: SummaryResponse }) {
  const [from, setFrom] = useState(params.from ?? '');
  const [to, setTo] = useState(params.to ?? '');
  const [port, setPort] = useState(params.port ?? '');
  const [protocol, setProtocol] = useState((params.protocol ?? 'TCP').toUpperCase());
  const [size, setSize] = useState(params.size ?? '');
  useEffect(() => {
    setFrom(params.from ?? '');
    setTo(params.to ?? '');
    setPort(params.port ?? '');
    setProtocol((params.protocol ?? 'TCP').toUpperCase());
    setSize(params.size ?? '');
  }, [params.from, params.to, params.port, params.protocol, params.size]);
  const submit = (e: Event) => {
    e.preventDefault();
    navigate('trace', { from: from.trim(), to: to.trim(), port: protocol === 'ICMP' ? undefined : port.trim(), protocol, size: size.trim() || undefined });
  };
  return (
    <form class="toolbar trace-form" onSubmit={submit} data-testid="trace-form">
      <datalist id="trace-sources">
        {summary.endpoints.map((e) => (
          <option key={e.id} value={e.id}>
            {e.ips.join(', ')} on {e.node}
          </option>
        ))}
      </datalist>
      <datalist id="trace-destinations">
        {summary.endpoints.map((e) => (
          <option key={e.id} value={e.id}>
            {e.ips.join(', ')} on {e.node}
          </option>
        ))}
        {summary.services.map((s) => (
          <option key={s.id} value={`svc:${s.id}`}>
            Service {s.ip ?? ''} {s.ports.map((p) => `${p.port}/${p.protocol}`).join(' ')}
          </option>
        ))}
      </datalist>
      <Field label="from">
        <input name="from" list="trace-sources" value={from} onInput={(e) => setFrom(e.currentTarget.value)} placeholder="ns/pod or IP" required size={24} data-testid="trace-from" />
      </Field>
      <Field label="to">
        <input name="to" list="trace-destinations" value={to} onInput={(e) => setTo(e.currentTarget.value)} placeholder="ns/pod, IP or svc:ns/name" required size={24} data-testid="trace-to" />
      </Field>
      <Field label="port">
        <input name="port" value={port} onInput={(e) => setPort(e.currentTarget.value)} placeholder="80" size={6} inputMode="numeric" disabled={protocol === 'ICMP'} data-testid="trace-port" />
      </Field>
      <Field label="protocol">
        <select name="protocol" value={protocol} onChange={(e) => setProtocol(e.currentTarget.value)} data-testid="trace-protocol">
          {PROTOS.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </Field>
      <Field label="size (bytes)">
        <input name="size" value={size} onInput={(e) => setSize(e.currentTarget.value)} placeholder="60" size={6} inputMode="numeric" />
      </Field>
      <button type="submit" class="primary" data-testid="trace-submit">
        Trace
      </button>
    </form>
  );
}

const HOOK_ABBR: Record<string, string> = { PREROUTING: 'PRE', INPUT: 'IN', FORWARD: 'FWD', OUTPUT: 'OUT', POSTROUTING: 'POST' };

/** A link into the Rules view; plain text in a report file, which has no Rules view. */
function RulesLink({ params, children, testid }: { params: Record<string, string | number | undefined>; children: ComponentChildren; testid?: string }) {
  if (isReport) return <span class="rule-loc" data-testid={testid}>{children}</span>;
  return (
    <a class="rule-loc" href={hrefFor('rules', params)} title="open the chain in the Rules view" data-testid={testid}>
      {children}
    </a>
  );
}

function hookFate(h: Hop): string | undefined {
  for (const s of h.steps) if (s.kind === 'hook' && s.fate !== 'accept') return `${s.hook} ${s.fate.toUpperCase()}`;
  return undefined;
}

function hopLabel(h: Hop): { kind: string; name: string; sub: string } {
  switch (h.kind) {
    case 'pod-egress':
      return { kind: 'pod', name: h.title.split(' ')[0], sub: h.packet.src };
    case 'pod-ingress': {
      const m = / to (\S+)$/.exec(h.title);
      return { kind: 'pod', name: m ? m[1] : 'pod', sub: h.packet.dst };
    }
    case 'node': {
      const hooks = h.steps.filter((s): s is Extract<Step, { kind: 'hook' }> => s.kind === 'hook').map((s) => HOOK_ABBR[s.hook] ?? s.hook);
      const via = /: (in on \S+|sent by the host)/.exec(h.title)?.[1] ?? '';
      return { kind: h.title.includes('decapsulated') ? 'node · decap' : 'node', name: h.node ?? '?', sub: hookFate(h) ?? (hooks.length ? hooks.join('→') : via) };
    }
    case 'underlay':
      return { kind: 'underlay', name: h.packet.inner ? 'tunnel' : 'underlay', sub: `${h.packet.src} → ${h.packet.dst}` };
    case 'external':
      return { kind: 'external', name: 'outside', sub: h.packet.dst };
    case 'host':
      return { kind: 'host', name: h.node ?? 'host', sub: '' };
  }
}

const BOX_W = 168;
const BOX_H = 74;
const GAP = 34;

/** The path as a drawing: one box per hop, arrows between, the dropping hop red. */
function PathDiagram({ hops, label, selected, onSelect, testid }: { hops: Hop[]; label: string; selected?: number; onSelect: (i: number) => void; testid: string }) {
  const w = hops.length * BOX_W + Math.max(0, hops.length - 1) * GAP + 8;
  return (
    <div class="diagram" data-testid={testid}>
      <div class="diagram-label">{label}</div>
      <div class="diagram-scroll">
        <svg width={w} height={BOX_H + 8} viewBox={`0 0 ${w} ${BOX_H + 8}`} role="img" aria-label={`${label}: ${hops.map((h) => h.title).join(' → ')}`}>
          <defs>
            <marker id={`arrow-${testid}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" />
            </marker>
          </defs>
          {hops.map((h, i) => {
            const x = 4 + i * (BOX_W + GAP);
            const l = hopLabel(h);
            return (
              <g key={i}>
                {i > 0 && <line x1={x - GAP + 2} y1={4 + BOX_H / 2} x2={x - 3} y2={4 + BOX_H / 2} class={`edge ${hops[i - 1].outcome === 'dropped' ? 'edge-dead' : ''}`} marker-end={`url(#arrow-${testid})`} />}
                <g class={`hop-box outcome-${h.outcome} kind-${h.kind}${selected === i ? ' selected' : ''}`} onClick={() => onSelect(i)} data-testid="hop-box" data-outcome={h.outcome} data-kind={h.kind} data-node={h.node ?? ''} tabIndex={0} role="button" onKeyDown={(e) => (e.key === 'Enter' ? onSelect(i) : undefined)}>
                  <title>{h.title}</title>
                  <rect x={x} y={4} width={BOX_W} height={BOX_H} rx={8} />
                  <text x={x + 10} y={22} class="hop-kind">
                    {i + 1}. {l.kind}
                    {h.outcome === 'dropped' ? ' ✗' : h.outcome === 'delivered' ? ' ✓' : h.outcome === 'indeterminate' ? ' ?' : ''}
                  </text>
                  <text x={x + 10} y={42} class="hop-name">
                    {clip(l.name, 20)}
                  </text>
                  <text x={x + 10} y={62} class="hop-sub">
                    {clip(l.sub, 24)}
                  </text>
                </g>
              </g>
            );
          })}
        </svg>
      </div>
    </div>
  );
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function pkt(h: Hop): string {
  const p = h.packet;
  const ports = p.sport !== undefined || p.dport !== undefined;
  const base = `${p.proto.toUpperCase()} ${p.src}${ports ? `:${p.sport ?? '*'}` : ''} → ${p.dst}${ports ? `:${p.dport ?? '*'}` : ''}`;
  return p.inner ? `${base} [inner ${p.inner.src} → ${p.inner.dst}]` : base;
}

/** Rules that did something worth reading (jumps and no-op marks are the plumbing between them). */
const NOTABLE = /DROP|REJECT|ACCEPT|DNAT|SNAT|MASQUERADE|REDIRECT|RETURN|NOTRACK|LOG/;

function HookStep({ s, node }: { s: Extract<Step, { kind: 'hook' }>; node?: string }) {
  const d = s.decision;
  const bad = s.fate !== 'accept';
  const decisiveLine = bad && d ? d.line : undefined;
  // Where the packet died every rule on the way matters; elsewhere the notable ones, unless asked.
  const [all, setAll] = useState(bad);
  const shown = all ? s.hits : s.hits.filter((h) => NOTABLE.test(h.action));
  return (
    <div class={`step step-hook fate-${s.fate}`} data-testid="step-hook" data-hook={s.hook} data-fate={s.fate}>
      <div class="step-head">
        <span class="step-kind">{s.hook}</span>
        {s.tables.length === 0 && <span class="muted">no rules</span>}
        {s.tables.map((t) => (
          <span key={t.table} class={`table-chip fate-${t.fate}`} title={`${t.evaluated} rules evaluated in ${t.table}`}>
            {t.table}
            {t.fate !== 'accept' ? ` ${t.fate.toUpperCase()}` : ''} <span class="muted">({t.evaluated})</span>
          </span>
        ))}
        {s.hits.length > shown.length && (
          <button type="button" class="link small" onClick={() => setAll(true)}>
            show all {s.hits.length} rules that acted
          </button>
        )}
      </div>
      {shown.length > 0 && (
        <ol class="rules-hit">
          {shown.map((h, i) => {
            const decisive = decisiveLine !== undefined && h.line === decisiveLine && h.chain === d!.chain;
            return (
              <li key={i} class={decisive ? `decisive decisive-${s.fate}` : ''} data-testid={decisive ? 'decisive-rule' : 'rule-hit'} data-line={h.line}>
                <RulesLink params={{ node, table: h.table, chain: h.chain, line: h.line }}>
                  {h.table}/{h.chain} #{h.index} L{h.line}
                </RulesLink>{' '}
                <span class={`action ${/DROP|REJECT/.test(h.action) ? 'act-drop' : /ACCEPT/.test(h.action) ? 'act-accept' : ''}`}>{h.action}</span>
                {h.counters && (
                  <span class="muted">
                    {' '}
                    [{h.counters.packets}:{h.counters.bytes}]
                  </span>
                )}
                <div class="raw">{h.raw}</div>
              </li>
            );
          })}
        </ol>
      )}
      {bad && d && !s.hits.some((h) => h.line === d.line && h.chain === d.chain) && (
        <div class={`decisive decisive-${s.fate}`} data-testid="decisive-rule" data-line={d.line}>
          <RulesLink params={{ node, table: d.table, chain: d.chain, line: d.line }}>
            {d.table}/{d.chain}
            {d.rule ? ` #${d.rule.index}` : ' policy'} L{d.line}
          </RulesLink>{' '}
          {d.text}
          {d.reason && <span class="muted"> — {d.reason}</span>}
        </div>
      )}
      {s.nat.map((n, i) => (
        <div key={i} class="nat">
          {n.kind}: {n.before.addr}
          {n.before.port !== undefined ? `:${n.before.port}` : ''} → {n.after.addr}
          {n.after.port !== undefined ? `:${n.after.port}` : ''} <span class="muted">({n.chain} L{n.rule.line})</span>
        </div>
      ))}
    </div>
  );
}

function StepView({ s, node }: { s: Step; node?: string }) {
  switch (s.kind) {
    case 'hook':
      return <HookStep s={s} node={node} />;
    case 'route':
      return (
        <div class="step step-route" data-testid="step-route">
          <span class="step-kind">route</span> {s.summary}
          {s.evidence && <span class="muted"> ({loc(s.evidence)})</span>}
        </div>
      );
    case 'check':
      return (
        <div class={`step step-check ${s.ok ? 'ok' : 'fail'}`}>
          <span class="step-kind">{s.ok ? 'ok' : 'FAIL'}</span> {s.name}: {s.detail}
          {s.evidence && <span class="muted"> ({loc(s.evidence)})</span>}
        </div>
      );
    case 'encap':
      return (
        <div class="step step-encap">
          <span class="step-kind">encap</span> {s.detail}
        </div>
      );
    case 'decap':
      return (
        <div class="step step-encap">
          <span class="step-kind">decap</span> {s.detail}
        </div>
      );
    case 'conntrack':
      return (
        <div class="step">
          <span class="step-kind">conntrack</span> {s.detail}
        </div>
      );
    case 'note':
      return (
        <div class="step muted">
          <span class="step-kind">note</span> {s.detail}
        </div>
      );
  }
}

function HopCard({ h, i, open, onToggle, id }: { h: Hop; i: number; open: boolean; onToggle: () => void; id: string }) {
  return (
    <div class={`hop-card outcome-${h.outcome}${open ? ' open' : ''}`} id={id} data-testid="hop-card" data-outcome={h.outcome}>
      <button type="button" class="hop-head" onClick={onToggle} aria-expanded={open}>
        <span class="hop-mark">{h.outcome === 'dropped' ? '✗' : h.outcome === 'delivered' ? '✓' : h.outcome === 'indeterminate' ? '?' : '→'}</span>
        <span class="hop-n">{i + 1}.</span> <b>{h.title}</b> <span class="muted mono">{pkt(h)}</span>
      </button>
      {open && (
        <div class="hop-body">
          {h.steps.length === 0 && <div class="muted">nothing evaluated at this hop</div>}
          {h.steps.map((s, k) => (
            <StepView key={k} s={s} node={h.node} />
          ))}
          {h.capture.length > 0 && (
            <div class="captures">
              <div class="sub">Watch this hop live</div>
              {h.capture.map((c, k) => (
                <CodeBlock key={k} code={c} lang="sh" />
              ))}
            </div>
          )}
        </div>
      )}
    </div>
  );
}

function DropPanel({ d, what }: { d: DropInfo; what: string }) {
  return (
    <div class="drop-info" data-testid="drop-info" data-node={d.node ?? ''} data-chain={d.chain ?? ''} data-line={d.line ?? ''}>
      <div class="drop-title">
        {what} dropped on <b>{d.node ?? '?'}</b>
        {d.chain && (
          <>
            {' '}
            by{' '}
            <RulesLink params={{ node: d.node, table: d.table, chain: d.chain, line: d.line }} testid="drop-rule-link">
              {d.table}/{d.chain}
              {d.rule !== undefined ? ` rule ${d.rule}` : ' (chain policy)'}
            </RulesLink>
          </>
        )}
        {!d.chain && <> ({d.where})</>}
      </div>
      <div class="drop-reason">{d.reason}</div>
      {d.policy && (
        <div class="drop-policy">
          policy: <b>{d.policy.kind}</b> {d.policy.namespace ? `${d.policy.namespace}/` : ''}
          {d.policy.name}
          {d.policy.tier && <span class="muted"> tier {d.policy.tier}</span>}
          {d.policy.direction && <span class="muted"> ({d.policy.direction})</span>}
        </div>
      )}
      {d.endpoint && <div>endpoint: {d.endpoint}</div>}
      {d.artifact && (
        <ul class="evidence-list">
          <EvidenceItem e={{ artifact: d.artifact, line: d.line, text: d.text, node: d.node }} />
        </ul>
      )}
    </div>
  );
}

function Verdict({ v }: { v: string }) {
  const kind = v === 'delivered' ? 'ok' : v === 'dropped' ? 'error' : 'warning';
  return <Badge kind={kind}>{v.toUpperCase()}</Badge>;
}

function PathSection({ p, idPrefix }: { p: PathResult & { reply?: PathResult }; idPrefix: string }) {
  const initial = () => new Set(p.hops.map((h, i) => (h.outcome === 'dropped' || h.outcome === 'indeterminate' ? i : -1)).filter((i) => i >= 0));
  const [open, setOpen] = useState<Set<number>>(initial);
  const [openR, setOpenR] = useState<Set<number>>(() => new Set((p.reply?.hops ?? []).map((h, i) => (h.outcome === 'dropped' ? i : -1)).filter((i) => i >= 0)));
  const [sel, setSel] = useState<number | undefined>();
  const [selR, setSelR] = useState<number | undefined>();
  const pick = (set: Set<number>, setter: (s: Set<number>) => void, i: number, id: string) => {
    const n = new Set(set);
    n.add(i);
    setter(n);
    requestAnimationFrame(() => document.getElementById(id)?.scrollIntoView({ block: 'nearest', behavior: 'smooth' }));
  };
  const toggle = (set: Set<number>, setter: (s: Set<number>) => void, i: number) => {
    const n = new Set(set);
    if (n.has(i)) n.delete(i);
    else n.add(i);
    setter(n);
  };
  return (
    <div class="path">
      <PathDiagram hops={p.hops} label="forward" selected={sel} onSelect={(i) => (setSel(i), pick(open, setOpen, i, `${idPrefix}-f-${i}`))} testid="diagram-forward" />
      {p.reply && <PathDiagram hops={p.reply.hops} label="reply" selected={selR} onSelect={(i) => (setSelR(i), pick(openR, setOpenR, i, `${idPrefix}-r-${i}`))} testid="diagram-reply" />}
      <div class="path-verdict">
        forward: <Verdict v={p.verdict} />
        {p.deliveredTo && <span> to {p.deliveredTo}</span>}
        {p.indeterminate && <span class="warn"> — {p.indeterminate.reason}</span>}
        {p.reply && (
          <>
            {' '}
            · reply: <Verdict v={p.reply.verdict} />
          </>
        )}
      </div>
      {p.dropped && <DropPanel d={p.dropped} what="forward packet" />}
      <h3>Forward path</h3>
      <div class="hops" data-testid="hops-forward">
        {p.hops.map((h, i) => (
          <HopCard key={i} h={h} i={i} id={`${idPrefix}-f-${i}`} open={open.has(i)} onToggle={() => toggle(open, setOpen, i)} />
        ))}
      </div>
      {p.reply && (
        <>
          <h3>Reply</h3>
          {p.reply.dropped && <DropPanel d={p.reply.dropped} what="reply" />}
          {p.reply.indeterminate && <div class="warn-box">{p.reply.indeterminate.reason}</div>}
          <div class="hops" data-testid="hops-reply">
            {p.reply.hops.map((h, i) => (
              <HopCard key={i} h={h} i={i} id={`${idPrefix}-r-${i}`} open={openR.has(i)} onToggle={() => toggle(openR, setOpenR, i)} />
            ))}
          </div>
        </>
      )}
    </div>
  );
}

export function TraceResultView({ r, idPrefix = 'hop' }: { r: TraceResponse; idPrefix?: string }) {
  const [pathIdx, setPathIdx] = useState(() => Math.max(0, r.paths.findIndex((p) => p.verdict === 'dropped')));
  const q = r.query;
  const p = r.paths[pathIdx] ?? r.paths[0];
  return (
    <section class="trace-result" data-testid="trace-result" data-verdict={r.verdict}>
      <div class="trace-head">
        <span class="trace-title">
          {q.protocol}
          {q.port !== undefined ? ` port ${q.port}` : ''}: <b>{r.source.id}</b> ({r.source.ip}) → <b>{r.destination.id}</b> ({r.destination.ip})
        </span>
        <span data-testid="trace-verdict" data-verdict={r.verdict}>
          <Verdict v={r.verdict} />
        </span>
        {r.reply && (
          <span class="muted">
            {' '}
            reply <Verdict v={r.reply.verdict} />
          </span>
        )}
        {!isReport && <span class="muted small"> computed in {r.ms} ms</span>}
      </div>
      {r.intent && (
        <div class={`intent ${r.intent.allowed ? 'ok' : 'denied'}`}>
          policy intent: <b>{r.intent.allowed ? 'allowed' : 'denied'}</b> — {r.intent.summary}
        </div>
      )}
      {r.disagreement && (
        <div class="warn-box" data-testid="disagreement">
          intent vs dataplane: {r.disagreement}
        </div>
      )}
      {r.notes.length > 0 && (
        <ul class="notes">
          {r.notes.map((n, i) => (
            <li key={i} class="muted">
              note: {n}
            </li>
          ))}
        </ul>
      )}
      {r.paths.length > 1 && (
        <div class="path-tabs" role="tablist">
          {r.paths.map((x, i) => (
            <button type="button" key={i} role="tab" class={i === pathIdx ? 'tab active' : 'tab'} onClick={() => setPathIdx(i)} aria-selected={i === pathIdx}>
              Path {i + 1}: <Verdict v={x.verdict} /> {x.branch ?? ''}
            </button>
          ))}
        </div>
      )}
      {p && <PathSection key={`${pathIdx}`} p={p} idPrefix={`${idPrefix}-${pathIdx}`} />}
    </section>
  );
}

function LiveTrace({ params }: { params: Record<string, string> }) {
  const has = !!(params.from && params.to);
  const r = useApi<TraceResponse>(has ? '/api/trace' : undefined, { from: params.from, to: params.to, port: params.port, protocol: params.protocol ?? 'TCP', size: params.size });
  const top = useRef<HTMLDivElement>(null);
  if (!has) return <div class="empty">Pick a source and a destination: a pod (<code>ns/pod</code>), an IP, or a Service (<code>svc:ns/name</code>). Tip: cells of the Matrix view open here.</div>;
  if (r.error) return <ErrorBox error={r.error} />;
  if (!r.data || r.loading) return <Loading what="trace" />;
  return (
    <div ref={top}>
      <div class="share">
        <CopyButton text={shareableUrl()} label="Copy link to this trace" />
      </div>
      <TraceResultView key={JSON.stringify(params)} r={r.data} />
    </div>
  );
}

export function TraceView({ params, summary }: { params: Record<string, string>; summary: SummaryResponse }) {
  if (isReport) {
    const traces = report?.traces ?? [];
    return (
      <div class="trace">
        {traces.length === 0 && <div class="empty">This report holds no traces (add them with <code>caliscope report … --trace 'from,to,port,proto'</code>).</div>}
        {report?.traceErrors.map((e, i) => (
          <ErrorBox key={i} error={`trace ${e.query}: ${e.error}`} />
        ))}
        {traces.map((t, i) => (
          <TraceResultView key={i} r={t} idPrefix={`t${i}`} />
        ))}
      </div>
    );
  }
  return (
    <div class="trace">
      <TraceForm params={params} summary={summary} />
      <LiveTrace params={params} />
    </div>
  );
}
