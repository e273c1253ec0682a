/**
 * Golden files for the wording of trails, `policy for` and the matrix, so that changes in the
 * explanations show up in review. Regenerate with UPDATE_GOLDEN=1 after checking the diff.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadClusterDir } from '../../src/parse/resources.js';
import {
  buildPolicyModel,
  matrixJson,
  policiesFor,
  reachabilityMatrix,
  renderMatrixText,
  renderPoliciesForText,
  renderPolicyCheckText,
  runPolicyCheck,
} from '../../src/calico/policy/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = path.join(root, 'test/fixtures/policy');
const text = readFileSync(path.join(dir, 'cluster.yaml'), 'utf8');
const loaded = loadClusterDir([{ path: 'cluster/cluster.yaml', text }]);
const model = buildPolicyModel(loaded.value);

function golden(name: string, actual: string): void {
  const file = path.join(dir, `${name}.golden.txt`);
  if (process.env.UPDATE_GOLDEN || !existsSync(file)) writeFileSync(file, `${actual}\n`);
  expect(`${actual}\n`).toBe(readFileSync(file, 'utf8'));
}

describe('policy explanation golden files', () => {
  it('reads the fixture without errors', () => {
    expect(loaded.issues.filter((i) => i.severity === 'error')).toEqual([]);
  });

  it.each([
    ['check-frontend-api-allowed', { from: 'shop/frontend-7d9c', to: 'shop/api-5f6b', port: 9000, protocol: 'TCP' }],
    ['check-frontend-db-denied', { from: 'shop/frontend-7d9c', to: 'shop/db-0', port: 5432, protocol: 'TCP' }],
    ['check-api-db-named-port', { from: 'shop/api-5f6b', to: 'shop/db-0', port: 5432, protocol: 'TCP' }],
    ['check-prometheus-api-metrics', { from: '10.244.1.9', to: 'shop/api-5f6b', port: 9090, protocol: 'TCP' }],
    ['check-api-external', { from: 'shop/api-5f6b', to: '203.0.113.10', port: 443, protocol: 'TCP' }],
    ['check-metadata-blocked', { from: 'shop/api-5f6b', to: '169.254.169.254', port: 80, protocol: 'TCP' }],
  ] as const)('%s', (name, q) => {
    golden(name, renderPolicyCheckText(runPolicyCheck(model, q).json));
  });

  it('check JSON shape', () => {
    golden('check-frontend-db-denied.json', JSON.stringify(runPolicyCheck(model, { from: 'shop/frontend-7d9c', to: 'shop/db-0', port: 5432, protocol: 'TCP' }).json, null, 2));
  });

  it('policy for', () => {
    golden('for-db', renderPoliciesForText(policiesFor(model, 'shop/db-0')));
    golden('for-api', renderPoliciesForText(policiesFor(model, 'shop/api-5f6b')));
  });

  it('matrix', () => {
    const m = reachabilityMatrix(model, { protocol: 'TCP', port: 9000 });
    golden('matrix-tcp-9000', renderMatrixText(m));
    golden('matrix-tcp-9000-tabs', renderMatrixText(m, { style: 'tabs' }));
    golden('matrix-tcp-9000.json', JSON.stringify(matrixJson(m), null, 2));
  });
});
