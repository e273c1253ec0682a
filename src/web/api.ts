/**
 * The web UI's JSON API over one loaded bundle. Every answer comes from the same core functions
 * the CLI calls (summarizeBundle, diagnose, traceFlow + crossCheck, policiesFor, policyCheck,
 * reachabilityMatrix, the selector linter, the iptables/ipset models); nothing is reimplemented
 * here. Models are built once per server and answers that are costly to compute are cached.
 */
import type { Bundle } from '../model/bundle.js';
import { summarizeBundle, type BundleSummary } from '../report/inspect.js';
import { diagnose, type Diagnosis } from '../checks/run.js';
import { traceContext, traceFlow, TraceQueryError } from '../trace/flow.js';
import { crossCheck } from '../trace/crosscheck.js';
import type { TraceQuery, TraceResult } from '../trace/types.js';
import { policiesFor, policyCheck, PolicyQueryError, type PoliciesForJson, type PolicyCheckJson } from '../calico/policy/explain.js';
import { matrixJson, reachabilityMatrix, type MatrixJson } from '../calico/policy/matrix.js';
import { checkSelector, lintSelector, type CheckSelectorOutput, type LintResult } from '../calico/selector/lint.js';
import { nearMisses, type NearMissHint } from '../calico/selector/nearmiss.js';
import { parseSelector } from '../calico/selector/index.js';
import { effectiveLabels } from '../calico/endpoints.js';
import { EvidenceReader, type EvidenceContext } from './evidence.js';
import { RulesIndex } from './rules.js';
import { buildTopology, type Topology } from './topology.js';
import { VERSION } from '../version.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface EndpointRef {
  id: string;
  namespace?: string;
  node: string;
  ips: string[];
  kind: 'workload' | 'host';
}

export interface SummaryResponse {
  version: string;
  origin: string;
  summary: BundleSummary;
  endpoints: EndpointRef[];
  namespaces: string[];
  services: { id: string; ip?: string; ports: { port: number; protocol: string; name?: string }[] }[];
  nodes: string[];
}

export interface TraceResponse extends TraceResult {
  /** Server time to compute the trace, in milliseconds. */
  ms: number;
}

export interface EndpointFacts extends PoliciesForJson {
  facts: { mac?: string; wepName?: string; serviceAccount?: string; hostNetwork: boolean; ports: string[]; iface?: { up: boolean; mtu?: number; mac?: string; state?: string } };
}

export interface SelectorResponse {
  expr: string;
  namespace: string | null;
  check: CheckSelectorOutput;
  lint: LintResult;
  canonical?: string;
  total: number;
  matches: { id: string; kind: string; node: string; ips: string[]; namespace?: string }[];
  nearMisses: NearMissHint[];
}

const PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ICMP'] as const;
type Params = URLSearchParams;

function intParam(p: Params, name: string, min: number, max: number): number | undefined {
  const v = p.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ApiError(400, `${name} must be an integer ${min}-${max}, got ${JSON.stringify(v)}`);
  return n;
}

function required(p: Params, name: string): string {
  const v = p.get(name)?.trim();
  if (!v) throw new ApiError(400, `missing parameter ${name}`);
  return v;
}

function protocolParam(p: Params, def = 'TCP'): (typeof PROTOCOLS)[number] {
  const v = (p.get('protocol') || def).toUpperCase();
  if (!(PROTOCOLS as readonly string[]).includes(v)) throw new ApiError(400, `protocol must be TCP, UDP, SCTP or ICMP, got ${JSON.stringify(v)}`);
  return v as (typeof PROTOCOLS)[number];
}

function familyParam(p: Params): 4 | 6 {
  return p.get('family') === '6' || p.get('v6') === '1' ? 6 : 4;
}

/** Caps a cache of computed answers (queries come from users and links, so keys are unbounded). */
class Lru<V> {
  private readonly m = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.m.set(k, v);
    while (this.m.size > this.max) this.m.delete(this.m.keys().next().value as string);
  }
}

export class WebApi {
  private summaryCache?: SummaryResponse;
  private diagnosisCache?: Diagnosis;
  private topologyCache?: Topology;
  private readonly traces = new Lru<TraceResponse>(200);
  private readonly matrices = new Lru<MatrixJson>(20);
  private readonly rules = new Map<string, RulesIndex>();
  readonly evidence: EvidenceReader;

  constructor(readonly bundle: Bundle) {
    this.evidence = new EvidenceReader(bundle);
  }

  /** Builds the models a trace needs (compiled rulesets, routing, policy model) ahead of the first request. */
  warm(): void {
    traceContext(this.bundle);
  }

  private get ctx() {
    return traceContext(this.bundle);
  }

