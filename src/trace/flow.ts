/**
 * `traceFlow`: one flow end to end through the real programming of every node it crosses —
 * source pod egress, the source node's hooks and routing, encapsulation, the underlay, the
 * destination node, the destination pod — and then the reply back with conntrack state and
 * reverse NAT. Every `-m statistic` fork (each Service backend) is followed; a match the engine
 * cannot evaluate is tried both ways, and the result is indeterminate only if the answer depends on it.
 */
import { EnumeratingChooser, type Choice } from '../engine/netfilter/env.js';
import { newPacket, type Packet } from '../engine/packet.js';
import type { Bundle } from '../model/bundle.js';
import { maskV4, maskV6, parseAddr, parsePrefix } from '../model/ipset.js';
import { buildPolicyModel, type PolicyModel } from '../calico/policy/resolve.js';
import type { Endpoint } from '../calico/endpoints.js';
import { chainToPolicyIndex, type ChainPolicyEntry, type PolicyRef } from '../calico/naming.js';
import { localOut, podEgressChecks, processArrival, view, type FlowState, type NodeOutcome, type Wire } from './node.js';
import { runtimeFor, type NodeRuntime, type Runtime } from './runtime.js';
import type { DropInfo, Hop, PathResult, TraceQuery, TraceResult, Verdict } from './types.js';

export class TraceQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceQueryError';
  }
}

const PROTO_NUM: Record<TraceQuery['protocol'], number> = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1 };

interface Ctx {
  rt: Runtime;
  model: PolicyModel;
  chainIndex: Map<string, ChainPolicyEntry<PolicyRef>>;
}

const ctxCache = new WeakMap<Bundle, Ctx>();

export function traceContext(bundle: Bundle): Ctx {
  let c = ctxCache.get(bundle);
  if (!c) {
    const model = buildPolicyModel(bundle.cluster);
    const refs: PolicyRef[] = model.policies.map((p) => ({ kind: p.kind, namespace: p.namespace, name: p.k8sName ?? p.name, tier: p.tier }));
    c = { rt: runtimeFor(bundle), model, chainIndex: chainToPolicyIndex(refs) };
    ctxCache.set(bundle, c);
  }
  return c;
}

type Start = { kind: 'pod'; ep: Endpoint; ip: string } | { kind: 'host'; node: string; ip: string } | { kind: 'external'; ip: string };

function resolveEnd(ctx: Ctx, ref: string, role: 'source' | 'destination'): Start | { kind: 'service'; ns: string; name: string; ip: string } {
  const m = /^(?:svc[:/ ]|service[:/ ])\s*([^/\s]+)\/(\S+)$/.exec(ref);
  if (m) {
    if (role === 'source') throw new TraceQueryError('a Service cannot be a source');
    const svc = ctx.rt.bundle.cluster.services.find((s) => s.metadata.namespace === m[1] && s.metadata.name === m[2]);
    if (!svc) throw new TraceQueryError(`no Service ${m[1]}/${m[2]} in the bundle`);
    const ip = svc.spec.clusterIPs[0] ?? svc.spec.clusterIP;
    if (!ip || ip === 'None') throw new TraceQueryError(`Service ${m[1]}/${m[2]} has no cluster IP (headless?)`);
    return { kind: 'service', ns: m[1], name: m[2], ip };
  }
  const addr = parseAddr(ref);
  if (addr) {
    const ip = addr.text;
    const eps = ctx.model.endpointsByIp.get(ip) ?? [];
    const wl = eps.filter((e) => e.kind === 'workload');
    if (wl.length > 0) return { kind: 'pod', ep: wl[0], ip };
    const owner = ctx.rt.addressOwner.get(ip);
    if (owner) return { kind: 'host', node: owner.node, ip };
    const svc = ctx.model.serviceIps.get(ip);
    if (svc && role === 'destination') {
      const [ns, name] = svc.split('/');
      return { kind: 'service', ns, name, ip };
    }
    return { kind: 'external', ip };
  }
  const ep = ctx.model.endpointById.get(ref);
  if (!ep) {
    const near = ctx.model.endpoints.filter((e) => e.name === ref || e.id.endsWith(`/${ref}`)).map((e) => e.id);
    throw new TraceQueryError(`no pod ${ref} in the bundle${near.length ? ` (did you mean ${near.slice(0, 3).join(', ')}?)` : ''}`);
  }
  const ip = ep.ips.find((i) => !i.includes(':')) ?? ep.ips[0];
  if (!ip) throw new TraceQueryError(`pod ${ref} has no IP in the bundle`);
  return { kind: 'pod', ep, ip };
}

