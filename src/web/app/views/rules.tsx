/**
 * Rules: a node's tables and chains with counters, one chain's rules, who jumps to it and where it
 * jumps (a small graph), search by IP / ipset / comment, ipset members. Lists are virtualised and
 * fetched page by page, so a 200 000-rule ruleset stays responsive.
 */
import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../api';
import { ErrorBox, Field, Loading, VirtualList, fmtNum, useApi, useDebounced, usePagedRows } from '../components';
import { navigate } from '../router';
import type { ChainPage, ChainRow, IpsetRow, RuleRow, SearchHit, SummaryResponse } from '../types';

type P = Record<string, string>;
const ROW_H = 24;

interface ChainsResp {
  total: number;
  offset: number;
  chains: ChainRow[];
  tables: string[];
  roles: Record<string, number>;
  artifact?: string;
}

function nodePath(node: string, what: string): string {
  return `/api/nodes/${encodeURIComponent(node)}/${what}`;
}

function targetClass(r: RuleRow): string {
  const k = r.target?.kind;
  return k === 'DROP' || k === 'REJECT' ? 'act-drop' : k === 'ACCEPT' ? 'act-accept' : k === 'jump' ? 'act-jump' : '';
}

function ChainList({ node, params, set }: { node: string; params: P; set: (p: Partial<P>) => void }) {
  const [filter, setFilter] = useState(params.filter ?? '');
  const f = useDebounced(filter, 200);
  const q = { family: params.v6 === '1' ? 6 : 4, table: params.ftable, role: params.role, q: f };
  const head = useApi<ChainsResp>(nodePath(node, 'chains'), { ...q, limit: 200 });
  const key = JSON.stringify([node, q]);
  const total = head.data?.total ?? 0;
  const rows = usePagedRows<ChainRow>(key, total, 200, (offset, limit) => getJson<ChainsResp>(nodePath(node, 'chains'), { ...q, offset, limit }).then((r) => r.chains));
  return (
    <div class="chain-list">
      <div class="toolbar compact">
        <select value={params.ftable ?? ''} onChange={(e) => set({ ftable: e.currentTarget.value })} data-testid="rules-table-filter">
          <option value="">all tables</option>
          {(head.data?.tables ?? []).map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
        <select value={params.role ?? ''} onChange={(e) => set({ role: e.currentTarget.value })}>
          <option value="">all roles</option>
          {Object.entries(head.data?.roles ?? {}).map(([r, n]) => (
            <option key={r} value={r}>
              {r} ({n})
            </option>
          ))}
        </select>
        <input type="search" placeholder="chain name" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} data-testid="chain-filter" />
      </div>
      {head.error && <ErrorBox error={head.error} />}
      <div class="muted small">{head.data ? `${fmtNum(total)} chains` : 'loading…'}</div>
      <div class="vrow vhead">
        <span class="tbl">table</span>
        <span class="name">chain</span>
        <span class="num">rules</span>
        <span class="num">packets</span>
      </div>
      <div class="chain-rows">
        <VirtualList
          count={total}
          rowHeight={ROW_H}
          testid="chain-vlist"
          onRange={rows.ensure}
          renderRow={(i) => {
            const c = i < 200 && head.data && i < head.data.chains.length ? head.data.chains[i] : rows.get(i);
            if (!c) return <div key={i} class="vrow muted" style={{ height: `${ROW_H}px` }}>…</div>;
            const active = c.chain === params.chain && c.table === (params.table ?? c.table);
            return (
              <div key={i} class={`vrow chain-row${active ? ' active' : ''}`} style={{ height: `${ROW_H}px` }} onClick={() => set({ table: c.table, chain: c.chain, line: '' })} title={`${c.table} ${c.chain}: ${c.role}, ${c.rules} rules, ${c.callers} callers`} data-testid="chain-row" data-chain={c.chain}>
                <span class="tbl">{c.table}</span>
                <span class="name">{c.chain}</span>
                <span class="num">{fmtNum(c.rules)}</span>
                <span class="num muted">{c.packets ? fmtNum(c.packets) : ''}</span>
              </div>
            );
          }}
        />
      </div>
    </div>
  );
}

