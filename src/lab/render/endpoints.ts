/**
 * Per-workload chains and the workload dispatch chains (felix/rules/endpoints.go at v3.30.7:
 * WorkloadEndpointToIptablesChains, endpointIptablesChain, PolicyGroup, PolicyGroupToIptablesChains;
 * felix/dataplane/linux/endpoint_mgr.go groupPolicies; felix/rules/dispatch.go
 * WorkloadDispatchChains with the prefix tree; shared/calico/felix-rules.md §1.5, §3).
 */
import { createHash } from 'node:crypto';
import { endpointChainName } from '../../calico/naming.js';
import type { Direction, ResolvedPolicy, TierBlock } from '../../calico/policy/model.js';
import { base64UrlNoPad } from '../../calico/selector/index.js';
import type { FelixRenderConfig } from './config.js';
import { policyChainName, profileChainNameFor, v1PolicyName } from './policy.js';
import { Actions, type FelixRule, match } from './rule.js';
import { CHAIN, type ChainDef } from './static.js';

// ---------------------------------------------------------------------------------------------
// Policy groups

export interface PolicyGroup {
  tier: string;
  direction: 'inbound' | 'outbound';
  selector: string;
  policies: ResolvedPolicy[];
}

/** groupPolicies: consecutive policies of a tier with the same selector string form one group. */
export function groupPolicies(tier: string, policies: ResolvedPolicy[], dir: Direction): PolicyGroup[] {
  const direction = dir === 'ingress' ? 'inbound' : 'outbound';
  const groups: PolicyGroup[] = [];
  for (const p of policies) {
    const sel = p.selector.source;
    const last = groups[groups.length - 1];
    if (last && last.selector === sel) last.policies.push(p);
    else groups.push({ tier, direction, selector: sel, policies: [p] });
  }
  return groups;
}

const nonStaged = (g: PolicyGroup) => g.policies.filter((p) => !p.staged);
export const shouldBeInlined = (g: PolicyGroup): boolean => nonStaged(g).length <= 1;

/** PolicyGroup.UniqueID: SHA3-224 over newline-terminated fields, base64url, 20 chars. */
export function policyGroupChainName(g: PolicyGroup, cfg: FelixRenderConfig): string {
  const h = createHash('sha3-224');
  const write = (s: string) => h.update(`${s}\n`, 'utf8');
  if (cfg.chainStyle === 'tiered') {
    write(g.tier);
    write(g.selector);
    write(g.direction);
    write(String(g.policies.length));
    for (const p of g.policies) write(v1PolicyName(p));
  } else {
    write(g.selector);
    write(g.direction);
    write(String(g.policies.length));
    for (const p of g.policies) {
      const isK8s = p.kind === 'KubernetesNetworkPolicy' || p.kind === 'StagedKubernetesNetworkPolicy';
      write(`{Name: ${isK8s ? (p.k8sName ?? p.name) : p.name}, Namespace: ${p.namespace ?? ''}, Kind: ${p.kind}}`);
    }
  }
  const uid = base64UrlNoPad(h.digest()).slice(0, 28 - 'cali-gi-'.length);
  return `${g.direction === 'inbound' ? 'cali-gi-' : 'cali-go-'}${uid}`;
}

/** PolicyGroupToIptablesChains. */
export function policyGroupChain(g: PolicyGroup, cfg: FelixRenderConfig): ChainDef {
  const rules: FelixRule[] = [];
  const both = cfg.marks.pass | cfg.marks.accept;
  const dir: Direction = g.direction === 'inbound' ? 'ingress' : 'egress';
  let count = -1;
  for (const p of g.policies) {
    if (p.staged) continue;
    count++;
    if (count !== 0 && count % 5 === 0) rules.push({ match: match().markNotClear(both).parts, action: Actions.return(), comments: ['Return on verdict'] });
    rules.push({ match: count % 5 === 0 ? [] : match().markClear(both).parts, action: Actions.jump(policyChainName(p, cfg.chainStyle, dir)) });
  }
  return { table: 'filter', name: policyGroupChainName(g, cfg), rules };
}

