/**
 * Intent vs programming: for pod-to-pod flows, the netfilter engine running the rendered rules
 * must reach the verdict the policy model's evaluateFlow reaches. A disagreement is a bug in the
 * renderer or in the engine (or in the model).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { type PolicyModel, buildPolicyModel, evaluateFlow } from '../../calico/policy/index.js';
import type { Endpoint } from '../../calico/endpoints.js';
import { CompiledRuleset } from '../../engine/netfilter/compile.js';
import { EnumeratingChooser, type NetfilterEnv } from '../../engine/netfilter/env.js';
import { type HookName, runHook } from '../../engine/netfilter/evaluate.js';
import { clonePacket, newPacket, type Packet } from '../../engine/packet.js';
import { compileIpsets } from '../../model/ipset.js';
import type { ClusterResources } from '../../model/resources.js';
import { parseIpset } from '../../parse/ipset.js';
import { parseIptablesSave } from '../../parse/iptables-save.js';
import { renderFelixNode } from './node.js';
import { SAMPLE_NODES, type SamplePod, clusterFromObjects, node as nodeObj, ns, pod, sampleCluster } from './sample-cluster.js';

interface NodeRuntime {
  name: string;
  ip: string;
  rs: CompiledRuleset;
  env: NetfilterEnv;
}

function runtimes(cluster: ClusterResources, model: PolicyModel, nodes: { name: string; ip: string }[], mode: 'vxlan' | 'ipip' | 'bgp' = 'vxlan'): Map<string, NodeRuntime> {
  const out = new Map<string, NodeRuntime>();
  for (const n of nodes) {
    const r = renderFelixNode({ cluster, model, node: n.name, nodeIp: n.ip, mode, allNodeIps: nodes.map((x) => x.ip) });
    const ipt = parseIptablesSave(r.iptablesRestore, `${n.name}/iptables`);
    expect(ipt.issues.filter((i) => i.severity === 'error')).toEqual([]);
    const sets = compileIpsets(parseIpset(r.ipsetRestore, `${n.name}/ipsets`).value);
    const local = new Set([n.ip, '127.0.0.1']);
    out.set(n.name, {
      name: n.name,
      ip: n.ip,
      rs: new CompiledRuleset(ipt.value),
      env: {
        addrType: (ip) => (local.has(ip) ? 'LOCAL' : 'UNICAST'),
        ipsetTest: (set, ip, proto, port) => sets(set, ip, proto, port),
        rpfilter: () => true,
        masqueradeSource: () => n.ip,
      },
    });
  }
  return out;
}

type Fate = 'accept' | 'drop' | 'mixed';

/** Runs the hooks a forwarded packet crosses on one node; every enumerated choice must agree. */
function forward(rt: NodeRuntime, pkt0: Packet, inIface: string, outIface: string): Fate {
  const fates = new Set<string>();
  const chooser = new EnumeratingChooser(64);
  do {
    chooser.begin();
    const pkt = clonePacket(pkt0);
    pkt.inIface = inIface;
    let fate = 'accept';
    for (const hook of ['PREROUTING', 'FORWARD', 'POSTROUTING'] as HookName[]) {
      if (hook === 'FORWARD' || hook === 'POSTROUTING') pkt.outIface = outIface;
      const h = runHook(rt.rs, hook, pkt, rt.env, chooser, { record: false });
      if (h.fate !== 'accept') {
        fate = h.fate;
        break;
      }
    }
    fates.add(fate);
  } while (chooser.next());
  if (fates.size > 1) return 'mixed';
  const f = [...fates][0];
  return f === 'accept' ? 'accept' : 'drop';
}

function enginePodToPod(rts: Map<string, NodeRuntime>, src: Endpoint, dst: Endpoint, proto: number, dport?: number, icmpType?: number): Fate {
  const pkt = newPacket({ src: src.ips[0], dst: dst.ips[0], proto, ...(dport !== undefined ? { dport } : {}), ...(icmpType !== undefined ? { icmpType } : {}) });
  const a = rts.get(src.node)!;
  if (src.node === dst.node) return forward(a, pkt, src.interfaceName, dst.interfaceName);
  const first = forward(a, pkt, src.interfaceName, 'vxlan.calico');
  if (first !== 'accept') return first;
  // Decapsulated on the destination node: a fresh packet (no mark, new conntrack entry there).
  return forward(rts.get(dst.node)!, newPacket({ src: src.ips[0], dst: dst.ips[0], proto, ...(dport !== undefined ? { dport } : {}), ...(icmpType !== undefined ? { icmpType } : {}) }), 'vxlan.calico', dst.interfaceName);
}