function ChainGraph({ page, set }: { page: ChainPage; set: (p: Partial<P>) => void }) {
  const MAX = 10;
  const callers = [...new Map(page.callers.map((c) => [c.chain, c])).values()];
  const callees = page.callees;
  const left = callers.slice(0, MAX);
  const right = callees.slice(0, MAX);
  const rowsN = Math.max(left.length, right.length, 1) + (callers.length > MAX || callees.length > MAX ? 1 : 0);
  const H = Math.max(60, rowsN * 24 + 12);
  const W = 760;
  const cx = W / 2;
  const cy = H / 2;
  const y = (i: number, n: number) => (n <= 1 ? cy : 14 + (i * (H - 28)) / (n - 1));
  const go = (chain: string) => set({ chain, line: '' });
  return (
    <svg class="chain-graph" width={W} height={H} viewBox={`0 0 ${W} ${H}`} data-testid="chain-graph">
      {left.map((c, i) => (
        <g key={`l${i}`} class="gnode" onClick={() => go(c.chain)} role="button">
          <line x1={230} y1={y(i, left.length)} x2={cx - 110} y2={cy} class={c.goto ? 'gedge goto' : 'gedge'} />
          <text x={226} y={y(i, left.length) + 4} text-anchor="end">
            {c.chain.length > 34 ? `${c.chain.slice(0, 33)}…` : c.chain}
          </text>
        </g>
      ))}
      {callers.length > MAX && (
        <text x={226} y={H - 4} text-anchor="end" class="muted">
          +{callers.length - MAX} more callers
        </text>
      )}
      <rect x={cx - 110} y={cy - 14} width={220} height={28} rx={6} class="gcenter" />
      <text x={cx} y={cy + 5} text-anchor="middle" class="gcenter-text">
        {page.chain.chain.length > 30 ? `${page.chain.chain.slice(0, 29)}…` : page.chain.chain}
      </text>
      {right.map((c, i) => (
        <g key={`r${i}`} class="gnode" onClick={() => go(c.chain)} role="button">
          <line x1={cx + 110} y1={cy} x2={W - 230} y2={y(i, right.length)} class={c.goto ? 'gedge goto' : 'gedge'} />
          <text x={W - 226} y={y(i, right.length) + 4}>
            {c.goto ? 'goto ' : ''}
            {c.chain.length > 30 ? `${c.chain.slice(0, 29)}…` : c.chain}
            {c.rules > 1 ? ` ×${c.rules}` : ''}
          </text>
        </g>
      ))}
      {callees.length > MAX && (
        <text x={W - 226} y={H - 4} class="muted">
          +{callees.length - MAX} more targets
        </text>
      )}
      {left.length === 0 && (
        <text x={226} y={cy + 4} text-anchor="end" class="muted">
          {page.chain.builtin ? 'kernel hook' : 'no callers (unreferenced)'}
        </text>
      )}
    </svg>
  );
}

function RuleLine({ r, hl, style }: { r: RuleRow; hl: boolean; style: Record<string, string> }) {
  return (
    <div class={`vrow rule-row${hl ? ' highlight' : ''}`} style={style} title={r.raw} data-testid="rule-row" data-line={r.line}>
      <span class="idx">{r.index}</span>
      <span class="ln">L{r.line}</span>
      <span class="cnt">{r.counters ? fmtNum(r.counters.packets) : ''}</span>
      <span class={`raw ${targetClass(r)}`}>{r.raw}</span>
    </div>
  );
}

function ChainDetail({ node, params, set }: { node: string; params: P; set: (p: Partial<P>) => void }) {
  const family = params.v6 === '1' ? 6 : 4;
  const line = params.line ? Number(params.line) : undefined;
  const head = useApi<ChainPage>(nodePath(node, 'chain'), { family, table: params.table, chain: params.chain, limit: 300, line });
  const key = JSON.stringify([node, family, params.table, params.chain]);
  const total = head.data?.total ?? 0;
  const rows = usePagedRows<RuleRow>(key, total, 500, (offset, limit) => getJson<ChainPage>(nodePath(node, 'chain'), { family, table: params.table, chain: params.chain, offset, limit }).then((r) => r.rules));
  if (head.error) return <ErrorBox error={head.error} />;
  if (!head.data) return <Loading what="chain" />;
  const c = head.data.chain;
  const first = head.data.rules;
  return (
    <div class="chain-detail" data-testid="chain-detail" data-chain={c.chain} data-total={total}>
      <div class="chain-head">
        <b>
          {c.table} {c.chain}
        </b>{' '}
        <span class="muted">
          {c.role}
          {c.policy ? `, policy ${c.policy}` : ''}
          {c.counters ? ` [${c.counters.packets}:${c.counters.bytes}]` : ''} · {fmtNum(total)} rules · {head.data.artifact}:{c.line}
        </span>
      </div>
      <ChainGraph page={head.data} set={set} />
      <div class="vrow vhead">
        <span class="idx">#</span>
        <span class="ln">line</span>
        <span class="cnt">packets</span>
        <span class="raw">rule</span>
      </div>
      <div class="rules-rows">
        <VirtualList
          count={total}
          rowHeight={ROW_H}
          testid="rule-vlist"
          scrollTo={head.data.focus}
          onRange={rows.ensure}
          renderRow={(i) => {
            const r = i < first.length ? first[i] : rows.get(i);
            const style = { height: `${ROW_H}px` };
            if (!r) return <div key={i} class="vrow muted" style={style}>…</div>;
            return <RuleLine key={i} r={r} hl={line !== undefined && r.line === line} style={style} />;
          }}
        />
      </div>
    </div>
  );
}

