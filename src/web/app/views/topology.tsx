/**
 * Topology: nodes side by side with their pods grouped by namespace, IPAM blocks and tunnel
 * devices; BGP sessions and tunnel routes drawn between nodes, coloured by state. A pod opens its
 * endpoint facts (M2) and the policies that select it.
 */
import type { JSX } from 'preact';
import { Badge, ErrorBox, Loading, useApi } from '../components';
import { hrefFor, navigate } from '../router';
import type { EndpointFacts, SummaryResponse, Topology, TopoLink, TopoNode, TopoPod } from '../types';

const COL_W = 260;
const COL_GAP = 60;
const HEAD_H = 96;
const NS_H = 22;
const POD_H = 24;
const TOP = 120;

interface Layout {
  node: TopoNode;
  x: number;
  height: number;
  groups: { ns: string; y: number; pods: { pod: TopoPod; y: number }[] }[];
}

function layout(t: Topology): { cols: Layout[]; width: number; height: number } {
  const cols: Layout[] = [];
  let maxH = 0;
  t.nodes.forEach((node, i) => {
    const pods = t.pods.filter((p) => p.node === node.name).sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    const byNs = new Map<string, TopoPod[]>();
    for (const p of pods) {
      const k = p.hostNetwork ? `${p.namespace} (host network)` : p.namespace;
      let l = byNs.get(k);
      if (!l) byNs.set(k, (l = []));
      l.push(p);
    }
    let y = TOP + HEAD_H;
    const groups: Layout['groups'] = [];
    for (const [ns, list] of byNs) {
      const g = { ns, y, pods: [] as { pod: TopoPod; y: number }[] };
      y += NS_H;
      for (const pod of list) {
        g.pods.push({ pod, y });
        y += POD_H;
      }
      y += 8;
      groups.push(g);
    }
    const height = Math.max(y - TOP + 8, HEAD_H + 30);
    maxH = Math.max(maxH, height);
    cols.push({ node, x: 10 + i * (COL_W + COL_GAP), height, groups });
  });
  return { cols, width: 20 + t.nodes.length * (COL_W + COL_GAP) - COL_GAP, height: TOP + maxH + 20 };
}

/** One drawn link per node pair and kind: both ends' reports merged (a session is up only if both say so). */
function mergedLinks(links: TopoLink[], nodes: Set<string>): { a: string; b: string; kind: string; ok: boolean; states: string[] }[] {
  const m = new Map<string, { a: string; b: string; kind: string; ok: boolean; states: string[] }>();
  for (const l of links) {
    if (!nodes.has(l.to) || l.to === l.from) continue;
    const [a, b] = [l.from, l.to].sort();
    const k = `${a}\0${b}\0${l.kind}`;
    const cur = m.get(k);
    if (cur) {
      cur.ok = cur.ok && l.ok;
      if (!cur.states.includes(l.state)) cur.states.push(l.state);
    } else m.set(k, { a, b, kind: l.kind, ok: l.ok, states: [l.state] });
  }
  return [...m.values()];
}

