/**
 * What each fault must do to the probe matrix, written from the kernel's point of view (see the
 * fault descriptions in src/lab/faults.ts and docs/lab.md). Used by the root lab tests to check
 * that a break really breaks exactly the expected flows and nothing else.
 */
import type { ActiveFault, LabState } from '../../src/lab/state.js';
import type { ProbeResult } from '../../src/lab/probe.js';
import type { LabPodTopo } from '../../src/lab/topology.js';
import { cidrContains, parseCidr, parseIp } from '../../src/lab/ipv4.js';

export type Verdict = 'ok' | 'fail' | 'any';

interface Flow {
  from: LabPodTopo;
  to: LabPodTopo;
  protocol: ProbeResult['protocol'];
  fullSize: boolean;
}

/** Does the fault break the flow from one pod to another (direct, or to a Service backend)? */
function pairFails(state: LabState, f: ActiveFault, x: Flow): boolean {
  const u = f.undo;
  const { from, to } = x;
  const cross = from.node !== to.node;
  switch (f.id) {
    case 'route-missing':
    case 'iptables-drop':
    case 'proxy-arp-off':
      return from.key === u.pod || to.key === u.pod;
    case 'blackhole-shadow': {
      const c = parseCidr(String(u.cidr))!;
      const inB = (p: LabPodTopo) => cidrContains(c, parseIp(p.ip)!);
      if (state.topology.mode === 'vxlan') return (from.node === u.node && inB(to)) || (inB(from) && to.node === u.node);
      // bgp: BIRD exports the blackhole; every other node sends traffic for B to the blackholing node.
      return (inB(to) && cross) || (inB(from) && cross);
    }
    case 'bgp-port-blocked':
    case 'bgp-as-mismatch':
    case 'vxlan-underlay-blocked':
      return cross && (from.node === u.node || to.node === u.node);
    case 'forwarding-off':
      return from.node === u.node || to.node === u.node;
    case 'rp-filter-strict':
      return (from.node === u.node && to.node === u.via) || (from.node === u.via && to.node === u.node);
    case 'mtu-mismatch':
      if (!(x.protocol === 'ICMP' && x.fullSize)) return false;
      return u.variant === 'veth' ? from.node === u.node && to.node !== u.node : cross && (from.node === u.node || to.node === u.node);
    case 'duplicate-pod-ip': {
      const o = state.topology.pods.find((p) => p.key === u.original)!;
      const hijacks = (n: string) => (state.topology.mode === 'bgp' ? n !== o.node : n === u.node);
      if (to.key === o.key && hijacks(from.node)) return x.protocol !== 'ICMP'; // the duplicate answers
      if (from.key === o.key && hijacks(to.node)) return true; // replies go to the duplicate
      return false;
    }
    default:
      return false;
  }
}

function externalFails(f: ActiveFault, state: LabState, from: LabPodTopo): boolean {
  switch (f.id) {
    case 'route-missing':
    case 'iptables-drop':
    case 'proxy-arp-off':
      return from.key === f.undo.pod;
    case 'forwarding-off':
      return from.node === f.undo.node;
    default:
      void state;
      return false;
  }
}

/** The verdict a probe must have with `fault` active (undefined = baseline). */
export function expectedVerdict(state: LabState, fault: ActiveFault | undefined, r: ProbeResult): Verdict {
  if (!fault || fault.id === 'ipam-leak') return 'ok';
  const pods = new Map(state.topology.pods.map((p) => [p.key, p]));
  if (r.from === 'external') return 'any';
  const from = pods.get(r.from)!;
  if (r.to === 'external') return externalFails(fault, state, from) ? 'fail' : 'ok';
  const fullSize = r.size !== undefined;
  if (r.to.startsWith('svc:')) {
    const svc = state.topology.services.find((s) => `svc:${s.key}` === r.to)!;
    const sp = svc.ports.find((p) => p.port === r.port && p.protocol === r.protocol)!;
    const v = sp.endpoints.map((e) => pairFails(state, fault, { from, to: pods.get(e.pod)!, protocol: r.protocol, fullSize }));
    if (v.every(Boolean)) return 'fail';
    if (v.some(Boolean)) return 'any';
    return 'ok';
  }
  return pairFails(state, fault, { from, to: pods.get(r.to)!, protocol: r.protocol, fullSize }) ? 'fail' : 'ok';
}

/** Probes whose outcome contradicts the expectation, formatted for a failure message. */
export function mismatches(state: LabState, fault: ActiveFault | undefined, results: ProbeResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    const want = expectedVerdict(state, fault, r);
    if (want === 'any') continue;
    if ((want === 'ok') !== r.ok) {
      out.push(`${r.ok ? 'unexpectedly ok' : 'unexpectedly failed'}: ${r.from} -> ${r.to} ${r.dstIp} ${r.protocol}${r.port !== undefined ? `/${r.port}` : ''}${r.size ? ` ${r.size + 28}B` : ''}: ${r.detail}`);
    }
  }
  return out;
}

/** How many probes the expectation says must fail (for sanity: a fault must break something). */
export function expectedFailures(state: LabState, fault: ActiveFault | undefined, results: ProbeResult[]): number {
  return results.filter((r) => expectedVerdict(state, fault, r) === 'fail').length;
}

export function randomPrefix(): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = 'csl';
  for (let i = 0; i < 4; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}
