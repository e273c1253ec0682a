/**
 * The Felix configuration the renderer honours, resolved from (in order of precedence) the
 * caller's overrides, the node's and the global FelixConfiguration, and Felix's defaults
 * (felix/config/config_params.go; shared/calico/felix-rules.md §1).
 */
import type { ClusterResources, FelixConfigurationSpec } from '../../model/resources.js';
import { Actions, type FelixAction, type MarkBits, allocateMarks } from './rule.js';

/**
 * `tiered` = Calico v3.29–v3.31 naming (policy chain IDs `<tier>/<v1 name>`, comments
 * `Policy <name> ingress`, set `cali40all-ipam-pools`); `kind` = v3.32+ (IDs `<kind>/<ns>/<name>`,
 * comments `<Kind> <ns>/<name> ingress`, set `cali40network-ip-pools`, the mangle DSCP rule).
 */
export type ChainStyle = 'tiered' | 'kind';

export interface FelixConfigOverrides {
  /** Felix's default is DROP; the calico-node manifests and the operator set ACCEPT, our default. */
  defaultEndpointToHostAction: 'ACCEPT' | 'DROP' | 'RETURN' | 'REJECT';
  iptablesMarkMask: number;
  chainStyle: ChainStyle;
  /** Overrides every pool's natOutgoing (true: as if all pools had it; false: none). */
  natOutgoing: boolean;
  iptablesFilterAllowAction: 'ACCEPT' | 'RETURN';
  iptablesMangleAllowAction: 'ACCEPT' | 'RETURN';
  iptablesFilterDenyAction: 'DROP' | 'REJECT';
  interfacePrefix: string;
  disableConntrackInvalidCheck: boolean;
  logPrefix: string;
  allowVXLANPacketsFromWorkloads: boolean;
  allowIPIPPacketsFromWorkloads: boolean;
  serviceLoopPrevention: 'Drop' | 'Reject' | 'Disabled';
  natOutgoingExclusions: 'IPPoolsOnly' | 'IPPoolsAndHostIPs';
  /** Kernel/iptables support for `--random-fully` (Felix feature detection); default true. */
  masqFullyRandom: boolean;
}

export interface FelixRenderConfig {
  chainStyle: ChainStyle;
  marks: MarkBits;
  /** Accept|pass|scratch0|scratch1: what the "clear all Calico bits" rules clear. */
  allCalicoMarkBits: number;
  inputAcceptAction: FelixAction;
  filterAllowAction: FelixAction;
  filterAllowIsAccept: boolean;
  mangleAllowAction: FelixAction;
  denyAction: FelixAction;
  denyName: 'DROP' | 'REJECT';
  blockCidrAction?: FelixAction;
  interfacePrefixes: string[];
  vxlanEnabled: boolean;
  ipipEnabled: boolean;
  vxlanPort: number;
  disableConntrackInvalid: boolean;
  logPrefix: string;
  allowVXLANPacketsFromWorkloads: boolean;
  allowIPIPPacketsFromWorkloads: boolean;
  natOutgoingOverride?: boolean;
  natOutgoingExclusions: 'IPPoolsOnly' | 'IPPoolsAndHostIPs';
  masqFullyRandom: boolean;
  /** `cali40all-ipam-pools` (≤ v3.30) or `cali40network-ip-pools` (v3.31+). */
  allPoolsSet: string;
}

export const MASQ_POOLS_SET = 'cali40masq-ipam-pools';
export const ALL_POOLS_SET_V330 = 'cali40all-ipam-pools';
export const ALL_POOLS_SET_V331 = 'cali40network-ip-pools';
export const ALL_HOSTS_SET = 'cali40all-hosts-net';
export const ALL_VXLAN_SET = 'cali40all-vxlan-net';
export const THIS_HOST_SET = 'cali40this-host';
export const DSCP_SRC_SET = 'cali40dscp-src-net';

function upper<T extends string>(v: string | undefined, allowed: readonly T[]): T | undefined {
  if (!v) return undefined;
  const u = v.toUpperCase();
  return (allowed as readonly string[]).includes(u) ? (u as T) : undefined;
}