function SearchPane({ node, params, set }: { node: string; params: P; set: (p: Partial<P>) => void }) {
  const [q, setQ] = useState(params.q ?? '');
  useEffect(() => setQ(params.q ?? ''), [params.q]);
  const family = params.v6 === '1' ? 6 : 4;
  const r = useApi<{ total: number; hits: SearchHit[]; sets: string[] }>(params.q ? nodePath(node, 'search') : undefined, { q: params.q, family, limit: 500 });
  return (
    <div class="search-pane">
      <form
        class="toolbar compact"
        onSubmit={(e) => {
          e.preventDefault();
          set({ q: q.trim() });
        }}
      >
        <input type="search" size={40} placeholder="IP, ipset name, comment, chain, any text" value={q} onInput={(e) => setQ(e.currentTarget.value)} data-testid="rules-search-input" />
        <button type="submit">Search</button>
      </form>
      {r.error && <ErrorBox error={r.error} />}
      {r.loading && <Loading what="search" />}
      {r.data && (
        <>
          <div class="muted small" data-testid="search-count">
            {fmtNum(r.data.total)} rules{r.data.total > r.data.hits.length ? ` (first ${r.data.hits.length} shown)` : ''}
            {r.data.sets.length > 0 && <> · {params.q} is in ipsets {r.data.sets.join(', ')}</>}
          </div>
          <div class="search-rows">
            <VirtualList
              count={r.data.hits.length}
              rowHeight={ROW_H}
              testid="search-vlist"
              renderRow={(i) => {
                const h = r.data!.hits[i];
                return (
                  <div key={i} class="vrow search-row" style={{ height: `${ROW_H}px` }} onClick={() => set({ tab: 'chains', table: h.table, chain: h.chain, line: String(h.rule.line) })} title={`${h.why}: ${h.rule.raw}`} data-testid="search-hit">
                    <span class="tbl">{h.table}</span>
                    <span class="name">{h.chain}</span>
                    <span class="ln">L{h.rule.line}</span>
                    <span class="why muted">{h.why}</span>
                    <span class={`raw ${targetClass(h.rule)}`}>{h.rule.raw}</span>
                  </div>
                );
              }}
            />
          </div>
        </>
      )}
    </div>
  );
}

interface IpsetMembers {
  total: number;
  artifact?: string;
  members: { raw: string; line: number; nomatch: boolean; comment?: string }[];
  set: IpsetRow;
}

