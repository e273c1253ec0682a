/**
 * collectEtcd against a REAL etcd (Debian etcd-server) started on free loopback ports with a
 * temporary data dir, loaded with Calico-format keys (test/fixtures/etcd/calico-keys.json).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBundle } from '../bundle/source.js';
import { readManifest, verifyManifest } from '../bundle/manifest.js';
import { loadClusterDir } from '../parse/resources.js';
import { blockAffinityName, cidrToName, collectEtcd, keyCidr } from './etcd.js';
import { collectCluster } from './cluster.js';
import { startReplayServer } from '../../test/collect/k8s-replay.js';

const ETCD = '/usr/bin/etcd';
const fixture = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../test/fixtures/etcd/calico-keys.json'), 'utf8')) as { keys: Record<string, unknown>; raw: Record<string, string> };

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const haveEtcd = existsSync(ETCD);
const suite = haveEtcd || process.env.CI === 'true' ? describe : describe.skip;

suite('collectEtcd against a real etcd', () => {
  let etcd: ChildProcess;
  let endpoint: string;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'csf-etcd-'));

  beforeAll(async () => {
    if (!haveEtcd) throw new Error(`${ETCD} is missing (Debian etcd-server); CI installs it`);
    const [client, peer] = [await freePort(), await freePort()];
    endpoint = `http://127.0.0.1:${client}`;
    const name = `csf-etcd-${process.pid}`;
    etcd = spawn(
      ETCD,
      [
        '--name', name,
        '--data-dir', path.join(dir, 'data'),
        '--listen-client-urls', endpoint,
        '--advertise-client-urls', endpoint,
        '--listen-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-cluster', `${name}=http://127.0.0.1:${peer}`,
        '--log-level', 'error',
      ],
      { stdio: 'ignore' },
    );
    const client3 = new Etcd3({ hosts: endpoint, dialTimeout: 2000 });
    try {
      for (let i = 0; ; i++) {
        try {
          await client3.put('/calico/v1/Ready').value('true');
          break;
        } catch (e) {
          if (i > 100) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      for (const [k, v] of Object.entries(fixture.keys)) await client3.put(k).value(JSON.stringify(v));
      for (const [k, v] of Object.entries(fixture.raw)) await client3.put(k).value(v);
      // Many handles, to cross page boundaries (pageSize 10 below).
      for (let i = 0; i < 35; i++) await client3.put(`/calico/ipam/v2/handle/k8s-pod-network.bulk${String(i).padStart(3, '0')}`).value(JSON.stringify({ block: { '192.168.10.0/26': 1 }, deleted: false }));
    } finally {
      client3.close();
    }
  }, 60_000);

  afterAll(async () => {
    if (etcd && etcd.exitCode === null) {
      etcd.kill('SIGTERM');
      await once(etcd, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads v3 resources and IPAM keys into cluster/ lists, paginated at one revision', async () => {
    const out = path.join(dir, 'bundle.tar.gz');
    const r = await collectEtcd({ out, endpoints: [endpoint], pageSize: 10 });
    expect(r.out).toBe(out);
    expect(Number(r.revision)).toBeGreaterThan(0);
    const src = await openBundle(out);
    const { manifest } = readManifest(src);
    expect(manifest!.complete).toBe(true);
    expect(manifest!.source).toMatchObject({ kind: 'etcd', endpoints: [endpoint] });
    expect(verifyManifest(src, manifest!).ok).toBe(true);
    expect(r.counts).toMatchObject({
      'cluster/ippools.projectcalico.org.yaml': 2,
      'cluster/nodes.projectcalico.org.yaml': 2,
      'cluster/workloadendpoints.projectcalico.org.yaml': 2,
      'cluster/networkpolicies.projectcalico.org.yaml': 1,
      'cluster/globalnetworkpolicies.projectcalico.org.yaml': 1,
      'cluster/ipamblocks.crd.projectcalico.org.yaml': 3,
      'cluster/blockaffinities.crd.projectcalico.org.yaml': 3,
      'cluster/ipamhandles.crd.projectcalico.org.yaml': 4 + 35,
      'cluster/ipamconfigs.crd.projectcalico.org.yaml': 1,
    });
    const wep = parseYaml(src.text('cluster/workloadendpoints.projectcalico.org.yaml')) as { items: { apiVersion: string; kind: string; metadata: { name: string; namespace: string; resourceVersion: string } }[] };
    expect(wep.items[0]).toMatchObject({ apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint', metadata: { name: 'etcd--node--1-k8s-web--0-eth0', namespace: 'shop' } });
    expect(Number(wep.items[0].metadata.resourceVersion)).toBeGreaterThan(0);

    const blocks = parseYaml(src.text('cluster/ipamblocks.crd.projectcalico.org.yaml')) as { items: { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> }[] };
    const b6 = blocks.items.find((b) => b.metadata.name === 'fd00-10-244-1---122')!;
    expect(b6).toMatchObject({ apiVersion: 'crd.projectcalico.org/v1', kind: 'IPAMBlock', spec: { cidr: 'fd00:10:244:1::/122', affinity: 'host:etcd-node-1', affinityClaimTime: '2025-06-02T08:13:00Z' } });
    expect(b6.spec).not.toHaveProperty('affinity_claim_time');
    const b1 = blocks.items.find((b) => b.metadata.name === '192-168-10-0-26')!;
    expect(b1.spec.attributes).toEqual([
      { handle_id: 'ipip-tunnel-addr-etcd-node-1', secondary: { node: 'etcd-node-1', type: 'ipipTunnelAddress' } },
      { handle_id: 'k8s-pod-network.9a8b7c6d5e4f', secondary: { namespace: 'shop', node: 'etcd-node-1', pod: 'web-0', timestamp: '2025-06-02 08:14:10.11 +0000 UTC' } },
    ]);
    expect((b1.spec.allocations as (number | null)[]).length).toBe(64);

    const aff = parseYaml(src.text('cluster/blockaffinities.crd.projectcalico.org.yaml')) as { items: { metadata: { name: string }; spec: Record<string, unknown> }[] };
    expect(aff.items.find((a) => a.metadata.name === 'etcd-node-1-192-168-10-0-26')!.spec).toEqual({ state: 'confirmed', node: 'etcd-node-1', type: 'host', cidr: '192.168.10.0/26', deleted: 'false' });
    const handles = parseYaml(src.text('cluster/ipamhandles.crd.projectcalico.org.yaml')) as { items: { metadata: { name: string }; spec: Record<string, unknown> }[] };
    expect(handles.items.find((h) => h.metadata.name === 'k8s-pod-network.9a8b7c6d5e4f')!.spec).toEqual({ handleID: 'k8s-pod-network.9a8b7c6d5e4f', block: { '192.168.10.0/26': 1 }, deleted: false });
    const cfg = parseYaml(src.text('cluster/ipamconfigs.crd.projectcalico.org.yaml')) as { items: { metadata: { name: string }; spec: unknown }[] };
    expect(cfg.items[0]).toMatchObject({ metadata: { name: 'default' }, spec: { strictAffinity: false, autoAllocateBlocks: true } });

    // A key whose value is not JSON is a failure entry, not the end of the collection.
    expect(manifest!.failures!.some((f) => f.target === 'etcd' && /hostendpoints\/broken: value is not JSON/.test(f.error))).toBe(true);
    // The resource loader reads the result.
    const loaded = loadClusterDir(src.paths().filter((p) => p.startsWith('cluster/')).map((p) => ({ path: p, text: src.text(p) })));
    expect(loaded.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(loaded.value.ipamBlocks).toHaveLength(3);
    expect(loaded.value.workloadEndpoints).toHaveLength(2);
    expect(loaded.value.calicoNodes).toHaveLength(2);
    expect(loaded.value.ipPools).toHaveLength(2);
    expect(loaded.value.ipamHandles).toHaveLength(39);
  });

  it('anonymizes etcd data consistently (node names in keys, blocks and WorkloadEndpoints)', async () => {
    const out = path.join(dir, 'anon');
    const r = await collectEtcd({ out, endpoints: [endpoint], anonymize: true });
    expect(r.anonymizeKey).toMatch(/^[0-9a-f]{64}$/);
    const src = await openBundle(out);
    const text = src.paths().map((p) => src.text(p)).join('\n');
    for (const s of ['etcd-node-1', 'etcd--node--1', 'web-0', '192.168.10.5', '10.0.0.11']) expect(text.includes(s), s).toBe(false);
  });

  it('collectCluster in etcd mode: Kubernetes objects from the API, Calico data from etcd', async () => {
    const srv = await startReplayServer('crd');
    try {
      const out = path.join(dir, 'etcd-mode');
      const r = await collectCluster({ out, kubeconfig: srv.kubeconfig, etcd: { endpoints: [endpoint] }, logs: { calicoNode: 'none' } });
      expect(r.calicoApi).toBe('etcdv3');
      const src = await openBundle(out);
      expect(src.has('cluster/pods.yaml')).toBe(true);
      expect(src.has('cluster/workloadendpoints.projectcalico.org.yaml')).toBe(true);
      expect(src.text('cluster/ipamblocks.crd.projectcalico.org.yaml')).toContain('192-168-10-0-26');
      expect(srv.requests.some((q) => q.startsWith('GET /apis/crd.projectcalico.org/v1/'))).toBe(false);
      expect(readManifest(src).manifest!.complete).toBe(true);
    } finally {
      await srv.close();
    }
  });

  it('fails clearly when etcd cannot be reached', async () => {
    const port = await freePort();
    await expect(collectEtcd({ out: path.join(dir, 'unreachable'), endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 1500 })).rejects.toThrow();
    const src = await openBundle(path.join(dir, 'unreachable'));
    const { manifest } = readManifest(src);
    expect(manifest!.complete).toBe(false);
    expect(manifest!.failures![0].target).toBe('etcd');
  });
});

describe('etcd key helpers', () => {
  it('converts CIDRs and names as Calico does', () => {
    expect(keyCidr('192.168.45.0-26')).toBe('192.168.45.0/26');
    expect(keyCidr('fd00:10:244:1::-122')).toBe('fd00:10:244:1::/122');
    expect(cidrToName('192.168.45.0/26')).toBe('192-168-45-0-26');
    expect(blockAffinityName('node-1', '10.0.0.0/26')).toBe('node-1-10-0-0-0-26');
    const long = blockAffinityName('n'.repeat(300), '10.0.0.0/26');
    expect(long.length).toBeLessThan(253);
    expect(long).toMatch(/-10-0-0-0-26-[0-9a-f]{11}$/);
  });
});
