/**
 * The renderer on the lab's own intent: the default lab spec's cluster resources (exactly what
 * `lab collect` writes), rendered per node through the lab hook, parse cleanly, and the engine on
 * them agrees with the policy model for every pod pair; the `ipset-stale` fault removes one
 * member and so turns allowed flows into drops.
 */
import { describe, expect, it } from 'vitest';
import { buildPolicyModel, evaluateFlow } from '../../calico/policy/index.js';
import { CompiledRuleset } from '../../engine/netfilter/compile.js';
import { EnumeratingChooser } from '../../engine/netfilter/env.js';
import { type HookName, runHook } from '../../engine/netfilter/evaluate.js';
import { newPacket } from '../../engine/packet.js';
import { compileIpsets } from '../../model/ipset.js';
import type { ResourceObject } from '../../model/resources.js';
import { parseIpset } from '../../parse/ipset.js';
import { parseIptablesSave } from '../../parse/iptables-save.js';
import { buildClusterResources } from '../../parse/resources.js';
import { clusterResources } from '../collect.js';
import type { LabDataplaneContext } from '../dataplane.js';
import { renderKubeProxy as labKubeProxy } from '../kube-proxy.js';
import { defaultLabSpec, type LabMode } from '../spec.js';
import type { LabState } from '../state.js';
import { buildTopology } from '../topology.js';
import { renderLabNodes } from './lab.js';

function labFixture(mode: LabMode, faults: LabState['faults'] = {}) {
  const spec = defaultLabSpec(mode);
  const topology = buildTopology(spec, 'csltest', '/tmp/csltest');
  const state = { prefix: 'csltest', spec, topology, createdAt: '2026-01-01T00:00:00Z', extraPods: [], ipamLeaks: [], faults } as unknown as LabState;
  const objs: ResourceObject[] = [];
  for (const [file, items] of Object.entries(clusterResources(state))) {
    items.forEach((body, i) => objs.push({ apiVersion: String(body.apiVersion ?? ''), kind: String(body.kind ?? ''), body, source: { artifact: `cluster/${file}`, line: i + 1, docIndex: 0, itemIndex: i } }));
  }
  const cluster = buildClusterResources(objs).value;
  const ctx: LabDataplaneContext = { spec, topology, pods: topology.pods, kubeProxy: labKubeProxy(topology), faults, iptables: 'nft' };
  return { ctx, cluster, topology };
}

describe('lab hook: renderLabNodes on the default lab spec', () => {
  for (const mode of ['vxlan', 'bgp'] as const) {
    it(`${mode}: every node renders, parses, and the engine agrees with intent for every pod pair`, () => {
      const { ctx, cluster, topology } = labFixture(mode);
      const out = renderLabNodes(ctx, cluster);
      expect(Object.keys(out).sort()).toEqual(topology.nodes.map((n) => n.name).sort());
      const model = buildPolicyModel(cluster);
      const rts = new Map(
        topology.nodes.map((n) => {
          const ipt = parseIptablesSave(out[n.name].iptablesRestore, n.name);
          expect(ipt.issues.filter((i) => i.severity === 'error')).toEqual([]);
          const sets = compileIpsets(parseIpset(out[n.name].ipsetRestore, n.name).value);
          return [n.name, { rs: new CompiledRuleset(ipt.value), env: { addrType: (ip: string) => (ip === n.ip ? 'LOCAL' : 'UNICAST'), ipsetTest: sets, rpfilter: () => true, masqueradeSource: () => n.ip } }] as const;
        }),
      );
      const tunnel = mode === 'vxlan' ? 'vxlan.calico' : 'eth0';
      const hop = (node: string, src: string, dst: string, proto: number, dport: number | undefined, inIf: string, outIf: string) => {
        const rt = rts.get(node)!;
        const pkt = newPacket({ src, dst, proto, ...(dport ? { dport } : {}) });
        pkt.inIface = inIf;
        const ch = new EnumeratingChooser();
        for (const hook of ['PREROUTING', 'FORWARD', 'POSTROUTING'] as HookName[]) {
          if (hook !== 'PREROUTING') pkt.outIface = outIf;
          const h = runHook(rt.rs, hook, pkt, rt.env, ch, { record: false });
          if (h.fate !== 'accept') return false;
        }
        expect(ch.taken().filter((c) => c.kind === 'assume')).toEqual([]);
        return true;
      };
      let n = 0;
      let allowed = 0;
      for (const s of topology.pods) {
        for (const d of topology.pods) {
          if (s === d) continue;
          const se = model.endpoints.find((e) => e.id === s.key)!;
          const de = model.endpoints.find((e) => e.id === d.key)!;
          const probes = [...d.ports.map((p) => ({ proto: p.protocol === 'UDP' ? 17 : 6, name: p.protocol, port: p.containerPort })), { proto: 1, name: 'ICMP', port: undefined }];
          for (const p of probes) {
            const intent = evaluateFlow(model, { src: se, dst: de, protocol: p.name, ...(p.port ? { port: p.port } : {}), ...(p.proto === 1 ? { icmp: { type: 8, code: 0 } } : {}) }).allowed;
            let engine: boolean;
            if (s.node === d.node) engine = hop(s.node, s.ip, d.ip, p.proto, p.port, s.hostIface, d.hostIface);
            else engine = hop(s.node, s.ip, d.ip, p.proto, p.port, s.hostIface, tunnel) && hop(d.node, s.ip, d.ip, p.proto, p.port, tunnel, d.hostIface);
            expect(engine, `${s.key} -> ${d.key} ${p.name}/${p.port ?? ''}`).toBe(intent);
            n++;
            if (intent) allowed++;
          }
        }
      }
      expect(n).toBeGreaterThan(200);
      expect(allowed).toBeGreaterThan(0);
      expect(allowed).toBeLessThan(n);
    });
  }

  it('ipset-stale: the chosen member is missing on every node, and the choice is recorded', () => {
    const fault = { id: 'ipset-stale', params: { pod: 'frontend/web-1' }, undo: {}, brokenAt: '' };
    const { ctx, cluster } = labFixture('vxlan', { 'ipset-stale': fault });
    const out = renderLabNodes(ctx, cluster);
    const set = String((fault.undo as Record<string, unknown>).set);
    expect(set).toMatch(/^cali40[sn]:/);
    expect((fault.undo as Record<string, unknown>).member).toBe('10.244.1.1');
    for (const dp of Object.values(out)) {
      const lines = dp.ipsetRestore.split('\n').filter((l) => l.startsWith(`add ${set} `));
      expect(lines.some((l) => / 10\.244\.1\.1(,|$)/.test(l))).toBe(false);
    }
    const clean = renderLabNodes(labFixture('vxlan').ctx, cluster);
    expect(Object.values(clean).some((dp) => dp.ipsetRestore.split('\n').some((l) => l.startsWith(`add ${set} 10.244.1.1`)))).toBe(true);
  });
});