// ---------------------------------------------------------------------------------------------
// Endpoint chains

export interface EndpointChainInput {
  iface: string;
  /** Tier blocks (policiesForEndpoint), staged policies included. */
  ingress: TierBlock[];
  egress: TierBlock[];
  profiles: string[];
}

export interface EndpointChainsResult {
  chains: ChainDef[];
  /** Group chains (cali-gi-/cali-go-) this endpoint jumps to. */
  groups: ChainDef[];
  /** Policy chains jumped to, per direction, in order. */
  policyChains: Record<Direction, string[]>;
  profileChains: Record<Direction, string[]>;
}

function endpointChain(cfg: FelixRenderConfig, ep: EndpointChainInput, dir: Direction, groupsOut: ChainDef[], policyChainsOut: string[], profileChainsOut: string[]): ChainDef {
  const rules: FelixRule[] = [];
  // appendConntrackRules
  if (!cfg.filterAllowIsAccept) rules.push({ match: match().conntrackState('RELATED,ESTABLISHED').parts, action: Actions.setMark(cfg.marks.accept) });
  rules.push({ match: match().conntrackState('RELATED,ESTABLISHED').parts, action: cfg.filterAllowAction });
  if (!cfg.disableConntrackInvalid) rules.push({ match: match().conntrackState('INVALID').parts, action: cfg.denyAction });
  rules.push({ match: [], action: Actions.clearMark(cfg.marks.accept | cfg.marks.pass) });
  // Ingress (tw) always allows encapsulated packets; egress (fw) drops them unless configured.
  if (dir === 'egress' && !cfg.allowVXLANPacketsFromWorkloads) {
    rules.push({ match: match().protocol(17).destPorts(cfg.vxlanPort).parts, action: cfg.denyAction, comments: [`${cfg.denyName} VXLAN encapped packets originating in workloads`] });
  }
  if (dir === 'egress' && !cfg.allowIPIPPacketsFromWorkloads) {
    rules.push({ match: match().protocol(4).parts, action: cfg.denyAction, comments: [`${cfg.denyName} IPinIP encapped packets originating in workloads`] });
  }
  for (const block of dir === 'ingress' ? ep.ingress : ep.egress) {
    const groups = groupPolicies(block.tier.name, block.all, dir);
    if (groups.length === 0) continue;
    rules.push({ match: [], action: Actions.clearMark(cfg.marks.pass), comments: [`Start of tier ${block.tier.name}`] });
    let endOfTierDrop = false;
    for (const g of groups) {
      const hasNonStaged = nonStaged(g).length > 0;
      if (hasNonStaged) endOfTierDrop = true;
      let targets: string[];
      if (shouldBeInlined(g)) {
        targets = nonStaged(g).map((p) => policyChainName(p, cfg.chainStyle, dir));
        policyChainsOut.push(...targets);
      } else {
        const gc = policyGroupChain(g, cfg);
        groupsOut.push(gc);
        targets = [gc.name];
        policyChainsOut.push(...nonStaged(g).map((p) => policyChainName(p, cfg.chainStyle, dir)));
      }
      for (const t of targets) {
        rules.push({ match: match().markClear(cfg.marks.pass).parts, action: Actions.jump(t) });
        if (!hasNonStaged) continue;
        rules.push({ match: match().markSingleBitSet(cfg.marks.accept).parts, action: Actions.return(), comments: ['Return if policy accepted'] });
      }
    }
    if (endOfTierDrop && block.tier.defaultAction !== 'Pass') {
      rules.push({ match: match().markClear(cfg.marks.pass).parts, action: cfg.denyAction, comments: [`End of tier ${block.tier.name}. ${cfg.denyName} if no policies passed packet`] });
    }
  }
  for (const profile of ep.profiles) {
    const chain = profileChainNameFor(profile, dir);
    profileChainsOut.push(chain);
    rules.push({ match: [], action: Actions.jump(chain) }, { match: match().markSingleBitSet(cfg.marks.accept).parts, action: Actions.return(), comments: ['Return if profile accepted'] });
  }
  rules.push({ match: [], action: cfg.denyAction, comments: [`${cfg.denyName} if no profiles matched`] });
  return { table: 'filter', name: endpointChainName(dir === 'ingress' ? 'tw' : 'fw', ep.iface), rules };
}

