/** Findings: the diagnosis, ranked, filterable; each finding unfolds to evidence (with raw context) and remediation. */
import { useMemo, useState } from 'preact/hooks';
import { Badge, CodeBlock, ErrorBox, EvidenceItem, Field, Loading, useApi } from '../components';
import { navigate } from '../router';
import { isReport } from '../api';
import type { Diagnosis, Finding } from '../types';

const SEVERITIES = ['error', 'warning', 'info'] as const;

function FindingCard({ f, n, open, onToggle }: { f: Finding; n: number; open: boolean; onToggle: () => void }) {
  const r = f.remediation;
  return (
    <article class={`finding sev-${f.severity}${open ? ' open' : ''}`} data-testid="finding" data-check={f.check} data-severity={f.severity}>
      <button type="button" class="finding-head" onClick={onToggle} aria-expanded={open} data-testid="finding-head">
        <span class="finding-n">{n}.</span>
        <Badge kind={f.severity}>{f.severity}</Badge>
        <span class="finding-title">{f.title}</span>
        <span class="finding-meta">
          <code>{f.check}</code>
          {f.node && <span> · {f.node}</span>}
          <span> · {f.category}</span>
        </span>
      </button>
      {open && (
        <div class="finding-body">
          <p class="explanation">{f.explanation}</p>
          {f.evidence.length > 0 && (
            <section>
              <h4>Evidence</h4>
              <ul class="evidence-list">
                {f.evidence.map((e, i) => (
                  <EvidenceItem key={i} e={e} />
                ))}
              </ul>
            </section>
          )}
          <section class="remediation" data-testid="remediation">
            <h4>Remediation</h4>
            <p>{r.summary}</p>
            {r.confirm && r.confirm.length > 0 && (
              <>
                <div class="sub">Confirm (read-only)</div>
                {r.confirm.map((c, i) => (
                  <CodeBlock key={i} code={c} lang="sh" />
                ))}
              </>
            )}
            {r.fix && r.fix.length > 0 && (
              <>
                <div class="sub">Fix</div>
                {r.fix.map((c, i) => (
                  <CodeBlock key={i} code={c} lang="sh" />
                ))}
              </>
            )}
            {r.yaml && (
              <>
                <div class="sub">Resource change</div>
                <CodeBlock code={r.yaml} lang="yaml" />
              </>
            )}
          </section>
        </div>
      )}
    </article>
  );
}

export function FindingsView({ params }: { params: Record<string, string> }) {
  const d = useApi<Diagnosis>('/api/findings');
  const [sev, setSev] = useState<Set<string>>(new Set(params.severity ? params.severity.split(',') : SEVERITIES));
  const [cat, setCat] = useState(params.category ?? '');
  const [node, setNode] = useState(params.node ?? '');
  const [text, setText] = useState('');
  const [open, setOpen] = useState<Set<number>>(new Set());
  const findings = d.data?.findings ?? [];
  const cats = useMemo(() => [...new Set(findings.map((f) => f.category))].sort(), [findings]);
  const nodes = useMemo(() => [...new Set(findings.map((f) => f.node).filter((x): x is string => !!x))].sort(), [findings]);
  if (d.error) return <ErrorBox error={d.error} />;
  if (!d.data) return <Loading what="diagnosis" />;
  const t = text.trim().toLowerCase();
  const shown = findings
    .map((f, i) => ({ f, i }))
    .filter(({ f }) => sev.has(f.severity) && (!cat || f.category === cat) && (!node || f.node === node) && (!t || `${f.title} ${f.check} ${f.subject ?? ''} ${f.explanation}`.toLowerCase().includes(t)));
  const toggleSev = (s: string) => {
    const n = new Set(sev);
    if (n.has(s)) n.delete(s);
    else n.add(s);
    setSev(n);
  };
  const c = d.data.counts;
  return (
    <div class="findings">
      <div class="toolbar" data-testid="findings-filters">
        {SEVERITIES.map((s) => (
          <label key={s} class={`chip chip-${s}`}>
            <input type="checkbox" checked={sev.has(s)} onChange={() => toggleSev(s)} data-testid={`filter-${s}`} /> {s} ({c[s]})
          </label>
        ))}
        <Field label="category">
          <select value={cat} onChange={(e) => setCat(e.currentTarget.value)} data-testid="filter-category">
            <option value="">all</option>
            {cats.map((x) => (
              <option key={x} value={x}>
                {x}
              </option>
            ))}
          </select>
        </Field>
        <Field label="node">
          <select value={node} onChange={(e) => setNode(e.currentTarget.value)} data-testid="filter-node">
            <option value="">all</option>
            {nodes.map((x) => (
              <option key={x} value={x}>
                {x}
              </option>
            ))}
          </select>
        </Field>
        <Field label="search">
          <input type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} placeholder="text, check id…" />
        </Field>
        <span class="muted">
          {shown.length} of {findings.length} shown · {d.data.checksRun.length} checks run
        </span>
      </div>
      {findings.length === 0 && <div class="empty ok-box">No problems found by the {d.data.checksRun.length} checks.</div>}
      <div class="finding-list">
        {shown.map(({ f, i }, k) => (
          <FindingCard
            key={i}
            f={f}
            n={k + 1}
            open={open.has(i)}
            onToggle={() => {
              const n = new Set(open);
              if (n.has(i)) n.delete(i);
              else n.add(i);
              setOpen(n);
            }}
          />
        ))}
      </div>
      {d.data.failedChecks.length > 0 && (
        <div class="warn-box">
          {d.data.failedChecks.map((x) => (
            <div key={x.check}>
              check <code>{x.check}</code> failed: {x.error}
            </div>
          ))}
        </div>
      )}
      {d.data.notChecked.length > 0 && (
        <details class="not-checked">
          <summary>Not checked ({d.data.notChecked.length})</summary>
          <ul>
            {d.data.notChecked.slice(0, 500).map((x, i) => (
              <li key={i}>
                <code>{x.check}</code>
                {x.node ? ` (${x.node})` : ''}: {x.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
      {!isReport && (
        <p class="muted hint">
          A finding about a flow? <a href="#/trace" onClick={(e) => (e.preventDefault(), navigate('trace'))}>Trace it</a> to see every hop.
        </p>
      )}
    </div>
  );
}
