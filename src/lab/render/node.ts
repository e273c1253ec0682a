/**
 * `renderFelixNode`: the iptables-restore and ipset-restore text Felix (iptables mode, IPv4)
 * programs on one node — plus kube-proxy's Service chains — and the same as structured data
 * (the "expected programming" of the intent-vs-dataplane diff). See docs/renderer.md.
 *
 * Only chains reachable from the kernel hooks are emitted: Felix programs a chain only while
 * something references it (felix/iptables/table.go), which is why e.g. `cali-failsafe-in` is
 * absent from a node without host endpoints (shared/calico/felix-rules.md §1 real dump).
 */
import { type PolicyModel, buildPolicyModel, policiesForEndpoint, profileFor } from '../../calico/policy/index.js';
import type { Direction } from '../../calico/policy/model.js';
import type { Endpoint } from '../../calico/endpoints.js';
import type { ClusterResources } from '../../model/resources.js';
import { type FelixConfigOverrides, type FelixRenderConfig, resolveConfig } from './config.js';
import { workloadEndpointChains, workloadDispatchChains } from './endpoints.js';
import { type NodeFacts, type RenderedIpset, ipsetRestoreText, policyIpsetMembers, specialIpsets } from './ipsets.js';
import { type KubeProxyOptions, renderKubeProxy } from './kube-proxy.js';
import { IpsetRequests, type RuleTrace, policyChainName, policyChains, profileChainNameFor, profileChains } from './policy.js';
import { Actions, type FelixRule, type RenderedRule, type TableName, renderFelixChain } from './rule.js';
import * as S from './static.js';

export type EncapMode = 'vxlan' | 'ipip' | 'bgp';

export interface RenderFelixNodeInput {
  cluster: ClusterResources;
  /** Built from `cluster` when absent. */
  model?: PolicyModel;
  node: string;
  nodeIp: string;
  mode: EncapMode;
  vxlanPort?: number;
  felixConfig?: Partial<FelixConfigOverrides>;
  /** Every Calico node's address (this one included). */
  allNodeIps: string[];
  /** The node's tunnel address (VXLAN VTEP / tunl0), for `cali40this-host`. */
  tunnelIp?: string;
  /** kube-proxy in iptables mode renders Service chains unless `services: false`. */
  kubeProxy?: { services: boolean } & KubeProxyOptions;
  /** Dataplane faults: members to leave out of sets (`ipset-stale`), by set name. */
  omitIpsetMembers?: Record<string, string[]>;
}

/** What is expected for one local workload endpoint. */
export interface EndpointProgramming {
  endpoint: string;
  iface: string;
  ips: string[];
  /** `cali-tw-<iface>` / `cali-fw-<iface>`. */
  chains: { ingress: string; egress: string };
  /** Policy chains the endpoint chain jumps to (directly or through a group), in order. */
  policies: Record<Direction, { chain: string; policy: string; tier: string }[]>;
  groups: string[];
  profiles: Record<Direction, string[]>;
}

export interface PolicyChainProgramming {
  chain: string;
  /** `ns/name` or `name` (the model's id). */
  policy: string;
  kind: string;
  tier: string;
  direction: Direction;
  trace: RuleTrace;
}

export interface RenderedNode {
  node: string;
  iptablesRestore: string;
  ipsetRestore: string;
  /** `table/chain` → rules in order (kernel chains hold only Felix's and kube-proxy's rules). */
  chains: Map<string, RenderedRule[]>;
  ipsets: Map<string, RenderedIpset>;
  endpoints: EndpointProgramming[];
  policyChains: PolicyChainProgramming[];
  profileChains: { chain: string; profile: string; direction: Direction }[];
  config: FelixRenderConfig;
  /** What was not rendered or had to be approximated. */
  notes: string[];
}

const KERNEL_CHAINS: Record<TableName, string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};
const TABLE_ORDER: TableName[] = ['raw', 'mangle', 'nat', 'filter'];

/** The workload endpoints Felix programs on `node`: the node's endpoints that have an address. */
export function localWorkloads(model: PolicyModel, node: string): Endpoint[] {
  const out: Endpoint[] = [];
  const seen = new Set<string>();
  for (const e of model.endpoints) {
    if (e.kind !== 'workload' || e.node !== node || e.ips.length === 0 || !e.interfaceName) continue;
    if (seen.has(e.interfaceName)) continue; // Felix: "Multiple endpoints with same interface name detected".
    seen.add(e.interfaceName);
    out.push(e);
  }
  return out;
}

/** Service loop prevention CIDRs: the global BGPConfiguration's advertised service ranges. */
function blockedCidrs(cluster: ClusterResources): string[] {
  const g = cluster.bgpConfigurations.find((b) => b.spec.scope === 'global');
  return g ? [...g.spec.serviceClusterIPs, ...g.spec.serviceExternalIPs, ...g.spec.serviceLoadBalancerIPs] : [];
}