/**
 * The IP pool holding `ip` when nothing outside the cluster can route to it: Calico pod addresses
 * are reachable from outside only when the pool is exported to BGP peers outside the cluster
 * (a BGPPeer whose address is no node of the bundle). Without one, a packet for a pod address
 * that leaves the cluster (to the default gateway, or an outside host answering a pod without
 * SNAT) has nowhere to go.
 */
function unroutedPodPool(ctx: Ctx, ip: string): { name: string; cidr: string } | undefined {
  const a = parseAddr(ip);
  if (!a) return undefined;
  const cluster = ctx.rt.bundle.cluster;
  const pool = cluster.ipPools.find((p) => {
    const c = parsePrefix(p.spec.cidr);
    if (!c || c.family !== a.family) return false;
    return a.family === 'inet' ? maskV4(a.v4, c.prefixLen) === c.v4 : maskV6(a.v6, c.prefixLen) === c.v6;
  });
  if (!pool) return undefined;
  const outsidePeer = cluster.bgpPeers.some((p) => p.spec.peerAddress && !ctx.rt.addressOwner.has(parseAddr(p.spec.peerAddress)?.text ?? p.spec.peerAddress));
  if (outsidePeer && !pool.spec.disableBGPExport) return undefined;
  return { name: pool.metadata.name, cidr: pool.spec.cidr };
}

function captureFor(hopKind: Hop['kind'], iface: string | undefined, p: Packet, inner?: Packet): string[] {
  const flt = (x: Packet) => {
    const ports = x.dport !== undefined ? ` and port ${x.dport}` : '';
    return `host ${x.src} and host ${x.dst}${ports}`;
  };
  if (!iface) return [];
  if (inner) {
    const outerFlt = p.proto === 4 ? `proto 4 and host ${p.dst}` : `udp port ${p.dport ?? 4789} and host ${p.src} and host ${p.dst}`;
    return [`tcpdump -ni ${iface} '${outerFlt}'`];
  }
  return [`tcpdump -ni ${iface} '${flt(p)}'`];
}

/** Enriches a drop in a Calico chain with the policy, profile or endpoint it belongs to. */
function attributeDrop(ctx: Ctx, d: DropInfo): DropInfo {
  const chain = d.chain;
  if (!chain) return d;
  const pol = ctx.chainIndex.get(chain);
  if (pol) return { ...d, policy: { kind: pol.policy.kind, namespace: pol.policy.namespace, name: pol.policy.name, tier: pol.policy.tier, direction: pol.direction }, reason: `${d.reason}: ${pol.policy.kind} ${pol.policy.namespace ? `${pol.policy.namespace}/` : ''}${pol.policy.name} (${pol.direction})` };
  const m = /^cali-(tw|fw)-(.+)$/.exec(chain);
  if (m) {
    const ep = ctx.model.endpoints.find((e) => e.interfaceName === m[2] && (!d.node || e.node === d.node));
    const dir = m[1] === 'tw' ? 'ingress to' : 'egress from';
    const why = /End of tier ([^.]+)\./.exec(d.text ?? '')
      ? `no policy in tier ${/End of tier ([^.]+)\./.exec(d.text ?? '')![1]} allowed it`
      : /DROP if no profiles matched/.test(d.text ?? '')
        ? 'no profile allowed it'
        : /Unknown interface/.test(d.text ?? '')
          ? 'unknown interface'
          : /ctstate INVALID/.test(d.text ?? '')
            ? 'conntrack state INVALID (a reply without a connection: asymmetric path?)'
            : 'endpoint chain';
    return { ...d, endpoint: ep?.id, reason: `${d.reason}: policy for ${dir} ${ep ? ep.id : m[2]} — ${why}` };
  }
  const pm = /^cali-pr([io])-(.+)$/.exec(chain);
  if (pm) return { ...d, policy: { kind: 'Profile', name: pm[2], direction: pm[1] === 'i' ? 'ingress' : 'egress' } };
  if (/^cali-(from|to)-wl-dispatch/.test(chain)) return { ...d, reason: `${d.reason}: the interface has no Calico endpoint chain (Felix does not know this workload)` };
  return d;
}

