/**
 * iface.proxy-arp-off: proxy_arp is 0 on a pod's cali interface. Calico pods route everything
 * via the link-local gateway 169.254.1.1, which no host owns: the host-side veth answers the
 * pod's ARP for it only with proxy_arp=1 (Felix sets it). Without it the pod cannot send a single
 * packet. The kernel ORs conf.all with conf.<iface>. Seeds C1, S10, M3.
 */
import type { Evidence } from '../../model/evidence.js';
import { effectiveIfaceSetting, ifaceSetting } from '../../model/sysctl.js';
import type { Check, CheckResult } from '../types.js';
import { dedupe, epEv, listText, localEndpoints, missing, notChecked, plural, remediation, restartCalicoNode, sysctlEv } from './common.js';

const ID = 'iface.proxy-arp-off';

export const ifaceProxyArpOff: Check = {
  id: ID,
  category: 'interfaces',
  severity: 'error',
  title: "proxy_arp is off on a pod's interface",
  seeds: ['C1', 'S10', 'M3'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    const model = ctx.policy();
    for (const n of b.nodes) {
      const eps = localEndpoints(model, n.name).filter((e) => e.ips.some((ip) => !ip.includes(':')));
      if (eps.length === 0) continue;
      if (!n.sysctl) {
        out.notChecked.push(notChecked(ID, missing(n, 'sysctl'), n.name));
        continue;
      }
      const off: { id: string; iface: string; evidence: Evidence[] }[] = [];
      let unknown = 0;
      for (const e of eps) {
        const dev = ifaceSetting(n.sysctl, e.interfaceName, 'proxy_arp');
        if (!dev) {
          unknown++;
          continue;
        }
        const eff = effectiveIfaceSetting(n.sysctl, e.interfaceName, 'proxy_arp');
        if (!eff || eff.num !== 0) continue;
        off.push({
          id: e.id,
          iface: e.interfaceName,
          evidence: [sysctlEv(b, n, dev.key, dev.line, dev.value, `proxy_arp on ${e.interfaceName}, the veth of ${e.id}`), epEv(b, e, e.ips.find((ip) => !ip.includes(':')), `${e.from} ${e.id}`)],
        });
      }
      if (unknown > 0 && unknown === eps.length) out.notChecked.push(notChecked(ID, `the sysctl capture of ${n.name} has no net.ipv4.conf.<iface> keys for its ${plural(unknown, 'pod interface')}`, n.name));
      if (off.length === 0) continue;
      const first = off[0];
      out.findings.push({
        check: ID,
        severity: 'error',
        category: 'interfaces',
        title: `proxy_arp is off on ${off.length === 1 ? `${first.iface} (pod ${first.id})` : plural(off.length, 'pod interface')} on ${n.name}`,
        explanation:
          `${listText(off.map((o) => `${o.iface} (${o.id})`), 3)} ${off.length === 1 ? 'has' : 'have'} net.ipv4.conf.<iface>.proxy_arp = 0. ` +
          `A Calico pod sends all traffic to its gateway 169.254.1.1; only proxy ARP on the host-side veth answers for that address. With it off the pod's ARP goes unanswered and ${off.length === 1 ? 'the pod' : 'these pods'} cannot send anything — every flow from ${off.length === 1 ? 'it' : 'them'} fails, and flows to ${off.length === 1 ? 'it' : 'them'} fail at the reply.`,
        node: n.name,
        subject: first.id,
        evidence: dedupe(off.flatMap((o) => o.evidence).slice(0, 10)),
        remediation: remediation(
          `Set proxy_arp back to 1 on the veth (Felix does this when it configures the endpoint; a host tuning script or sysctl.d file may be resetting it).`,
          [`sysctl net.ipv4.conf.${first.iface}.proxy_arp  # on ${n.name}`, `kubectl exec -n ${first.id.split('/')[0]} ${first.id.split('/')[1]} -- ip neigh show 169.254.1.1`],
          [...off.slice(0, 5).map((o) => `sysctl -w net.ipv4.conf.${o.iface}.proxy_arp=1  # on ${n.name}`), `${restartCalicoNode(b.cluster, n.name)}  # Felix re-applies interface settings`],
        ),
      });
    }
    return out;
  },
};
