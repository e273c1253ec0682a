/**
 * Shared part of the intent-vs-programmed checks (dataplane.*): which nodes can be compared (an
 * iptables dump with Calico chains, iptables mode), their local workload endpoints, and which
 * policy each `cali-pi-`/`cali-po-` chain of a dump belongs to (every Calico naming style, via
 * chainToPolicyIndex). Expected programming is computed from the policy model directly.
 */
import type { Endpoint } from '../../calico/endpoints.js';
import type { Direction, ResolvedPolicy } from '../../calico/policy/model.js';
import { type PolicyModel, policiesForEndpoint } from '../../calico/policy/resolve.js';
import { type ChainPolicyEntry, chainToPolicyIndex } from '../../calico/naming.js';
import type { Bundle, NodeData } from '../../model/bundle.js';
import type { IptTable } from '../../model/iptables.js';
import type { NotChecked } from '../types.js';
import { notChecked } from './util.js';

export const NO_CALICO_CHAINS = 'no Calico chains in iptables-save (filter table): Felix not running or iptables mode not used';

/** Felix's policy enforcement lives in the filter table; nat-only cali- chains (e.g. a hand-made masquerade) do not count. */
function hasFelixFilterChains(n: NodeData): boolean {
  const t = n.iptables?.tables.get('filter');
  if (!t) return false;
  for (const c of t.chains.keys()) if (c.startsWith('cali-')) return true;
  return false;
}

/** Nodes whose dump can be compared with the intent, and NotChecked entries for the others. */
export function comparableNodes(b: Bundle, check: string): { nodes: NodeData[]; nc: NotChecked[] } {
  const nc: NotChecked[] = [];
  const bpf = b.cluster.felixConfigurations.some((f) => f.spec.scope === 'global' && f.spec.bpfEnabled === true);
  if (bpf) return { nodes: [], nc: [notChecked(check, 'FelixConfiguration bpfEnabled: the eBPF dataplane does not program iptables policy chains or ipsets')] };
  const nodes: NodeData[] = [];
  for (const n of b.nodes) {
    if (!n.iptables) {
      nc.push(notChecked(check, `no iptables-save for node ${n.name}`, n.name));
      continue;
    }
    if (!hasFelixFilterChains(n)) {
      nc.push(notChecked(check, NO_CALICO_CHAINS, n.name));
      continue;
    }
    nodes.push(n);
  }
  return { nodes, nc };
}

/** Workload endpoints Felix on `node` programs (they have an address). */
export function localEndpoints(model: PolicyModel, node: string): Endpoint[] {
  return model.endpoints.filter((e) => e.kind === 'workload' && e.node === node && e.ips.length > 0 && e.interfaceName !== '');
}

export function filterTable(n: NodeData): IptTable | undefined {
  return n.iptables?.tables.get('filter');
}

/** Enforced (non-staged) policies that apply to the endpoint in a direction, in order. */
export function requiredPolicies(model: PolicyModel, e: Endpoint, dir: Direction): ResolvedPolicy[] {
  const out: ResolvedPolicy[] = [];
  for (const blk of policiesForEndpoint(model, e, dir)) out.push(...blk.policies);
  return out;
}

const indexCache = new WeakMap<PolicyModel, Map<string, ChainPolicyEntry<ResolvedPolicy>>>();

/** Chain name (any Calico version's style) → policy and direction. */
export function policyChainIndex(model: PolicyModel): Map<string, ChainPolicyEntry<ResolvedPolicy>> {
  let idx = indexCache.get(model);
  if (!idx) {
    idx = chainToPolicyIndex(model.policies.filter((p) => !p.staged));
    indexCache.set(model, idx);
  }
  return idx;
}

/** The policies (and directions) whose chain exists in the node's filter table: `policyKey|direction`. */
export function programmedPolicies(model: PolicyModel, n: NodeData): Map<string, string> {
  const idx = policyChainIndex(model);
  const out = new Map<string, string>();
  for (const name of filterTable(n)?.chains.keys() ?? []) {
    if (!name.startsWith('cali-pi-') && !name.startsWith('cali-po-')) continue;
    const e = idx.get(name);
    if (e) out.set(`${policyKey(e.policy)}|${e.direction}`, name);
  }
  return out;
}

export function policyKey(p: ResolvedPolicy): string {
  return `${p.kind}|${p.namespace ?? ''}|${p.name}`;
}
