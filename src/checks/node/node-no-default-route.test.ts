import { describe, expect, it } from 'vitest';
import { check, healthyCluster, node, removeRoute } from '../../../test/checks/bundle-builder.js';
import { nodeNoDefaultRoute } from './node-no-default-route.js';

describe('node.no-default-route', () => {
  it('is silent when the node has a default route', () => {
    expect(check(nodeNoDefaultRoute, healthyCluster()).findings).toEqual([]);
  });

  it('accepts a split default (0.0.0.0/1 + 128.0.0.0/1, as VPNs install)', () => {
    const c = healthyCluster();
    const n = node(c, 'node-a');
    removeRoute(n, 'default');
    n.routes.push({ dst: '0.0.0.0/1', gateway: '10.0.0.1', dev: 'eth0', flags: [] }, { dst: '128.0.0.0/1', gateway: '10.0.0.1', dev: 'eth0', flags: [] });
    expect(check(nodeNoDefaultRoute, c).findings).toEqual([]);
  });

  it('warns when there is none', () => {
    const c = healthyCluster();
    removeRoute(node(c, 'node-b'), 'default');
    const r = check(nodeNoDefaultRoute, c);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ severity: 'warning', node: 'node-b', title: 'node-b has no default route' });
    expect(r.findings[0].remediation.confirm?.[0]).toBe('ip route get 8.8.8.8  # on node-b');
  });

  it('says when ip-route is missing', () => {
    const c = healthyCluster();
    node(c, 'node-a').omit.add('ip-route.json');
    expect(check(nodeNoDefaultRoute, c).notChecked).toEqual([{ check: 'node.no-default-route', node: 'node-a', reason: 'no ip-route for node node-a' }]);
  });
});
