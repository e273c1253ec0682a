import { describe, expect, it } from 'vitest';
import { build, check, healthyCluster, node, podsOn, runCheck } from '../../../test/checks/bundle-builder.js';
import { traceFlow } from '../../trace/flow.js';
import { routeBlackholeShadow } from './route-blackhole-shadow.js';

describe('route.blackhole-shadow', () => {
  it("is silent on healthy clusters (each node's own block blackhole is expected)", () => {
    for (const mode of ['bgp', 'vxlan', 'ipip'] as const) {
      const r = check(routeBlackholeShadow, healthyCluster({ mode, nodes: 3 }));
      expect(r.findings).toEqual([]);
      expect(r.notChecked).toEqual([]);
    }
  });

  it("reports a more specific blackhole over part of a remote node's block", () => {
    const c = healthyCluster({ mode: 'bgp' });
    node(c, 'node-a').routes.splice(3, 0, { type: 'blackhole', dst: '10.244.2.0/28', flags: [] });
    const b = build(c);
    const r = runCheck(routeBlackholeShadow, b);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-a', subject: '10.244.2.0/28' });
    expect(f.title).toBe('blackhole 10.244.2.0/28 on node-a drops traffic to 2 pods');
    expect(f.explanation).toContain('is more specific than 10.244.2.0/26 via 10.0.0.12 dev eth0');
    expect(f.evidence[0]).toMatchObject({ artifact: 'nodes/node-a/ip-route.json', note: 'JSON element 3; the drop route' });
    expect(f.evidence.some((e) => e.note === 'JSON element 5; the route it overrides' || e.note?.endsWith('the route it overrides'))).toBe(true);
    expect(f.remediation.fix).toEqual(['ip route del blackhole 10.244.2.0/28  # on node-a']);
    const [src, dst] = [podsOn(c, 'node-a')[0], podsOn(c, 'node-b')[0]];
    const t = traceFlow(b, { from: `${src.namespace}/${src.name}`, to: `${dst.namespace}/${dst.name}`, protocol: 'ICMP' });
    expect(t.verdict).toBe('dropped');
    expect(t.dropped?.reason).toContain('blackhole route 10.244.2.0/28 on node-a');
  });

  it('reports a drop route in a table consulted before main', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    const n = node(c, 'node-a');
    n.rules.splice(1, 0, { priority: 50, src: 'all', table: '200' });
    n.routes.push({ type: 'unreachable', dst: '10.244.0.0/16', table: '200', flags: [] });
    const f = check(routeBlackholeShadow, c).findings[0];
    expect(f.severity).toBe('error');
    expect(f.explanation).toContain('is found in table 200, consulted before table main');
    expect(f.evidence.some((e) => e.artifact === 'nodes/node-a/ip-rule.json' && e.text?.startsWith('50:'))).toBe(true);
    expect(f.remediation.fix).toEqual(['ip route del unreachable 10.244.0.0/16 table 200  # on node-a']);
  });

  it('is a warning when the shadowed part of the block has no pods', () => {
    const c = healthyCluster();
    node(c, 'node-a').routes.push({ type: 'blackhole', dst: '10.244.2.32/27', flags: [] });
    const r = check(routeBlackholeShadow, c);
    expect(r.findings.map((f) => f.severity)).toEqual(['warning']);
    expect(r.findings[0].title).toBe('blackhole 10.244.2.32/27 on node-a drops traffic to 1 remote block');
    expect(r.findings[0].explanation).toContain('block 10.244.2.0/26 of node-b (10.244.2.32/27)');
  });

  it('does not claim a foreign blackhole when there is no real route to shadow', () => {
    const c = healthyCluster();
    const n = node(c, 'node-a');
    n.routes = n.routes.filter((r) => r.dst !== '10.244.2.0/26');
    n.routes.push({ type: 'blackhole', dst: '10.244.2.0/26', flags: [] });
    expect(check(routeBlackholeShadow, c).findings).toEqual([]);
  });
});
