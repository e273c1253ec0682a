/**
 * Policy resolution: every policy kind normalised into ResolvedPolicy, tiers, profiles, and the
 * ordered list of policies that apply to an endpoint in one direction.
 *
 * Sources (projectcalico/calico at the snapshot described in /work/shared/calico/felix-rules.md):
 * - Policy selectors as Felix sees them: libcalico-go/lib/backend/syncersv1/updateprocessors/
 *   networkpolicyprocessor.go (`(<sel>) && projectcalico.org/namespace == '<ns>'`, then the
 *   `pcsa.`-prefixed serviceAccountSelector), globalnetworkpolicyprocessor.go (`pcns.`-prefixed
 *   namespaceSelector, `all()` → `has(projectcalico.org/namespace)`), selectors.go.
 * - Rule selectors: updateprocessors/rules.go GetEntityRuleSelector (via selector.ts
 *   ruleSelectorsFor) and felix/calc/rule_scanner.go (named-port IP sets).
 * - Types defaulting: api/pkg/defaults/networkpolicy.go defaultPolicyTypesField (applied by
 *   clientv3, i.e. calicoctl and the API server, on create/update); a stored object without types
 *   reaches Felix with none, and felix/calc/policy_sorter.go ExtractPolicyMetadata reads "no
 *   Types" as Ingress and Egress.
 * - Ordering: felix/calc/policy_sorter.go TierLess (tiers with an object first, then by order,
 *   unset order last, ties by name) and PolKVLess (order, unset = +Inf; ties: HEAD compares
 *   "<name>/<namespace>/<kind>", ≤ v3.31 compares the v1 key name).
 * - Built-in tiers: api/pkg/apis/projectcalico/v3/tier.go (kube-admin 1 000, default 1 000 000,
 *   kube-baseline 10 000 000).
 * - Which policies a chain uses: felix/calc/event_sequencer.go tierInfoToProtoTierInfo
 *   (doNotTrack and preDNAT policies only go to the raw/mangle host-endpoint chains).
 */
import type { Evidence, ParseIssue } from '../../model/evidence.js';
import type {
  CalicoPolicySpec,
  CalicoRule,
  ClusterResources,
  EntityRule,
  ResourceForm,
  ResourceSource,
  StagedAction,
} from '../../model/resources.js';
import {
  type Endpoint,
  type EndpointBuildOptions,
  type HostNetworkPod,
  type LabelledNetworkSet,
  DEFAULT_ALLOW_PROFILE,
  NAMESPACE_PROFILE_PREFIX,
  SERVICE_ACCOUNT_PROFILE_PREFIX,
  buildEndpoints,
} from '../endpoints.js';
import { type PolicyIdStyle, ipsetNameForSelector, namedPortSetName } from '../naming.js';
import {
  type Selector,
  LABEL_NAMESPACE,
  NAMESPACE_LABEL_PREFIX,
  SERVICE_ACCOUNT_LABEL_PREFIX,
  canonicalWithLabelPrefix,
  mustParseSelector,
  namespaceSelectorToEndpointSelector,
  parseSelectorCached,
  ruleSelectorsFor,
  serviceAccountSelector,
} from '../selector/index.js';
import { K8S_POLICY_ORDER, K8S_POLICY_PREFIX, convertK8sNetworkPolicy } from './convert-k8s.js';
import type {
  Direction,
  NamedPortIpSet,
  PolicyKind,
  ResolvedEntity,
  ResolvedPolicy,
  ResolvedProfile,
  ResolvedRule,
  ResolvedTier,
  RuleOrigin,
  TierBlock,
} from './model.js';
import { type Cidr, parseCidr } from './net.js';

export const DEFAULT_TIER = 'default';
/** Built-in tiers (HEAD api/pkg/apis/projectcalico/v3/tier.go). */
export const BUILTIN_TIERS: Record<string, { order: number; defaultAction: 'Deny' | 'Pass' }> = {
  'kube-admin': { order: 1_000, defaultAction: 'Pass' },
  default: { order: 1_000_000, defaultAction: 'Deny' },
  'kube-baseline': { order: 10_000_000, defaultAction: 'Pass' },
};

/**
 * Rule and rule-side numbers are dense per model (the matrix indexes typed arrays by them); the
 * model's counter is installed while its objects are built.
 */
export interface UidCounter {
  next: number;
}
let uids: UidCounter = { next: 0 };
function withUids<T>(c: UidCounter, fn: () => T): T {
  const prev = uids;
  uids = c;
  try {
    return fn();
  } finally {
    uids = prev;
  }
}

// ---------------------------------------------------------------------------------------------
// Rules