  summary(): SummaryResponse {
    if (this.summaryCache) return this.summaryCache;
    const b = this.bundle;
    const model = this.ctx.model;
    const namespaces = new Set<string>(b.cluster.namespaces.map((n) => n.metadata.name));
    for (const e of model.endpoints) if (e.namespace) namespaces.add(e.namespace);
    this.summaryCache = {
      version: VERSION,
      origin: b.origin,
      summary: summarizeBundle(b),
      endpoints: model.endpoints.map((e) => ({ id: e.id, ...(e.namespace ? { namespace: e.namespace } : {}), node: e.node, ips: e.ips, kind: e.kind })),
      namespaces: [...namespaces].sort(),
      services: b.cluster.services.map((s) => ({
        id: `${s.metadata.namespace ?? ''}/${s.metadata.name}`,
        ...(s.spec.clusterIP && s.spec.clusterIP !== 'None' ? { ip: s.spec.clusterIP } : {}),
        ports: s.spec.ports.map((p) => ({ port: p.port, protocol: p.protocol, ...(p.name ? { name: p.name } : {}) })),
      })),
      nodes: b.nodes.map((n) => n.name),
    };
    return this.summaryCache;
  }

  findings(): Diagnosis {
    return (this.diagnosisCache ??= diagnose(this.bundle));
  }

  trace(p: Params): TraceResponse {
    const q: TraceQuery = {
      from: required(p, 'from'),
      to: required(p, 'to'),
      protocol: protocolParam(p),
      ...(p.get('port') ? { port: intParam(p, 'port', 0, 65535) } : {}),
      ...(p.get('size') ? { size: intParam(p, 'size', 20, 65535) } : {}),
    };
    return this.traceQuery(q);
  }

  traceQuery(q: TraceQuery): TraceResponse {
    const key = JSON.stringify([q.from, q.to, q.protocol, q.port, q.size]);
    const hit = this.traces.get(key);
    if (hit) return hit;
    const t0 = performance.now();
    let r: TraceResult;
    try {
      r = traceFlow(this.bundle, q);
    } catch (e) {
      if (e instanceof TraceQueryError) throw new ApiError(400, e.message);
      throw e;
    }
    const ctx = this.ctx;
    Object.assign(r, crossCheck(ctx.model, ctx.rt, r));
    const out: TraceResponse = { ...r, ms: Math.round((performance.now() - t0) * 10) / 10 };
    this.traces.set(key, out);
    return out;
  }

  policyFor(p: Params): EndpointFacts {
    const ref = required(p, 'ep');
    let r: PoliciesForJson;
    try {
      r = policiesFor(this.ctx.model, ref);
    } catch (e) {
      if (e instanceof PolicyQueryError) throw new ApiError(404, e.message);
      throw e;
    }
    const ep = this.ctx.model.endpointById.get(r.endpoint.id);
    const node = this.bundle.nodes.find((n) => n.name === r.endpoint.node);
    const iface = node?.interfaces?.find((i) => i.name === r.endpoint.interfaceName);
    return {
      ...r,
      facts: {
        ...(ep?.mac ? { mac: ep.mac } : {}),
        ...(ep?.wepName ? { wepName: ep.wepName } : {}),
        ...(ep?.serviceAccount ? { serviceAccount: ep.serviceAccount } : {}),
        hostNetwork: ep?.hostNetwork ?? false,
        ports: (ep?.ports ?? []).map((x) => `${x.name} ${x.port}/${x.protocolName}`),
        ...(iface ? { iface: { up: iface.up, ...(iface.mtu !== undefined ? { mtu: iface.mtu } : {}), ...(iface.mac ? { mac: iface.mac } : {}), ...(iface.operState ? { state: iface.operState } : {}) } } : {}),
      },
    };
  }

  policyCheck(p: Params): PolicyCheckJson {
    const protocol = protocolParam(p);
    const port = intParam(p, 'port', 0, 65535);
    try {
      return policyCheck(this.ctx.model, { from: required(p, 'from'), to: required(p, 'to'), port, protocol });
    } catch (e) {
      if (e instanceof PolicyQueryError) throw new ApiError(400, e.message);
      throw e;
    }
  }

  matrix(p: Params): MatrixJson {
    const ns = p.get('ns') || undefined;
    const protocol = protocolParam(p);
    const port = protocol === 'ICMP' ? undefined : (intParam(p, 'port', 0, 65535) ?? 80);
    const key = JSON.stringify([ns, protocol, port]);
    const hit = this.matrices.get(key);
    if (hit) return hit;
    let m: MatrixJson;
    try {
      m = matrixJson(reachabilityMatrix(this.ctx.model, { namespace: ns, port, protocol }));
    } catch (e) {
      if (e instanceof PolicyQueryError) throw new ApiError(400, e.message);
      throw e;
    }
    if (m.endpoints.length > 400) throw new ApiError(413, `${m.endpoints.length} endpoints: pick a namespace (the matrix view shows at most 400)`);
    this.matrices.set(key, m);
    return m;
  }

