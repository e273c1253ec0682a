/**
 * sysctl.rp-filter-strict: strict reverse-path filtering (rp_filter = 1, the max of conf.all and
 * conf.<iface>) on an interface where pod traffic from another node arrives while the route back
 * to those pods leaves by another interface: the kernel drops such packets as martians. The path
 * is taken from the sending node's own routing when it is in the bundle (so policy routing and
 * second links are seen); otherwise it is assumed from the pool's encapsulation (warning). Pod
 * veths are not reported here: their /32 is symmetric by construction (see route.* checks).
 * Seeds C1, C2, S10.
 */
import type { Bundle, NodeData } from '../../model/bundle.js';
import type { Evidence } from '../../model/evidence.js';
import type { IpInterface } from '../../model/iproute.js';
import { parseAddr, parsePrefix } from '../../model/ipset.js';
import { effectiveRpFilter, getSysctlNumber, sysctlKey, type EffectiveSetting } from '../../model/sysctl.js';
import type { RouteDecision } from '../../engine/routing.js';
import type { NodeRuntime, Runtime } from '../../trace/runtime.js';
import type { Check, CheckResult } from '../types.js';
import {
  addrFamily,
  allBlocks,
  blocksOf,
  dedupe,
  listText,
  localEndpoints,
  missing,
  nodeIPv4,
  notChecked,
  poolOf,
  poolInfos,
  prefixContains,
  remediation,
  routeEv,
  ruleEv,
  sysctlEv,
  tunnelKind,
  underlayIface,
  type BlockInfo,
} from './common.js';
import { decisionText } from './routes.js';
import type { Endpoint } from '../../calico/endpoints.js';

const ID = 'sysctl.rp-filter-strict';

function connected(address: string, prefixLen: number, ip: string): boolean {
  const p = parsePrefix(`${address}/${prefixLen}`);
  return !!p && prefixContains(p, ip);
}

interface Hit {
  sender: string;
  src: string;
  dst: string;
  back: RouteDecision;
  send?: { node: NodeData; d: RouteDecision };
  assumed?: string;
}

/** One address per block of a node: a pod's when there is one (policy rules may match it), else the block's first. */
function samples(blocks: BlockInfo[], eps: Endpoint[]): { ip: string; iface?: string }[] {
  const out: { ip: string; iface?: string }[] = [];
  for (const blk of blocks) {
    const e = eps.find((x) => x.ips.some((ip) => prefixContains(blk.prefix, ip)));
    const ip = e?.ips.find((x) => prefixContains(blk.prefix, x));
    out.push(ip ? { ip, iface: e!.interfaceName } : { ip: blk.prefix.text });
  }
  return out;
}

function tunnelOf(nr: NodeRuntime, kind: 'vxlan' | 'ipip' | 'wireguard', family: 4 | 6): IpInterface | undefined {
  return [...nr.interfaces.values()].find((i) => tunnelKind(i) === kind && (kind !== 'vxlan' || i.name.includes('v6') === (family === 6)));
}

/** The interface of `recv` a packet sent by `send` with decision `d` arrives on. */
function arrival(rt: Runtime, send: NodeRuntime, recv: NodeRuntime, d: RouteDecision, dst: string): string | undefined {
  const dev = d.dev ? send.interfaces.get(d.dev) : undefined;
  const tk = dev ? tunnelKind(dev) : d.dev ? tunnelKind({ name: d.dev }) : undefined;
  if (tk) return tunnelOf(recv, tk, addrFamily(dst))?.name;
  const owner = rt.addressOwner.get(parseAddr(d.gateway ?? dst)?.text ?? '');
  return owner && owner.node === recv.name ? owner.iface : undefined;
}

