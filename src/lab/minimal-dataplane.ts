/**
 * Placeholder programming until the Felix-style renderer (src/lab/render/) exists: no policy at
 * all (FORWARD accepts), Felix's nat-outgoing (cali-nat-outgoing with the
 * cali40masq-ipam-pools / cali40all-ipam-pools sets, felix/rules/nat.go, see
 * shared/calico/felix-rules.md §1.8 and §8) and kube-proxy's Service chains. Enough for every
 * pod to reach every pod, Services and the external host, so the network half of the lab can be
 * tested on its own.
 */
import type { LabDataplaneContext, NodeDataplane } from './dataplane.js';
import { VXLAN_DEVICE } from './topology.js';

export const MASQ_POOLS_SET = 'cali40masq-ipam-pools';
export const ALL_POOLS_SET = 'cali40all-ipam-pools';

export function minimalDataplane(ctx: LabDataplaneContext): Record<string, NodeDataplane> {
  const t = ctx.topology;
  const kp = ctx.kubeProxy;
  const ipset = [
    `create ${MASQ_POOLS_SET} hash:net family inet hashsize 1024 maxelem 1048576`,
    ...(t.natOutgoing ? [`add ${MASQ_POOLS_SET} ${t.poolCidr}`] : []),
    `create ${ALL_POOLS_SET} hash:net family inet hashsize 1024 maxelem 1048576`,
    `add ${ALL_POOLS_SET} ${t.poolCidr}`,
  ].join('\n');
  const filter = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...kp.filter.chains, ...kp.filter.rules, 'COMMIT'];
  const nat = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':cali-POSTROUTING - [0:0]',
    ':cali-nat-outgoing - [0:0]',
    ...kp.nat.chains,
    '-A POSTROUTING -j cali-POSTROUTING',
    '-A cali-POSTROUTING -j cali-nat-outgoing',
    ...(t.mode === 'vxlan'
      ? [`-A cali-POSTROUTING -o ${VXLAN_DEVICE} -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL -j MASQUERADE --random-fully`]
      : []),
    ...(t.natOutgoing ? [`-A cali-nat-outgoing -m set --match-set ${MASQ_POOLS_SET} src -m set ! --match-set ${ALL_POOLS_SET} dst -j MASQUERADE --random-fully`] : []),
    ...kp.nat.rules,
    'COMMIT',
  ];
  const text = `${[...filter, ...nat].join('\n')}\n`;
  return Object.fromEntries(t.nodes.map((n) => [n.name, { iptablesRestore: text, ipsetRestore: `${ipset}\n` }]));
}