function IpsetPane({ node, params, set }: { node: string; params: P; set: (p: Partial<P>) => void }) {
  const [filter, setFilter] = useState('');
  const f = useDebounced(filter, 200);
  const list = useApi<{ sets: IpsetRow[]; artifact?: string }>(nodePath(node, 'ipsets'), { q: f });
  const name = params.set;
  const head = useApi<IpsetMembers>(name ? nodePath(node, 'ipset') : undefined, { name, limit: 500 });
  const total = head.data?.total ?? 0;
  const rows = usePagedRows<IpsetMembers['members'][number]>(`${node}\0${name}`, total, 500, (offset, limit) => getJson<IpsetMembers>(nodePath(node, 'ipset'), { name, offset, limit }).then((r) => r.members));
  return (
    <div class="ipset-pane split">
      <div class="split-left">
        <input type="search" placeholder="set name, or an IP: the sets holding it" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} data-testid="ipset-filter" />
        {list.error && <ErrorBox error={list.error} />}
        <div class="ipset-list" data-testid="ipset-list">
          {(list.data?.sets ?? []).slice(0, 2000).map((s) => (
            <div key={s.name} class={`vrow ipset-row${s.name === name ? ' active' : ''}`} onClick={() => set({ set: s.name })} title={`${s.type} ${s.family ?? ''}, ${s.members} members, used by ${s.usedBy} rules`} data-testid="ipset-row">
              <span class="name">{s.name}</span>
              <span class="muted small">{s.kind}</span>
              <span class="num">{fmtNum(s.members)}</span>
            </div>
          ))}
        </div>
      </div>
      <div class="split-right">
        {!name && <div class="empty">Pick a set to see its members.</div>}
        {head.error && <ErrorBox error={head.error} />}
        {head.data && (
          <>
            <div class="chain-head">
              <b>{head.data.set.name}</b>{' '}
              <span class="muted">
                {head.data.set.type} {head.data.set.family ?? ''} · {fmtNum(total)} members · used by {head.data.set.usedBy} rules · {head.data.artifact}:{head.data.set.line}
              </span>{' '}
              <button type="button" class="link" onClick={() => set({ tab: 'search', q: head.data!.set.name })}>
                rules using it
              </button>
            </div>
            <div class="rules-rows">
              <VirtualList
                count={total}
                rowHeight={ROW_H}
                testid="member-vlist"
                onRange={rows.ensure}
                renderRow={(i) => {
                  const m = i < head.data!.members.length ? head.data!.members[i] : rows.get(i);
                  const style = { height: `${ROW_H}px` };
                  if (!m) return <div key={i} class="vrow muted" style={style}>…</div>;
                  return (
                    <div key={i} class="vrow member-row" style={style}>
                      <span class="ln">L{m.line}</span>
                      <span class={m.nomatch ? 'raw act-drop' : 'raw'}>{m.raw}</span>
                      {m.nomatch && <span class="muted"> nomatch</span>}
                      {m.comment && <span class="muted"> {m.comment}</span>}
                    </div>
                  );
                }}
              />
            </div>
          </>
        )}
      </div>
    </div>
  );
}

export function RulesView({ params, summary }: { params: P; summary: SummaryResponse }) {
  const node = params.node ?? summary.nodes[0];
  const tab = params.tab ?? 'chains';
  const set = (p: Partial<P>) => {
    const next: Record<string, string | undefined> = { ...params, node, ...p };
    navigate('rules', next, true);
  };
  if (!node) return <div class="empty">The bundle has no node directories.</div>;
  return (
    <div class="rules">
      <div class="toolbar">
        <Field label="node">
          <select value={node} onChange={(e) => navigate('rules', { node: e.currentTarget.value, tab }, true)} data-testid="rules-node">
            {summary.nodes.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </Field>
        <Field label="family">
          <select value={params.v6 === '1' ? '6' : '4'} onChange={(e) => set({ v6: e.currentTarget.value === '6' ? '1' : '', table: '', chain: '' })}>
            <option value="4">IPv4 (iptables)</option>
            <option value="6">IPv6 (ip6tables)</option>
          </select>
        </Field>
        <div class="subtabs" role="tablist">
          {(['chains', 'search', 'ipsets'] as const).map((t) => (
            <button type="button" key={t} class={t === tab ? 'tab active' : 'tab'} onClick={() => set({ tab: t })} data-testid={`rules-tab-${t}`}>
              {t === 'chains' ? 'Chains' : t === 'search' ? 'Search' : 'IP sets'}
            </button>
          ))}
        </div>
      </div>
      {tab === 'chains' && (
        <div class="split">
          <div class="split-left">
            <ChainList node={node} params={params} set={set} />
          </div>
          <div class="split-right">{params.chain ? <ChainDetail key={`${node}${params.table}${params.chain}${params.line ?? ''}`} node={node} params={{ ...params, table: params.table ?? 'filter' }} set={set} /> : <div class="empty">Pick a chain. Built-in chains (INPUT, FORWARD, …) are where packets enter.</div>}</div>
        </div>
      )}
      {tab === 'search' && <SearchPane node={node} params={params} set={set} />}
      {tab === 'ipsets' && <IpsetPane node={node} params={params} set={set} />}
    </div>
  );
}
