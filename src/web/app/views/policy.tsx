/**
 * Policy: for one endpoint, the policies that select it per direction (tiers → policies → rules
 * in evaluation order) and, for a chosen peer, the verdict with the deciding rule highlighted;
 * and a selector playground (matching endpoints live, lint errors, near misses).
 */
import { useEffect, useState } from 'preact/hooks';
import { Badge, ErrorBox, Field, Loading, useApi, useDebounced } from '../components';
import { hrefFor, navigate } from '../router';
import type { DirectionJson, EndpointFacts, PolicyCheckJson, PolicyForEntry, SelectorResponse, SummaryResponse } from '../types';

function EndpointPicker({ id, value, onChange, summary, placeholder, testid }: { id: string; value: string; onChange: (v: string) => void; summary: SummaryResponse; placeholder: string; testid: string }) {
  const [v, setV] = useState(value);
  useEffect(() => setV(value), [value]);
  return (
    <>
      <datalist id={id}>
        {summary.endpoints.map((e) => (
          <option key={e.id} value={e.id}>
            {e.ips.join(', ')}
          </option>
        ))}
      </datalist>
      <input list={id} value={v} placeholder={placeholder} onInput={(e) => setV(e.currentTarget.value)} onChange={(e) => onChange(e.currentTarget.value.trim())} onKeyDown={(e) => e.key === 'Enter' && onChange(e.currentTarget.value.trim())} size={26} data-testid={testid} />
    </>
  );
}

function DirectionColumn({ dir, entries, def, check, peer }: { dir: 'ingress' | 'egress'; entries: PolicyForEntry[]; def: string; check?: DirectionJson; peer?: string }) {
  const d = check?.decidedBy;
  const tiers: { tier: string; list: PolicyForEntry[] }[] = [];
  for (const e of entries) {
    const last = tiers[tiers.length - 1];
    if (last && last.tier === e.tier) last.list.push(e);
    else tiers.push({ tier: e.tier, list: [e] });
  }
  return (
    <section class="direction" data-testid={`policy-${dir}`}>
      <h3>
        {dir === 'ingress' ? 'Ingress (traffic to it)' : 'Egress (traffic from it)'}
        {check && peer && (
          <span class="verdict-line" data-testid={`verdict-${dir}`} data-verdict={check.verdict}>
            {' '}
            {dir === 'ingress' ? `from ${peer}` : `to ${peer}`}: <Badge kind={check.verdict === 'allow' ? 'ok' : check.verdict === 'deny' ? 'error' : 'info'}>{check.verdict}</Badge> <span class="muted">via {check.via}</span>
          </span>
        )}
      </h3>
      {entries.length === 0 && <div class="muted">{def}</div>}
      {tiers.map((t) => (
        <div key={t.tier} class={`tier${d && d.tier === t.tier && check?.via === 'end-of-tier' ? ' decided-end' : ''}`}>
          <div class="tier-head">
            tier <b>{t.tier}</b>
            {t.list[0].tierOrder !== null && <span class="muted"> order {t.list[0].tierOrder}</span>}
            {d && d.tier === t.tier && check?.via === 'end-of-tier' && (
              <span class="decisive-tag" data-testid="decisive-policy">
                end of tier: {d.action}
              </span>
            )}
          </div>
          {t.list.map((p) => {
            const decidedHere = !!d && d.policy === p.policy && check?.via === 'policy';
            return (
              <div key={p.policy} class={`policy-entry${decidedHere ? ' decided' : ''}${p.staged ? ' staged' : ''}`} data-testid="policy-entry" data-policy={p.policy}>
                <div class="policy-head">
                  <span class="muted">{p.position}.</span> <b>{p.policy}</b> <span class="muted">({p.kind}{p.order !== null ? `, order ${p.order}` : ''})</span>
                  {p.staged && <Badge kind="info">staged</Badge>}
                  {decidedHere && (
                    <span class="decisive-tag" data-testid="decisive-policy">
                      decides: rule {d!.rule} {d!.action}
                    </span>
                  )}
                </div>
                <div class="selector-line">
                  selects it: <code>{p.selector}</code>
                  {p.namespaceSelector && (
                    <>
                      {' '}
                      and namespaceSelector <code>{p.namespaceSelector}</code>
                    </>
                  )}
                  {p.labels.length > 0 && <span class="muted"> because {p.labels.map((l) => `${l.key}=${l.value ?? '(absent)'}${l.from !== 'own' && l.from !== 'absent' ? ` (from ${l.from})` : ''}`).join(', ')}</span>}
                </div>
                <ul class="policy-rules">
                  {p.rules.length === 0 && <li class="muted">no {dir} rules: allows nothing here</li>}
                  {p.rules.map((r, i) => {
                    const idx = Number(/^(\d+):/.exec(r)?.[1] ?? i);
                    const hit = decidedHere && d!.rule === idx;
                    return (
                      <li key={i} class={hit ? `decisive decisive-${d!.action === 'Allow' ? 'accept' : 'drop'}` : ''} data-testid={hit ? 'decisive-rule' : undefined}>
                        {r}
                      </li>
                    );
                  })}
                </ul>
              </div>
            );
          })}
        </div>
      ))}
      {entries.length > 0 && <div class="muted then">then: {def}</div>}
      {check && check.verdict !== 'not-applicable' && check.trail.length > 0 && (
        <details class="trail">
          <summary>evaluation trail ({check.trail.length})</summary>
          <ol>
            {check.trail.map((t, i) => (
              <li key={i}>{t}</li>
            ))}
          </ol>
        </details>
      )}
    </section>
  );
}