/** WorkloadEndpointToIptablesChains: `cali-tw-<iface>` (ingress) and `cali-fw-<iface>` (egress). */
export function workloadEndpointChains(cfg: FelixRenderConfig, ep: EndpointChainInput): EndpointChainsResult {
  const groups: ChainDef[] = [];
  const policyChains: Record<Direction, string[]> = { ingress: [], egress: [] };
  const profileChains: Record<Direction, string[]> = { ingress: [], egress: [] };
  const tw = endpointChain(cfg, ep, 'ingress', groups, policyChains.ingress, profileChains.ingress);
  const fw = endpointChain(cfg, ep, 'egress', groups, policyChains.egress, profileChains.egress);
  return { chains: [tw, fw], groups, policyChains, profileChains };
}

// ---------------------------------------------------------------------------------------------
// Dispatch

/** stringutils.CommonPrefix. */
function commonPrefix(names: string[]): string {
  if (names.length === 0) return '';
  let p = names[0];
  for (const n of names.slice(1)) {
    let i = 0;
    while (i < p.length && i < n.length && p[i] === n[i]) i++;
    p = p.slice(0, i);
  }
  return p;
}

/** sortAndDivideEndpointNamesToPrefixTree. */
export function prefixTree(names: string[]): { common: string; prefixes: string[]; byPrefix: Map<string, string[]> } {
  const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const common = commonPrefix(sorted);
  const prefixes: string[] = [];
  const byPrefix = new Map<string, string[]>();
  let last = '';
  for (const n of sorted) {
    if (n === last) continue;
    const prefix = n.length > common.length ? n.slice(0, common.length + 1) : common;
    if (!byPrefix.has(prefix)) {
      prefixes.push(prefix);
      byPrefix.set(prefix, []);
    }
    byPrefix.get(prefix)!.push(n);
    last = n;
  }
  return { common, prefixes, byPrefix };
}

/** buildSingleDispatchChainTree for one direction. */
function dispatchTree(rootName: string, names: string[], dir: 'from' | 'to', endRules: FelixRule[]): ChainDef[] {
  const { common, prefixes, byPrefix } = prefixTree(names);
  const m = (iface: string) => (dir === 'from' ? match().inInterface(iface) : match().outInterface(iface)).parts;
  const act = (iface: string) => Actions.goto(endpointChainName(dir === 'from' ? 'fw' : 'tw', iface));
  const children: ChainDef[] = [];
  const root: FelixRule[] = [];
  for (const prefix of prefixes) {
    const ifaces = byPrefix.get(prefix)!;
    if (ifaces.length > 1) {
      const child = `${rootName}-${prefix.slice(common.length)}`;
      root.push({ match: m(`${prefix}+`), action: Actions.goto(child) });
      children.push({ table: 'filter', name: child, rules: [...ifaces.map((i) => ({ match: m(i), action: act(i) })), ...endRules] });
    } else {
      root.push({ match: m(ifaces[0]), action: act(ifaces[0]) });
    }
  }
  root.push(...endRules);
  return [...children, { table: 'filter', name: rootName, rules: root }];
}

/** WorkloadDispatchChains: from/to dispatch with the "Unknown interface" end rule. */
export function workloadDispatchChains(cfg: FelixRenderConfig, ifaces: string[]): ChainDef[] {
  const end: FelixRule[] = [{ match: [], action: cfg.denyAction, comments: ['Unknown interface'] }];
  return [...dispatchTree(CHAIN.fromWlDispatch, ifaces, 'from', end), ...dispatchTree(CHAIN.toWlDispatch, ifaces, 'to', end)];
}