function TopoSvg({ t, selected }: { t: Topology; selected?: string }) {
  const { cols, width, height } = layout(t);
  const xOf = new Map(cols.map((c) => [c.node.name, c.x + COL_W / 2]));
  const links = mergedLinks(t.links, new Set(t.nodes.map((n) => n.name)));
  const kinds = [...new Set(links.map((l) => l.kind))];
  const arcs: JSX.Element[] = links.map((l, i) => {
    const x1 = xOf.get(l.a)!;
    const x2 = xOf.get(l.b)!;
    const lane = kinds.indexOf(l.kind);
    const lift = Math.min(TOP - 16, 26 + Math.abs(x2 - x1) / (COL_W + COL_GAP) * 18 + lane * 12);
    const y = TOP;
    const mx = (x1 + x2) / 2 + lane * 10;
    const off = lane * 14 - 7;
    return (
      <g key={i} class={`link link-${l.kind} ${l.ok ? 'link-ok' : 'link-bad'}`} data-testid="topo-link" data-kind={l.kind} data-ok={String(l.ok)}>
        <title>{`${l.kind} ${l.a} ↔ ${l.b}: ${l.states.join(', ')}`}</title>
        <path d={`M ${x1 + off} ${y} Q ${mx} ${y - lift * 2} ${x2 + off} ${y}`} />
        <text x={mx} y={y - lift - 2} text-anchor="middle" class="link-label">
          {l.kind} {l.ok ? '' : l.states.filter((s) => s !== 'Established' && s !== 'up').join('/')}
        </text>
      </g>
    );
  });
  return (
    <svg class="topo-svg" width={width} height={height} viewBox={`0 0 ${width} ${height}`} data-testid="topology-svg">
      {arcs}
      {cols.map((c) => (
        <g key={c.node.name} class={`topo-node${c.node.captured ? '' : ' uncaptured'}`} data-testid="topo-node" data-node={c.node.name}>
          <rect x={c.x} y={TOP} width={COL_W} height={c.height} rx={10} class="node-rect" />
          <text x={c.x + 12} y={TOP + 22} class="node-name">
            {c.node.name}
            {c.node.ready === false ? ' (NotReady)' : ''}
          </text>
          <text x={c.x + 12} y={TOP + 40} class="node-sub">
            {c.node.addresses.join(', ') || 'no address'}
            {c.node.asNumber !== undefined ? ` · AS ${c.node.asNumber}` : ''}
          </text>
          <text x={c.x + 12} y={TOP + 58} class="node-sub">
            blocks {c.node.blocks.join(', ') || '—'}
          </text>
          <text x={c.x + 12} y={TOP + 76} class="node-sub">
            {c.node.tunnels.length ? c.node.tunnels.map((tn) => `${tn.name}${tn.up ? '' : ' DOWN'}${tn.mtu ? ` mtu ${tn.mtu}` : ''}`).join(', ') : c.node.captured ? 'no tunnel device' : 'dataplane not in the bundle'}
          </text>
          {c.groups.map((g) => (
            <g key={g.ns}>
              <text x={c.x + 12} y={g.y + 15} class="ns-label">
                {g.ns}
              </text>
              {g.pods.map(({ pod, y }) => {
                const bad = pod.ifaceState === 'down' || pod.ifaceState === 'missing';
                return (
                  <g key={pod.id} class={`pod${bad ? ' pod-bad' : ''}${selected === pod.id ? ' selected' : ''}${pod.hostNetwork ? ' pod-hostnet' : ''}`} onClick={() => !pod.hostNetwork && navigate('topology', { pod: pod.id }, true)} data-testid="topo-pod" data-pod={pod.id} role="button" tabIndex={0}>
                    <title>{`${pod.id} ${pod.ips.join(', ')} ${pod.iface}${pod.ifaceState && pod.ifaceState !== 'up' ? ` (interface ${pod.ifaceState})` : ''}`}</title>
                    <rect x={c.x + 10} y={y} width={COL_W - 20} height={POD_H - 4} rx={4} />
                    <text x={c.x + 18} y={y + 14} class="pod-name">
                      {pod.name.length > 18 ? `${pod.name.slice(0, 17)}…` : pod.name}
                    </text>
                    <text x={c.x + COL_W - 16} y={y + 14} text-anchor="end" class="pod-ip">
                      {pod.ips[0] ?? ''}
                    </text>
                  </g>
                );
              })}
            </g>
          ))}
        </g>
      ))}
    </svg>
  );
}