function endpointOnIface(ctx: Ctx, node: string, iface: string): Endpoint | undefined {
  return ctx.model.endpoints.find((e) => e.node === node && e.interfaceName === iface);
}

interface Run {
  forward: PathResult;
  reply?: PathResult;
  choices: Choice[];
}

/** Follows a packet from its start until it is delivered or dropped. */
function runPath(ctx: Ctx, start: Start, pkt: Packet, fs: FlowState): PathResult & { final?: { kind: 'pod'; ep: Endpoint } | { kind: 'host'; node: string } | { kind: 'external' } } {
  const hops: Hop[] = [];
  const done = (verdict: Verdict, extra: Partial<PathResult> = {}) => ({ verdict, hops, ...extra });
  let node: NodeRuntime | undefined;
  let arrival: { iface: string; wire: Wire } | undefined;
  let outcome: NodeOutcome;

  if (start.kind === 'pod') {
    node = ctx.rt.nodes.get(start.ep.node);
    const hop: Hop = { kind: 'pod-egress', node: start.ep.node, title: `${start.ep.id} (${start.ip}) sends via its veth ${start.ep.interfaceName} on ${start.ep.node}`, packet: view(pkt), steps: [], outcome: 'pass', capture: [`kubectl exec -n ${start.ep.namespace} ${start.ep.name} -- tcpdump -ni eth0 'host ${pkt.dst}'`] };
    hops.push(hop);
    if (!node) {
      hop.outcome = 'indeterminate';
      return done('indeterminate', { indeterminate: { reason: `node ${start.ep.node} of ${start.ep.id} is not in the bundle (no nodes/${start.ep.node}/)` } });
    }
    const bad = podEgressChecks(node, start.ep.interfaceName, hop.steps);
    if (bad) {
      hop.outcome = 'dropped';
      return done('dropped', { dropped: bad });
    }
    arrival = { iface: start.ep.interfaceName, wire: { pkt } };
  } else if (start.kind === 'host') {
    node = ctx.rt.nodes.get(start.node);
    if (!node) return done('indeterminate', { indeterminate: { reason: `node ${start.node} is not in the bundle` } });
  } else {
    // From outside: the packet reaches the node that owns its destination address.
    const owner = ctx.rt.addressOwner.get(pkt.dst);
    if (!owner) {
      const pool = unroutedPodPool(ctx, pkt.dst);
      if (pool) {
        hops.push({ kind: 'external', title: `${pkt.src} (outside the cluster) sends to ${pkt.dst}`, packet: view(pkt), steps: [], outcome: 'dropped', capture: [] });
        return done('dropped', {
          dropped: {
            where: 'route',
            reason: `${pkt.src} is outside the cluster and ${pkt.dst} is a pod address of IP pool ${pool.name} (${pool.cidr}); no BGP peer outside the cluster learns the pool, so nothing outside routes it back into the cluster`,
          },
        });
      }
      return done('indeterminate', { indeterminate: { reason: `${pkt.src} is outside the bundle and ${pkt.dst} belongs to no node in it` } });
    }
    hops.push({ kind: 'external', title: `${pkt.src} (outside the cluster) sends to ${pkt.dst}`, packet: view(pkt), steps: [], outcome: 'pass', capture: [] });
    node = ctx.rt.nodes.get(owner.node)!;
    arrival = { iface: owner.iface, wire: { pkt } };
  }

  for (let guard = 0; guard < 24; guard++) {
    const hop: Hop = { kind: 'node', node: node.name, title: '', packet: view(arrival ? arrival.wire.pkt : pkt, arrival?.wire.inner), steps: [], outcome: 'pass', capture: [] };
    hops.push(hop);
    if (arrival) {
      hop.title = `${node.name}: in on ${arrival.iface}`;
      hop.capture = captureFor('node', arrival.iface, arrival.wire.pkt, arrival.wire.inner);
      outcome = processArrival(node, arrival.wire, arrival.iface, fs, hop.steps);
    } else {
      hop.title = `${node.name}: sent by the host`;
      outcome = localOut(node, { pkt }, fs, hop.steps);
    }
    // Decapsulation continues on the same node, on the tunnel device.
    while (outcome.kind === 'decap') {
      hop.title += `, decapsulated on ${outcome.iface}`;
      hop.capture.push(...captureFor('node', outcome.iface, outcome.wire.pkt));
      outcome = processArrival(node, outcome.wire, outcome.iface, fs, hop.steps);
    }
    switch (outcome.kind) {
      case 'drop':
        hop.outcome = 'dropped';
        return done('dropped', { dropped: attributeDrop(ctx, outcome.drop) });
      case 'indeterminate':
        hop.outcome = 'indeterminate';
        return done('indeterminate', { indeterminate: { reason: outcome.reason, evidence: outcome.evidence } });
      case 'deliver-host':
        hop.outcome = 'delivered';
        return { ...done('delivered', { deliveredTo: `node ${node.name}`, finalPacket: view(outcome.pkt) }), final: { kind: 'host', node: node.name } };
      case 'deliver-pod': {
        const p = outcome.pkt;
        const ep = endpointOnIface(ctx, node.name, outcome.iface);
        const inHop: Hop = { kind: 'pod-ingress', node: node.name, title: `${node.name}: out on ${outcome.iface} to ${ep ? ep.id : 'an unknown workload'}`, packet: view(p), steps: [], outcome: 'delivered', capture: [`tcpdump -ni ${outcome.iface} 'host ${p.src} and host ${p.dst}'`] };
        hops.push(inHop);
        if (!ep) {
          inHop.outcome = 'indeterminate';
          return done('indeterminate', { indeterminate: { reason: `no pod in the cluster resources uses ${outcome.iface} on ${node.name}` } });
        }
        if (!ep.ips.includes(p.dst)) {
          inHop.outcome = 'dropped';
          return done('dropped', {
            dropped: { node: node.name, where: 'endpoint', endpoint: ep.id, artifact: ep.source.artifact, line: ep.source.line, reason: `the route sends ${p.dst} to ${outcome.iface}, but the pod behind it (${ep.id}) has ${ep.ips.join(', ') || 'no IP'}` },
          });
        }
        return { ...done('delivered', { deliveredTo: ep.id, finalPacket: view(p) }), final: { kind: 'pod', ep } };
      }
      case 'out': {
        const w = outcome.wire;
        // The skb mark is local to the sending host: it does not travel on the wire.
        w.pkt.mark = 0;
        const owner = ctx.rt.addressOwner.get(outcome.nextHop);
        hop.capture.push(...captureFor('node', outcome.dev, w.pkt, w.inner));
        if (!owner || !ctx.rt.nodes.has(owner.node)) {
          const dstOwner = ctx.rt.addressOwner.get(w.pkt.dst);
          hops.push({ kind: 'external', title: `leaves ${node.name} on ${outcome.dev} toward ${outcome.nextHop} (outside the bundle)`, packet: view(w.pkt, w.inner), steps: [], outcome: 'delivered', capture: [] });
          if (dstOwner) return done('indeterminate', { indeterminate: { reason: `next hop ${outcome.nextHop} is not a node of the bundle, so the path to ${dstOwner.node} cannot be followed` } });
          const pool = unroutedPodPool(ctx, w.pkt.dst);
          if (pool) {
            hop.outcome = 'dropped';
            hops[hops.length - 1].outcome = 'dropped';
            const routeStep = [...hop.steps].reverse().find((st) => st.kind === 'route');
            const ev = routeStep?.kind === 'route' ? routeStep.evidence : undefined;
            return done('dropped', {
              dropped: {
                node: node.name,
                where: 'route',
                ...(ev ? { artifact: ev.artifact, line: ev.line, text: ev.text } : {}),
                reason: `${node.name} has no route to ${w.pkt.dst} inside the cluster and sends it out of the cluster via ${outcome.nextHop} (${outcome.dev}); ${w.pkt.dst} is a pod address of IP pool ${pool.name} (${pool.cidr}), which no BGP peer outside the cluster learns, so the packet is lost there`,
              },
            });
          }
          return { ...done('delivered', { deliveredTo: `external ${w.pkt.dst}`, finalPacket: view(w.pkt) }), final: { kind: 'external' } };
        }
        if (owner.node === node.name) return done('indeterminate', { indeterminate: { reason: `${node.name} routes ${w.pkt.dst} to its own address ${outcome.nextHop} (a loop)` } });
        hops.push({ kind: 'underlay', title: `underlay: ${node.name} ${outcome.dev} → ${owner.node} ${owner.iface}${w.inner ? ` (${w.encap} ${w.pkt.src} → ${w.pkt.dst})` : ''}`, packet: view(w.pkt, w.inner), steps: [], outcome: 'pass', capture: [] });
        node = ctx.rt.nodes.get(owner.node)!;
        arrival = { iface: owner.iface, wire: w };
        break;
      }
    }
  }
  return done('indeterminate', { indeterminate: { reason: 'the path crosses more than 24 nodes (a routing loop?)' } });
}

