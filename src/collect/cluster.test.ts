import { gunzipSync } from 'node:zlib';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBundle, type BundleSource } from '../bundle/source.js';
import { readManifest, verifyManifest } from '../bundle/manifest.js';
import { loadClusterDir } from '../parse/resources.js';
import { collectCluster } from './cluster.js';
import { FIXTURES, startReplayServer, type ReplayServer } from '../../test/collect/k8s-replay.js';

const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'csf-cluster-test-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;
const tmpOut = (name: string) => path.join(tmpRoot, `${++n}-${name}`);

const seeded = JSON.parse(readFileSync(path.join(FIXTURES, 'seeded-secrets.json'), 'utf8')) as Record<string, string>;
const frames = JSON.parse(readFileSync(path.join(FIXTURES, 'exec/node-frames.json'), 'utf8')) as { nonce: string; plan: Record<string, unknown> };
const framesPlain = gunzipSync(readFileSync(path.join(FIXTURES, 'exec/node-frames.stdout')));
const framesErr = readFileSync(path.join(FIXTURES, 'exec/node-frames.stderr'));

function clusterYaml(src: BundleSource): { path: string; text: string }[] {
  return src.paths().filter((p) => p.startsWith('cluster/')).map((p) => ({ path: p, text: src.text(p) }));
}

function allText(src: BundleSource): string {
  return src.paths().map((p) => src.text(p)).join('\n');
}