const PROTO: Record<string, number> = { TCP: 6, UDP: 17, ICMP: 1, SCTP: 132 };

interface Probe {
  protocol: 'TCP' | 'UDP' | 'ICMP' | 'SCTP';
  port?: number;
}

function compare(model: PolicyModel, rts: Map<string, NodeRuntime>, probes: Probe[]) {
  const eps = model.endpoints.filter((e) => e.kind === 'workload' && e.ips.length > 0);
  const rows: { flow: string; intent: boolean; engine: Fate }[] = [];
  for (const s of eps) {
    for (const d of eps) {
      if (s === d) continue;
      for (const p of probes) {
        const intent = evaluateFlow(model, { src: s, dst: d, protocol: p.protocol, ...(p.port !== undefined ? { port: p.port } : {}), ...(p.protocol === 'ICMP' ? { icmp: { type: 8, code: 0 } } : {}) }).allowed;
        const engine = enginePodToPod(rts, s, d, PROTO[p.protocol], p.port, p.protocol === 'ICMP' ? 8 : undefined);
        rows.push({ flow: `${s.id} -> ${d.id} ${p.protocol}${p.port ? `/${p.port}` : ''}`, intent, engine });
      }
    }
  }
  return rows;
}

describe('engine on rendered rules agrees with evaluateFlow', () => {
  it('sample cluster: every pod pair × a set of ports', () => {
    const cluster = sampleCluster();
    const model = buildPolicyModel(cluster);
    const rts = runtimes(cluster, model, SAMPLE_NODES);
    const probes: Probe[] = [
      { protocol: 'TCP', port: 8080 },
      { protocol: 'TCP', port: 9000 },
      { protocol: 'TCP', port: 5432 },
      { protocol: 'TCP', port: 22 },
      { protocol: 'TCP', port: 23 },
      { protocol: 'TCP', port: 6379 },
      { protocol: 'TCP', port: 7000 },
      { protocol: 'TCP', port: 7038 },
      { protocol: 'TCP', port: 7039 },
      { protocol: 'UDP', port: 53 },
      { protocol: 'UDP', port: 123 },
      { protocol: 'UDP', port: 5353 },
      { protocol: 'ICMP' },
      { protocol: 'SCTP', port: 9000 },
    ];
    const rows = compare(model, rts, probes);
    const bad = rows.filter((r) => r.engine === 'mixed' || (r.engine === 'accept') !== r.intent);
    expect(bad).toEqual([]);
    // The sample exercises both outcomes.
    expect(rows.some((r) => r.intent)).toBe(true);
    expect(rows.some((r) => !r.intent)).toBe(true);
    expect(rows.length).toBe(6 * 5 * probes.length);
  });

  it('random policies: engine verdict = intent (property)', () => {
    const nodes = [
      { name: 'n1', ip: '10.0.0.1' },
      { name: 'n2', ip: '10.0.0.2' },
    ];
    const podsArb = fc.constantFrom<SamplePod[][]>(
      [
        { namespace: 'a', name: 'p1', node: 'n1', ip: '10.244.1.1', labels: { app: 'x', tier: 'fe' }, ports: [{ name: 'web', containerPort: 80 }] },
        { namespace: 'a', name: 'p2', node: 'n1', ip: '10.244.1.2', labels: { app: 'y' }, ports: [{ name: 'web', containerPort: 8080 }] },
        { namespace: 'b', name: 'p3', node: 'n2', ip: '10.244.2.1', labels: { app: 'x', tier: 'be' }, ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] },
        { namespace: 'b', name: 'p4', node: 'n2', ip: '10.244.2.2', labels: { app: 'z' } },
      ],
    );
    const selArb = fc.constantFrom("app == 'x'", "app == 'y'", "app != 'x'", 'has(tier)', "tier in {'fe','be'}", 'all()', "!has(tier)");
    const entityArb = fc.record(
      {
        selector: selArb,
        notSelector: selArb,
        namespaceSelector: fc.constantFrom("kubernetes.io/metadata.name == 'a'", 'all()'),
        nets: fc.constantFrom(['10.244.1.0/24'], ['10.244.2.0/25', '10.244.1.2/32'], ['0.0.0.0/0']),
        notNets: fc.constantFrom(['10.244.1.2/32'], ['10.244.2.0/24', '10.244.1.1/32']),
        ports: fc.constantFrom([80], [53], ['web'], [80, '1000:2000'], ['dns', 8080], Array.from({ length: 17 }, (_, i) => 8000 + i).concat([80])),
        notPorts: fc.constantFrom([80], ['web'], [53, 8080]),
      },
      { requiredKeys: [] },
    );
    const ruleArb = fc.record(
      {
        action: fc.constantFrom('Allow', 'Deny', 'Pass', 'Log'),
        protocol: fc.constantFrom('TCP', 'UDP', 'ICMP'),
        source: entityArb,
        destination: entityArb,
      },
      { requiredKeys: ['action'] },
    );
    const policyArb = fc.record({
      kind: fc.constantFrom('NetworkPolicy', 'GlobalNetworkPolicy'),
      tier: fc.constantFrom('default', 't1'),
      order: fc.integer({ min: 1, max: 5 }),
      selector: selArb,
      types: fc.constantFrom(['Ingress'], ['Egress'], ['Ingress', 'Egress']),
      ingress: fc.array(ruleArb, { maxLength: 3 }),
      egress: fc.array(ruleArb, { maxLength: 3 }),
    });
    const clusterArb = fc.record({ pods: podsArb, policies: fc.array(policyArb, { minLength: 1, maxLength: 4 }), t1Pass: fc.boolean() });

    let flows = 0;
    fc.assert(
      fc.property(clusterArb, ({ pods, policies, t1Pass }) => {
        const objs: Record<string, unknown>[] = [
          ...nodes.map((n) => nodeObj(n.name, n.ip)),
          ns('a'),
          ns('b'),
          ...pods.map(pod),
          { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.244.0.0/16', vxlanMode: 'Always', natOutgoing: true } },
          { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 't1' }, spec: { order: 10, defaultAction: t1Pass ? 'Pass' : 'Deny' } },
        ];
        policies.forEach((p, i) => {
          const name = p.tier === 'default' ? `pol${i}` : `t1.pol${i}`;
          const fix = (rules: typeof p.ingress) =>
            rules.map((r) => {
              const out: Record<string, unknown> = { ...r };
              // Ports need TCP/UDP: keep the generated rules valid (as Calico's validation would).
              for (const side of ['source', 'destination'] as const) {
                const e = r[side];
                if (e && (e.ports || e.notPorts) && r.protocol !== 'TCP' && r.protocol !== 'UDP') out.protocol = 'TCP';
                if (e && p.kind === 'NetworkPolicy' && e.namespaceSelector) out[side] = { ...e, namespaceSelector: undefined };
              }
              return out;
            });
          objs.push({
            apiVersion: 'projectcalico.org/v3',
            kind: p.kind,
            metadata: p.kind === 'NetworkPolicy' ? { name, namespace: 'a' } : { name },
            spec: { tier: p.tier, order: p.order, selector: p.selector, types: p.types, ingress: fix(p.ingress), egress: fix(p.egress) },
          });
        });
        const cluster = clusterFromObjects(objs);
        const model = buildPolicyModel(cluster);
        const rts = runtimes(cluster, model, nodes);
        const rows = compare(model, rts, [{ protocol: 'TCP', port: 80 }, { protocol: 'TCP', port: 1500 }, { protocol: 'TCP', port: 8016 }, { protocol: 'UDP', port: 53 }, { protocol: 'ICMP' }]);
        flows += rows.length;
        const bad = rows.filter((r) => r.engine === 'mixed' || (r.engine === 'accept') !== r.intent);
        if (bad.length) throw new Error(`disagreement:\n${bad.slice(0, 5).map((b) => `${b.flow}: intent ${b.intent ? 'allow' : 'deny'}, engine ${b.engine}`).join('\n')}\npolicies: ${JSON.stringify(policies)}`);
      }),
      { numRuns: 150, seed: 42 },
    );
    expect(flows).toBeGreaterThan(150 * 12 * 5 - 1);
  });
});
