/** Small shared pieces: data loading, copy buttons, code blocks, evidence with context, a virtualised list. */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { getJson } from './api';
import type { Evidence, EvidenceContext } from './types';

export interface Async<T> {
  data?: T;
  error?: string;
  loading: boolean;
}

/** Fetches `path` with `params` whenever they change (the previous request is abandoned). */
export function useApi<T>(path: string | undefined, params: Record<string, string | number | undefined> = {}): Async<T> {
  const key = path ? `${path}?${JSON.stringify(params)}` : '';
  const [state, setState] = useState<Async<T>>({ loading: !!path });
  useEffect(() => {
    if (!path) {
      setState({ loading: false });
      return;
    }
    const ctl = new AbortController();
    setState((s) => ({ data: s.data, loading: true }));
    getJson<T>(path, params, ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, loading: false }),
      (e: Error) => !ctl.signal.aborted && setState({ error: e.message, loading: false }),
    );
    return () => ctl.abort();
  }, [key]);
  return state;
}

export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function Loading({ what }: { what?: string }) {
  return <div class="loading" data-testid="loading">Loading{what ? ` ${what}` : ''}…</div>;
}

export function ErrorBox({ error }: { error: string }) {
  return (
    <div class="error-box" role="alert" data-testid="error">
      {error}
    </div>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard API unavailable (a report opened from file://, an old browser): select-and-copy fallback.
      const ta = document.createElement('textarea');
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 1200);
  };
  return (
    <button type="button" class="copy" onClick={copy} title="Copy to the clipboard" data-testid="copy">
      {done ? 'Copied' : label}
    </button>
  );
}

export function CodeBlock({ code, lang }: { code: string; lang?: string }) {
  return (
    <div class="codeblock" data-lang={lang}>
      <pre>{code}</pre>
      <CopyButton text={code} />
    </div>
  );
}

export function Badge({ kind, children }: { kind: string; children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

export function loc(e: { artifact?: string; line?: number | null }): string {
  return `${e.artifact ?? ''}${e.line ? `:${e.line}` : ''}`;
}

/** Raw lines around one line of an artifact, the line itself highlighted. */
export function EvidenceContextView({ artifact, line, context = 5 }: { artifact: string; line: number; context?: number }) {
  const r = useApi<EvidenceContext>('/api/evidence', { artifact, line, context });
  if (r.loading && !r.data) return <Loading what="context" />;
  if (r.error) return <ErrorBox error={r.error} />;
  const c = r.data!;
  return (
    <div class="evidence-context" data-testid="evidence-context">
      <div class="evidence-context-head">
        {artifact} — lines {c.lines[0]?.n}–{c.lines[c.lines.length - 1]?.n} of {c.total}
      </div>
      <pre>
        {c.lines.map((l) => (
          <div key={l.n} class={l.n === c.line ? 'ctx-line ctx-hit' : 'ctx-line'} data-line={l.n}>
            <span class="ctx-n">{String(l.n).padStart(6)}</span> {l.text}
          </div>
        ))}
      </pre>
    </div>
  );
}

/** One evidence pointer; "context" unfolds the surrounding raw lines. */
export function EvidenceItem({ e }: { e: Evidence }) {
  const [open, setOpen] = useState(false);
  const canOpen = !!e.artifact;
  return (
    <li class="evidence" data-testid="evidence">
      <div class="evidence-row">
        <code class="evidence-loc">{loc(e)}</code>
        {e.node && <span class="muted"> [{e.node}]</span>}
        {e.text && <code class="evidence-text">{e.text.length > 300 ? `${e.text.slice(0, 300)}…` : e.text}</code>}
        {e.note && <span class="muted"> — {e.note}</span>}
        {canOpen && (
          <button type="button" class="link" onClick={() => setOpen(!open)} data-testid="evidence-toggle">
            {open ? 'hide context' : 'context'}
          </button>
        )}
      </div>
      {open && <EvidenceContextView artifact={e.artifact} line={e.line ?? 0} />}
    </li>
  );
}

/**
 * A list that renders only the rows in view (plus a margin), so a chain of 100 000 rules scrolls
 * like one of ten. Rows have a fixed height.
 */
export function VirtualList({ count, rowHeight, renderRow, height, scrollTo, testid, onRange }: { count: number; rowHeight: number; renderRow: (i: number) => JSX.Element; height?: number | string; scrollTo?: number; testid?: string; onRange?: (from: number, to: number) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [viewH, setViewH] = useState(600);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setViewH(el.clientHeight || 600);
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(() => setViewH(el.clientHeight || 600)) : undefined;
    ro?.observe(el);
    return () => ro?.disconnect();
  }, []);
  useEffect(() => {
    const el = ref.current;
    if (el && scrollTo !== undefined && scrollTo >= 0) {
      el.scrollTop = Math.max(0, scrollTo * rowHeight - el.clientHeight / 3);
      setTop(el.scrollTop);
    }
  }, [scrollTo, count]);
  const overscan = 10;
  const from = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const to = Math.min(count, Math.ceil((top + viewH) / rowHeight) + overscan);
  useEffect(() => onRange?.(from, to), [from, to]);
  const rows: JSX.Element[] = [];
  for (let i = from; i < to; i++) rows.push(renderRow(i));
  return (
    <div class="vlist" ref={ref} style={{ height: height ?? '100%' }} onScroll={(ev) => setTop((ev.currentTarget as HTMLDivElement).scrollTop)} data-testid={testid} data-count={count}>
      <div class="vlist-inner" style={{ height: `${count * rowHeight}px` }}>
        <div class="vlist-rows" style={{ transform: `translateY(${from * rowHeight}px)` }}>
          {rows}
        </div>
      </div>
    </div>
  );
}

/**
 * Rows fetched page by page as the list scrolls. `fetchPage(offset, limit)` returns the rows of
 * that page; pages are cached until `key` changes.
 */
export function usePagedRows<T>(key: string, total: number, pageSize: number, fetchPage: (offset: number, limit: number) => Promise<T[]>) {
  const pages = useRef(new Map<number, T[] | 'loading'>());
  const [, bump] = useState(0);
  const keyRef = useRef(key);
  if (keyRef.current !== key) {
    keyRef.current = key;
    pages.current = new Map();
  }
  const ensure = useCallback(
    (from: number, to: number) => {
      const first = Math.floor(from / pageSize);
      const last = Math.floor(Math.max(from, to - 1) / pageSize);
      for (let p = first; p <= last; p++) {
        if (p * pageSize >= total || pages.current.has(p)) continue;
        const mine = pages.current;
        mine.set(p, 'loading');
        fetchPage(p * pageSize, pageSize).then(
          (rows) => {
            if (pages.current !== mine) return;
            mine.set(p, rows);
            bump((n) => n + 1);
          },
          () => mine.delete(p),
        );
      }
    },
    [key, total, pageSize],
  );
  const get = (i: number): T | undefined => {
    const pg = pages.current.get(Math.floor(i / pageSize));
    return pg && pg !== 'loading' ? pg[i % pageSize] : undefined;
  };
  return { ensure, get };
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <label class="field">
      <span class="field-label">{label}</span>
      {children}
    </label>
  );
}

export function fmtNum(n: number): string {
  return n.toLocaleString('en-US');
}