describe('collectCluster against the recorded API: Calico CRD flavour', () => {
  let srv: ReplayServer;
  let src: BundleSource;
  let out: string;
  let result: Awaited<ReturnType<typeof collectCluster>>;
  beforeAll(async () => {
    srv = await startReplayServer('crd');
    out = `${tmpOut('crd')}.tar.gz`;
    result = await collectCluster({ out, kubeconfig: srv.kubeconfig });
    src = await openBundle(out);
  });
  afterAll(() => srv.close());

  it('finishes, packs the archive and records the Calico API flavour', () => {
    expect(result.complete).toBe(true);
    expect(result.out).toBe(out);
    expect(result.calicoApi).toBe('crd.projectcalico.org/v1');
    const { manifest } = readManifest(src);
    expect(manifest?.complete).toBe(true);
    expect(manifest?.source).toMatchObject({ kind: 'cluster', context: 'replay-crd', calicoApi: 'crd.projectcalico.org/v1', resourcesComplete: true });
    expect(verifyManifest(src, manifest!).ok).toBe(true);
  });

  it('writes one List per resource, with apiVersion and kind on every item (kubectl get -o yaml shape)', () => {
    for (const f of [
      'cluster/nodes.yaml',
      'cluster/namespaces.yaml',
      'cluster/pods.yaml',
      'cluster/serviceaccounts.yaml',
      'cluster/services.yaml',
      'cluster/endpointslices.discovery.k8s.io.yaml',
      'cluster/networkpolicies.networking.k8s.io.yaml',
      'cluster/ippools.crd.projectcalico.org.yaml',
      'cluster/ipamblocks.crd.projectcalico.org.yaml',
      'cluster/blockaffinities.crd.projectcalico.org.yaml',
      'cluster/ipamhandles.crd.projectcalico.org.yaml',
      'cluster/networkpolicies.crd.projectcalico.org.yaml',
      'cluster/globalnetworkpolicies.crd.projectcalico.org.yaml',
      'cluster/tiers.crd.projectcalico.org.yaml',
      'cluster/felixconfigurations.crd.projectcalico.org.yaml',
      'cluster/hostendpoints.crd.projectcalico.org.yaml',
    ]) {
      expect(src.has(f), f).toBe(true);
      const doc = parseYaml(src.text(f)) as { apiVersion: string; kind: string; items: { apiVersion: string; kind: string; metadata: { name: string } }[] };
      expect(doc.kind, f).toBe('List');
      expect(doc.apiVersion).toBe('v1');
      for (const it of doc.items) {
        expect(it.apiVersion, f).toMatch(/^(v1|[a-z0-9.-]+\/v\d\w*)$/);
        expect(it.kind, f).toMatch(/^[A-Z]/);
        expect(it.metadata.name, f).toBeTruthy();
      }
    }
    const pods = parseYaml(src.text('cluster/pods.yaml')) as { items: { kind: string; metadata: { name: string } }[] };
    // Both pages of the paginated pod list.
    expect(pods.items.map((p) => p.metadata.name)).toContain('calico-node-7xq2p');
    expect(pods.items.map((p) => p.metadata.name)).toContain('coredns-7db6d8ff4d-2lq9n');
    expect(pods.items).toHaveLength(9);
    expect(srv.requests.some((r) => r.startsWith('GET /api/v1/pods?limit=500&continue='))).toBe(true);
  });

  it('records RBAC denials per resource and goes on', () => {
    const { manifest } = readManifest(src);
    const f = manifest!.failures!.find((x) => x.target === 'resource/caliconodestatuses.crd.projectcalico.org');
    expect(f?.error).toMatch(/^403 Forbidden: caliconodestatuses.crd.projectcalico.org is forbidden/);
    expect(f?.command).toBe('GET /apis/crd.projectcalico.org/v1/caliconodestatuses');
    expect(src.has('cluster/caliconodestatuses.crd.projectcalico.org.yaml')).toBe(false);
  });

  it('collects Calico component logs: calico-node into the node directory, the previous container of a restarting pod', () => {
    for (const node of ['cp-1', 'worker-1', 'worker-2']) expect(src.has(`nodes/${node}/felix.log`), node).toBe(true);
    expect(src.text('nodes/worker-2/felix.log')).toMatch(/Failed to execute ip\(6\)tables-restore/);
    expect(src.has('logs/calico-system/calico-node-m4d8w/calico-node.previous.log')).toBe(true);
    expect(src.has('logs/calico-system/calico-kube-controllers-5c8d7b9f6-qz4lx/calico-kube-controllers.log')).toBe(true);
    expect(src.has('logs/calico-system/calico-typha-6f9b8c7d5-hh2vx/calico-typha.log')).toBe(true);
    expect(srv.requests.some((r) => /\/pods\/calico-node-m4d8w\/log\?container=calico-node&tailLines=5000&limitBytes=\d+&previous=true/.test(r))).toBe(true);
  });

  it('leaves no seeded secret anywhere in the bundle, and marks redacted files', () => {
    const text = allText(src);
    for (const [what, secret] of Object.entries(seeded)) expect(text.includes(secret), `${what} survived`).toBe(false);
    const { manifest } = readManifest(src);
    const redacted = manifest!.files.filter((f) => f.redacted).map((f) => f.path);
    expect(redacted).toEqual(
      expect.arrayContaining([
        'cluster/pods.yaml',
        'cluster/bgppeers.crd.projectcalico.org.yaml',
        'logs/calico-system/calico-kube-controllers-5c8d7b9f6-qz4lx/calico-kube-controllers.log',
        'logs/calico-system/calico-node-m4d8w/calico-node.previous.log',
        'nodes/worker-2/felix.log',
      ]),
    );
    expect(redacted).not.toContain('cluster/namespaces.yaml');
    // What is not secret stays: the BGPPeer secret reference, public settings.
    const peers = parseYaml(src.text('cluster/bgppeers.crd.projectcalico.org.yaml')) as { items: { spec: { password: unknown } }[] };
    expect(peers.items[0].spec.password).toEqual({ secretKeyRef: { name: 'bgp-secrets', key: 'tor-a' } });
    expect(peers.items[1].spec.password).toBe('<redacted>');
  });

  it('produces cluster files the resource loader reads without errors', () => {
    const r = loadClusterDir(clusterYaml(src));
    expect(r.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(r.value.pods).toHaveLength(9);
    expect(r.value.nodes).toHaveLength(3);
    expect(r.value.ipamBlocks).toHaveLength(3);
    expect(r.value.ipPools).toHaveLength(1);
    expect(r.value.globalNetworkPolicies).toHaveLength(1);
    expect(r.value.calicoNetworkPolicies).toHaveLength(1);
    expect(r.value.k8sNetworkPolicies).toHaveLength(1);
  });
});

describe('collectCluster against the recorded API: Calico API server (projectcalico.org/v3) flavour', () => {
  let srv: ReplayServer;
  let src: BundleSource;
  let result: Awaited<ReturnType<typeof collectCluster>>;
  beforeAll(async () => {
    srv = await startReplayServer('v3');
    const out = tmpOut('v3');
    result = await collectCluster({ out, kubeconfig: srv.kubeconfig, context: 'replay-v3', logs: { calicoNode: 'none' } });
    src = await openBundle(out);
  });
  afterAll(() => srv.close());

  it('reads Calico resources through the v3 API and IPAM internals from the CRDs', () => {
    expect(result.calicoApi).toBe('projectcalico.org/v3');
    for (const f of [
      'cluster/ippools.projectcalico.org.yaml',
      'cluster/networkpolicies.projectcalico.org.yaml',
      'cluster/globalnetworkpolicies.projectcalico.org.yaml',
      'cluster/profiles.projectcalico.org.yaml',
      'cluster/tiers.projectcalico.org.yaml',
      'cluster/ipamconfigurations.projectcalico.org.yaml',
      'cluster/ipamblocks.crd.projectcalico.org.yaml',
      'cluster/ipamhandles.crd.projectcalico.org.yaml',
      'cluster/ipamconfigs.crd.projectcalico.org.yaml',
      'cluster/adminnetworkpolicies.policy.networking.k8s.io.yaml',
    ])
      expect(src.has(f), f).toBe(true);
    // The v3 API covers these: no duplicate CRD reads.
    expect(src.has('cluster/ippools.crd.projectcalico.org.yaml')).toBe(false);
    expect(src.has('cluster/networkpolicies.crd.projectcalico.org.yaml')).toBe(false);
    expect(srv.requests.some((r) => r.startsWith('GET /apis/projectcalico.org/v3/ippools'))).toBe(true);
    expect(srv.requests.some((r) => r.startsWith('GET /apis/crd.projectcalico.org/v1/ippools'))).toBe(false);
  });

  it('follows pagination of a v3 list and fills apiVersion/kind', () => {
    const np = parseYaml(src.text('cluster/networkpolicies.projectcalico.org.yaml')) as { items: { apiVersion: string; kind: string; metadata: { name: string } }[] };
    expect(np.items.map((i) => i.metadata.name)).toEqual(['allow-web', 'allow-web-metrics']);
    expect(np.items.every((i) => i.apiVersion === 'projectcalico.org/v3' && i.kind === 'NetworkPolicy')).toBe(true);
  });

  it('records the 403 on bgppeers and skips calico-node logs when asked', () => {
    const { manifest } = readManifest(src);
    expect(manifest!.failures!.map((f) => f.target)).toContain('resource/bgppeers.projectcalico.org');
    expect(src.paths().some((p) => p.endsWith('/felix.log'))).toBe(false);
    expect(src.has('logs/calico-system/calico-typha-6f9b8c7d5-hh2vx/calico-typha.log')).toBe(true);
  });

  it('produces cluster files the resource loader reads', () => {
    const r = loadClusterDir(clusterYaml(src));
    expect(r.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(r.value.calicoNetworkPolicies).toHaveLength(2);
    expect(r.value.profiles.length).toBe(4);
    expect(r.value.ipamBlocks).toHaveLength(3);
  });
});

describe('collectCluster options', () => {
  let srv: ReplayServer;
  beforeAll(async () => {
    srv = await startReplayServer('crd');
  });
  afterAll(() => srv.close());

  it('restricts namespaced lists to --namespace (plus Calico’s own namespace)', async () => {
    const out = tmpOut('ns');
    await collectCluster({ out, kubeconfig: srv.kubeconfig, namespaces: ['shop'], logs: { calicoNode: 'none' } });
    const src = await openBundle(out);
    const pods = parseYaml(src.text('cluster/pods.yaml')) as { items: { metadata: { namespace: string } }[] };
    expect(new Set(pods.items.map((p) => p.metadata.namespace))).toEqual(new Set(['shop', 'calico-system']));
    expect(srv.requests).toContain('GET /api/v1/namespaces/shop/pods?limit=500');
  });

  it('anonymizes names and IPs consistently, preserving CIDR membership', async () => {
    const out = tmpOut('anon');
    const r = await collectCluster({ out, kubeconfig: srv.kubeconfig, anonymize: true });
    expect(r.anonymizeKey).toMatch(/^[0-9a-f]{64}$/);
    const src = await openBundle(out);
    const text = allText(src);
    for (const name of ['worker-1', 'worker-2', 'web-6b9f7c7d5-x2kqp', 'db-0', 'calico-node-m4d8w', 'shop', '172.18.0.3', '10.244.1.5', '10.244.2.8'])
      expect(text.includes(name), `${name} survived`).toBe(false);
    expect(src.paths().some((p) => p.startsWith('nodes/node-') && p.endsWith('/felix.log'))).toBe(true);
    const cluster = loadClusterDir(clusterYaml(src)).value;
    // Every pod IP still falls in the IPAM block of the (renamed) node it runs on.
    const blocks = cluster.ipamBlocks.map((b) => ({ cidr: ipaddr.parseCIDR(b.spec.cidr), affinity: b.spec.affinity }));
    const appPods = cluster.pods.filter((p) => p.metadata.namespace !== 'calico-system' || !p.spec?.hostNetwork).filter((p) => p.status?.podIP && !p.spec?.hostNetwork);
    expect(appPods.length).toBeGreaterThan(3);
    for (const p of appPods) {
      const ip = ipaddr.parse(p.status!.podIP!);
      const b = blocks.find((x) => ip.kind() === x.cidr[0].kind() && ip.match(x.cidr));
      expect(b, `${p.metadata.name} ${p.status!.podIP}`).toBeDefined();
      expect(b!.affinity).toBe(`host:${p.spec!.nodeName}`);
    }
    const pool = ipaddr.parseCIDR(cluster.ipPools[0].spec.cidr);
    for (const b of blocks) expect(b.cidr[0].match(pool)).toBe(true);
    // Resuming needs the same key; a refused resume leaves the bundle untouched.
    await expect(collectCluster({ out, kubeconfig: srv.kubeconfig, anonymize: true, resume: true })).rejects.toThrow(/same --anonymize-key/);
    await expect(collectCluster({ out, kubeconfig: srv.kubeconfig, resume: true })).rejects.toThrow(/same --anonymize-key/);
    expect(readManifest(await openBundle(out)).manifest!.complete).toBe(true);
    const again = await collectCluster({ out, kubeconfig: srv.kubeconfig, anonymize: true, anonymizeKey: r.anonymizeKey, resume: true, logs: { calicoNode: 'none' } });
    expect(again.complete).toBe(true);
  });

  it('collects a node through the real exec API (client-node Exec over WebSocket) and marks it complete', async () => {
    const execs: string[] = [];
    srv.onExec = async (req, io) => {
      execs.push(`${req.namespace}/${req.pod}/${req.container}`);
      expect(req.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
      const nonce = /^N=([0-9a-f]{16})$/m.exec(req.command[2])![1];
      const body = Buffer.from(framesPlain.toString('latin1').split(frames.nonce).join(nonce), 'latin1');
      for (let i = 0; i < body.length; i += 3000) io.stdout(body.subarray(i, i + 3000));
      io.stderr(Buffer.from(framesErr.toString('latin1').split(frames.nonce).join(nonce), 'latin1'));
      return 0;
    };
    const out = tmpOut('exec');
    const r = await collectCluster({ out, kubeconfig: srv.kubeconfig, nodes: ['worker-1'], plan: frames.plan, logs: { calicoNode: 'none' } });
    srv.onExec = undefined;
    expect(execs).toEqual(['calico-system/calico-node-b9kzt/calico-node']);
    expect(r.nodes?.done).toEqual(['worker-1']);
    const src = await openBundle(out);
    for (const f of ['iptables-save.txt', 'iptables-legacy-save.txt', 'iptables-nft-save.txt', 'ipset.txt', 'ip-route.json', 'conntrack.txt', 'sysctl.txt', 'bird-protocols.txt', 'bird-routes.txt', 'felix-metrics.txt', 'felix-health.txt'])
      expect(src.has(`nodes/worker-1/${f}`), f).toBe(true);
    expect(src.text('nodes/worker-1/iptables-save.txt')).toMatch(/^:cali-FORWARD/m);
    const { manifest } = readManifest(src);
    expect((manifest!.source as unknown as { nodesComplete: string[] }).nodesComplete).toEqual(['worker-1']);
    expect(verifyManifest(src, manifest!).ok).toBe(true);
  });

  it('records a node whose exec is refused (403 on the WebSocket upgrade) and completes', async () => {
    const out = tmpOut('exec-403');
    const r = await collectCluster({ out, kubeconfig: srv.kubeconfig, nodes: ['worker-2', 'no-such-node'], retries: 1, retryBaseMs: 10, logs: { calicoNode: 'none' } });
    expect(r.complete).toBe(true);
    expect(r.nodes!.failed).toEqual([{ node: 'worker-2', error: expect.stringMatching(/403/) }]);
    const m = readManifest(await openBundle(out)).manifest!;
    expect(m.failures!.find((f) => f.target === 'node/no-such-node')!.error).toMatch(/no calico-node pod found/);
    expect(m.failures!.find((f) => f.target === 'node/worker-2')!.command).toBe('exec calico-system/calico-node-m4d8w -c calico-node');
  });

  it('fails clearly without a usable context, an unreachable server or bad credentials, and writes nothing', async () => {
    await expect(collectCluster({ out: tmpOut('bad'), kubeconfig: srv.kubeconfig, context: 'nope' })).rejects.toThrow(/context "nope" not found/);
    const text = readFileSync(srv.kubeconfig, 'utf8');
    const dead = path.join(tmpRoot, 'dead.kubeconfig');
    writeFileSync(dead, text.replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:1'));
    const badToken = path.join(tmpRoot, 'badtoken.kubeconfig');
    writeFileSync(badToken, text.replace(/token: .*/, 'token: wrong'));
    const out = tmpOut('dead');
    const started = Date.now();
    await expect(collectCluster({ out, kubeconfig: dead })).rejects.toThrow(/^cannot reach the API server at https:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(collectCluster({ out, kubeconfig: badToken })).rejects.toThrow(/rejected the credentials of context "replay-crd" \(401 Unauthorized\)/);
    expect(existsSync(out)).toBe(false);
  });
});