function EndpointPolicies({ ep, peer, port, protocol }: { ep: string; peer: string; port: string; protocol: string }) {
  const r = useApi<EndpointFacts>('/api/policy/for', { ep });
  const needsPort = protocol !== 'ICMP';
  const ready = !!peer && (!needsPort || !!port);
  const ing = useApi<PolicyCheckJson>(ready ? '/api/policy/check' : undefined, { from: peer, to: ep, port: needsPort ? port : undefined, protocol });
  const eg = useApi<PolicyCheckJson>(ready ? '/api/policy/check' : undefined, { from: ep, to: peer, port: needsPort ? port : undefined, protocol });
  if (r.error) return <ErrorBox error={r.error} />;
  if (!r.data) return <Loading what="policies" />;
  const x = r.data;
  const e = x.endpoint;
  return (
    <div class="endpoint-policies">
      <div class="facts card">
        <b>{e.id}</b> <span class="muted">{e.kind === 'host' ? 'HostEndpoint' : e.from}</span> · node {e.node} · {e.ips.join(', ') || 'no IP'} · {e.interfaceName}
        <div class="labels">
          {Object.entries(e.labels).map(([k, v]) => (
            <code key={k} class="label">
              {k}={v}
            </code>
          ))}
        </div>
        <div class="muted">profiles: {e.profiles.join(', ') || '(none)'}</div>
        {e.notes.map((n, i) => (
          <div key={i} class="muted">
            note: {n}
          </div>
        ))}
      </div>
      {ing.error && <ErrorBox error={ing.error} />}
      {eg.error && !ing.error && <ErrorBox error={eg.error} />}
      {ready && ing.data && eg.data && (
        <div class="card">
          <a href={hrefFor('trace', { from: peer, to: ep, port: needsPort ? port : undefined, protocol })}>trace {peer} → {e.id} through the dataplane</a>
          {' · '}
          <a href={hrefFor('trace', { from: ep, to: peer, port: needsPort ? port : undefined, protocol })}>trace {e.id} → {peer}</a>
          {[...ing.data.notes, ...eg.data.notes].map((n, i) => (
            <div key={i} class="muted">
              note: {n}
            </div>
          ))}
        </div>
      )}
      <div class="directions">
        <DirectionColumn dir="ingress" entries={x.ingress} def={x.defaults.ingress} check={ready ? ing.data?.ingress : undefined} peer={peer} />
        <DirectionColumn dir="egress" entries={x.egress} def={x.defaults.egress} check={ready ? eg.data?.egress : undefined} peer={peer} />
      </div>
    </div>
  );
}