/** The global FelixConfiguration merged with the node's own (`node.<name>`), node fields winning. */
export function felixConfigFor(cluster: ClusterResources, node: string): Partial<FelixConfigurationSpec> {
  const global = cluster.felixConfigurations.find((f) => f.spec.scope === 'global')?.spec;
  const own = cluster.felixConfigurations.find((f) => f.spec.scope === 'node' && f.spec.scopeNode === node)?.spec;
  const out: Partial<FelixConfigurationSpec> = {};
  for (const src of [global, own]) {
    if (!src) continue;
    for (const [k, v] of Object.entries(src)) if (v !== undefined && k !== 'raw' && k !== 'scope' && k !== 'scopeNode') (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

export function resolveConfig(cluster: ClusterResources, node: string, mode: 'vxlan' | 'ipip' | 'bgp', vxlanPort: number | undefined, o: Partial<FelixConfigOverrides>): FelixRenderConfig {
  const fc = felixConfigFor(cluster, node);
  const raw = { ...(cluster.felixConfigurations.find((f) => f.spec.scope === 'global')?.spec.raw ?? {}), ...(cluster.felixConfigurations.find((f) => f.spec.scope === 'node' && f.spec.scopeNode === node)?.spec.raw ?? {}) };
  const mask = o.iptablesMarkMask ?? fc.iptablesMarkMask ?? 0xffff0000;
  const marks = allocateMarks(mask);
  const denyName = o.iptablesFilterDenyAction ?? upper(fc.iptablesFilterDenyAction, ['DROP', 'REJECT'] as const) ?? 'DROP';
  const denyAction = denyName === 'REJECT' ? Actions.reject() : Actions.drop();
  const e2h = o.defaultEndpointToHostAction ?? upper(fc.defaultEndpointToHostAction, ['ACCEPT', 'DROP', 'RETURN', 'REJECT'] as const) ?? 'ACCEPT';
  const inputAcceptAction = e2h === 'DROP' ? Actions.drop() : e2h === 'REJECT' ? Actions.reject() : e2h === 'ACCEPT' ? Actions.accept() : Actions.return();
  const fAllow = o.iptablesFilterAllowAction ?? upper(fc.iptablesFilterAllowAction, ['ACCEPT', 'RETURN'] as const) ?? 'ACCEPT';
  const mAllow = o.iptablesMangleAllowAction ?? upper(fc.iptablesMangleAllowAction, ['ACCEPT', 'RETURN'] as const) ?? 'ACCEPT';
  const slp = o.serviceLoopPrevention ?? (typeof raw.serviceLoopPrevention === 'string' ? (raw.serviceLoopPrevention as FelixConfigOverrides['serviceLoopPrevention']) : 'Drop');
  const chainStyle = o.chainStyle ?? 'tiered';
  const prefix = o.interfacePrefix ?? fc.interfacePrefix ?? 'cali';
  const cfg: FelixRenderConfig = {
    chainStyle,
    marks,
    allCalicoMarkBits: marks.accept | marks.pass | marks.scratch0 | marks.scratch1,
    inputAcceptAction,
    filterAllowAction: fAllow === 'RETURN' ? Actions.return() : Actions.accept(),
    filterAllowIsAccept: fAllow !== 'RETURN',
    mangleAllowAction: mAllow === 'RETURN' ? Actions.return() : Actions.accept(),
    denyAction,
    denyName,
    interfacePrefixes: prefix.split(',').map((s) => s.trim()).filter(Boolean),
    vxlanEnabled: mode === 'vxlan',
    ipipEnabled: mode === 'ipip',
    vxlanPort: vxlanPort ?? fc.vxlanPort ?? 4789,
    disableConntrackInvalid: o.disableConntrackInvalidCheck ?? raw.disableConntrackInvalidCheck === true,
    logPrefix: o.logPrefix ?? (typeof raw.logPrefix === 'string' ? raw.logPrefix : 'calico-packet'),
    allowVXLANPacketsFromWorkloads: o.allowVXLANPacketsFromWorkloads ?? raw.allowVXLANPacketsFromWorkloads === true,
    allowIPIPPacketsFromWorkloads: o.allowIPIPPacketsFromWorkloads ?? raw.allowIPIPPacketsFromWorkloads === true,
    natOutgoingExclusions: o.natOutgoingExclusions ?? fc.natOutgoingExclusions ?? 'IPPoolsOnly',
    masqFullyRandom: o.masqFullyRandom ?? true,
    allPoolsSet: chainStyle === 'kind' ? ALL_POOLS_SET_V331 : ALL_POOLS_SET_V330,
  };
  if (slp === 'Drop') cfg.blockCidrAction = Actions.drop();
  else if (slp === 'Reject') cfg.blockCidrAction = Actions.reject();
  if (o.natOutgoing !== undefined) cfg.natOutgoingOverride = o.natOutgoing;
  return cfg;
}
