/**
 * perf.encapsulation-overhead: a pool encapsulates always (vxlanMode / ipipMode Always) although
 * all nodes share one subnet, where CrossSubnet would send pod traffic unencapsulated: every
 * cross-node packet pays the extra header (VXLAN 50 bytes, IP-in-IP 20), the pod MTU is lowered
 * by as much, and encapsulation costs CPU. Seeds C10, C11, F6.
 */
import { parsePrefix, type ParsedPrefix } from '../../model/ipset.js';
import type { Check, CheckResult } from '../types.js';
import { fieldEv, listText, nodeIPv4, notChecked, prefixContains, remediation, underlayIface, encapOverhead } from './common.js';

const ID = 'perf.encapsulation-overhead';

export const perfEncapsulationOverhead: Check = {
  id: ID,
  category: 'performance',
  severity: 'info',
  title: 'Encapsulation where CrossSubnet would avoid it',
  seeds: ['C10', 'C11', 'F6'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const c = b.cluster;
    const out: CheckResult = { findings: [], notChecked: [] };
    const always = c.ipPools.filter((p) => !p.spec.disabled && (p.spec.vxlanMode === 'Always' || p.spec.ipipMode === 'Always') && !p.spec.cidr.includes(':'));
    if (always.length === 0) return out;
    // Node subnets: the address with its prefix length (Calico Node / annotation, else the node's interface).
    const names = [...new Set([...c.calicoNodes.map((x) => x.metadata.name), ...c.nodes.map((x) => x.metadata.name), ...b.nodes.map((x) => x.name)])];
    const subnets: { node: string; ip: string; net?: ParsedPrefix }[] = [];
    for (const name of names) {
      const a = nodeIPv4(c, name);
      const bn = b.nodes.find((x) => x.name === name);
      const ul = bn ? underlayIface(b, bn) : undefined;
      const addr = ul?.iface.addrs.find((x) => x.family === 4 && (!a || x.address === a.ip));
      const ip = a?.ip ?? addr?.address;
      const len = a?.prefixLen ?? addr?.prefixLen;
      if (!ip) continue;
      subnets.push({ node: name, ip, net: len !== undefined ? parsePrefix(`${ip}/${len}`) : undefined });
    }
    if (subnets.length < 2 || subnets.some((s) => !s.net)) {
      out.notChecked.push(notChecked(ID, `the subnets of the nodes are not known (${subnets.filter((s) => s.net).length} of ${names.length} nodes have an address with a prefix length)`));
      return out;
    }
    const oneSubnet = subnets.every((s) => subnets.every((o) => prefixContains(s.net!, o.ip)));
    if (!oneSubnet) return out;
    const mtu = b.nodes.map((n) => underlayIface(b, n)?.iface.mtu).find((m) => m !== undefined) ?? 1500;
    for (const p of always) {
      const kind = p.spec.vxlanMode === 'Always' ? 'vxlan' : 'ipip';
      const field = kind === 'vxlan' ? 'vxlanMode' : 'ipipMode';
      const over = encapOverhead(kind);
      const pct = Math.round((over / mtu) * 1000) / 10;
      out.findings.push({
        check: ID,
        severity: 'info',
        category: 'performance',
        title: `Pool ${p.metadata.name} always encapsulates (${kind === 'vxlan' ? 'VXLAN' : 'IP-in-IP'}, ${over} bytes per packet) though all ${subnets.length} nodes share ${subnets[0].net!.text}/${subnets[0].net!.prefixLen}`,
        explanation: `${field}: Always wraps every cross-node pod packet in ${over} extra bytes (${pct}% of a ${mtu}-byte packet; the pod MTU drops to ${mtu - over}), and costs CPU for encapsulation and decapsulation on both nodes. All nodes (${listText(subnets.map((s) => `${s.node} ${s.ip}`), 3)}) are in one subnet, so with ${field}: CrossSubnet pod traffic would go unencapsulated — provided the network delivers packets with pod source addresses between nodes (on AWS, disable the instances' source/destination check).`,
        subject: p.metadata.name,
        evidence: [fieldEv(b, p.source, field, `IPPool ${p.metadata.name}: ${field} Always`)],
        remediation: remediation(
          `Switch the pool to CrossSubnet once the underlay accepts pod addresses between nodes; then raise the pod MTU by ${over} bytes.`,
          [`calicoctl get ippool ${p.metadata.name} -o yaml`, `ip -o -4 addr show  # on each node: one subnet?`],
          [`calicoctl patch ippool ${p.metadata.name} --patch '{"spec":{"${field}":"CrossSubnet"}}'`],
          `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${p.metadata.name}\nspec:\n  cidr: ${p.spec.cidr}\n  ${field}: CrossSubnet\n`,
        ),
      });
    }
    return out;
  },
};
