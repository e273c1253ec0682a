/**
 * Chain roles by name (Felix names from felix/rules/rule_defs.go; kube-proxy's from
 * pkg/proxy/iptables; Docker's DOCKER*). The role tells checks and reports what a chain is for
 * without reading its rules; see `ChainRole` in src/model/iptables.ts for what each role means.
 */
import { CHAIN_ROLES, eachChainRuleCount, isBuiltinChain, type ChainRole, type IptablesSave } from '../model/iptables.js';

export type { ChainRole } from '../model/iptables.js';

/** Felix's fixed chains (any table). */
const CALICO_STATIC = new Set([
  'cali-INPUT',
  'cali-FORWARD',
  'cali-OUTPUT',
  'cali-PREROUTING',
  'cali-POSTROUTING',
  'cali-wl-to-host',
  'cali-nat-outgoing',
  'cali-cidr-block',
  'cali-rpf-skip',
  'cali-rpf',
  'cali-untracked-flows',
  'cali-untracked-policy',
  'cali-wireguard-incoming-mark',
  'cali-egress-dscp',
]);

/** Prefixes of Felix's fixed chain families (cali-failsafe-in/out, cali-fip-dnat/snat, cali-forward-check, …). */
const CALICO_STATIC_PREFIXES = ['cali-failsafe-', 'cali-fip-', 'cali-forward-'];

/** Dispatch chains; the wl/hep/set-endpoint-mark ones may be split into `<name>-<c>` children. */
const CALICO_DISPATCH = [
  'cali-from-wl-dispatch',
  'cali-to-wl-dispatch',
  'cali-from-host-endpoint',
  'cali-to-host-endpoint',
  'cali-from-hep-forward',
  'cali-to-hep-forward',
  'cali-set-endpoint-mark',
  'cali-from-endpoint-mark',
];

/** Longest prefixes first where one is a prefix of another (cali-fhfw- vs cali-fh-). */
const CALICO_PREFIX_ROLES: readonly (readonly [string, ChainRole])[] = [
  ['cali-tw-', 'calico-to-workload'],
  ['cali-fw-', 'calico-from-workload'],
  ['cali-pi-', 'calico-policy-ingress'],
  ['cali-po-', 'calico-policy-egress'],
  ['cali-pri-', 'calico-profile-ingress'],
  ['cali-pro-', 'calico-profile-egress'],
  ['cali-gi-', 'calico-policy-group'],
  ['cali-go-', 'calico-policy-group'],
  ['cali-thfw-', 'calico-host-endpoint'],
  ['cali-fhfw-', 'calico-host-endpoint'],
  ['cali-th-', 'calico-host-endpoint'],
  ['cali-fh-', 'calico-host-endpoint'],
  ['cali-sm-', 'calico-host-endpoint'],
];

const KUBE_SERVICE_PREFIXES = ['KUBE-SVC-', 'KUBE-EXT-', 'KUBE-SVL-', 'KUBE-FW-', 'KUBE-XLB-'];

/**
 * The role of a chain by its name. With `table`, a kernel chain name is `builtin` only in a
 * table that has it (`PREROUTING` is not built into `filter`); without, any kernel chain name is.
 */
export function classifyChain(name: string, table?: string): ChainRole {
  const c0 = name.charCodeAt(0);
  if (c0 === 99 /* c */ && name.startsWith('cali-')) {
    if (CALICO_STATIC.has(name)) return 'calico-static';
    for (const p of CALICO_PREFIX_ROLES) if (name.startsWith(p[0])) return p[1];
    for (const d of CALICO_DISPATCH) {
      if (name.startsWith(d) && (name.length === d.length || name.charCodeAt(d.length) === 45)) return 'calico-dispatch';
    }
    for (const p of CALICO_STATIC_PREFIXES) if (name.startsWith(p)) return 'calico-static';
    return 'calico-other';
  }
  if (c0 === 75 /* K */ && name.startsWith('KUBE-')) {
    if (name === 'KUBE-SERVICES' || name === 'KUBE-NODEPORTS') return 'kube-proxy-services';
    for (const p of KUBE_SERVICE_PREFIXES) if (name.startsWith(p)) return 'kube-proxy-service';
    if (name.startsWith('KUBE-SEP-')) return 'kube-proxy-endpoint';
    return 'kube-proxy-other';
  }
  if (isBuiltinChain(table, name)) return 'builtin';
  if (name.startsWith('DOCKER')) return 'docker';
  // Historic Felix prefixes (califw-, calitw-, … from early 2.1 RCs; felix- before 2.1).
  if (/^cali(fw|tw|fh|th|pi|po)-/.test(name) || name.startsWith('felix-')) return 'calico-other';
  return 'other';
}

export interface RoleCount {
  chains: number;
  rules: number;
}

export interface ChainSummary {
  /** Counts per role (every role present, zero when absent). */
  byRole: Record<ChainRole, RoleCount>;
  /** Counts per table, then role (only roles that occur). */
  byTable: Record<string, Partial<Record<ChainRole, RoleCount>>>;
  total: RoleCount;
  /** Chains of any calico-* role. */
  calicoChains: number;
  calicoRules: number;
}

/** Chains and rules per role, overall and per table. */
export function calicoChainSummary(dump: IptablesSave): ChainSummary {
  const byRole = {} as Record<ChainRole, RoleCount>;
  for (const r of CHAIN_ROLES) byRole[r] = { chains: 0, rules: 0 };
  const byTable: Record<string, Partial<Record<ChainRole, RoleCount>>> = {};
  const total: RoleCount = { chains: 0, rules: 0 };
  let calicoChains = 0;
  let calicoRules = 0;
  for (const t of dump.tables.keys()) byTable[t] = {};
  // Counted without handing the chains out, which would make their rules (see the parser's ChainMap).
  eachChainRuleCount(dump, (table, _chain, n, role) => {
    const tt = byTable[table];
    byRole[role].chains++;
    byRole[role].rules += n;
    const x = (tt[role] ??= { chains: 0, rules: 0 });
    x.chains++;
    x.rules += n;
    total.chains++;
    total.rules += n;
    if (role.startsWith('calico-')) {
      calicoChains++;
      calicoRules += n;
    }
  });
  return { byRole, byTable, total, calicoChains, calicoRules };
}