function replyPacket(fwdFinal: PathResult['finalPacket'], proto: number, fwd: Packet): Packet {
  const f = fwdFinal!;
  const p = newPacket({ src: f.dst, dst: f.src, proto, sport: f.dport, dport: f.sport, icmpType: proto === 1 ? 0 : proto === 58 ? 129 : undefined, length: fwd.proto === 6 ? 60 : fwd.length, df: fwd.df });
  p.ct.dir = 'REPLY';
  p.ct.state = 'ESTABLISHED';
  if (proto === 6) p.tcpFlags = 0x12;
  return p;
}

function signature(choices: Choice[]): string {
  return choices
    .filter((c) => c.kind === 'statistic')
    .map((c) => `${c.rule.chain}:${c.rule.index}=${c.value ? 1 : 0}`)
    .join(',');
}

function branchText(choices: Choice[], fwd: PathResult): string | undefined {
  const stats = choices.filter((c) => c.kind === 'statistic');
  if (stats.length === 0) return undefined;
  const taken = stats.filter((c) => c.value).map((c) => `${c.rule.chain} rule ${c.rule.index}`);
  const to = fwd.finalPacket ? ` → ${fwd.finalPacket.dst}${fwd.finalPacket.dport !== undefined ? `:${fwd.finalPacket.dport}` : ''}` : '';
  return `${taken.length ? `statistic branch ${taken.join(', ')}` : 'fall-through branch'}${to}`;
}

