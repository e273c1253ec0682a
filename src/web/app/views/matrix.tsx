/** Matrix: the reachability truth table of a namespace (policy intent); a cell opens that flow in the Trace view. */
import { ErrorBox, Field, Loading, useApi } from '../components';
import { hrefFor, navigate } from '../router';
import type { MatrixJson, SummaryResponse } from '../types';

export function MatrixView({ params, summary }: { params: Record<string, string>; summary: SummaryResponse }) {
  const withEps = summary.namespaces.filter((n) => summary.endpoints.some((e) => e.namespace === n));
  // Small clusters: everything at once; large ones: one namespace at a time.
  const ns = params.ns ?? (summary.endpoints.length <= 40 ? '*' : (withEps[0] ?? '*'));
  const protocol = (params.protocol ?? 'TCP').toUpperCase();
  const port = params.port ?? '80';
  const m = useApi<MatrixJson>('/api/matrix', { ns: ns === '*' ? undefined : ns, port: protocol === 'ICMP' ? undefined : port, protocol });
  const set = (p: Record<string, string>) => navigate('matrix', { ns, port, protocol, ...p }, true);
  const blocked = new Map((m.data?.blocked ?? []).map((b) => [`${b.from}\n${b.to}`, b]));
  return (
    <div class="matrix">
      <div class="toolbar">
        <Field label="namespace">
          <select value={ns} onChange={(e) => set({ ns: e.currentTarget.value })} data-testid="matrix-namespace">
            {withEps.map((n) => (
              <option key={n}>{n}</option>
            ))}
            <option value="*">all namespaces</option>
          </select>
        </Field>
        <Field label="port">
          <input value={port} size={6} onChange={(e) => set({ port: e.currentTarget.value.trim() })} disabled={protocol === 'ICMP'} data-testid="matrix-port" />
        </Field>
        <Field label="protocol">
          <select value={protocol} onChange={(e) => set({ protocol: e.currentTarget.value })}>
            {['TCP', 'UDP', 'SCTP', 'ICMP'].map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </Field>
        {m.data && (
          <span class="muted">
            {m.data.allowed} of {m.data.pairs} pairs allowed by policy · rows: from, columns: to · click a cell to trace it through the dataplane
          </span>
        )}
      </div>
      {m.error && <ErrorBox error={m.error} />}
      {!m.data && !m.error && <Loading what="matrix" />}
      {m.data && (
        <div class="matrix-scroll">
          <table class="matrix-table" data-testid="matrix-table">
            <thead>
              <tr>
                <th class="corner">from \ to</th>
                {m.data.endpoints.map((c) => (
                  <th key={c} class="col-head">
                    <span>{c}</span>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {m.data.endpoints.map((from, i) => (
                <tr key={from}>
                  <th class="row-head">{from}</th>
                  {m.data!.endpoints.map((to, j) => {
                    const ok = m.data!.rows[i][j] === '.';
                    const b = blocked.get(`${from}\n${to}`);
                    const self = i === j;
                    const why = ok ? 'allowed' : `blocked${b ? ` (${[b.egress ? 'egress' : '', b.ingress ? 'ingress' : ''].filter(Boolean).join(' and ')})` : ''}`;
                    const href = hrefFor('trace', { from, to, port: protocol === 'ICMP' ? undefined : port, protocol });
                    return (
                      <td key={to} class={`cell ${self ? 'self' : ok ? 'allow' : 'deny'}`} title={`${from} → ${to}: ${why}`} data-testid="matrix-cell" data-from={from} data-to={to}>
                        {self ? '·' : <a href={href}>{ok ? '✓' : '✗'}</a>}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
