/**
 * Felix's static chains in iptables mode, IPv4, without IPVS, WireGuard, BPF, OpenStack or host
 * endpoints (felix/rules/static.go at v3.30.7 — StaticFilterTableChains, StaticNATTableChains,
 * StaticMangleTableChains, StaticRawTableChains, StaticFilterForwardAppendRules; felix/rules/nat.go
 * NATOutgoingChain, DNATsToIptablesChains, SNATsToIptablesChains, BlockedCIDRsToIptablesChains;
 * the kernel-chain hooks from felix/dataplane/linux/int_dataplane.go setUpIptablesNormal).
 * Summarised with real dump lines in shared/calico/felix-rules.md §1, §8.
 */
import { ALL_HOSTS_SET, ALL_VXLAN_SET, DSCP_SRC_SET, MASQ_POOLS_SET, THIS_HOST_SET, type FelixRenderConfig } from './config.js';
import { Actions, type FelixRule, type TableName, match } from './rule.js';

export interface ChainDef {
  table: TableName;
  name: string;
  rules: FelixRule[];
}

export const CHAIN = {
  filterInput: 'cali-INPUT',
  filterForward: 'cali-FORWARD',
  filterOutput: 'cali-OUTPUT',
  wlToHost: 'cali-wl-to-host',
  fromWlDispatch: 'cali-from-wl-dispatch',
  toWlDispatch: 'cali-to-wl-dispatch',
  fromHostEndpoint: 'cali-from-host-endpoint',
  toHostEndpoint: 'cali-to-host-endpoint',
  fromHepForward: 'cali-from-hep-forward',
  toHepForward: 'cali-to-hep-forward',
  cidrBlock: 'cali-cidr-block',
  prerouting: 'cali-PREROUTING',
  postrouting: 'cali-POSTROUTING',
  output: 'cali-OUTPUT',
  rpfSkip: 'cali-rpf-skip',
  fipDnat: 'cali-fip-dnat',
  fipSnat: 'cali-fip-snat',
  natOutgoing: 'cali-nat-outgoing',
  egressDscp: 'cali-egress-dscp',
} as const;

const PROTO_IPIP = 4;
const PROTO_UDP = 17;

