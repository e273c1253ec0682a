import { describe, expect, it } from 'vitest';
import { check, healthyCluster, node, podsOn } from '../../../test/checks/bundle-builder.js';
import { routeWrongInterface } from './route-wrong-interface.js';

describe('route.wrong-interface', () => {
  it('is silent on healthy clusters', () => {
    for (const mode of ['bgp', 'vxlan', 'ipip'] as const) expect(check(routeWrongInterface, healthyCluster({ mode })).findings).toEqual([]);
  });

  it("reports a /32 that points at another pod's veth", () => {
    const c = healthyCluster();
    const [p1, p2] = podsOn(c, 'node-a');
    node(c, 'node-a').routes.find((x) => x.dst === p1.ip)!.dev = p2.iface;
    const r = check(routeWrongInterface, c);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-a', subject: `${p1.namespace}/${p1.name}` });
    expect(f.explanation).toContain(`the veth of pod ${p2.namespace}/${p2.name}`);
    expect(f.evidence.some((e) => e.text?.includes(`"dev":"${p2.iface}"`))).toBe(true);
    expect(f.remediation.fix?.[0]).toContain(`ip route replace ${p1.ip} dev ${p1.iface} scope link`);
  });

  it('reports a stale route to a veth that no longer exists', () => {
    const c = healthyCluster();
    const p1 = podsOn(c, 'node-b')[0];
    node(c, 'node-b').routes.find((x) => x.dst === p1.ip)!.dev = 'cali0123456789a';
    const f = check(routeWrongInterface, c).findings[0];
    expect(f.severity).toBe('error');
    expect(f.explanation).toContain('does not exist any more');
  });

  it('reports a policy rule that sends a local pod elsewhere although its /32 is right', () => {
    const c = healthyCluster();
    const n = node(c, 'node-a');
    const p1 = podsOn(c, 'node-a')[0];
    n.rules.splice(1, 0, { priority: 100, src: 'all', dst: p1.ip, dstlen: 32, table: '100' });
    n.routes.push({ dst: p1.ip, gateway: '10.0.0.12', dev: 'eth0', table: '100', flags: [] });
    const f = check(routeWrongInterface, c).findings[0];
    expect(f.explanation).toContain('ip rule 100');
    expect(f.evidence.some((e) => e.artifact === 'nodes/node-a/ip-rule.json' && e.text?.startsWith('100:'))).toBe(true);
  });

  it('leaves a missing route to route.missing-workload', () => {
    const c = healthyCluster();
    const p1 = podsOn(c, 'node-a')[0];
    node(c, 'node-a').routes = node(c, 'node-a').routes.filter((r) => r.dst !== p1.ip);
    expect(check(routeWrongInterface, c).findings).toEqual([]);
  });

  it('says when ip-route is missing', () => {
    const c = healthyCluster();
    node(c, 'node-b').omit.add('ip-route.json');
    expect(check(routeWrongInterface, c).notChecked).toEqual([{ check: 'route.wrong-interface', node: 'node-b', reason: 'no ip-route for node node-b' }]);
  });
});