export function renderFelixNode(input: RenderFelixNodeInput): RenderedNode {
  const { cluster, node } = input;
  const model = input.model ?? buildPolicyModel(cluster);
  const cfg = resolveConfig(cluster, node, input.mode, input.vxlanPort, input.felixConfig ?? {});
  const notes: string[] = [];
  const sets = new IpsetRequests();
  const defs: S.ChainDef[] = [];

  // Static chains.
  defs.push(S.filterInputChain(cfg), S.filterWorkloadToHostChain(cfg), S.filterForwardChain(cfg), S.filterOutputChain(cfg), S.cidrBlockChain(cfg, blockedCidrs(cluster)));
  defs.push(S.natPreroutingChain(), S.natPostroutingChain(cfg), S.natOutputChain());
  defs.push(S.manglePreroutingChain(cfg), S.manglePostroutingChain(cfg), S.rawPreroutingChain(cfg), S.rawOutputChain(cfg), ...S.emptyChains());

  // Workloads.
  const workloads = localWorkloads(model, node);
  const wepByIface = new Map(cluster.workloadEndpoints.map((w) => [w.spec.interfaceName ?? '', w]));
  const nats = workloads.flatMap((e) => wepByIface.get(e.interfaceName)?.spec.ipNATs ?? []);
  defs.push(...S.fipChains(nats));
  if (workloads.some((e) => (wepByIface.get(e.interfaceName)?.spec.allowSpoofedSourcePrefixes.length ?? 0) > 0)) {
    notes.push('allowSpoofedSourcePrefixes is not rendered into cali-rpf-skip');
  }
  defs.push(...workloadDispatchChains(cfg, workloads.map((e) => e.interfaceName)));
  const heps = model.endpoints.filter((e) => e.kind === 'host' && e.node === node);
  if (heps.length > 0) notes.push(`host endpoints are not rendered (${heps.map((h) => h.id).join(', ')}): their cali-fh-/cali-th- chains and dispatch rules are missing`);

  const endpoints: EndpointProgramming[] = [];
  const usedPolicies = new Map<string, { policy: import('../../calico/policy/model.js').ResolvedPolicy }>();
  const usedProfiles = new Set<string>();
  const groupDefs = new Map<string, S.ChainDef>();
  for (const e of workloads) {
    const ingress = policiesForEndpoint(model, e, 'ingress');
    const egress = policiesForEndpoint(model, e, 'egress');
    const r = workloadEndpointChains(cfg, { iface: e.interfaceName, ingress, egress, profiles: e.profiles });
    defs.push(...r.chains);
    for (const g of r.groups) groupDefs.set(g.name, g);
    const pol: EndpointProgramming['policies'] = { ingress: [], egress: [] };
    for (const [dir, blocks] of [['ingress', ingress], ['egress', egress]] as const) {
      for (const b of blocks) {
        for (const p of b.policies) {
          usedPolicies.set(p.id + '\u0000' + p.kind, { policy: p });
          pol[dir].push({ chain: policyChainName(p, cfg.chainStyle, dir), policy: p.id, tier: b.tier.name });
        }
      }
    }
    for (const p of e.profiles) usedProfiles.add(p);
    endpoints.push({
      endpoint: e.id,
      iface: e.interfaceName,
      ips: e.ips,
      chains: { ingress: r.chains[0].name, egress: r.chains[1].name },
      policies: pol,
      groups: r.groups.map((g) => g.name),
      profiles: r.profileChains,
    });
  }
  defs.push(...groupDefs.values());

  // Policy and profile chains (both directions, as Felix renders every active policy).
  const policyProg: PolicyChainProgramming[] = [];
  for (const { policy } of usedPolicies.values()) {
    const pc = policyChains(policy, cfg, sets);
    for (const c of pc.chains) {
      defs.push(c.def);
      policyProg.push({ chain: c.def.name, policy: policy.id, kind: policy.kind, tier: policy.tier, direction: c.dir, trace: c.trace });
      for (const s of c.trace.skipped) notes.push(`${policy.kind} ${policy.id} ${c.dir} rule ${s.index}: ${s.reason}`);
    }
  }
  const profileProg: RenderedNode['profileChains'] = [];
  for (const name of usedProfiles) {
    const p = profileFor(model, name);
    if (p.from === 'missing') notes.push(`profile ${name} is not in the bundle: rendered with no rules`);
    for (const c of profileChains(p, cfg, sets)) {
      defs.push(c.def);
      profileProg.push({ chain: c.def.name, profile: name, direction: c.dir });
    }
  }

  // IP sets.
  const facts: NodeFacts = { nodeIp: input.nodeIp, allNodeIps: input.allNodeIps, ...(input.tunnelIp ? { tunnelIp: input.tunnelIp } : {}) };
  const special = specialIpsets(cluster, cfg, facts);
  defs.push(S.natOutgoingChain(cfg, special.natOutgoingActive));
  const ipsets = new Map<string, RenderedIpset>(special.sets);
  for (const [name, req] of sets.byName) ipsets.set(name, policyIpsetMembers(req, model));
  for (const [name, omit] of Object.entries(input.omitIpsetMembers ?? {})) {
    const s = ipsets.get(name);
    if (s) s.members = s.members.filter((m) => !omit.includes(m) && !omit.includes(m.split(',')[0]));
  }

  // Kernel hooks and reachability.
  const chains = new Map<string, RenderedRule[]>();
  const defByKey = new Map<string, S.ChainDef>();
  for (const d of defs) defByKey.set(`${d.table}/${d.name}`, d);
  const reachable = new Set<string>();
  const visit = (table: TableName, name: string) => {
    const key = `${table}/${name}`;
    if (reachable.has(key)) return;
    const d = defByKey.get(key);
    if (!d) return;
    reachable.add(key);
    for (const r of d.rules) {
      const t = targetOfRule(r);
      if (t) visit(table, t);
    }
  };
  for (const h of S.KERNEL_HOOKS) visit(h.table, h.target);

  const kernelInserts = new Map<string, RenderedRule[]>();
  const kernelAppends = new Map<string, RenderedRule[]>();
  for (const h of S.KERNEL_HOOKS) {
    const rule: FelixRule = { action: Actions.jump(h.target) };
    const key = `${h.table}/${h.chain}`;
    const hashChain = h.placement === 'append' ? `${h.chain}*appends*` : h.chain;
    const list = h.placement === 'append' ? kernelAppends : kernelInserts;
    list.set(key, [...(list.get(key) ?? []), ...renderFelixChain(h.table, h.chain, [rule], { hashChain, placement: h.placement })]);
  }
  kernelAppends.set('filter/FORWARD', [...(kernelAppends.get('filter/FORWARD') ?? []), ...renderFelixChain('filter', 'FORWARD', S.filterForwardAppendRules(cfg), { hashChain: 'FORWARD*appends*', placement: 'append' })]);

  const kp = input.kubeProxy?.services === false ? undefined : renderKubeProxy(cluster, node, input.kubeProxy ?? {});
  const userChains: Record<TableName, string[]> = { raw: [], mangle: [], nat: [], filter: [] };
  for (const table of TABLE_ORDER) {
    for (const k of KERNEL_CHAINS[table]) {
      const key = `${table}/${k}`;
      const kpRules = kp && (table === 'nat' || table === 'filter') ? kp.rules[table].filter((r) => r.chain === k) : [];
      const all = [...(kernelInserts.get(key) ?? []), ...kpRules, ...(kernelAppends.get(key) ?? [])];
      if (all.length) chains.set(key, all.map((r, i) => ({ ...r, index: i })));
    }
    const felixNames = [...reachable].filter((k) => k.startsWith(`${table}/`)).map((k) => k.slice(table.length + 1));
    for (const name of felixNames) {
      const d = defByKey.get(`${table}/${name}`)!;
      chains.set(`${table}/${name}`, renderFelixChain(table, name, d.rules));
    }
    userChains[table].push(...felixNames);
    if (kp && (table === 'nat' || table === 'filter')) {
      for (const c of kp.chains[table]) {
        userChains[table].push(c);
        chains.set(`${table}/${c}`, kp.rules[table].filter((r) => r.chain === c));
      }
    }
  }

  // Felix renders both directions of every active policy but programs only referenced chains.
  const programmed = (c: { chain: string }) => reachable.has(`filter/${c.chain}`);
  return {
    node,
    iptablesRestore: restoreText(chains, userChains),
    ipsetRestore: ipsetRestoreText(ipsets),
    chains,
    ipsets,
    endpoints,
    policyChains: policyProg.filter(programmed),
    profileChains: profileProg.filter(programmed),
    config: cfg,
    notes,
  };
}

function targetOfRule(r: FelixRule): string | undefined {
  const m = r.action ? /^--(?:jump|goto) (\S+)$/.exec(r.action.felix) : null;
  return m ? m[1] : undefined;
}

const ascii = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** iptables-restore input in iptables-save's layout: kernel chains, then user chains sorted. */
function restoreText(chains: Map<string, RenderedRule[]>, userChains: Record<TableName, string[]>): string {
  const out: string[] = [];
  for (const table of TABLE_ORDER) {
    out.push(`*${table}`);
    for (const k of KERNEL_CHAINS[table]) out.push(`:${k} ACCEPT [0:0]`);
    const users = [...new Set(userChains[table])].sort(ascii);
    for (const c of users) out.push(`:${c} - [0:0]`);
    for (const c of [...KERNEL_CHAINS[table], ...users]) for (const r of chains.get(`${table}/${c}`) ?? []) out.push(r.line);
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}