export function filterInputChain(c: FelixRenderConfig): ChainDef {
  const rules: FelixRule[] = [];
  if (c.ipipEnabled) {
    rules.push(
      { match: match().protocol(PROTO_IPIP).sourceIPSet(ALL_HOSTS_SET).destAddrType('LOCAL').parts, action: c.filterAllowAction, comments: ['Allow IPIP packets from Calico hosts'] },
      { match: match().protocol(PROTO_IPIP).parts, action: c.denyAction, comments: [`${c.denyName} IPIP packets from non-Calico hosts`] },
    );
  }
  if (c.vxlanEnabled) {
    rules.push(
      {
        match: match().protocol(PROTO_UDP).destPorts(c.vxlanPort).sourceIPSet(ALL_VXLAN_SET).destAddrType('LOCAL').parts,
        action: c.filterAllowAction,
        comments: ['Allow IPv4 VXLAN packets from allowed hosts'],
      },
      // Felix uses r.Drop() here, not the configured deny action.
      { match: match().protocol(PROTO_UDP).destPorts(c.vxlanPort).destAddrType('LOCAL').parts, action: Actions.drop(), comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'] },
    );
  }
  for (const p of c.interfacePrefixes) rules.push({ match: match().inInterface(`${p}+`).parts, action: Actions.goto(CHAIN.wlToHost) });
  rules.push(
    { match: match().markSingleBitSet(c.marks.accept).parts, action: c.filterAllowAction },
    { action: Actions.clearMark(c.allCalicoMarkBits) },
    { action: Actions.jump(CHAIN.fromHostEndpoint) },
    { match: match().markSingleBitSet(c.marks.accept).parts, action: c.filterAllowAction, comments: ['Host endpoint policy accepted packet.'] },
  );
  return { table: 'filter', name: CHAIN.filterInput, rules };
}

export function filterWorkloadToHostChain(c: FelixRenderConfig): ChainDef {
  return {
    table: 'filter',
    name: CHAIN.wlToHost,
    rules: [{ action: Actions.jump(CHAIN.fromWlDispatch) }, { action: c.inputAcceptAction, comments: ['Configured DefaultEndpointToHostAction'] }],
  };
}

export function filterForwardChain(c: FelixRenderConfig): ChainDef {
  const rules: FelixRule[] = [
    { action: Actions.clearMark(c.allCalicoMarkBits & ~c.marks.accept) },
    { match: match().markClear(c.marks.accept).parts, action: Actions.jump(CHAIN.fromHepForward) },
  ];
  for (const p of c.interfacePrefixes) {
    rules.push({ match: match().inInterface(`${p}+`).parts, action: Actions.jump(CHAIN.fromWlDispatch) }, { match: match().outInterface(`${p}+`).parts, action: Actions.jump(CHAIN.toWlDispatch) });
  }
  rules.push({ action: Actions.jump(CHAIN.toHepForward) }, { action: Actions.jump(CHAIN.cidrBlock) });
  return { table: 'filter', name: CHAIN.filterForward, rules };
}

/** Appended to the kernel FORWARD chain (StaticFilterForwardAppendRules). */
export function filterForwardAppendRules(c: FelixRenderConfig): FelixRule[] {
  return [
    { match: match().markSingleBitSet(c.marks.accept).parts, action: c.filterAllowAction, comments: ['Policy explicitly accepted packet.'] },
    { action: Actions.setMark(c.marks.accept) },
  ];
}

export function filterOutputChain(c: FelixRenderConfig): ChainDef {
  const rules: FelixRule[] = [{ match: match().markSingleBitSet(c.marks.accept).parts, action: c.filterAllowAction }];
  for (const p of c.interfacePrefixes) rules.push({ match: match().outInterface(`${p}+`).parts, action: Actions.return() });
  if (c.ipipEnabled) {
    rules.push({ match: match().protocol(PROTO_IPIP).destIPSet(ALL_HOSTS_SET).srcAddrType('LOCAL', false).parts, action: c.filterAllowAction, comments: ['Allow IPIP packets to other Calico hosts'] });
  }
  if (c.vxlanEnabled) {
    rules.push({
      match: match().protocol(PROTO_UDP).destPorts(c.vxlanPort).srcAddrType('LOCAL', false).destIPSet(ALL_VXLAN_SET).parts,
      action: c.filterAllowAction,
      comments: ['Allow IPv4 VXLAN packets to other allowed hosts'],
    });
  }
  rules.push(
    { action: Actions.clearMark(c.allCalicoMarkBits) },
    { match: match().notConntrackState('DNAT').parts, action: Actions.jump(CHAIN.toHostEndpoint) },
    { match: match().markSingleBitSet(c.marks.accept).parts, action: c.filterAllowAction, comments: ['Host endpoint policy accepted packet.'] },
  );
  return { table: 'filter', name: CHAIN.filterOutput, rules };
}

/** BlockedCIDRsToIptablesChains (service loop prevention). */
export function cidrBlockChain(c: FelixRenderConfig, cidrs: string[]): ChainDef {
  const rules: FelixRule[] = [];
  if (c.blockCidrAction) {
    for (const cidr of [...cidrs].sort()) if (!cidr.includes(':')) rules.push({ match: match().destNet(cidr).parts, action: c.blockCidrAction });
  }
  return { table: 'filter', name: CHAIN.cidrBlock, rules };
}

export function natPreroutingChain(): ChainDef {
  return { table: 'nat', name: CHAIN.prerouting, rules: [{ action: Actions.jump(CHAIN.fipDnat) }] };
}

export function natPostroutingChain(c: FelixRenderConfig): ChainDef {
  const rules: FelixRule[] = [{ action: Actions.jump(CHAIN.fipSnat) }, { action: Actions.jump(CHAIN.natOutgoing) }];
  const tunnels: string[] = [];
  if (c.ipipEnabled) tunnels.push('tunl0');
  if (c.vxlanEnabled) tunnels.push('vxlan.calico');
  for (const t of tunnels) {
    rules.push({ match: match().outInterface(t).notSrcAddrType('LOCAL', true).srcAddrType('LOCAL', false).parts, action: Actions.masq(undefined, c.masqFullyRandom) });
  }
  return { table: 'nat', name: CHAIN.postrouting, rules };
}

export function natOutputChain(): ChainDef {
  return { table: 'nat', name: CHAIN.output, rules: [{ action: Actions.jump(CHAIN.fipDnat) }] };
}

/** NATOutgoingChain (felix/rules/nat.go) without NATPortRange/NATOutgoingAddress. */
export function natOutgoingChain(c: FelixRenderConfig, active: boolean): ChainDef {
  const rules: FelixRule[] = [];
  if (active) {
    const m = match().sourceIPSet(MASQ_POOLS_SET).notDestIPSet(c.allPoolsSet);
    if (c.chainStyle === 'kind' && c.natOutgoingExclusions === 'IPPoolsAndHostIPs') m.notDestIPSet(ALL_HOSTS_SET);
    rules.push({ match: m.parts, action: Actions.masq(undefined, c.masqFullyRandom) });
  }
  return { table: 'nat', name: CHAIN.natOutgoing, rules };
}

/** DNATsToIptablesChains / SNATsToIptablesChains for workload floating IPs (ipNATs). */
export function fipChains(nats: { internalIP: string; externalIP: string }[]): ChainDef[] {
  const v4 = nats.filter((n) => !n.externalIP.includes(':') && !n.internalIP.includes(':'));
  const dnat = [...v4].sort((a, b) => (a.externalIP < b.externalIP ? -1 : a.externalIP > b.externalIP ? 1 : 0));
  const snat = [...v4].sort((a, b) => (a.internalIP < b.internalIP ? -1 : a.internalIP > b.internalIP ? 1 : 0));
  return [
    { table: 'nat', name: CHAIN.fipDnat, rules: dnat.map((n) => ({ match: match().destNet(n.externalIP).parts, action: Actions.dnat(n.internalIP) })) },
    { table: 'nat', name: CHAIN.fipSnat, rules: snat.map((n) => ({ match: match().destNet(n.internalIP).sourceNet(n.internalIP).parts, action: Actions.snat(n.externalIP) })) },
  ];
}

export function manglePreroutingChain(c: FelixRenderConfig): ChainDef {
  return {
    table: 'mangle',
    name: CHAIN.prerouting,
    rules: [
      { match: match().conntrackState('RELATED,ESTABLISHED').parts, action: c.mangleAllowAction },
      { match: match().markSingleBitSet(c.marks.accept).parts, action: c.mangleAllowAction },
      { action: Actions.jump(CHAIN.fromHostEndpoint) },
      { match: match().markSingleBitSet(c.marks.accept).parts, action: c.mangleAllowAction, comments: ['Host endpoint policy accepted packet.'] },
    ],
  };
}

export function manglePostroutingChain(c: FelixRenderConfig): ChainDef {
  const rules: FelixRule[] = [];
  if (c.chainStyle === 'kind') {
    // v3.31+: DSCP for traffic leaving the cluster (felix-rules.md §1.9 item 2).
    rules.push({ match: match().sourceIPSet(DSCP_SRC_SET).notDestIPSet(c.allPoolsSet).notDestIPSet(THIS_HOST_SET).parts, action: Actions.jump(CHAIN.egressDscp), comments: ['set dscp for traffic leaving cluster.'] });
  }
  rules.push(
    { match: match().markSingleBitSet(c.marks.accept).parts, action: Actions.return() },
    { action: Actions.clearMark(c.allCalicoMarkBits) },
    { match: match().conntrackState('DNAT').parts, action: Actions.jump(CHAIN.toHostEndpoint) },
    { match: match().markSingleBitSet(c.marks.accept).parts, action: Actions.return(), comments: ['Host endpoint policy accepted packet.'] },
  );
  return { table: 'mangle', name: CHAIN.postrouting, rules };
}

export function rawPreroutingChain(c: FelixRenderConfig): ChainDef {
  const rules: FelixRule[] = [{ action: Actions.clearMark(c.allCalicoMarkBits) }];
  // VXLAN NOTRACK: v3.29 and later.
  if (c.vxlanEnabled) rules.push({ match: match().protocol('udp').destPort(c.vxlanPort).parts, action: Actions.noTrack() });
  const fromWl = c.marks.scratch0;
  for (const p of c.interfacePrefixes) rules.push({ match: match().inInterface(`${p}+`).parts, action: Actions.setMark(fromWl) });
  rules.push(
    { match: match().markMatchesWithMask(fromWl, fromWl).parts, action: Actions.jump(CHAIN.rpfSkip) },
    { match: match().markMatchesWithMask(fromWl, fromWl).rpfCheckFailed().parts, action: c.denyAction },
    { match: match().markClear(fromWl).parts, action: Actions.jump(CHAIN.fromHostEndpoint) },
    { match: match().markSingleBitSet(c.marks.accept).parts, action: Actions.accept() },
  );
  return { table: 'raw', name: CHAIN.prerouting, rules };
}

export function rawOutputChain(c: FelixRenderConfig): ChainDef {
  const rules: FelixRule[] = [{ action: Actions.clearMark(c.allCalicoMarkBits) }, { action: Actions.jump(CHAIN.toHostEndpoint) }];
  if (c.vxlanEnabled) rules.push({ match: match().protocol('udp').destPort(c.vxlanPort).parts, action: Actions.noTrack() });
  rules.push({ match: match().markSingleBitSet(c.marks.accept).parts, action: Actions.accept() });
  return { table: 'raw', name: CHAIN.output, rules };
}

/** Host-endpoint dispatch chains with no host endpoints: empty (they simply return). */
export function emptyChains(): ChainDef[] {
  return [
    { table: 'filter', name: CHAIN.fromHostEndpoint, rules: [] },
    { table: 'filter', name: CHAIN.toHostEndpoint, rules: [] },
    { table: 'filter', name: CHAIN.fromHepForward, rules: [] },
    { table: 'filter', name: CHAIN.toHepForward, rules: [] },
    { table: 'mangle', name: CHAIN.fromHostEndpoint, rules: [] },
    { table: 'mangle', name: CHAIN.toHostEndpoint, rules: [] },
    { table: 'mangle', name: CHAIN.egressDscp, rules: [] },
    { table: 'raw', name: CHAIN.fromHostEndpoint, rules: [] },
    { table: 'raw', name: CHAIN.toHostEndpoint, rules: [] },
    { table: 'raw', name: CHAIN.rpfSkip, rules: [] },
  ];
}

/**
 * Felix's jumps from the kernel chains (setUpIptablesNormal): inserted at the top, except nat
 * POSTROUTING which is appended ("We must go last to avoid a conflict if both kube-proxy and
 * Calico decide to MASQ the traffic") and the two FORWARD append rules.
 */
export const KERNEL_HOOKS: { table: TableName; chain: string; target: string; placement: 'insert' | 'append' }[] = [
  { table: 'raw', chain: 'PREROUTING', target: CHAIN.prerouting, placement: 'insert' },
  { table: 'raw', chain: 'OUTPUT', target: CHAIN.output, placement: 'insert' },
  { table: 'filter', chain: 'INPUT', target: CHAIN.filterInput, placement: 'insert' },
  { table: 'filter', chain: 'FORWARD', target: CHAIN.filterForward, placement: 'insert' },
  { table: 'filter', chain: 'OUTPUT', target: CHAIN.filterOutput, placement: 'insert' },
  { table: 'nat', chain: 'PREROUTING', target: CHAIN.prerouting, placement: 'insert' },
  { table: 'nat', chain: 'POSTROUTING', target: CHAIN.postrouting, placement: 'append' },
  { table: 'nat', chain: 'OUTPUT', target: CHAIN.output, placement: 'insert' },
  { table: 'mangle', chain: 'PREROUTING', target: CHAIN.prerouting, placement: 'insert' },
  { table: 'mangle', chain: 'POSTROUTING', target: CHAIN.postrouting, placement: 'insert' },
];