function PodPanel({ id }: { id: string }) {
  const r = useApi<EndpointFacts>('/api/policy/for', { ep: id });
  if (r.error) return <ErrorBox error={r.error} />;
  if (!r.data) return <Loading what="endpoint" />;
  const e = r.data.endpoint;
  const f = r.data.facts;
  const names = (l: { policy: string; tier: string }[]) => [...new Set(l.map((p) => `[${p.tier}] ${p.policy}`))];
  return (
    <div class="card pod-panel" data-testid="pod-panel">
      <h3>{e.id}</h3>
      <table class="facts-table">
        <tbody>
          <tr>
            <th>node</th>
            <td>{e.node}</td>
          </tr>
          <tr>
            <th>interface</th>
            <td data-testid="pod-iface">
              {e.interfaceName || '—'}
              {f.iface ? (
                <span class={f.iface.up ? 'ok' : 'bad'}>
                  {' '}
                  {f.iface.up ? 'up' : 'DOWN'}
                  {f.iface.mtu ? `, mtu ${f.iface.mtu}` : ''}
                </span>
              ) : (
                <span class="muted"> (not in the node's ip addr)</span>
              )}
            </td>
          </tr>
          <tr>
            <th>IPs</th>
            <td>{e.ips.join(', ') || 'none'}</td>
          </tr>
          <tr>
            <th>MAC</th>
            <td>{f.mac ?? f.iface?.mac ?? '—'}</td>
          </tr>
          <tr>
            <th>from</th>
            <td>
              {e.from} <span class="muted">{e.source.artifact}{e.source.line ? `:${e.source.line}` : ''}</span>
            </td>
          </tr>
          {f.serviceAccount && (
            <tr>
              <th>service account</th>
              <td>{f.serviceAccount}</td>
            </tr>
          )}
          <tr>
            <th>profiles</th>
            <td>{e.profiles.join(', ') || '—'}</td>
          </tr>
          <tr>
            <th>labels</th>
            <td>
              {Object.entries(e.labels).map(([k, v]) => (
                <code key={k} class="label">
                  {k}={v}
                </code>
              ))}
            </td>
          </tr>
          {f.ports.length > 0 && (
            <tr>
              <th>named ports</th>
              <td>{f.ports.join(', ')}</td>
            </tr>
          )}
          <tr>
            <th>ingress policies</th>
            <td data-testid="pod-ingress-policies">{names(r.data.ingress).join(', ') || <span class="muted">{r.data.defaults.ingress}</span>}</td>
          </tr>
          <tr>
            <th>egress policies</th>
            <td>{names(r.data.egress).join(', ') || <span class="muted">{r.data.defaults.egress}</span>}</td>
          </tr>
        </tbody>
      </table>
      {e.notes.map((n, i) => (
        <div key={i} class="muted">
          note: {n}
        </div>
      ))}
      <div class="actions">
        <a href={hrefFor('policy', { ep: e.id })}>policies in detail</a> · <a href={hrefFor('trace', { from: e.id })}>trace from this pod</a> · <a href={hrefFor('rules', { node: e.node, q: e.interfaceName, tab: 'search' })}>its rules on {e.node}</a>
      </div>
    </div>
  );
}

export function TopologyView({ params }: { params: Record<string, string>; summary: SummaryResponse }) {
  const t = useApi<Topology>('/api/topology');
  if (t.error) return <ErrorBox error={t.error} />;
  if (!t.data) return <Loading what="topology" />;
  const d = t.data;
  return (
    <div class="topology">
      <div class="topo-main">
        <div class="topo-scroll">
          <TopoSvg t={d} selected={params.pod} />
        </div>
        <div class="legend muted">
          <span class="lg lg-ok">━ up / Established</span> <span class="lg lg-bad">━ down / not Established</span> · click a pod for its endpoint facts
        </div>
      </div>
      <aside class="topo-side">
        {params.pod && <PodPanel key={params.pod} id={params.pod} />}
        <div class="card">
          <h3>IP pools</h3>
          <table class="small-table">
            <thead>
              <tr>
                <th>pool</th>
                <th>CIDR</th>
                <th>encap</th>
                <th>NAT</th>
              </tr>
            </thead>
            <tbody>
              {d.pools.map((p) => (
                <tr key={p.name} class={p.disabled ? 'muted' : ''}>
                  <td>
                    {p.name}
                    {p.disabled ? ' (disabled)' : ''}
                  </td>
                  <td>
                    {p.cidr} /{p.blockSize}
                  </td>
                  <td>{p.vxlanMode !== 'Never' ? `VXLAN ${p.vxlanMode}` : p.ipipMode !== 'Never' ? `IPIP ${p.ipipMode}` : 'none'}</td>
                  <td>{p.natOutgoing ? 'yes' : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>IPAM blocks</h3>
          <table class="small-table">
            <tbody>
              {d.blocks.map((b) => (
                <tr key={b.cidr}>
                  <td>{b.cidr}</td>
                  <td>{b.node ?? <span class="bad">no affinity</span>}</td>
                  <td>
                    {b.allocated}/{b.size} used
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Links</h3>
          <table class="small-table" data-testid="links-table">
            <tbody>
              {d.links.map((l, i) => (
                <tr key={i} class={l.ok ? '' : 'row-bad'}>
                  <td>{l.kind}</td>
                  <td>
                    {l.from} → {l.to}
                  </td>
                  <td>
                    <Badge kind={l.ok ? 'ok' : 'error'}>{l.state}</Badge>
                  </td>
                  <td class="muted small">{l.detail}</td>
                </tr>
              ))}
              {d.links.length === 0 && (
                <tr>
                  <td class="muted">no BGP sessions or tunnel routes in the bundle</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </aside>
    </div>
  );
}