export const sysctlRpFilterStrict: Check = {
  id: ID,
  category: 'interfaces',
  severity: 'error',
  title: 'Strict rp_filter drops pod traffic on an asymmetric path',
  seeds: ['C1', 'C2', 'S10'],
  run(ctx): CheckResult {
    const b: Bundle = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    const rt = ctx.runtime();
    const model = ctx.policy();
    const pools = poolInfos(b.cluster);
    const inBundle = new Set(b.nodes.map((n) => n.name));
    // One sample address per block of every node (computed once: used for every receiver).
    const sampleOf = new Map(b.nodes.map((n) => [n.name, samples(blocksOf(b, n.name), localEndpoints(model, n.name))]));
    for (const n of b.nodes) {
      if (!n.sysctl) {
        out.notChecked.push(notChecked(ID, missing(n, 'sysctl'), n.name));
        continue;
      }
      if (!n.routes) {
        out.notChecked.push(notChecked(ID, missing(n, 'ip-route'), n.name));
        continue;
      }
      const recv = rt.nodes.get(n.name)!;
      const sysctl = n.sysctl;
      const strictCache = new Map<string, EffectiveSetting | undefined>();
      const strict = (iface: string) => {
        if (!strictCache.has(iface)) {
          const e = effectiveRpFilter(sysctl, iface);
          strictCache.set(iface, e && e.num === 1 ? e : undefined);
        }
        return strictCache.get(iface);
      };
      const validMark = (iface: string) => (getSysctlNumber(sysctl, sysctlKey('net', 'ipv4', 'conf', iface, 'src_valid_mark'))?.num ?? getSysctlNumber(sysctl, 'net.ipv4.conf.all.src_valid_mark')?.num ?? 0) > 0;
      const dsts = [...sampleOf.get(n.name)!];
      if (dsts.length === 0) for (const e of localEndpoints(model, n.name).slice(0, 1)) dsts.push({ ip: e.ips[0], iface: e.interfaceName });
      if (dsts.length === 0) continue;
      const hits = new Map<string, Hit[]>();
      const check = (iface: string, h: Omit<Hit, 'back'>) => {
        if (addrFamily(h.src) !== 4 || !strict(iface)) return;
        const ok = recv.routing.reversePath({ family: 4, src: h.src, dst: h.dst, inIface: iface, mark: 0 }, { loose: false, validmark: validMark(iface), acceptLocal: false });
        if (ok !== false) return;
        const back = recv.routing.lookup({ family: 4, dst: h.src, src: h.dst, iif: iface });
        const l = hits.get(iface) ?? [];
        l.push({ ...h, back });
        hits.set(iface, l);
      };

      // Senders in the bundle: follow their routing.
      for (const s of b.nodes) {
        if (s.name === n.name || !s.routes) continue;
        const send = rt.nodes.get(s.name)!;
        for (const src of sampleOf.get(s.name)!) {
          for (const dst of dsts) {
            if (addrFamily(src.ip) !== addrFamily(dst.ip)) continue;
            const d = send.routing.lookup({ family: addrFamily(dst.ip), dst: dst.ip, src: src.ip, iif: src.iface });
            if (d.kind !== 'unicast') continue;
            const iface = arrival(rt, send, recv, d, dst.ip);
            if (iface) check(iface, { sender: s.name, src: src.ip, dst: dst.ip, send: { node: s, d } });
          }
        }
      }
      // Senders outside the bundle: assume the path the pool's encapsulation implies.
      const ul = underlayIface(b, n);
      for (const blk of allBlocks(b)) {
        if (blk.node === n.name || inBundle.has(blk.node) || blk.prefix.family !== 'inet') continue;
        const pool = poolOf(pools, blk.prefix.text)?.pool;
        if (!pool) continue;
        const peerIp = nodeIPv4(b.cluster, blk.node)?.ip;
        const sameSubnet = !!(peerIp && ul && ul.iface.addrs.some((a) => a.family === 4 && connected(a.address, a.prefixLen, peerIp)));
        const mode = pool.spec.vxlanMode !== 'Never' ? ['vxlan', pool.spec.vxlanMode] : pool.spec.ipipMode !== 'Never' ? ['ipip', pool.spec.ipipMode] : undefined;
        let iface: string | undefined;
        let why: string;
        if (mode && (mode[1] === 'Always' || !sameSubnet)) {
          iface = tunnelOf(recv, mode[0] as 'vxlan' | 'ipip', 4)?.name;
          why = `pool ${pool.metadata.name} has ${mode[0]}Mode ${mode[1]}: traffic from ${blk.node}'s pods arrives decapsulated on ${iface ?? 'the tunnel'}`;
        } else {
          iface = ul?.iface.name;
          why = `pool ${pool.metadata.name} does not encapsulate${mode ? ` between nodes of one subnet (${mode[0]}Mode CrossSubnet)` : ''}: traffic from ${blk.node}'s pods arrives on the underlay ${iface ?? ''}`;
        }
        if (!iface) continue;
        check(iface, { sender: blk.node, src: blk.prefix.text, dst: dsts[0].ip, assumed: why });
      }

      for (const [iface, list] of hits) {
        const rp = strict(iface)!;
        const real = list.filter((h) => h.send);
        const senders = [...new Set(list.map((h) => h.sender))];
        const h0 = real[0] ?? list[0];
        const evidence: Evidence[] = [];
        if (rp.iface) evidence.push(sysctlEv(b, n, rp.iface.key, rp.iface.line, rp.iface.num, `rp_filter on ${iface}`));
        if (rp.all) evidence.push(sysctlEv(b, n, rp.all.key, rp.all.line, rp.all.num, 'conf.all: the kernel uses the larger of the two'));
        if (h0.back.route) evidence.push(routeEv(b, n, h0.back.route, `${n.name}'s route back to ${h0.src}: ${decisionText(h0.back)}`));
        for (const h of real.slice(0, 3)) {
          const d = h.send!.d;
          if (d.route) evidence.push(routeEv(b, h.send!.node, d.route, `${h.sender} sends ${h.src} → ${h.dst} ${decisionText(d)}`));
          if (d.rule && d.rule.line > 0) evidence.push(ruleEv(b, h.send!.node, d.rule, `policy rule on ${h.sender} that picks table ${d.table}`));
        }
        out.findings.push({
          check: ID,
          severity: real.length > 0 ? 'error' : 'warning',
          category: 'interfaces',
          title: `Strict rp_filter on ${n.name} ${iface} drops pod traffic from ${listText(senders, 2)}`,
          explanation:
            `rp_filter is ${rp.num} (strict) on ${iface} of ${n.name}. ` +
            (real.length > 0
              ? `${h0.sender} sends its pods' traffic for ${n.name} (e.g. ${h0.src} → ${h0.dst}) so that it arrives on ${iface}, `
              : `${h0.assumed} (assumed: ${h0.sender} is not in the bundle), `) +
            `but ${n.name} routes back to ${h0.src} ${h0.back.kind === 'unicast' ? `via ${h0.back.dev}` : `with ${decisionText(h0.back)}`}, not via ${iface}. ` +
            `The kernel drops such packets as martians before any iptables rule sees them; flows between these nodes' pods fail in both directions (the replies take the same path).`,
          node: n.name,
          subject: iface,
          evidence: dedupe(evidence),
          remediation: remediation(
            `Make the path symmetric (remove the policy route or second link that sends the traffic there), or use loose mode (rp_filter=2) on ${iface} and conf.all.`,
            [`sysctl net.ipv4.conf.all.rp_filter net.ipv4.conf.${iface}.rp_filter  # on ${n.name}`, `ip route get ${h0.src} from ${h0.dst} iif ${iface}  # on ${n.name}: fails with 'invalid cross-device link'`, `sysctl -w net.ipv4.conf.${iface}.log_martians=1; dmesg | grep martian  # on ${n.name}`],
            [`sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.${iface}.rp_filter=2  # on ${n.name}`, ...(real[0]?.send?.d.rule ? [`ip rule del priority ${real[0].send!.d.rule!.priority}  # on ${real[0].sender}, if the policy route is not intended`] : [])],
          ),
        });
      }
    }
    return out;
  },
};
