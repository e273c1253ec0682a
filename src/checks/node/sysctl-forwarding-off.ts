/**
 * sysctl.forwarding-off: the node does not route. `net.ipv4.ip_forward = 0` (or the per-interface
 * `net.ipv4.conf.<iface>.forwarding = 0` on a pod veth, the underlay or a tunnel, which the kernel
 * checks for the interface a packet arrives on) stops every pod flow through the node, including
 * between two pods of the same node. IPv6 pods need `net.ipv6.conf.all.forwarding = 1`. Seeds C1, C3, S10.
 */
import type { Evidence } from '../../model/evidence.js';
import { ifaceSetting, ipForwarding } from '../../model/sysctl.js';
import type { Check, CheckResult } from '../types.js';
import { listText, localEndpoints, missing, notChecked, plural, remediation, sysctlEv, tunnelKind, underlayIface } from './common.js';

const ID = 'sysctl.forwarding-off';

export const sysctlForwardingOff: Check = {
  id: ID,
  category: 'interfaces',
  severity: 'error',
  title: 'IP forwarding is off',
  seeds: ['C1', 'C3', 'S10'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    const model = ctx.policy();
    const v6Pods = b.cluster.ipPools.some((p) => !p.spec.disabled && (p.spec.ipVersion === 6 || p.spec.cidr.includes(':')));
    for (const n of b.nodes) {
      const s = n.sysctl;
      if (!s) {
        out.notChecked.push(notChecked(ID, missing(n, 'sysctl'), n.name));
        continue;
      }
      const eps = localEndpoints(model, n.name);
      const f4 = ipForwarding(s, 4);
      if (!f4) out.notChecked.push(notChecked(ID, `the sysctl capture of ${n.name} has no net.ipv4.ip_forward`, n.name));
      else if (f4.num === 0) {
        out.findings.push({
          check: ID,
          severity: 'error',
          category: 'interfaces',
          title: `IPv4 forwarding is off on ${n.name}`,
          explanation: `net.ipv4.ip_forward = 0: ${n.name} does not route packets between interfaces. Every flow to or from its ${eps.length ? plural(eps.length, 'pod') : 'pods'} that crosses the host fails — to other nodes, to Services, to the outside, and between two pods of this node (they talk through the host).`,
          node: n.name,
          subject: 'net.ipv4.ip_forward',
          evidence: [sysctlEv(b, n, f4.key, f4.line, f4.value)],
          remediation: remediation(
            `Turn forwarding back on and find what turned it off (a sysctl.d file, a hardening profile, a network manager restart).`,
            [`sysctl net.ipv4.ip_forward  # on ${n.name}`, `grep -r ip_forward /etc/sysctl.conf /etc/sysctl.d/  # on ${n.name}`],
            [`sysctl -w net.ipv4.ip_forward=1  # on ${n.name}`, `echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/90-calico.conf  # on ${n.name}, to persist`],
          ),
        });
        continue;
      } else {
        // Per-interface forwarding on the interfaces pod traffic arrives on.
        const ifaces = new Map<string, string>();
        for (const e of eps) ifaces.set(e.interfaceName, `veth of ${e.id}`);
        const ul = underlayIface(b, n);
        if (ul) ifaces.set(ul.iface.name, 'underlay');
        for (const i of n.interfaces ?? []) if (tunnelKind(i)) ifaces.set(i.name, 'tunnel');
        const off: { name: string; role: string; ev: Evidence }[] = [];
        for (const [name, role] of ifaces) {
          const v = ifaceSetting(s, name, 'forwarding');
          if (v && v.num === 0) off.push({ name, role, ev: sysctlEv(b, n, v.key, v.line, v.value, role) });
        }
        if (off.length) {
          out.findings.push({
            check: ID,
            severity: 'error',
            category: 'interfaces',
            title: `Forwarding is off on ${listText(off.map((o) => o.name), 2)} on ${n.name}`,
            explanation: `net.ipv4.ip_forward is 1, but net.ipv4.conf.<iface>.forwarding = 0 on ${listText(off.map((o) => `${o.name} (${o.role})`), 4)}. The kernel refuses to forward packets that arrive on such an interface, so pod traffic entering there is dropped.`,
            node: n.name,
            subject: off[0].name,
            evidence: off.slice(0, 8).map((o) => o.ev),
            remediation: remediation(
              `Enable forwarding on those interfaces.`,
              off.slice(0, 3).map((o) => `sysctl net.ipv4.conf.${o.name}.forwarding  # on ${n.name}`),
              off.slice(0, 3).map((o) => `sysctl -w net.ipv4.conf.${o.name}.forwarding=1  # on ${n.name}`),
            ),
          });
        }
      }
      const hasV6 = v6Pods || eps.some((e) => e.ips.some((ip) => ip.includes(':')));
      if (hasV6) {
        const f6 = ipForwarding(s, 6);
        if (f6 && f6.num === 0) {
          out.findings.push({
            check: ID,
            severity: 'error',
            category: 'interfaces',
            title: `IPv6 forwarding is off on ${n.name}`,
            explanation: `The cluster has IPv6 pod addresses, but net.ipv6.conf.all.forwarding = 0 on ${n.name}: IPv6 pod traffic through the host is not routed.`,
            node: n.name,
            subject: 'net.ipv6.conf.all.forwarding',
            evidence: [sysctlEv(b, n, f6.key, f6.line, f6.value)],
            remediation: remediation(`Enable IPv6 forwarding.`, [`sysctl net.ipv6.conf.all.forwarding  # on ${n.name}`], [`sysctl -w net.ipv6.conf.all.forwarding=1  # on ${n.name}`]),
          });
        }
      }
    }
    return out;
  },
};
