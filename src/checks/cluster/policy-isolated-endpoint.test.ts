import { describe, expect, it } from 'vitest';
import { knp, makeBundle, ns, pod, runCheck } from '../../../test/checks-cluster/helpers.js';
import { policyIsolatedEndpoint } from './policy-isolated-endpoint.js';

const objs = [ns('prod'), pod('prod', 'db-1', { ip: '10.0.0.1', labels: { app: 'db' } }), pod('prod', 'api-1', { ip: '10.0.0.2', labels: { app: 'api' } }), pod('prod', 'web-1', { ip: '10.0.0.3', labels: { app: 'web' } })];

describe('policy.isolated-endpoint', () => {
  it('summarises who may reach an ingress-isolated endpoint', () => {
    const b = makeBundle({ objects: [...objs, knp('prod', 'db', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }] })] });
    const [f] = runCheck(policyIsolatedEndpoint, b).findings;
    expect(f.severity).toBe('info');
    expect(f.explanation).toContain('TCP/5432: from 1 of 2 endpoints (prod/api-1)');
  });

  it('reports nothing when no ingress policy selects an endpoint', () => {
    expect(runCheck(policyIsolatedEndpoint, makeBundle({ objects: objs })).findings).toEqual([]);
  });
});
