/**
 * Intent vs kernel: a real lab (namespaces, veths, VXLAN or BIRD) loaded with the rendered Felix
 * and kube-proxy programming; real traffic between every pod pair must be delivered exactly when
 * the policy model says the flow is allowed, and pods must reach Services and the external host
 * when their egress policy allows it.
 */
import { afterAll, expect, it } from 'vitest';
import { describeRoot } from '../../../test/helpers/root.js';
import { buildPolicyModel, evaluateFlow } from '../../calico/policy/index.js';
import type { ClusterResources, ResourceObject } from '../../model/resources.js';
import { buildClusterResources } from '../../parse/resources.js';
import { clusterResources } from '../collect.js';
import type { LabDataplaneContext } from '../dataplane.js';
import { labDown } from '../down.js';
import { labProbe } from '../probe.js';
import { defaultLabSpec } from '../spec.js';
import type { LabState } from '../state.js';
import { labUp } from '../up.js';
import { felixLabRenderer } from './lab.js';

/** The lab's cluster resources from the dataplane context (what `lab collect` would write). */
function clusterOfCtx(ctx: LabDataplaneContext): ClusterResources {
  const t = ctx.topology;
  const extra = ctx.pods.filter((p) => !t.pods.includes(p));
  const state = { prefix: t.prefix, spec: ctx.spec, topology: t, createdAt: '2026-01-01T00:00:00Z', extraPods: extra, ipamLeaks: [], faults: ctx.faults } as unknown as LabState;
  const objs: ResourceObject[] = [];
  for (const [file, items] of Object.entries(clusterResources(state))) {
    items.forEach((body, i) => objs.push({ apiVersion: String(body.apiVersion ?? ''), kind: String(body.kind ?? ''), body, source: { artifact: `cluster/${file}`, line: i + 1, docIndex: 0, itemIndex: i } }));
  }
  return buildClusterResources(objs).value;
}

describeRoot('rendered programming in a real lab: the kernel delivers exactly what policy allows', () => {
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await labDown({ prefix: p, stateDir: `/tmp/caliscope-render-lab-${p}` }).catch(() => {});
  });

  for (const mode of ['vxlan', 'bgp'] as const) {
    it(`${mode}: pod-to-pod, pod-to-Service and pod-to-external agree with intent`, { timeout: 240_000 }, async () => {
      const prefix = `csr${mode === 'vxlan' ? 'v' : 'b'}${Math.random().toString(36).slice(2, 5)}`;
      prefixes.push(prefix);
      const state = await labUp(defaultLabSpec(mode), { prefix, stateDir: `/tmp/caliscope-render-lab-${prefix}`, renderDataplane: felixLabRenderer(clusterOfCtx) });
      expect(state.dataplane?.source).toBe('renderer');
      const results = await labProbe(state, { concurrency: 64, timeoutMs: 1000, largePackets: false });
      const cluster = clusterOfCtx({ spec: state.spec, topology: state.topology, pods: state.topology.pods, kubeProxy: { nat: { chains: [], rules: [] }, filter: { chains: [], rules: [] } }, faults: {}, iptables: state.iptables });
      const model = buildPolicyModel(cluster);
      const ep = (key: string) => model.endpoints.find((e) => e.id === key)!;
      const wrong: string[] = [];
      let compared = 0;
      for (const r of results) {
        if (r.from === 'external') continue;
        let intent: boolean;
        if (r.to.startsWith('svc:')) {
          // kube-proxy DNATs to one backend (random): allowed if policy allows every backend, denied if it allows none.
          const svc = state.topology.services.find((s) => `svc:${s.key}` === r.to)!;
          const sp = svc.ports.find((p) => p.port === r.port && p.protocol === r.protocol)!;
          // Hairpin (a backend calling its own Service) leaves the pod and is policed, while
          // evaluateFlow treats src == dst as loopback: not comparable here.
          if (sp.endpoints.some((e) => e.pod === r.from)) continue;
          const verdicts = sp.endpoints.map((e) => evaluateFlow(model, { src: ep(r.from), dst: ep(e.pod), protocol: r.protocol, port: e.port }).allowed);
          if (verdicts.length === 0 || verdicts.some((v) => v !== verdicts[0])) continue;
          intent = verdicts[0];
        } else if (r.to === 'external') {
          intent = evaluateFlow(model, { src: ep(r.from), dst: { ip: r.dstIp }, protocol: r.protocol, ...(r.port ? { port: r.port } : {}), ...(r.protocol === 'ICMP' ? { icmp: { type: 8, code: 0 } } : {}) }).allowed;
        } else {
          intent = evaluateFlow(model, { src: ep(r.from), dst: ep(r.to), protocol: r.protocol, ...(r.port ? { port: r.port } : {}), ...(r.protocol === 'ICMP' ? { icmp: { type: 8, code: 0 } } : {}) }).allowed;
        }
        compared++;
        if (intent !== r.ok) wrong.push(`${r.from} -> ${r.to} ${r.protocol}/${r.port ?? ''}: intent ${intent ? 'allow' : 'deny'}, kernel ${r.ok ? 'delivered' : 'dropped'} (${r.detail})`);
      }
      console.log(`render lab ${mode}: ${compared} flows compared with intent, ${results.filter((r) => r.ok).length} delivered, ${wrong.length} disagree`);
      expect(wrong).toEqual([]);
      expect(compared).toBeGreaterThan(300);
      await labDown({ prefix, stateDir: `/tmp/caliscope-render-lab-${prefix}` });
    });
  }
});
