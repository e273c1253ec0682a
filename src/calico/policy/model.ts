/**
 * The normalised policy model: Calico NetworkPolicy, GlobalNetworkPolicy, their staged forms and
 * Kubernetes NetworkPolicy (converted as Calico converts it) all become ResolvedPolicy, with
 * selectors compiled once and every rule side reduced to what Felix matches on (the selector it
 * hashes into an IP set, nets, ports, named ports, services).
 */
import type { Evidence } from '../../model/evidence.js';
import type { HttpMatch, IcmpMatch, PortMatch, ProtocolValue, RuleAction, StagedAction } from '../../model/resources.js';
import type { Selector } from '../selector/index.js';
import type { Cidr } from './net.js';

export type Direction = 'ingress' | 'egress';

export type PolicyKind =
  | 'NetworkPolicy'
  | 'GlobalNetworkPolicy'
  | 'KubernetesNetworkPolicy'
  | 'StagedNetworkPolicy'
  | 'StagedGlobalNetworkPolicy'
  | 'StagedKubernetesNetworkPolicy';

/** One IP set Felix programs for a rule side (name computed with naming.ts). */
export interface RuleIpSet {
  /** Canonical selector that is hashed. */
  selector: string;
  /** `cali40s:…`. */
  name: string;
}

export interface NamedPortIpSet {
  port: string;
  proto: 'tcp' | 'udp' | 'sctp' | 'any';
  /** The selector the named port set is filtered by (`all()` when the side has none). */
  selector: string;
  /** `cali40n:…`. */
  name: string;
  negated: boolean;
}

/** The pieces of a side's endpoint match, kept apart so a miss can be explained piece by piece. */
export interface EntityComponents {
  /** `pcns.`-prefixed endpoint selector from namespaceSelector. */
  namespaceSelector?: Selector;
  /** Implicit scoping of a namespaced policy: `projectcalico.org/namespace == '<ns>'`. */
  policyNamespace?: string;
  serviceAccounts?: Selector;
  selector?: Selector;
  notSelector?: Selector;
}

export interface ResolvedEntity {
  /** Unique number, used by the matrix to cache results per (side, endpoint). */
  uid: number;
  /** Everything the side's match depends on; equal keys match the same packets (shared caches). */
  key: string;
  /** Fields as written (for explanations). */
  written: {
    selector?: string;
    notSelector?: string;
    namespaceSelector?: string;
    serviceAccounts?: { names: string[]; selector?: string };
    services?: { name: string; namespace?: string };
  };
  /** What Felix matches: the positive selector (namespace scoping, SAs and notSelector folded in). */
  selector?: Selector;
  /** Negated selector, only when there is no positive one. */
  notSelector?: Selector;
  components: EntityComponents;
  nets: Cidr[];
  notNets: Cidr[];
  ports: PortMatch[];
  notPorts: PortMatch[];
  /** Resolved service (namespace defaulted to the policy's). */
  services?: { name: string; namespace: string };
  ipsets: { selector?: RuleIpSet; notSelector?: RuleIpSet; namedPorts: NamedPortIpSet[] };
  /** Set when a selector does not parse: Felix never programs such a rule. */
  error?: string;
  /** True when no field is set (matches any packet on this side). */
  empty: boolean;
}

export interface RuleOrigin {
  /** Index of the Kubernetes rule this Calico rule was generated from. */
  k8sRule: number;
  /** Index of the peer in the k8s rule (`from`/`to`), absent when the rule had no peers. */
  peer?: number;
  /** Protocol group (`TCP`, `UDP`, `SCTP`), absent when the rule had no ports. */
  protocol?: string;
}

export interface ResolvedRule {
  uid: number;
  index: number;
  action: RuleAction;
  protocol?: ProtocolValue;
  notProtocol?: ProtocolValue;
  icmp?: IcmpMatch;
  notICMP?: IcmpMatch;
  ipVersion?: 4 | 6;
  source: ResolvedEntity;
  destination: ResolvedEntity;
  http?: HttpMatch;
  evidence: Evidence;
  origin?: RuleOrigin;
  /** Why Felix would not program this rule (its match can never succeed). */
  invalid?: string[];
  /** Other problems (e.g. a CIDR Calico skips). */
  notes?: string[];
}

export interface ResolvedPolicy {
  kind: PolicyKind;
  namespace?: string;
  /** Name as calicoctl shows it (`knp.default.<name>` for Kubernetes policies). */
  name: string;
  /** `ns/name` or `name`: how reports refer to the policy. */
  id: string;
  /** For Kubernetes policies, the NetworkPolicy's own name. */
  k8sName?: string;
  tier: string;
  order?: number;
  /** The selector Felix evaluates (namespace, namespaceSelector, serviceAccountSelector folded in). */
  selector: Selector;
  /** The selector as written (`podSelector` converted for Kubernetes policies). */
  selectorWritten: string;
  /** GlobalNetworkPolicy `namespaceSelector` as written. */
  namespaceSelectorWritten?: string;
  /** `serviceAccountSelector` as written. */
  serviceAccountSelectorWritten?: string;
  /** Set when the policy selector does not parse: the policy selects nothing. */
  selectorError?: string;
  types: Direction[];
  /** How `types` was obtained. */
  typesFrom: 'given' | 'inferred-api' | 'inferred-felix' | 'k8s-policyTypes' | 'k8s-defaulted';
  ingress: ResolvedRule[];
  egress: ResolvedRule[];
  doNotTrack: boolean;
  preDNAT: boolean;
  applyOnForward: boolean;
  staged: boolean;
  stagedAction?: StagedAction;
  /** Tie-break key within (tier, order) (see resolve.ts policySortKey). */
  sortKey: string;
  evidence: Evidence;
  /** Problems that change what Calico does with the policy. */
  notes: string[];
}

export interface ResolvedTier {
  name: string;
  order?: number;
  defaultAction: 'Deny' | 'Pass';
  /** False when policies name a tier that has no Tier object (Felix sorts such tiers last). */
  exists: boolean;
  /** Built-in tier synthesised because the bundle has no object for it. */
  synthesized: boolean;
  evidence?: Evidence;
}

export interface ResolvedProfile {
  name: string;
  ingress: ResolvedRule[];
  egress: ResolvedRule[];
  /** From a Profile object in the bundle, or the rules Calico gives `kns.`/`ksa.` profiles. */
  from: 'object' | 'derived' | 'missing';
  evidence?: Evidence;
}

/** The policies of one tier that apply to an endpoint in one direction, in evaluation order. */
export interface TierBlock {
  tier: ResolvedTier;
  policies: ResolvedPolicy[];
  /** Staged policies that select the endpoint: reported, never enforced. */
  staged: ResolvedPolicy[];
  /** Both, in evaluation order (for trails). */
  all: ResolvedPolicy[];
}
