/**
 * nat.outgoing-disabled: pods leave the cluster with their pod address, so replies from outside
 * have no way back (C3). Either the pool has natOutgoing off (warning: fine only when the
 * network routes the pool), or it is on but the node does not masquerade: the MASQUERADE rule in
 * cali-nat-outgoing is missing, or the masq IP set lacks the pool CIDR (error). The second is
 * found by running a pod → external packet through the node's nat POSTROUTING with the engine.
 * Seeds C3, F1.
 */
import type { Evidence } from '../../model/evidence.js';
import { FixedChooser } from '../../engine/netfilter/env.js';
import { runHook } from '../../engine/netfilter/evaluate.js';
import { newPacket } from '../../engine/packet.js';
import type { IPPool } from '../../model/resources.js';
import type { Check, CheckResult } from '../types.js';
import {
  bpfMode,
  dedupe,
  ev,
  fieldEv,
  hasCalicoChains,
  iptRuleEv,
  iptablesArtifact,
  listText,
  localEndpoints,
  missing,
  notChecked,
  plural,
  poolInfos,
  poolOf,
  remediation,
  restartCalicoNode,
} from './common.js';

const ID = 'nat.outgoing-disabled';
const EXTERNAL = '8.8.8.8';

function poolPatch(p: IPPool): string {
  return `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${p.metadata.name}\nspec:\n  cidr: ${p.spec.cidr}\n  natOutgoing: true\n`;
}

