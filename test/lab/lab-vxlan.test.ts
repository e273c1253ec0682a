import { afterAll, beforeAll, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeRoot } from '../helpers/root.js';
import { labUp } from '../../src/lab/up.js';
import { labDown } from '../../src/lab/down.js';
import { labProbe } from '../../src/lab/probe.js';
import { labCollect } from '../../src/lab/collect.js';
import { availableFaults, labBreak, labFix } from '../../src/lab/faults.js';
import { defaultLabSpec } from '../../src/lab/spec.js';
import { listNetns, nsRun, run, LabError } from '../../src/lab/sh.js';
import { loadState, type LabState } from '../../src/lab/state.js';
import { vethNameForWorkload } from '../../src/calico/naming.js';
import { loadClusterDir } from '../../src/parse/resources.js';
import { randomPrefix } from './expectations.js';
import { checkBaseline, faultCycle, labProcesses, summaryLine, type FaultRun } from './harness.js';

describeRoot('lab (vxlan mode, real namespaces)', () => {
  const prefix = randomPrefix();
  let state: LabState;
  let upMs = 0;
  const runs: FaultRun[] = [];

  beforeAll(async () => {
    const t0 = Date.now();
    state = await labUp(defaultLabSpec('vxlan'), { prefix });
    upMs = Date.now() - t0;
  });
  afterAll(async () => {
    await labDown({ prefix });
    if (runs.length) console.log(`[lab vxlan] up ${upMs} ms; faults:\n${runs.map((r) => `  ${r.id}: break ${r.breakMs} ms, probe ${r.probeMs} ms, ${r.failed}/${r.flows} flows failed`).join('\n')}`);
  });

  it('builds namespaces, Calico-shaped veths, routes and the VXLAN mesh', async () => {
    expect(state.phase).toBe('up');
    const names = await listNetns(prefix);
    expect(names).toEqual(expect.arrayContaining([`${prefix}-ul`, `${prefix}-ext`, `${prefix}-node-a`, `${prefix}-node-b`, `${prefix}-node-c`, `${prefix}-p-frontend-web-1`, `${prefix}-p-kube-system-coredns-0`]));
    expect(names).toHaveLength(5 + state.topology.pods.length);
    const a = `${prefix}-node-a`;
    const iface = vethNameForWorkload('frontend', 'web-1');
    const routes = (await nsRun(a, 'ip', ['route'])).stdout;
    expect(routes).toContain(`10.244.1.1 dev ${iface} scope link`);
    expect(routes).toContain('blackhole 10.244.1.0/26 proto 80');
    expect(routes).toMatch(/10\.244\.2\.0\/26 via 10\.244\.2\.0 dev vxlan\.calico proto 80 onlink/);
    expect(routes).toContain('default via 10.0.0.100 dev eth0');
    const link = (await nsRun(a, 'ip', ['-d', 'link', 'show', 'vxlan.calico'])).stdout;
    expect(link).toMatch(/mtu 1450/);
    expect(link).toMatch(/vxlan id 4096 local 10\.0\.0\.11 dev eth0 srcport 0 0 dstport 4789 nolearning/);
    expect((await nsRun(a, 'ip', ['addr', 'show', 'vxlan.calico'])).stdout).toContain('inet 10.244.1.0/32');
    const b = state.topology.nodes[1].vtep!;
    expect((await nsRun(a, 'ip', ['neigh', 'show', 'dev', 'vxlan.calico'])).stdout).toContain(`10.244.2.0 lladdr ${b.mac} PERMANENT`);
    expect((await run('bridge', ['-n', a, 'fdb', 'show', 'dev', 'vxlan.calico'])).stdout).toContain(`${b.mac} dst 10.0.0.12 self permanent`);
    expect((await nsRun(a, 'ip', ['link', 'show', iface])).stdout).toContain('link/ether ee:ee:ee:ee:ee:ee');
    expect((await nsRun(a, 'sysctl', ['-n', `net.ipv4.conf.${iface}.proxy_arp`, `net.ipv4.neigh.${iface}.proxy_delay`, 'net.ipv4.ip_forward'])).stdout.split('\n').slice(0, 3)).toEqual(['1', '0', '1']);
    const pod = `${prefix}-p-frontend-web-1`;
    expect((await nsRun(pod, 'ip', ['route'])).stdout).toBe('default via 169.254.1.1 dev eth0 \n169.254.1.1 dev eth0 scope link \n');
    expect((await nsRun(pod, 'ip', ['-4', 'addr', 'show', 'eth0'])).stdout).toContain('inet 10.244.1.1/32');
    // Only lab namespaces: nothing was added to the root namespace's routes.
    expect((await run('ip', ['route'])).stdout).not.toMatch(/10\.244\./);
  });

  it('refuses a second lab with the same prefix', async () => {
    await expect(labUp(defaultLabSpec('vxlan'), { prefix })).rejects.toThrow(LabError);
    expect((await loadState(state.stateDir)).phase).toBe('up');
  });

  it('baseline: every pod reaches every pod and port, Services reach a backend, external through MASQUERADE', async () => {
    const t0 = Date.now();
    const res = await labProbe(state);
    const ms = Date.now() - t0;
    console.log(`[lab vxlan] ${summaryLine('baseline probe (concurrency 32)', res, ms)}`);
    checkBaseline(state, res);
    expect(ms).toBeLessThan(60_000);
    expect(res.filter((r) => r.to.startsWith('svc:') && r.from === 'external')).toHaveLength(3);
  }, 90_000);

  const faults = availableFaults(defaultFaultsState('vxlan')).map((f) => f.id);
  it('offers the network faults of vxlan mode', () => {
    expect(faults.sort()).toEqual(['blackhole-shadow', 'duplicate-pod-ip', 'forwarding-off', 'ipam-leak', 'iptables-drop', 'mtu-mismatch', 'proxy-arp-off', 'route-missing', 'rp-filter-strict', 'vxlan-underlay-blocked']);
  });

  for (const id of faults) {
    it(`fault ${id}: break → exactly the expected flows fail → fix → baseline`, async () => {
      runs.push(await faultCycle(state, id));
    }, 90_000);
  }

  it('refuses faults of the other mode and renderer faults without a renderer', async () => {
    await expect(labBreak(state, 'bgp-port-blocked')).rejects.toThrow(/only in mode bgp/);
    await expect(labBreak(state, 'ipset-stale')).rejects.toThrow(/needs the Felix-style/);
    expect(state.faults).toEqual({});
  });

  it('collects a bundle with the real node collector and parseable cluster resources', async () => {
    const out = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'caliscope-lab-')), 'bundle');
    await labBreak(state, 'iptables-drop');
    const r = await labCollect(state, out);
    expect(r.manifest.complete).toBe(true);
    for (const n of ['node-a', 'node-b', 'node-c']) {
      for (const f of ['iptables-save.txt', 'ipset.txt', 'ip-route.json', 'ip-link.json', 'ip-neigh.json', 'bridge-fdb.json', 'sysctl.txt', 'conntrack.txt']) {
        await expect(fs.access(path.join(out, 'nodes', n, f)), `${n}/${f}`).resolves.toBeUndefined();
      }
    }
    const iptB = await fs.readFile(path.join(out, 'nodes/node-b/iptables-save.txt'), 'utf8');
    expect(iptB).toMatch(/^\[\d+:\d+\] -A FORWARD -d 10\.244\.2\.1\/32 -j DROP$/m);
    expect(iptB).toMatch(/-A KUBE-SERVICES -d 10\.96\.10\.20\/32 -p tcp .* -j KUBE-SVC-/);
    const fdb = JSON.parse(await fs.readFile(path.join(out, 'nodes/node-a/bridge-fdb.json'), 'utf8')) as Array<{ mac: string; dst?: string }>;
    expect(fdb.some((e) => e.mac === state.topology.nodes[1].vtep!.mac && e.dst === '10.0.0.12')).toBe(true);
    expect(r.manifest.failures?.filter((f) => !/conntrack/.test(f.command ?? ''))).toEqual([]);
    expect(r.manifest.source).toMatchObject({ kind: 'lab', mode: 'vxlan', faults: [{ id: 'iptables-drop', params: {} }] });
    const files = [];
    for (const f of await fs.readdir(path.join(out, 'cluster'))) files.push({ path: `cluster/${f}`, text: await fs.readFile(path.join(out, 'cluster', f), 'utf8') });
    const parsed = loadClusterDir(files);
    expect(parsed.issues).toEqual([]);
    expect(parsed.value.pods.map((p) => p.metadata.name).sort()).toEqual(state.topology.pods.map((p) => p.name).sort());
    await labFix(state, 'iptables-drop');
    await fs.rm(path.dirname(out), { recursive: true, force: true });
  }, 60_000);

  it('lab down removes every namespace, process and file', async () => {
    const res = await labDown({ prefix });
    expect(res.namespacesDeleted.length).toBe(5 + state.topology.pods.length);
    expect(await listNetns(prefix)).toEqual([]);
    expect(await labProcesses(state.stateDir)).toEqual([]);
    await expect(fs.access(state.stateDir)).rejects.toThrow();
    // Idempotent.
    const again = await labDown({ prefix });
    expect(again.namespacesDeleted).toEqual([]);
  });
});

/** The fault list depends only on the mode; computed before the lab exists so tests can be declared. */
function defaultFaultsState(mode: 'vxlan' | 'bgp'): LabState {
  return { topology: { mode } } as unknown as LabState;
}