function SelectorPlayground({ summary, params }: { summary: SummaryResponse; params: Record<string, string> }) {
  const [expr, setExpr] = useState(params.selector ?? '');
  const [ns, setNs] = useState(params.selns ?? '');
  const q = useDebounced(expr, 150);
  const r = useApi<SelectorResponse>(q.trim() ? '/api/selector' : undefined, { expr: q, ns });
  const d = r.data;
  return (
    <section class="playground card" data-testid="selector-playground">
      <h3>Selector playground</h3>
      <div class="toolbar">
        <Field label="selector">
          <input class="mono" value={expr} onInput={(e) => setExpr(e.currentTarget.value)} placeholder="app == 'web' && has(tier)" size={48} spellcheck={false} data-testid="selector-input" />
        </Field>
        <Field label="namespace (as a namespaced policy)">
          <select value={ns} onChange={(e) => setNs(e.currentTarget.value)} data-testid="selector-namespace">
            <option value="">all namespaces</option>
            {summary.namespaces.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </Field>
      </div>
      {r.error && <ErrorBox error={r.error} />}
      {d && d.expr === q && (
        <div class="selector-result" data-testid="selector-result" data-valid={String(d.check.valid)}>
          {d.check.valid ? (
            <div>
              <Badge kind="ok">valid</Badge> <code>{d.canonical}</code> — <b data-testid="selector-count">{d.matches.length}</b> of {d.total} endpoints
            </div>
          ) : (
            <div class="lint-error" data-testid="selector-error">
              <Badge kind="error">invalid</Badge> {d.check.error?.message} at position {d.check.error?.position}
              <pre class="caret">
                {d.expr}
                {'\n'}
                {' '.repeat(Math.max(0, d.check.error?.position ?? 0))}^
              </pre>
              {d.check.suggestion && <div>suggestion: {d.check.suggestion}</div>}
              {d.lint.fixed && (
                <div>
                  fixed: <code>{d.lint.fixed}</code>{' '}
                  <button type="button" class="link" onClick={() => setExpr(d.lint.fixed!)}>
                    use it
                  </button>
                </div>
              )}
            </div>
          )}
          {d.lint.warnings.map((w, i) => (
            <div key={i} class="warn" data-testid="selector-warning">
              warning: {w}
            </div>
          ))}
          {d.nearMisses.map((h, i) => (
            <div key={i} class="near-miss" data-testid="near-miss" data-kind={h.kind}>
              <Badge kind="warning">near miss</Badge> {h.message}
              {h.fixed && (
                <>
                  {' '}
                  try <code>{h.fixed}</code>{' '}
                  <button type="button" class="link" onClick={() => setExpr(h.fixed!)} data-testid="near-miss-apply">
                    use it
                  </button>
                </>
              )}
            </div>
          ))}
          {d.matches.length > 0 && (
            <ul class="matches" data-testid="selector-matches">
              {d.matches.map((m) => (
                <li key={m.id}>
                  <a href={hrefFor('policy', { ep: m.id })}>{m.id}</a> <span class="muted">{m.node} · {m.ips.join(', ')}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}

export function PolicyView({ params, summary }: { params: Record<string, string>; summary: SummaryResponse }) {
  const ep = params.ep ?? '';
  const peer = params.peer ?? '';
  const port = params.port ?? '80';
  const protocol = (params.protocol ?? 'TCP').toUpperCase();
  const set = (p: Record<string, string | undefined>) => navigate('policy', { ...params, ...p }, true);
  return (
    <div class="policy">
      <div class="toolbar">
        <Field label="endpoint">
          <EndpointPicker id="pol-ep" value={ep} onChange={(v) => set({ ep: v })} summary={summary} placeholder="ns/pod" testid="policy-endpoint" />
        </Field>
        <Field label="peer (for the verdict)">
          <EndpointPicker id="pol-peer" value={peer} onChange={(v) => set({ peer: v })} summary={summary} placeholder="ns/pod or IP" testid="policy-peer" />
        </Field>
        <Field label="port">
          <input value={port} size={6} onChange={(e) => set({ port: e.currentTarget.value.trim() })} disabled={protocol === 'ICMP'} />
        </Field>
        <Field label="protocol">
          <select value={protocol} onChange={(e) => set({ protocol: e.currentTarget.value })}>
            {['TCP', 'UDP', 'SCTP', 'ICMP'].map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </Field>
      </div>
      {ep ? <EndpointPolicies key={ep} ep={ep} peer={peer} port={port} protocol={protocol} /> : <div class="empty">Pick an endpoint to see the policies that select it, in evaluation order.</div>}
      <SelectorPlayground summary={summary} params={params} />
    </div>
  );
}