export const natOutgoingDisabled: Check = {
  id: ID,
  category: 'nat',
  severity: 'error',
  title: 'Pod traffic to the outside is not masqueraded',
  seeds: ['C3', 'F1'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    const rt = ctx.runtime();
    const model = ctx.policy();
    const pools = poolInfos(b.cluster).filter((p) => p.family === 4 && !p.pool.spec.disabled);
    if (pools.length === 0) {
      out.notChecked.push(notChecked(ID, 'no IPv4 IP pool in the cluster resources'));
      return out;
    }
    // Pods per pool, across the bundle.
    const podsByPool = new Map<IPPool, { node: string; ip: string; id: string; iface: string }[]>();
    for (const e of model.endpoints) {
      if (e.kind !== 'workload' || !e.node) continue;
      for (const ip of e.ips) {
        const p = poolOf(pools, ip);
        if (p) podsByPool.set(p.pool, [...(podsByPool.get(p.pool) ?? []), { node: e.node, ip, id: e.id, iface: e.interfaceName }]);
      }
    }
    // 1. Pools without natOutgoing that hold pods.
    // With external BGP peers an exported pool is routed back by the network: no NAT needed.
    const externalBgp = b.cluster.bgpPeers.length > 0;
    for (const { pool } of pools) {
      const pods = podsByPool.get(pool) ?? [];
      if (pool.spec.natOutgoing || pods.length === 0 || (externalBgp && !pool.spec.disableBGPExport)) continue;
      const defaulted = pool.spec.defaulted.includes('natOutgoing');
      out.findings.push({
        check: ID,
        severity: 'warning',
        category: 'nat',
        title: `IP pool ${pool.metadata.name} (${pool.spec.cidr}) has natOutgoing off; ${plural(pods.length, 'pod')} use it`,
        explanation: `Pods in ${pool.spec.cidr} (${listText([...new Set(pods.map((p) => p.id))], 3)}) reach addresses outside the cluster with their pod address as source. Unless the network routes ${pool.spec.cidr} back to the nodes (BGP to the routers, cloud routes), the replies never arrive: external access fails while in-cluster traffic works.`,
        subject: pool.metadata.name,
        evidence: [defaulted ? ev(b, undefined, pool.source.artifact, pool.source.line, `IPPool ${pool.metadata.name}: natOutgoing not set (default false)`) : fieldEv(b, pool.source, 'natOutgoing', `IPPool ${pool.metadata.name}: natOutgoing false`)],
        remediation: remediation(
          `Enable natOutgoing on the pool (or advertise the pool to the network so replies are routed back).`,
          [`calicoctl get ippool ${pool.metadata.name} -o yaml`, `kubectl exec -n ${pods[0].id.split('/')[0]} ${pods[0].id.split('/')[1]} -- wget -qO- -T 3 http://example.com`],
          [`calicoctl patch ippool ${pool.metadata.name} --patch '{"spec":{"natOutgoing":true}}'`],
          poolPatch(pool),
        ),
      });
    }
    // 2. Pools with natOutgoing whose pods are not masqueraded on their node.
    for (const n of b.nodes) {
      const eps = localEndpoints(model, n.name);
      const mine = pools.filter((p) => p.pool.spec.natOutgoing && eps.some((e) => e.ips.some((ip) => poolOf(pools, ip) === p)));
      if (mine.length === 0) continue;
      if (bpfMode(b.cluster, n.name)) {
        out.notChecked.push(notChecked(ID, `Felix runs in eBPF mode on ${n.name}: NAT outgoing is not in iptables`, n.name));
        continue;
      }
      if (!n.iptables) {
        out.notChecked.push(notChecked(ID, missing(n, 'iptables-save'), n.name));
        continue;
      }
      if (!hasCalicoChains(n, 'nat')) {
        out.notChecked.push(notChecked(ID, `no Calico chains in the nat table of ${n.name} (Felix not running, or in nftables/eBPF mode)`, n.name));
        continue;
      }
      const nr = rt.nodes.get(n.name)!;
      const rs = nr.rules4;
      if (!rs) continue;
      const artifact = iptablesArtifact(n);
      const out4 = nr.routing.lookup({ family: 4, dst: EXTERNAL });
      for (const p of mine) {
        const ep = eps.find((e) => e.ips.some((ip) => poolOf(pools, ip) === p))!;
        const src = ep.ips.find((ip) => poolOf(pools, ip) === p)!;
        const pkt = newPacket({ src, dst: EXTERNAL, proto: 6, dport: 443 });
        pkt.inIface = ep.interfaceName;
        pkt.outIface = out4.kind === 'unicast' ? out4.dev : undefined;
        const h = runHook(rs, 'POSTROUTING', pkt, nr.env, new FixedChooser(false), { record: false });
        const masq = h.nat.some((x) => x.kind === 'MASQUERADE' || x.kind === 'SNAT') || (h.fate === 'indeterminate' && (h.decision?.rule?.target?.kind === 'MASQUERADE' || h.decision?.rule?.target?.kind === 'SNAT'));
        if (masq) continue;
        const evidence: Evidence[] = [fieldEv(b, p.pool.source, 'natOutgoing', `IPPool ${p.pool.metadata.name}: natOutgoing true`)];
        const chain = n.iptables.tables.get('nat')?.chains.get('cali-nat-outgoing');
        const rule = chain?.rules.find((r) => r.target?.kind === 'MASQUERADE' || r.target?.kind === 'SNAT');
        let why: string;
        if (!chain) {
          why = 'the nat table has no cali-nat-outgoing chain';
          evidence.push({ artifact, node: n.name, note: 'no cali-nat-outgoing chain in the nat table' });
        } else if (!rule) {
          why = 'cali-nat-outgoing has no MASQUERADE rule (Felix renders it only for pools it sees with natOutgoing)';
          evidence.push({ ...ev(b, n.name, artifact, chain.line, 'cali-nat-outgoing: empty of MASQUERADE rules'), text: `:cali-nat-outgoing - (${chain.rules.length} rules)` });
        } else {
          evidence.push(iptRuleEv(b, n, artifact, rule, 'the MASQUERADE rule, which the packet does not match'));
          const sets = rule.matches.filter((m) => m.kind === 'set' && !m.negate && m.dirs[0] === 'src').map((m) => (m.kind === 'set' ? m.setName : ''));
          const set = sets[0] ? n.ipsets?.sets.get(sets[0]) : undefined;
          if (sets[0] && !n.ipsets) why = `the MASQUERADE rule matches sources in ${sets[0]}, and the bundle has no ipset capture to say whether ${p.pool.spec.cidr} is in it`;
          else if (sets[0] && !set) {
            why = `the MASQUERADE rule matches sources in IP set ${sets[0]}, which does not exist`;
            evidence.push({ artifact: n.artifacts.ipset ?? `nodes/${n.name}/ipset.txt`, node: n.name, note: `no set ${sets[0]}` });
          } else if (set) {
            why = `IP set ${set.name} does not contain ${p.pool.spec.cidr} (${plural(set.members.length, 'member')}: ${listText(set.members.map((m) => m.raw), 3)})`;
            evidence.push(ev(b, n.name, n.artifacts.ipset ?? `nodes/${n.name}/ipset.txt`, set.line, `${set.name} lacks ${p.pool.spec.cidr}`));
          } else why = `the packet ${src} → ${EXTERNAL} does not match it`;
        }
        out.findings.push({
          check: ID,
          severity: 'error',
          category: 'nat',
          title: `Pods of pool ${p.pool.metadata.name} are not masqueraded on ${n.name}`,
          explanation: `Pool ${p.pool.metadata.name} (${p.pool.spec.cidr}) has natOutgoing: true, but on ${n.name} a packet from ${ep.id} (${src}) to ${EXTERNAL} leaves without source NAT: ${why}. External replies go to the pod address and are lost; pods on ${n.name} cannot reach the outside.`,
          node: n.name,
          subject: p.pool.metadata.name,
          evidence: dedupe(evidence),
          remediation: remediation(
            `Felix programs the MASQUERADE rule and the masq IP set from the pools it sees: restart calico-node on ${n.name} and check Felix's logs for errors.`,
            [`iptables -t nat -S cali-nat-outgoing  # on ${n.name}`, `ipset list cali40masq-ipam-pools  # on ${n.name}`],
            [restartCalicoNode(b.cluster, n.name)],
          ),
        });
      }
    }
    return out;
  },
};