function sameOutcome(a: Run, b: Run): boolean {
  const k = (r: PathResult | undefined) => (r ? `${r.verdict}|${r.dropped?.node}|${r.dropped?.chain}|${r.dropped?.line}` : '-');
  return k(a.forward) === k(b.forward) && k(a.reply) === k(b.reply);
}

export function traceFlow(bundle: Bundle, q: TraceQuery): TraceResult {
  const ctx = traceContext(bundle);
  const src = resolveEnd(ctx, q.from, 'source');
  const dst = resolveEnd(ctx, q.to, 'destination');
  if (src.kind === 'service') throw new TraceQueryError('a Service cannot be a source');
  const proto = PROTO_NUM[q.protocol];
  if (proto === undefined) throw new TraceQueryError(`unknown protocol ${q.protocol} (TCP, UDP, SCTP or ICMP)`);
  if (proto !== 1 && q.port === undefined) throw new TraceQueryError(`--port is required for ${q.protocol}`);
  if ((src.ip.includes(':')) !== (dst.ip.includes(':'))) throw new TraceQueryError(`${src.ip} and ${dst.ip} are of different IP families`);

  const notes: string[] = [];
  const runs: Run[] = [];
  const chooser = new EnumeratingChooser(256);
  do {
    chooser.begin();
    const pkt = newPacket({ src: src.ip, dst: dst.ip, proto, dport: q.port, length: q.size, df: q.df ?? (q.size !== undefined ? true : undefined) });
    const fs: FlowState = { chooser, direction: 'forward', conntrack: new Map(), notes: [] };
    const fwd = runPath(ctx, src, pkt, fs);
    let reply: PathResult | undefined;
    if (fwd.verdict === 'delivered' && fwd.final && fwd.finalPacket) {
      const rp = replyPacket(fwd.finalPacket, proto, pkt);
      const rs: FlowState = { chooser, direction: 'reply', conntrack: fs.conntrack, notes: fs.notes };
      const start: Start = fwd.final.kind === 'pod' ? { kind: 'pod', ep: fwd.final.ep, ip: rp.src } : fwd.final.kind === 'host' ? { kind: 'host', node: fwd.final.node, ip: rp.src } : { kind: 'external', ip: rp.src };
      reply = runPath(ctx, start, rp, rs);
      if (reply.verdict === 'delivered' && reply.finalPacket && (reply.finalPacket.dst !== src.ip || (reply.finalPacket.sport !== undefined && q.port !== undefined && dst.kind !== 'external' && reply.finalPacket.sport !== (fwd.finalPacket.dport ?? q.port) && reply.finalPacket.sport !== q.port))) {
        fs.notes.push(`the reply reaches ${reply.deliveredTo} as ${reply.finalPacket.src} → ${reply.finalPacket.dst}`);
      }
      delete (reply as { final?: unknown }).final;
    }
    delete (fwd as { final?: unknown }).final;
    for (const n of fs.notes) if (!notes.includes(n)) notes.push(n);
    runs.push({ forward: fwd, reply, choices: chooser.taken() });
  } while (chooser.next());
  if (chooser.truncated) notes.push(`more than ${chooser.maxRuns} branch combinations: only the first ${chooser.maxRuns} were followed`);

  // Group runs by the statistic branch; within a group, differing answers mean the verdict depends on an assumption.
  const groups = new Map<string, Run[]>();
  for (const r of runs) {
    const k = signature(r.choices);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const paths: TraceResult['paths'] = [];
  for (const g of groups.values()) {
    const first = g[0];
    const assumptions = new Map<string, Choice>();
    for (const r of g) for (const c of r.choices) if (c.kind === 'assume') assumptions.set(`${c.rule.chain}:${c.rule.index}`, c);
    if (g.every((r) => sameOutcome(r, first))) {
      for (const c of assumptions.values()) {
        const n = `assumed either way (answer does not depend on it): ${c.rule.chain} rule ${c.rule.index}: ${c.reason}`;
        if (!notes.includes(n)) notes.push(n);
      }
      paths.push({ ...first.forward, branch: branchText(first.choices, first.forward), reply: first.reply });
    } else {
      const list = [...assumptions.values()];
      paths.push({
        verdict: 'indeterminate',
        hops: first.forward.hops,
        branch: branchText(first.choices, first.forward),
        indeterminate: {
          reason: `the verdict depends on ${list.map((c) => `${c.rule.chain} rule ${c.rule.index} (${c.reason})`).join('; ')}`,
          evidence: list.map((c) => ({ artifact: '', line: c.rule.line, text: c.rule.raw })),
        },
        reply: first.reply,
      });
    }
  }

  const verdicts = new Set(paths.map((p) => p.verdict));
  const verdict: TraceResult['verdict'] = verdicts.size === 1 ? paths[0].verdict : 'mixed';
  const main = paths.find((p) => p.verdict === 'dropped') ?? paths[0];
  const source: TraceResult['source'] =
    src.kind === 'pod' ? { kind: 'pod', id: src.ep.id, ip: src.ip, node: src.ep.node, iface: src.ep.interfaceName } : src.kind === 'host' ? { kind: 'host', id: `node ${src.node}`, ip: src.ip, node: src.node } : { kind: 'external', id: src.ip, ip: src.ip };
  const destination: TraceResult['destination'] =
    dst.kind === 'pod'
      ? { kind: 'pod', id: dst.ep.id, ip: dst.ip, node: dst.ep.node, port: q.port }
      : dst.kind === 'service'
        ? { kind: 'service', id: `${dst.ns}/${dst.name}`, ip: dst.ip, port: q.port }
        : dst.kind === 'host'
          ? { kind: 'host', id: `node ${dst.node}`, ip: dst.ip, node: dst.node, port: q.port }
          : { kind: 'external', id: dst.ip, ip: dst.ip, port: q.port };
  const reply = main.reply ? { verdict: main.reply.verdict, dropped: main.reply.dropped, hops: main.reply.hops } : undefined;
  return { query: q, source, destination, verdict, dropped: main.dropped, hops: main.hops, reply, paths, notes };
}