  selector(p: Params): SelectorResponse {
    const expr = p.get('expr') ?? '';
    const ns = p.get('ns') || undefined;
    const check = checkSelector(expr);
    const lint = lintSelector(expr);
    const base: SelectorResponse = { expr, namespace: ns ?? null, check, lint, total: 0, matches: [], nearMisses: [] };
    const parsed = parseSelector(expr);
    if (!parsed.ok) return base;
    const model = this.ctx.model;
    const eps = model.endpoints.filter((e) => !ns || e.namespace === ns);
    const matching = eps.filter((e) => parsed.selector.matches(e.getLabel));
    const hints = matching.length === 0 ? nearMisses(parsed.selector, model.endpoints.map((e) => ({ id: e.id, labels: effectiveLabels(e), namespace: e.namespace })), { namespace: ns }) : [];
    return {
      ...base,
      canonical: parsed.selector.canonical,
      total: eps.length,
      matches: matching.slice(0, 500).map((e) => ({ id: e.id, kind: e.kind, node: e.node, ips: e.ips, ...(e.namespace ? { namespace: e.namespace } : {}) })),
      nearMisses: hints,
    };
  }

  topology(): Topology {
    return (this.topologyCache ??= buildTopology(this.bundle, this.ctx.model, this.ctx.rt));
  }

  private rulesOf(node: string): RulesIndex {
    let r = this.rules.get(node);
    if (!r) {
      const nd = this.bundle.nodes.find((n) => n.name === node);
      if (!nd) throw new ApiError(404, `no node ${node} in the bundle (nodes: ${this.bundle.nodes.map((n) => n.name).join(', ') || 'none'})`);
      r = new RulesIndex(nd);
      this.rules.set(node, r);
    }
    return r;
  }

  nodes(): { name: string; iptables: boolean; ip6tables: boolean; ipsets: number; artifacts: Record<string, string | undefined> }[] {
    return this.bundle.nodes.map((n) => ({ name: n.name, iptables: !!n.iptables, ip6tables: !!n.ip6tables && n.ip6tables.tables.size > 0, ipsets: n.ipsets?.sets.size ?? 0, artifacts: n.artifacts }));
  }

  chains(node: string, p: Params) {
    return { node, family: familyParam(p), artifact: this.rulesOf(node).artifact(familyParam(p)), ...this.rulesOf(node).listChains(familyParam(p), { table: p.get('table') || undefined, role: p.get('role') || undefined, q: p.get('q') || undefined, offset: intParam(p, 'offset', 0, 1e9), limit: intParam(p, 'limit', 1, 1e9) }) };
  }

  chain(node: string, p: Params) {
    const table = required(p, 'table');
    const chain = required(p, 'chain');
    const r = this.rulesOf(node).chainPage(familyParam(p), table, chain, intParam(p, 'offset', 0, 1e9), intParam(p, 'limit', 1, 1e9), intParam(p, 'line', 0, 2 ** 31));
    if (!r) throw new ApiError(404, `no chain ${chain} in table ${table} on node ${node}`);
    return r;
  }

  search(node: string, p: Params) {
    return { node, ...this.rulesOf(node).search(familyParam(p), required(p, 'q'), intParam(p, 'offset', 0, 1e9), intParam(p, 'limit', 1, 1e9)) };
  }

  ipsets(node: string, p: Params) {
    const r = this.rulesOf(node);
    return { node, artifact: r.node.artifacts.ipset, sets: r.ipsets(p.get('q') || undefined) };
  }

  ipset(node: string, p: Params) {
    const name = required(p, 'name');
    const r = this.rulesOf(node).ipset(name, intParam(p, 'offset', 0, 1e9), intParam(p, 'limit', 1, 1e9));
    if (!r) throw new ApiError(404, `no ipset ${name} on node ${node}`);
    return { node, ...r };
  }

  evidenceContext(p: Params): EvidenceContext {
    const artifact = required(p, 'artifact');
    const line = intParam(p, 'line', 0, 2 ** 31) ?? 0;
    const context = intParam(p, 'context', 0, 200) ?? 5;
    const r = this.evidence.context(artifact, line, context);
    if (!r) throw new ApiError(404, `no artifact ${artifact} in the bundle`);
    return r;
  }

  /** Routes a GET request path (already stripped of `/api`) to its handler. */
  handle(path: string, p: Params): unknown {
    const seg = path.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
    switch (seg[0]) {
      case 'summary':
        return this.summary();
      case 'findings':
        return this.findings();
      case 'trace':
        return this.trace(p);
      case 'policy':
        if (seg[1] === 'for') return this.policyFor(p);
        if (seg[1] === 'check') return this.policyCheck(p);
        break;
      case 'matrix':
        return this.matrix(p);
      case 'selector':
        return this.selector(p);
      case 'topology':
        return this.topology();
      case 'evidence':
        return this.evidenceContext(p);
      case 'nodes': {
        if (seg.length === 1) return this.nodes();
        const node = seg[1];
        switch (seg[2]) {
          case 'chains':
            return this.chains(node, p);
          case 'chain':
            return this.chain(node, p);
          case 'search':
            return this.search(node, p);
          case 'ipsets':
            return this.ipsets(node, p);
          case 'ipset':
            return this.ipset(node, p);
        }
        break;
      }
    }
    throw new ApiError(404, `no API ${path}`);
  }
}