/** A policy (any kind) in Calico's shape, before selectors are compiled. */
export interface PolicyInput {
  kind: PolicyKind;
  form: ResourceForm;
  namespace?: string;
  name: string;
  k8sName?: string;
  /** metadata.name as stored (for the ≤ v3.31 tie-break). */
  storedName: string;
  tier: string;
  order?: number;
  selector: string;
  namespaceSelector?: string;
  serviceAccountSelector?: string;
  types: Direction[];
  typesFrom: ResolvedPolicy['typesFrom'];
  ingress: CalicoRule[];
  egress: CalicoRule[];
  ingressOrigins?: RuleOrigin[];
  egressOrigins?: RuleOrigin[];
  doNotTrack: boolean;
  preDNAT: boolean;
  applyOnForward: boolean;
  staged: boolean;
  stagedAction?: StagedAction;
  source: ResourceSource;
  notes: string[];
}

function parseOrNote(text: string, what: string, notes: string[]): Selector | undefined {
  const r = parseSelectorCached(text);
  if (r.ok) return r.selector;
  notes.push(`${what} ${JSON.stringify(text)} does not parse: ${r.error.message} at ${r.error.position}`);
  return undefined;
}

const ALL_SELECTOR = mustParseSelector('all()');

function namedPortProto(rule: CalicoRule): NamedPortIpSet['proto'] {
  switch (rule.protocol?.number) {
    case 6:
      return 'tcp';
    case 17:
      return 'udp';
    case 132:
      return 'sctp';
    default:
      return 'any';
  }
}

function cidrs(list: string[], what: string, notes: string[]): Cidr[] {
  const out: Cidr[] = [];
  for (const n of list) {
    const c = parseCidr(n);
    if (c) out.push(c);
    else notes.push(`${what} ${JSON.stringify(n)} is not a CIDR; Calico skips it`);
  }
  return out;
}

export function resolveEntity(er: EntityRule, policyNamespace: string | undefined, rule: CalicoRule, side: 'source' | 'destination', notes: string[]): ResolvedEntity {
  const sa = er.serviceAccounts ? { names: er.serviceAccounts.names, selector: er.serviceAccounts.selector } : undefined;
  const rs = ruleSelectorsFor({
    policyNamespace,
    selector: er.selector,
    notSelector: er.notSelector,
    namespaceSelector: er.namespaceSelector,
    serviceAccounts: sa,
  });
  const entity: ResolvedEntity = {
    uid: uids.next++,
    key: '',
    written: {},
    components: {},
    nets: cidrs(er.nets, `${side} nets`, notes),
    notNets: cidrs(er.notNets, `${side} notNets`, notes),
    ports: er.ports,
    notPorts: er.notPorts,
    ipsets: { namedPorts: [] },
    empty: false,
  };
  if (er.selector) entity.written.selector = er.selector;
  if (er.notSelector) entity.written.notSelector = er.notSelector;
  if (er.namespaceSelector) entity.written.namespaceSelector = er.namespaceSelector;
  if (sa) entity.written.serviceAccounts = sa;
  if (er.services) {
    entity.written.services = er.services;
    entity.services = { name: er.services.name, namespace: er.services.namespace ?? policyNamespace ?? '' };
  }
  if (rs.error) entity.error = rs.error;
  if (rs.selector) {
    entity.selector = parseSelectorCached(rs.selector).ok ? mustParseSelector(rs.selector) : undefined;
    entity.ipsets.selector = { selector: rs.selector, name: ipsetNameForSelector(rs.selector) };
  }
  if (rs.notSelector) {
    entity.notSelector = parseSelectorCached(rs.notSelector).ok ? mustParseSelector(rs.notSelector) : undefined;
    entity.ipsets.notSelector = { selector: rs.notSelector, name: ipsetNameForSelector(rs.notSelector) };
  }

  // The pieces, for explanations (the decision uses `selector`/`notSelector`).
  const c = entity.components;
  const saSel = sa ? serviceAccountSelector(sa) : '';
  if (er.namespaceSelector) {
    const ns = namespaceSelectorToEndpointSelector(er.namespaceSelector);
    if (ns === undefined) notes.push(`${side} namespaceSelector ${JSON.stringify(er.namespaceSelector)} does not parse; Calico drops it, so the rule is not limited to any namespace`);
    else c.namespaceSelector = mustParseSelector(ns);
  } else if (policyNamespace && (saSel !== '' || er.selector || er.notSelector)) {
    c.policyNamespace = policyNamespace;
  }
  if (saSel) c.serviceAccounts = parseOrNote(saSel, `${side} serviceAccounts`, notes);
  if (er.selector) c.selector = parseOrNote(er.selector, `${side} selector`, notes);
  if (er.notSelector) c.notSelector = parseOrNote(er.notSelector, `${side} notSelector`, notes);

  const portSel = entity.selector ?? ALL_SELECTOR;
  const proto = namedPortProto(rule);
  for (const [list, negated] of [
    [er.ports, false],
    [er.notPorts, true],
  ] as const) {
    for (const p of list) {
      if (p.kind !== 'named') continue;
      entity.ipsets.namedPorts.push({ port: p.name, proto, selector: portSel.canonical, name: namedPortSetName(portSel.uid, proto, p.name), negated });
    }
  }
  entity.key = [
    entity.selector?.canonical ?? '',
    entity.notSelector?.canonical ?? '',
    entity.error ?? '',
    entity.nets.map((n) => n.canonical).join(','),
    entity.notNets.map((n) => n.canonical).join(','),
    er.ports.map((p) => String(p.raw)).join(','),
    er.notPorts.map((p) => String(p.raw)).join(','),
    entity.services ? `${entity.services.namespace}/${entity.services.name}` : '',
  ].join('|');
  entity.empty =
    !entity.selector && !entity.notSelector && !entity.error && entity.nets.length === 0 && entity.notNets.length === 0 && er.ports.length === 0 && er.notPorts.length === 0 && !entity.services;
  return entity;
}

