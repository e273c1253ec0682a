/**
 * tunnel.missing: an IP pool that applies to the node encapsulates (vxlanMode / ipipMode Always or
 * CrossSubnet) but the node has no vxlan.calico (vxlan-v6.calico) / tunl0, or routes point at a
 * tunnel device that does not exist. Felix creates the devices when a pool needs them (unless
 * FelixConfiguration turns the encapsulation off); without one, encapsulated cross-node traffic
 * has nowhere to go. Seeds C2, S10, F3.
 */
import type { Evidence } from '../../model/evidence.js';
import type { IPPool } from '../../model/resources.js';
import { parseSelectorCached } from '../../calico/selector/index.js';
import type { Check, CheckResult } from '../types.js';
import { dedupe, fieldEv, ifaceArtifact, listText, missing, notChecked, remediation, restartCalicoNode, routeDevs, routeEv, tunnelKind, underlayIface } from './common.js';
import { parsePrefix } from '../../model/ipset.js';
import { prefixContains } from './common.js';

const ID = 'tunnel.missing';

const TUNNEL_NAME = /^(vxlan\.calico|vxlan-v6\.calico|tunl0|wireguard\.cali|wg-v6\.cali)$/;

export const tunnelMissing: Check = {
  id: ID,
  category: 'interfaces',
  severity: 'error',
  title: 'An encapsulating pool has no tunnel device on the node',
  seeds: ['C2', 'S10', 'F3'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const c = b.cluster;
    const out: CheckResult = { findings: [], notChecked: [] };
    const global = c.felixConfigurations.find((f) => f.spec.scope === 'global');
    for (const n of b.nodes) {
      if (!n.interfaces) {
        out.notChecked.push(notChecked(ID, missing(n, 'ip-addr or ip-link'), n.name));
        continue;
      }
      const labels = { ...(c.calicoNodes.find((x) => x.metadata.name === n.name)?.metadata.labels ?? {}), ...(c.nodes.find((x) => x.metadata.name === n.name)?.metadata.labels ?? {}) };
      const applies = (p: IPPool) => {
        const sel = p.spec.nodeSelector?.trim() || 'all()';
        if (sel === 'all()') return true;
        const r = parseSelectorCached(sel);
        return r.ok ? r.selector.matches(labels) : true;
      };
      const nodeCfg = c.felixConfigurations.find((f) => f.spec.scope === 'node' && f.spec.scopeNode === n.name);
      const ul = underlayIface(b, n);
      const otherSubnet = c.calicoNodes
        .filter((x) => x.metadata.name !== n.name)
        .some((x) => {
          const ip = x.spec.bgp?.ipv4Address?.split('/')[0];
          return !!ip && !!ul && !ul.iface.addrs.some((a) => a.family === 4 && (() => { const p = parsePrefix(`${a.address}/${a.prefixLen}`); return !!p && prefixContains(p, ip); })());
        });
      const needs: { kind: 'vxlan' | 'ipip'; v6: boolean; dev: string; pools: IPPool[]; always: boolean }[] = [];
      for (const kind of ['vxlan', 'ipip'] as const) {
        for (const v6 of [false, true]) {
          if (kind === 'ipip' && v6) continue;
          const pools = c.ipPools.filter((p) => !p.spec.disabled && (kind === 'vxlan' ? p.spec.vxlanMode : p.spec.ipipMode) !== 'Never' && (p.spec.ipVersion === 6 || p.spec.cidr.includes(':')) === v6 && applies(p));
          if (pools.length === 0) continue;
          const always = pools.some((p) => (kind === 'vxlan' ? p.spec.vxlanMode : p.spec.ipipMode) === 'Always');
          needs.push({ kind, v6, dev: kind === 'ipip' ? 'tunl0' : v6 ? 'vxlan-v6.calico' : 'vxlan.calico', pools, always });
        }
      }
      for (const need of needs) {
        const present = n.interfaces.some((i) => tunnelKind(i) === need.kind && (need.kind !== 'vxlan' || i.name.includes('v6') === need.v6));
        if (present) continue;
        const enabledKey = need.kind === 'vxlan' ? (need.v6 ? 'vxlanEnabledV6' : 'vxlanEnabled') : 'ipipEnabled';
        const cfg = [nodeCfg, global].find((f) => f && f.spec.raw[enabledKey] !== undefined);
        const off = cfg && cfg.spec.raw[enabledKey] === false;
        const evidence: Evidence[] = need.pools.slice(0, 3).map((p) => fieldEv(b, p.source, need.kind === 'vxlan' ? 'vxlanMode' : 'ipipMode', `IPPool ${p.metadata.name}: ${need.kind}Mode ${need.kind === 'vxlan' ? p.spec.vxlanMode : p.spec.ipipMode}`));
        evidence.push({ artifact: ifaceArtifact(n), node: n.name, note: `no ${need.dev} among ${n.interfaces.length} interfaces of ${n.name}` });
        if (off && cfg) evidence.push(fieldEv(b, cfg.source, enabledKey, `FelixConfiguration ${cfg.metadata.name}: ${enabledKey}: false`));
        const severe = need.always || otherSubnet;
        out.findings.push({
          check: ID,
          severity: severe ? 'error' : 'warning',
          category: 'interfaces',
          title: `${n.name} has no ${need.dev} for ${need.kind === 'vxlan' ? 'VXLAN' : 'IP-in-IP'} pool ${listText(need.pools.map((p) => p.metadata.name), 2)}`,
          explanation:
            `Pool ${listText(need.pools.map((p) => `${p.metadata.name} (${p.spec.cidr})`), 3)} ${need.always ? 'always encapsulates' : 'encapsulates between subnets'} with ${need.kind === 'vxlan' ? 'VXLAN' : 'IP-in-IP'}, but ${n.name} has no ${need.dev}. ` +
            (off ? `FelixConfiguration ${cfg!.metadata.name} sets ${enabledKey}: false, so Felix does not create it. ` : `Felix creates it when it runs and knows the pool; it is missing when calico-node is not running on ${n.name}, or its tunnel address was never assigned. `) +
            (severe ? `Cross-node pod traffic from and to ${n.name} cannot be encapsulated and fails.` : `All nodes seem to share one subnet, so traffic is not encapsulated today; nodes added in another subnet would fail.`),
          node: n.name,
          subject: need.dev,
          evidence: dedupe(evidence),
          remediation: remediation(
            off ? `Remove ${enabledKey}: false from the FelixConfiguration (Felix then creates ${need.dev}).` : `Get calico-node running and in sync on ${n.name}; check that the Node resource has its tunnel address.`,
            [`ip -d link show ${need.dev}  # on ${n.name}`, `calicoctl get node ${n.name} -o yaml  # spec.${need.kind === 'vxlan' ? 'ipv4VXLANTunnelAddr' : 'bgp.ipv4IPIPTunnelAddr'}`],
            off ? [`calicoctl patch felixconfiguration ${cfg!.metadata.name} --patch '{"spec":{"${enabledKey}":true}}'`] : [restartCalicoNode(c, n.name)],
          ),
        });
      }
      // Routes through a tunnel device the node does not have.
      const names = new Set(n.interfaces.map((i) => i.name));
      const dangling = (n.routes ?? []).filter((r) => r.table !== 'local' && routeDevs(r).some((d) => TUNNEL_NAME.test(d) && !names.has(d)));
      if (dangling.length > 0) {
        const devs = [...new Set(dangling.flatMap((r) => routeDevs(r).filter((d) => TUNNEL_NAME.test(d) && !names.has(d))))];
        out.findings.push({
          check: ID,
          severity: 'error',
          category: 'interfaces',
          title: `Routes on ${n.name} use ${listText(devs, 2)}, which does not exist`,
          explanation: `${dangling.length} route(s) send traffic through ${listText(devs)}, but the interface capture of ${n.name} has no such device (captured at another moment, or the device was deleted under Felix/BIRD). Traffic on these routes cannot leave.`,
          node: n.name,
          subject: devs[0],
          evidence: dedupe([...dangling.slice(0, 4).map((r) => routeEv(b, n, r, `route via ${routeDevs(r).join(', ')}`)), { artifact: ifaceArtifact(n), node: n.name, note: `no ${devs.join(', ')} on ${n.name}` }]),
          remediation: remediation(`Restart calico-node on ${n.name} so Felix recreates the device and its routes.`, devs.map((d) => `ip -d link show ${d}  # on ${n.name}`), [restartCalicoNode(c, n.name)]),
        });
      }
    }
    return out;
  },
};
