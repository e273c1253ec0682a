/**
 * The replay fixtures are hand-written (see test/fixtures/k8s-api/README.md). These tests have a
 * REAL Kubernetes client — kubectl — read them through the replay server (discovery, lists,
 * pagination, Status errors, single objects, logs), and check that
 * scripts/fixtures/record-k8s-api.sh records a replayable layout the collector reads the same way.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { openBundle } from '../../src/bundle/source.js';
import { collectCluster } from '../../src/collect/cluster.js';
import { loadClusterDir } from '../../src/parse/resources.js';
import { startReplayServer } from './k8s-replay.js';

const run = promisify(execFile);
const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'csf-replay-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function k(kubeconfig: string, ...args: string[]): Promise<{ out: string; err: string }> {
  try {
    const r = await run(kubectl!, ['--kubeconfig', kubeconfig, '--request-timeout=10s', ...args]);
    return { out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { stdout: string; stderr: string };
    return { out: x.stdout, err: x.stderr };
  }
}

describe.skipIf(!kubectl)('the replay fixtures, read by a real kubectl', () => {
  it('CRD flavour: discovery, paginated pods, nodes, Calico CRDs, a 403 Status, a single object, a previous log', async () => {
    const srv = await startReplayServer('crd');
    try {
      const pods = JSON.parse((await k(srv.kubeconfig, 'get', 'pods', '-A', '-o', 'json', '--chunk-size=500')).out) as { items: { metadata: { name: string } }[] };
      expect(pods.items).toHaveLength(9);
      expect((await k(srv.kubeconfig, 'get', 'nodes', '-o', 'name')).out.trim().split('\n')).toEqual(['node/cp-1', 'node/worker-1', 'node/worker-2']);
      expect((await k(srv.kubeconfig, 'get', 'ipamblocks.crd.projectcalico.org', '-o', 'name')).out).toContain('ipamblock.crd.projectcalico.org/10-244-2-0-26');
      expect((await k(srv.kubeconfig, 'get', 'caliconodestatuses.crd.projectcalico.org')).err).toMatch(/Error from server \(Forbidden\): caliconodestatuses\.crd\.projectcalico\.org is forbidden/);
      expect((await k(srv.kubeconfig, 'get', 'pod', '-n', 'shop', 'db-0', '-o', 'jsonpath={.status.podIP}')).out).toBe('10.244.2.8');
      expect((await k(srv.kubeconfig, 'get', 'pod', '-n', 'shop', 'nope')).err).toMatch(/pods "nope" not found/);
      expect((await k(srv.kubeconfig, 'logs', '-n', 'calico-system', 'calico-node-m4d8w', '-c', 'calico-node', '--previous', '--tail=1')).out).toMatch(/\[FATAL\]\[1\] felix\/daemon\.go 1030: Exiting\./);
      expect(srv.requests.some((r) => r.startsWith('GET /api/v1/pods?continue='))).toBe(true);
    } finally {
      await srv.close();
    }
  });

  it('v3 flavour: Calico API server resources, pagination, a 403', async () => {
    const srv = await startReplayServer('v3');
    try {
      expect((await k(srv.kubeconfig, 'get', 'networkpolicies.projectcalico.org', '-A', '-o', 'name')).out.trim().split('\n')).toEqual([
        'networkpolicy.projectcalico.org/allow-web',
        'networkpolicy.projectcalico.org/allow-web-metrics',
      ]);
      expect((await k(srv.kubeconfig, 'get', 'bgppeers.projectcalico.org')).err).toMatch(/\(Forbidden\)/);
      expect((await k(srv.kubeconfig, 'api-resources', '--api-group=projectcalico.org', '-o', 'name')).out).toContain('ipamconfigurations.projectcalico.org');
    } finally {
      await srv.close();
    }
  });

  it('record-k8s-api.sh records a layout that replays to the same bundle', async () => {
    const srv = await startReplayServer('crd');
    const rec = path.join(tmp, 'recorded');
    try {
      const r = await run('bash', [path.resolve(import.meta.dirname, '../../scripts/fixtures/record-k8s-api.sh'), rec], { env: { ...process.env, KUBECONFIG: srv.kubeconfig } });
      expect(r.stdout).toMatch(/^recorded \d+ responses/);
    } finally {
      await srv.close();
    }
    const [orig, replayed] = await Promise.all(
      ['crd', rec].map(async (flavour, i) => {
        const s = await startReplayServer(flavour);
        try {
          const out = path.join(tmp, `bundle-${i}`);
          await collectCluster({ out, kubeconfig: s.kubeconfig, logs: { tailLines: 200 } });
          const src = await openBundle(out);
          return loadClusterDir(src.paths().filter((p) => p.startsWith('cluster/')).map((p) => ({ path: p, text: src.text(p) }))).value;
        } finally {
          await s.close();
        }
      }),
    );
    for (const key of ['pods', 'nodes', 'namespaces', 'ipamBlocks', 'ipamHandles', 'ipPools', 'bgpPeers', 'globalNetworkPolicies', 'calicoNetworkPolicies'] as const)
      expect(replayed[key].length, key).toBe(orig[key].length);
  }, 60_000);
});