const PORT_PROTOCOLS = new Set([6, 17, 132]);

export function resolveRule(rule: CalicoRule, policyNamespace: string | undefined, evidence: Evidence, origin?: RuleOrigin): ResolvedRule {
  const notes: string[] = [];
  const r: ResolvedRule = {
    uid: uids.next++,
    index: rule.index,
    action: rule.action ?? 'Allow',
    source: resolveEntity(rule.source, policyNamespace, rule, 'source', notes),
    destination: resolveEntity(rule.destination, policyNamespace, rule, 'destination', notes),
    evidence,
  };
  if (rule.protocol) r.protocol = rule.protocol;
  if (rule.notProtocol) r.notProtocol = rule.notProtocol;
  if (rule.icmp) r.icmp = rule.icmp;
  if (rule.notICMP) r.notICMP = rule.notICMP;
  if (rule.ipVersion) r.ipVersion = rule.ipVersion;
  if (rule.http) r.http = rule.http;
  if (origin) r.origin = origin;
  const invalid: string[] = [];
  if (!rule.action) invalid.push('the rule has no valid action');
  if (rule.protocol && rule.protocol.number === undefined) invalid.push(`protocol ${JSON.stringify(rule.protocol.raw)} is not valid`);
  if (rule.notProtocol && rule.notProtocol.number === undefined) invalid.push(`notProtocol ${JSON.stringify(rule.notProtocol.raw)} is not valid`);
  for (const side of ['source', 'destination'] as const) {
    const e = r[side];
    if (e.error) invalid.push(`${side} selector does not parse (${e.error})`);
    const numeric = [...e.ports, ...e.notPorts].some((p) => p.kind !== 'named');
    if (numeric && (!rule.protocol || (rule.protocol.number !== undefined && !PORT_PROTOCOLS.has(rule.protocol.number)))) {
      invalid.push(`${side} has numeric ports but protocol is ${rule.protocol ? String(rule.protocol.raw) : 'not set'} (ports need TCP, UDP or SCTP)`);
    }
  }
  if (invalid.length > 0) r.invalid = invalid;
  if (notes.length > 0) r.notes = notes;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Policies

function directions(types: ('Ingress' | 'Egress')[]): Direction[] {
  const out: Direction[] = [];
  if (types.includes('Ingress')) out.push('ingress');
  if (types.includes('Egress')) out.push('egress');
  return out;
}

/** defaultPolicyTypesField (v3 API) or Felix's "no types = both" (stored CRD without types). */
function calicoTypes(spec: CalicoPolicySpec, form: ResourceForm): { types: Direction[]; from: ResolvedPolicy['typesFrom'] } {
  if (spec.types && spec.types.length > 0) return { types: directions(spec.types), from: 'given' };
  if (form === 'crd') return { types: ['ingress', 'egress'], from: 'inferred-felix' };
  const egress = spec.egress ?? [];
  const ingress = spec.ingress ?? [];
  if (egress.length === 0) return { types: ['ingress'], from: 'inferred-api' };
  if (ingress.length === 0) return { types: ['egress'], from: 'inferred-api' };
  return { types: ['ingress', 'egress'], from: 'inferred-api' };
}

function prefixAndAppend(current: string, extra: string | undefined, prefix: string): string {
  if (!extra) return current;
  const p = canonicalWithLabelPrefix(extra, prefix);
  if (p === undefined || p === '') return current;
  return current !== '' ? `(${current}) && ${p}` : p;
}

/** The policy selector string Felix receives (see the module comment). */
export function felixPolicySelector(p: Pick<PolicyInput, 'kind' | 'namespace' | 'selector' | 'namespaceSelector' | 'serviceAccountSelector'>): string {
  let sel = p.selector;
  const global = p.kind === 'GlobalNetworkPolicy' || p.kind === 'StagedGlobalNetworkPolicy';
  if (!global) {
    const ns = `${LABEL_NAMESPACE} == '${p.namespace ?? ''}'`;
    sel = sel === '' ? ns : `(${sel}) && ${ns}`;
    return prefixAndAppend(sel, p.serviceAccountSelector, SERVICE_ACCOUNT_LABEL_PREFIX);
  }
  if (p.namespaceSelector) {
    sel = prefixAndAppend(sel, p.namespaceSelector, NAMESPACE_LABEL_PREFIX);
    sel = sel.split('all()').join(`has(${LABEL_NAMESPACE})`);
  }
  if (p.serviceAccountSelector) {
    sel = prefixAndAppend(sel, p.serviceAccountSelector, SERVICE_ACCOUNT_LABEL_PREFIX);
    sel = sel.split('all()').join('has(projectcalico.org/serviceaccount)');
  }
  return sel;
}

function policyIdOf(kind: PolicyKind, namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export interface ResolveOptions {
  /** Tie-break within equal order: `kind` = Calico ≥ 3.32, `v1`/`tiered` = older. Default: from ClusterInformation, else `kind`. */
  sortStyle?: PolicyIdStyle;
}

export function policySortKey(p: PolicyInput, style: PolicyIdStyle): string {
  if (style === 'kind') {
    const kind = p.kind;
    const name = p.kind === 'KubernetesNetworkPolicy' || p.kind === 'StagedKubernetesNetworkPolicy' ? (p.k8sName ?? p.name) : p.name;
    return `${name}/${p.namespace ?? ''}/${kind}`;
  }
  const stored = p.kind === 'KubernetesNetworkPolicy' ? `${K8S_POLICY_PREFIX}${p.k8sName ?? p.name}` : p.storedName;
  return p.namespace ? `${p.namespace}/${stored}` : stored;
}

export function resolvePolicy(p: PolicyInput, style: PolicyIdStyle): ResolvedPolicy {
  const notes = [...p.notes];
  const selText = felixPolicySelector(p);
  const parsed = parseSelectorCached(selText);
  const id = policyIdOf(p.kind, p.namespace, p.name);
  const ruleNs = p.kind === 'GlobalNetworkPolicy' || p.kind === 'StagedGlobalNetworkPolicy' ? undefined : p.namespace;
  const rules = (list: CalicoRule[], origins: RuleOrigin[] | undefined, dir: Direction) =>
    list.map((r, i) =>
      resolveRule(r, ruleNs, { artifact: p.source.artifact, line: r.line ?? p.source.line, note: `${p.kind} ${id} ${dir} rule ${r.index}` }, origins?.[i]),
    );
  const out: ResolvedPolicy = {
    kind: p.kind,
    name: p.name,
    id,
    tier: p.tier,
    selector: parsed.ok ? parsed.selector : mustParseSelector('!all()'),
    selectorWritten: p.selector === '' ? 'all()' : p.selector,
    types: p.types,
    typesFrom: p.typesFrom,
    ingress: rules(p.ingress, p.ingressOrigins, 'ingress'),
    egress: rules(p.egress, p.egressOrigins, 'egress'),
    doNotTrack: p.doNotTrack,
    preDNAT: p.preDNAT,
    applyOnForward: p.applyOnForward,
    staged: p.staged,
    sortKey: policySortKey(p, style),
    evidence: { artifact: p.source.artifact, line: p.source.line, note: `${p.kind} ${id}` },
    notes,
  };
  if (!parsed.ok) {
    out.selectorError = `${parsed.error.message} at ${parsed.error.position}`;
    notes.push(`policy selector ${JSON.stringify(selText)} does not parse (${out.selectorError}): the policy selects nothing`);
  }
  if (p.namespace) out.namespace = p.namespace;
  if (p.namespaceSelector) out.namespaceSelectorWritten = p.namespaceSelector;
  if (p.serviceAccountSelector) out.serviceAccountSelectorWritten = p.serviceAccountSelector;
  if (p.k8sName) out.k8sName = p.k8sName;
  if (p.order !== undefined) out.order = p.order;
  if (p.stagedAction) out.stagedAction = p.stagedAction;
  if (p.typesFrom === 'inferred-felix') {
    notes.push('stored without spec.types: Felix applies it to ingress AND egress (calicoctl/the API server would have defaulted types from the rules)');
  }
  if (p.types.includes('egress') && p.egress.length === 0 && !p.kind.includes('Kubernetes')) {
    notes.push('applies to egress but has no egress rules: it denies all egress of the endpoints it selects (unless another policy allows)');
  }
  return out;
}

function calicoInput(
  kind: 'NetworkPolicy' | 'GlobalNetworkPolicy' | 'StagedNetworkPolicy' | 'StagedGlobalNetworkPolicy',
  obj: { form: ResourceForm; metadata: { name: string; namespace?: string }; spec: CalicoPolicySpec; source: ResourceSource; invalid?: string[] },
): PolicyInput {
  const s = obj.spec;
  const { types, from } = calicoTypes(s, obj.form);
  const input: PolicyInput = {
    kind,
    form: obj.form,
    name: s.policyName,
    storedName: obj.metadata.name,
    tier: s.tier || DEFAULT_TIER,
    selector: s.selector ?? '',
    types,
    typesFrom: from,
    ingress: s.ingress ?? [],
    egress: s.egress ?? [],
    doNotTrack: s.doNotTrack,
    preDNAT: s.preDNAT,
    applyOnForward: s.applyOnForward,
    staged: kind.startsWith('Staged'),
    source: obj.source,
    notes: [],
  };
  if (obj.metadata.namespace && (kind === 'NetworkPolicy' || kind === 'StagedNetworkPolicy')) input.namespace = obj.metadata.namespace;
  if (s.order !== undefined) input.order = s.order;
  if (s.namespaceSelector && (kind === 'GlobalNetworkPolicy' || kind === 'StagedGlobalNetworkPolicy')) input.namespaceSelector = s.namespaceSelector;
  if (s.serviceAccountSelector) input.serviceAccountSelector = s.serviceAccountSelector;
  if (s.stagedAction) input.stagedAction = s.stagedAction;
  // Only GNPs carry these to Felix (networkpolicyprocessor.go sets ApplyOnForward false, no DoNotTrack/PreDNAT).
  if (kind === 'NetworkPolicy' || kind === 'StagedNetworkPolicy') {
    input.doNotTrack = false;
    input.preDNAT = false;
    input.applyOnForward = false;
  }
  return input;
}

function k8sInput(
  obj: ClusterResources['k8sNetworkPolicies'][number] | ClusterResources['stagedKubernetesNetworkPolicies'][number],
  staged: boolean,
): PolicyInput {
  const c = convertK8sNetworkPolicy(obj);
  const ns = obj.metadata.namespace ?? 'default';
  const input: PolicyInput = {
    kind: staged ? 'StagedKubernetesNetworkPolicy' : 'KubernetesNetworkPolicy',
    form: obj.form,
    namespace: ns,
    name: `${K8S_POLICY_PREFIX}${obj.metadata.name}`,
    k8sName: obj.metadata.name,
    storedName: obj.metadata.name,
    tier: DEFAULT_TIER,
    order: K8S_POLICY_ORDER,
    selector: c.selector,
    types: c.types,
    typesFrom: c.typesFrom,
    ingress: c.ingress.rules,
    egress: c.egress.rules,
    ingressOrigins: c.ingress.origins,
    egressOrigins: c.egress.origins,
    doNotTrack: false,
    preDNAT: false,
    applyOnForward: false,
    staged,
    source: obj.source,
    notes: c.notes,
  };
  if (obj.spec.stagedAction) input.stagedAction = obj.spec.stagedAction;
  return input;
}

/** Every policy in the bundle as Calico would see it (staged `Delete` ones are not sent to Felix). */
export function collectPolicyInputs(cluster: ClusterResources, issues: ParseIssue[]): PolicyInput[] {
  const out: PolicyInput[] = [];
  const k8sNames = new Set(cluster.k8sNetworkPolicies.map((p) => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`));
  for (const p of cluster.k8sNetworkPolicies) out.push(k8sInput(p, false));
  for (const p of cluster.stagedKubernetesNetworkPolicies) if (p.spec.stagedAction !== 'Delete') out.push(k8sInput(p, true));
  for (const p of cluster.calicoNetworkPolicies) {
    const ns = p.metadata.namespace ?? 'default';
    if (p.spec.derivedFrom === 'k8s-networkpolicy') {
      const base = p.metadata.name.slice(K8S_POLICY_PREFIX.length);
      if (k8sNames.has(`${ns}/${base}`)) continue; // Calico's rendering of a Kubernetes policy we convert ourselves.
      issues.push({
        artifact: p.source.artifact,
        line: p.source.line,
        reason: `NetworkPolicy ${ns}/${p.metadata.name}: Calico's copy of Kubernetes NetworkPolicy ${base}, which is not in the bundle; using the copy`,
        severity: 'warning',
      });
      const input = calicoInput('NetworkPolicy', p);
      input.kind = 'KubernetesNetworkPolicy';
      input.k8sName = base;
      input.name = p.metadata.name;
      out.push(input);
      continue;
    }
    out.push(calicoInput('NetworkPolicy', p));
  }
  for (const p of cluster.globalNetworkPolicies) out.push(calicoInput('GlobalNetworkPolicy', p));
  for (const p of cluster.stagedNetworkPolicies) if (p.spec.stagedAction !== 'Delete') out.push(calicoInput('StagedNetworkPolicy', p));
  for (const p of cluster.stagedGlobalNetworkPolicies) if (p.spec.stagedAction !== 'Delete') out.push(calicoInput('StagedGlobalNetworkPolicy', p));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tiers and ordering

export function resolveTiers(cluster: ClusterResources, policies: ResolvedPolicy[]): ResolvedTier[] {
  const tiers = new Map<string, ResolvedTier>();
  for (const t of cluster.tiers) {
    const rt: ResolvedTier = {
      name: t.metadata.name,
      defaultAction: t.spec.defaultAction,
      exists: true,
      synthesized: false,
      evidence: { artifact: t.source.artifact, line: t.source.line, note: `Tier ${t.metadata.name}` },
    };
    if (t.spec.order !== undefined) rt.order = t.spec.order;
    tiers.set(rt.name, rt);
  }
  const wanted = new Set<string>([DEFAULT_TIER, ...policies.map((p) => p.tier)]);
  for (const name of wanted) {
    if (tiers.has(name)) continue;
    const b = BUILTIN_TIERS[name];
    tiers.set(name, b ? { name, order: b.order, defaultAction: b.defaultAction, exists: true, synthesized: true } : { name, defaultAction: 'Deny', exists: false, synthesized: true });
  }
  return [...tiers.values()].sort(tierLess);
}

/** TierLess. */
export function tierLess(a: ResolvedTier, b: ResolvedTier): number {
  if (a.exists !== b.exists) return a.exists ? -1 : 1;
  if (a.order === undefined && b.order !== undefined) return 1;
  if (a.order !== undefined && b.order === undefined) return -1;
  if (a.order === b.order) return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  return (a.order as number) - (b.order as number);
}

/** PolKVLess. */
export function policyLess(a: ResolvedPolicy, b: ResolvedPolicy): number {
  const ao = a.order ?? Number.POSITIVE_INFINITY;
  const bo = b.order ?? Number.POSITIVE_INFINITY;
  if (ao === bo) return a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0;
  return ao < bo ? -1 : 1;
}

// ---------------------------------------------------------------------------------------------
// Profiles

const NO_RULES: ResolvedProfile['ingress'] = [];

function derivedProfile(name: string): ResolvedProfile {
  if (name.startsWith(NAMESPACE_PROFILE_PREFIX) || name === DEFAULT_ALLOW_PROFILE) {
    const rule = (dir: Direction) =>
      resolveRule({ action: 'Allow', index: 0, source: emptyEntity(), destination: emptyEntity() }, undefined, { artifact: '', note: `Profile ${name} ${dir} rule 0 (derived)` });
    return { name, ingress: [rule('ingress')], egress: [rule('egress')], from: 'derived' };
  }
  if (name.startsWith(SERVICE_ACCOUNT_PROFILE_PREFIX)) return { name, ingress: NO_RULES, egress: NO_RULES, from: 'derived' };
  return { name, ingress: [], egress: [], from: 'missing' };
}

function emptyEntity(): EntityRule {
  return { nets: [], notNets: [], ports: [], notPorts: [] };
}

export function resolveProfiles(cluster: ClusterResources): Map<string, ResolvedProfile> {
  const out = new Map<string, ResolvedProfile>();
  for (const p of cluster.profiles) {
    const name = p.metadata.name;
    const ev = (dir: Direction, r: CalicoRule): Evidence => ({ artifact: p.source.artifact, line: r.line ?? p.source.line, note: `Profile ${name} ${dir} rule ${r.index}` });
    out.set(name, {
      name,
      ingress: (p.spec.ingress ?? []).map((r) => resolveRule(r, undefined, ev('ingress', r))),
      egress: (p.spec.egress ?? []).map((r) => resolveRule(r, undefined, ev('egress', r))),
      from: 'object',
      evidence: { artifact: p.source.artifact, line: p.source.line, note: `Profile ${name}` },
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Services (for rule `services` matches): felix/serviceindex/serviceindex.go

export interface ServiceMembers {
  /** `ip|proto|port` for destination matches. */
  ipPorts: Set<string>;
  /** IPs for source matches. */
  ips: Set<string>;
  from: 'EndpointSlice' | 'Endpoints';
}

const PROTO_NUM: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };

export function buildServiceIndex(cluster: ClusterResources): Map<string, ServiceMembers> {
  const out = new Map<string, ServiceMembers>();
  const get = (key: string, from: ServiceMembers['from']) => {
    let m = out.get(key);
    if (!m) out.set(key, (m = { ipPorts: new Set(), ips: new Set(), from }));
    return m;
  };
  for (const s of cluster.endpointSlices) {
    if (!s.spec.serviceName) continue;
    const m = get(`${s.metadata.namespace ?? 'default'}/${s.spec.serviceName}`, 'EndpointSlice');
    for (const ep of s.spec.endpoints) {
      for (const a of ep.addresses) {
        m.ips.add(a);
        for (const p of s.spec.ports) if (p.port !== undefined) m.ipPorts.add(`${a}|${PROTO_NUM[p.protocol] ?? 6}|${p.port}`);
      }
    }
  }
  // Felix reads EndpointSlices; older dumps may only have Endpoints, which list the same backends.
  for (const e of cluster.endpoints) {
    const key = `${e.metadata.namespace ?? 'default'}/${e.metadata.name}`;
    if (out.has(key)) continue;
    const m = get(key, 'Endpoints');
    for (const sub of e.spec.subsets) {
      for (const a of sub.addresses) {
        m.ips.add(a.ip);
        for (const p of sub.ports) m.ipPorts.add(`${a.ip}|${PROTO_NUM[p.protocol] ?? 6}|${p.port}`);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The model

export interface PolicyModel {
  endpoints: Endpoint[];
  endpointById: Map<string, Endpoint>;
  endpointsByIp: Map<string, Endpoint[]>;
  networkSets: LabelledNetworkSet[];
  hostNetworkPods: HostNetworkPod[];
  /** Every policy (staged too), in global evaluation order (tier order, then policy order). */
  policies: ResolvedPolicy[];
  tiers: ResolvedTier[];
  tierByName: Map<string, ResolvedTier>;
  profiles: Map<string, ResolvedProfile>;
  services: Map<string, ServiceMembers>;
  /** Service cluster/external IPs → `ns/name` (a flow to one is evaluated at the backends). */
  serviceIps: Map<string, string>;
  sortStyle: PolicyIdStyle;
  /** FelixConfiguration failsafe ports (host endpoints only), defaults when not configured. */
  failsafe: { inbound: FailsafePort[]; outbound: FailsafePort[] };
  issues: ParseIssue[];
  /** Per endpoint and direction: the tier blocks that apply (computed on first use). */
  applicable: Map<number, { ingress?: TierBlock[]; egress?: TierBlock[] }>;
  /** Next free rule/side number (rules and sides are numbered 0.. within the model). */
  uids: UidCounter;
}

export interface FailsafePort {
  protocol: number;
  port: number;
  net?: string;
}

const DEFAULT_FAILSAFE_IN = 'tcp:22,udp:68,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667';
const DEFAULT_FAILSAFE_OUT = 'udp:53,udp:67,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667';

function failsafeList(text: string): FailsafePort[] {
  return text.split(',').map((x) => {
    const [p, port] = x.split(':');
    return { protocol: p === 'udp' ? 17 : 6, port: Number(port) };
  });
}

/** The Calico version in ClusterInformation, as [major, minor]. */
function calicoVersion(cluster: ClusterResources): [number, number] | undefined {
  const v = cluster.clusterInformations[0]?.spec.calicoVersion;
  const m = v ? /v?(\d+)\.(\d+)/.exec(v) : null;
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export interface BuildPolicyModelOptions extends ResolveOptions, EndpointBuildOptions {}

export function buildPolicyModel(cluster: ClusterResources, opts: BuildPolicyModelOptions = {}): PolicyModel {
  const counter: UidCounter = { next: 0 };
  return withUids(counter, () => buildModel(cluster, opts, counter));
}

function buildModel(cluster: ClusterResources, opts: BuildPolicyModelOptions, counter: UidCounter): PolicyModel {
  const issues: ParseIssue[] = [];
  const eps = buildEndpoints(cluster, opts);
  issues.push(...eps.issues);
  let sortStyle = opts.sortStyle;
  if (!sortStyle) {
    const v = calicoVersion(cluster);
    sortStyle = v && (v[0] < 3 || (v[0] === 3 && v[1] < 32)) ? 'v1' : 'kind';
  }
  const inputs = collectPolicyInputs(cluster, issues);
  const policies = inputs.map((i) => resolvePolicy(i, sortStyle));
  for (const p of policies) {
    for (const n of p.notes) issues.push({ artifact: p.evidence.artifact, line: p.evidence.line ?? 0, reason: `${p.kind} ${p.id}: ${n}`, severity: 'warning' });
    for (const r of [...p.ingress, ...p.egress]) {
      for (const why of r.invalid ?? []) issues.push({ artifact: r.evidence.artifact, line: r.evidence.line ?? 0, reason: `${r.evidence.note}: ${why}; the rule never matches`, severity: 'warning' });
      for (const n of r.notes ?? []) issues.push({ artifact: r.evidence.artifact, line: r.evidence.line ?? 0, reason: `${r.evidence.note}: ${n}`, severity: 'warning' });
    }
  }
  const tiers = resolveTiers(cluster, policies);
  const tierRank = new Map(tiers.map((t, i) => [t.name, i]));
  for (const t of tiers) {
    if (!t.exists && policies.some((p) => p.tier === t.name)) {
      const p = policies.find((x) => x.tier === t.name)!;
      issues.push({ artifact: p.evidence.artifact, line: p.evidence.line ?? 0, reason: `tier ${t.name} (used by ${p.id}) has no Tier object; Felix orders it after every existing tier`, severity: 'warning' });
    }
  }
  policies.sort((a, b) => (tierRank.get(a.tier)! - tierRank.get(b.tier)!) || policyLess(a, b));

  const endpointById = new Map<string, Endpoint>();
  const endpointsByIp = new Map<string, Endpoint[]>();
  for (const e of eps.endpoints) {
    endpointById.set(e.id, e);
    for (const ip of e.ips) {
      const l = endpointsByIp.get(ip);
      if (l) l.push(e);
      else endpointsByIp.set(ip, [e]);
    }
  }
  const serviceIps = new Map<string, string>();
  for (const s of cluster.services) {
    const key = `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`;
    for (const ip of [...s.spec.clusterIPs, ...(s.spec.clusterIP && s.spec.clusterIP !== 'None' ? [s.spec.clusterIP] : []), ...s.spec.externalIPs, ...s.spec.loadBalancerIPs]) {
      if (!serviceIps.has(ip)) serviceIps.set(ip, key);
    }
  }
  const fc = cluster.felixConfigurations.find((f) => f.spec.scope === 'global')?.spec;
  const failsafe = {
    inbound: fc?.failsafeInboundHostPorts?.map((p) => ({ protocol: p.protocol.toLowerCase() === 'udp' ? 17 : 6, port: p.port, ...(p.net ? { net: p.net } : {}) })) ?? failsafeList(DEFAULT_FAILSAFE_IN),
    outbound: fc?.failsafeOutboundHostPorts?.map((p) => ({ protocol: p.protocol.toLowerCase() === 'udp' ? 17 : 6, port: p.port, ...(p.net ? { net: p.net } : {}) })) ?? failsafeList(DEFAULT_FAILSAFE_OUT),
  };
  return {
    endpoints: eps.endpoints,
    endpointById,
    endpointsByIp,
    networkSets: eps.networkSets,
    hostNetworkPods: eps.hostNetworkPods,
    policies,
    tiers,
    tierByName: new Map(tiers.map((t) => [t.name, t])),
    profiles: resolveProfiles(cluster),
    services: buildServiceIndex(cluster),
    serviceIps,
    sortStyle,
    failsafe,
    issues,
    applicable: new Map(),
    uids: counter,
  };
}

/** The profile as Felix has it: the bundle's object, else what Calico derives for kns./ksa. names. */
export function profileFor(model: PolicyModel, name: string): ResolvedProfile {
  let p = model.profiles.get(name);
  if (!p) {
    p = withUids(model.uids, () => derivedProfile(name));
    model.profiles.set(name, p);
  }
  return p;
}

/** Does this policy go into the endpoint's normal (filter table) chains for `dir`? */
function inNormalChain(p: ResolvedPolicy, dir: Direction): boolean {
  if (p.doNotTrack || p.preDNAT) return false;
  return p.types.includes(dir);
}

/**
 * The tiers and policies that apply to `ep` in `dir`, in evaluation order: tiers with at least
 * one applicable policy (staged ones included, reported but not enforced), policies by order.
 */
export function policiesForEndpoint(model: PolicyModel, ep: Endpoint, dir: Direction): TierBlock[] {
  let cached = model.applicable.get(ep.index);
  if (!cached) model.applicable.set(ep.index, (cached = {}));
  const hit = cached[dir];
  if (hit) return hit;
  const blocks: TierBlock[] = [];
  let current: TierBlock | undefined;
  const epNamespace = ep.getLabel(LABEL_NAMESPACE);
  for (const p of model.policies) {
    if (!inNormalChain(p, dir)) continue;
    // A namespaced policy's selector always ends in `&& projectcalico.org/namespace == '<ns>'`.
    if (p.namespace !== undefined && p.namespace !== epNamespace) continue;
    if (!p.selector.matchesGetter(ep.getLabel)) continue;
    if (!current || current.tier.name !== p.tier) {
      current = { tier: model.tierByName.get(p.tier)!, policies: [], staged: [], all: [] };
      blocks.push(current);
    }
    if (p.staged) current.staged.push(p);
    else current.policies.push(p);
    current.all.push(p);
  }
  cached[dir] = blocks;
  return blocks;
}

/** doNotTrack / preDNAT policies selecting a host endpoint (raw / mangle chains; reported, not evaluated). */
export function specialPoliciesForEndpoint(model: PolicyModel, ep: Endpoint, dir: Direction): ResolvedPolicy[] {
  return model.policies.filter((p) => (p.doNotTrack || p.preDNAT) && !p.staged && p.types.includes(dir) && p.selector.matchesGetter(ep.getLabel));
}
