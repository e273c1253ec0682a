/**
 * The kernel accepts the rendering: `ipset restore` and `iptables-restore` (legacy and nft) load
 * it in a fresh network namespace, and `iptables-save` / `ipset save` give back exactly the
 * rendered lines, chain by chain, which the iptables-save parser reads without errors.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../../../test/helpers/root.js';
import { buildPolicyModel } from '../../calico/policy/index.js';
import { parseIpset } from '../../parse/ipset.js';
import { parseIptablesSave } from '../../parse/iptables-save.js';
import { type EncapMode, type RenderedNode, renderFelixNode } from './node.js';
import { SAMPLE_NODES, sampleCluster } from './sample-cluster.js';

const NS = `csf-rnd-${Math.random().toString(36).slice(2, 7)}`;

function inNs(args: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', NS, ...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) });
}

function savedChains(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const m = /^-A (\S+) /.exec(line);
    if (m) out.set(`${table}/${m[1]}`, [...(out.get(`${table}/${m[1]}`) ?? []), line]);
  }
  return out;
}

function reset() {
  for (const b of ['legacy', 'nft']) {
    inNs([`iptables-${b}-restore`], '*raw\nCOMMIT\n*mangle\nCOMMIT\n*nat\nCOMMIT\n*filter\nCOMMIT\n');
  }
  inNs(['ipset', 'destroy']);
}

describeRoot('rendered programming loads into the kernel and reads back identically', () => {
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NS]);
  });
  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', NS]);
    } catch {
      /* already gone */
    }
  });

  const cluster = sampleCluster();
  const model = buildPolicyModel(cluster);
  const cases: { node: string; mode: EncapMode; style: 'tiered' | 'kind' }[] = [
    { node: 'node-a', mode: 'vxlan', style: 'tiered' },
    { node: 'node-b', mode: 'vxlan', style: 'tiered' },
    { node: 'node-a', mode: 'ipip', style: 'tiered' },
    { node: 'node-b', mode: 'bgp', style: 'kind' },
  ];
  for (const c of cases) {
    for (const backend of ['legacy', 'nft'] as const) {
      it(`${c.node} ${c.mode} ${c.style} (${backend})`, () => {
        reset();
        const ip = SAMPLE_NODES.find((n) => n.name === c.node)!.ip;
        const r: RenderedNode = renderFelixNode({ cluster, model, node: c.node, nodeIp: ip, mode: c.mode, allNodeIps: SAMPLE_NODES.map((n) => n.ip), felixConfig: { chainStyle: c.style } });
        inNs(['ipset', 'restore'], r.ipsetRestore);
        inNs([`iptables-${backend}-restore`], r.iptablesRestore);
        const saved = inNs([`iptables-${backend}-save`]);

        const parsed = parseIptablesSave(saved, 'saved');
        expect(parsed.issues).toEqual([]);
        const got = savedChains(saved);
        for (const [key, rules] of r.chains) expect(got.get(key) ?? [], key).toEqual(rules.map((x) => x.line));
        for (const [key, rules] of got) expect(rules, key).toEqual(r.chains.get(key)?.map((x) => x.line));

        const sets = parseIpset(inNs(['ipset', 'save']), 'ipset save');
        expect(sets.issues).toEqual([]);
        expect([...sets.value.sets.keys()].sort()).toEqual([...r.ipsets.keys()].sort());
        for (const [name, s] of r.ipsets) {
          const k = sets.value.sets.get(name)!;
          expect(k.type, name).toBe(s.type);
          expect(k.members.map((m) => m.raw).sort(), name).toEqual([...s.members].sort());
        }
      });
    }
  }
});
