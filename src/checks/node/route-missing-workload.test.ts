import { describe, expect, it } from 'vitest';
import { build, check, healthyCluster, link, node, podsOn, removeRoute, runCheck } from '../../../test/checks/bundle-builder.js';
import { traceFlow } from '../../trace/flow.js';
import { routeMissingWorkload } from './route-missing-workload.js';

describe('route.missing-workload', () => {
  it('is silent on healthy clusters (bgp, vxlan, ipip)', () => {
    for (const mode of ['bgp', 'vxlan', 'ipip'] as const) {
      const r = check(routeMissingWorkload, healthyCluster({ mode }));
      expect(r.findings).toEqual([]);
      expect(r.notChecked).toEqual([]);
    }
  });

  it('reports a pod whose /32 route is gone, with the blackhole that catches it', () => {
    const c = healthyCluster({ mode: 'bgp' });
    const victim = podsOn(c, 'node-b')[0];
    removeRoute(node(c, 'node-b'), victim.ip);
    const b = build(c);
    const r = runCheck(routeMissingWorkload, b);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ check: 'route.missing-workload', severity: 'error', node: 'node-b', subject: `${victim.namespace}/${victim.name}` });
    expect(f.explanation).toContain('blackhole 10.244.2.0/26');
    const bh = f.evidence.find((e) => e.artifact === 'nodes/node-b/ip-route.json');
    expect(bh?.text).toContain('"blackhole"');
    expect(bh?.note).toMatch(/JSON element \d+/);
    const podLine = f.evidence.find((e) => e.artifact === 'cluster/pods.yaml');
    expect(podLine?.line).toBeGreaterThan(0);
    expect(podLine?.text).toContain(victim.ip);
    expect(f.remediation.confirm?.[0]).toBe(`ip route get ${victim.ip}  # on node-b`);
    expect(f.remediation.fix?.[0]).toContain(`ip route replace ${victim.ip} dev ${victim.iface} scope link`);
    // End to end: the trace drops traffic to the pod at that route.
    const t = traceFlow(b, { from: `${podsOn(c, 'node-a')[0].namespace}/${podsOn(c, 'node-a')[0].name}`, to: `${victim.namespace}/${victim.name}`, protocol: 'TCP', port: 80 });
    expect(t.verdict).toBe('dropped');
    expect(t.dropped?.where).toBe('route');
  });

  it('says when the veth itself is gone', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    const n = node(c, 'node-a');
    const victim = podsOn(c, 'node-a')[1];
    removeRoute(n, victim.ip);
    n.links = n.links.filter((l) => l !== link(n, victim.iface));
    const f = check(routeMissingWorkload, c).findings[0];
    expect(f.explanation).toContain(`The veth ${victim.iface} itself does not exist`);
    expect(f.remediation.fix?.[0]).toBe(`kubectl delete pod -n ${victim.namespace} ${victim.name}`);
    expect(f.evidence.some((e) => e.note?.includes('is gone'))).toBe(true);
  });

  it('does not report a route that is there but on another interface (route.wrong-interface)', () => {
    const c = healthyCluster();
    const [p1, p2] = podsOn(c, 'node-a');
    const r = node(c, 'node-a').routes.find((x) => x.dst === p1.ip)!;
    r.dev = p2.iface;
    expect(check(routeMissingWorkload, c).findings).toEqual([]);
  });

  it('says once per node when ip-route is missing', () => {
    const c = healthyCluster();
    node(c, 'node-a').omit.add('ip-route.json');
    const r = check(routeMissingWorkload, c);
    expect(r.findings).toEqual([]);
    expect(r.notChecked).toEqual([{ check: 'route.missing-workload', node: 'node-a', reason: 'no ip-route for node node-a' }]);
  });
});
