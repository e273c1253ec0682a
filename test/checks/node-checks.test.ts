/**
 * Every node check: unique id, a module and a test beside it, documented in docs/checks/node.md;
 * robust on empty and garbage bundles; silent on healthy clusters of every mode; and, for the
 * faults of the lab catalogue reproduced on small bundles, reporting the matching check at error
 * or warning with evidence that points at real lines.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBundleFromSource } from '../../src/bundle/load.js';
import { memoryBundle } from '../../src/bundle/source.js';
import { NODE_CHECKS } from '../../src/checks/node-checks.js';
import { ALL_CHECKS } from '../../src/checks/registry.js';
import { diagnose } from '../../src/checks/run.js';
import type { Bundle } from '../../src/model/bundle.js';
import { build, bundleFiles, healthyCluster, link, node, podsOn, removeRoute, setSysctl, type ClusterDef, type Mode } from './bundle-builder.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const doc = readFileSync(path.join(ROOT, 'docs', 'checks', 'node.md'), 'utf8');

const IDS = [
  'route.missing-workload',
  'route.wrong-interface',
  'route.blackhole-shadow',
  'route.remote-block-missing',
  'iptables.foreign-drop',
  'iptables.forward-policy-drop',
  'iface.down',
  'iface.proxy-arp-off',
  'sysctl.forwarding-off',
  'sysctl.rp-filter-strict',
  'tunnel.missing',
  'tunnel.vxlan-fdb-missing',
  'mtu.mismatch',
  'nat.outgoing-disabled',
  'felix.not-in-sync',
  'felix.dataplane-failures',
  'component.calico-node-not-ready',
  'component.kube-controllers-down',
  'conntrack.near-full',
  'node.no-default-route',
  'perf.iptables-scale',
  'perf.encapsulation-overhead',
];

describe('node checks registry', () => {
  it('registers exactly the node checks of issue 8, once each', () => {
    expect(NODE_CHECKS.map((c) => c.id)).toEqual(IDS);
    for (const c of NODE_CHECKS) expect(ALL_CHECKS).toContain(c);
  });

  for (const c of NODE_CHECKS) {
    it(`${c.id}: module, test, documentation, seeds`, () => {
      const file = path.join(ROOT, 'src', 'checks', 'node', c.id.replace(/\./g, '-'));
      expect(existsSync(`${file}.ts`)).toBe(true);
      expect(existsSync(`${file}.test.ts`)).toBe(true);
      expect(doc).toContain(`### \`${c.id}\``);
      expect(c.seeds.length).toBeGreaterThan(0);
    });
  }
});

describe('node checks on degenerate bundles', () => {
  it('never throw on an empty bundle', () => {
    const d = diagnose(loadBundleFromSource(memoryBundle({})), {}, NODE_CHECKS);
    expect(d.failedChecks).toEqual([]);
    expect(d.findings).toEqual([]);
  });

  it('never throw on garbage artifacts, and say what they could not check', () => {
    const junk = 'garbage \u0000\u0001 line\n{"not": "a route"}\n-A FORWARD -j\n';
    const files: Record<string, string> = {};
    for (const f of ['ip-addr.json', 'ip-route.json', 'ip-rule.json', 'ip-neigh.json', 'bridge-fdb.json', 'sysctl.txt', 'iptables-save.txt', 'ipset.txt', 'conntrack-stats.txt', 'felix-metrics.txt', 'felix.log', 'felix-health.txt', 'calicoctl-node-status.txt']) files[`nodes/node-a/${f}`] = junk;
    const c = healthyCluster();
    for (const [p, t] of Object.entries(bundleFiles(c))) if (p.startsWith('cluster/')) files[p] = t;
    const d = diagnose(loadBundleFromSource(memoryBundle(files)), {}, NODE_CHECKS);
    expect(d.failedChecks).toEqual([]);
    expect(d.notChecked.length).toBeGreaterThan(0);
  });

  it('say "not checked" at most once per check and node', () => {
    const c = healthyCluster({ nodes: 3 });
    for (const n of c.nodes) for (const f of ['ip-route.json', 'ip-addr.json', 'sysctl.txt', 'iptables-save.txt']) n.omit.add(f);
    const d = diagnose(build(c), {}, NODE_CHECKS);
    const keys = d.notChecked.map((x) => `${x.check}|${x.node}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('text captures', () => {
  it('quote the printed line of `ip route show table all` text and tell ip-route from ip6-route', () => {
    const c = healthyCluster({ mode: 'bgp' });
    const n = node(c, 'node-b');
    const [p1, p2] = podsOn(c, 'node-b');
    n.omit.add('ip-route.json');
    n.extra['ip-route.txt'] = [
      'default via 10.0.0.1 dev eth0 proto static',
      '10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.12',
      '10.244.1.0/26 via 10.0.0.11 dev eth0 proto bird',
      'blackhole 10.244.2.0/26 proto bird',
      `${p2.ip} dev ${p2.iface} scope link`,
      'local 10.0.0.12 dev eth0 table local proto kernel scope host src 10.0.0.12',
      '',
    ].join('\n');
    n.extra['ip6-route.txt'] = 'fe80::/64 dev eth0 proto kernel metric 256 pref medium\nblackhole fd00:10:244:2::/122 proto bird metric 1024 pref medium\n';
    const d = diagnose(build(c), { only: ['route.missing-workload'] }, NODE_CHECKS);
    expect(d.findings).toHaveLength(1);
    expect(d.findings[0].subject).toBe(`${p1.namespace}/${p1.name}`);
    expect(d.findings[0].evidence.find((e) => e.artifact === 'nodes/node-b/ip-route.txt')).toMatchObject({ line: 4, text: 'blackhole 10.244.2.0/26 proto bird' });
  });
});

describe('healthy clusters', () => {
  for (const mode of ['bgp', 'vxlan', 'ipip'] as const) {
    it(`${mode}: no error or warning, nothing failed`, () => {
      const d = diagnose(build(healthyCluster({ mode, nodes: 3, calicoSystem: true })), {}, NODE_CHECKS);
      expect(d.failedChecks).toEqual([]);
      expect(d.findings.filter((f) => f.severity !== 'info')).toEqual([]);
      expect(d.findings.every((f) => f.check === 'perf.encapsulation-overhead')).toBe(true);
    });
  }
});

/** The lab's fault catalogue (src/lab/faults.ts), reproduced on small bundles the way the kernel would show it. */
const FAULTS: { fault: string; mode: Mode; expect: string; apply(c: ClusterDef): void }[] = [
  { fault: 'route-missing', mode: 'bgp', expect: 'route.missing-workload', apply: (c) => removeRoute(node(c, 'node-b'), podsOn(c, 'node-b')[0].ip) },
  { fault: 'route-missing', mode: 'vxlan', expect: 'route.missing-workload', apply: (c) => removeRoute(node(c, 'node-b'), podsOn(c, 'node-b')[0].ip) },
  {
    fault: 'blackhole-shadow',
    mode: 'bgp',
    expect: 'route.blackhole-shadow',
    apply: (c) => {
      node(c, 'node-a').routes.push({ type: 'blackhole', dst: '10.244.2.0/28', flags: [] });
      // BIRD learns and exports it: the other nodes send those pods' traffic to node-a.
      node(c, 'node-c').routes.push({ dst: '10.244.2.0/28', gateway: '10.0.0.11', dev: 'eth0', protocol: 'bird', flags: [] });
      node(c, 'node-b').routes.push({ dst: '10.244.2.0/28', gateway: '10.0.0.11', dev: 'eth0', protocol: 'bird', flags: [] });
    },
  },
  { fault: 'blackhole-shadow', mode: 'vxlan', expect: 'route.blackhole-shadow', apply: (c) => node(c, 'node-a').routes.push({ type: 'blackhole', dst: '10.244.2.0/28', flags: [] }) },
  { fault: 'iptables-drop', mode: 'bgp', expect: 'iptables.foreign-drop', apply: (c) => (node(c, 'node-b').filterTop.FORWARD = [`-d ${podsOn(c, 'node-b')[0].ip}/32 -j DROP`]) },
  {
    fault: 'bgp-port-blocked',
    mode: 'bgp',
    expect: 'route.remote-block-missing',
    apply: (c) => {
      node(c, 'node-c').filterTop.INPUT = ['-p tcp -m tcp --dport 179 -j DROP', '-p tcp -m tcp --sport 179 -j DROP'];
      for (const n of ['node-a', 'node-b']) removeRoute(node(c, n), '10.244.3.0/26');
      removeRoute(node(c, 'node-c'), '10.244.1.0/26');
      removeRoute(node(c, 'node-c'), '10.244.2.0/26');
    },
  },
  { fault: 'vxlan-underlay-blocked', mode: 'vxlan', expect: 'iptables.foreign-drop', apply: (c) => (node(c, 'node-c').filterTop.INPUT = ['-p udp -m udp --dport 4789 -j DROP']) },
  { fault: 'forwarding-off', mode: 'bgp', expect: 'sysctl.forwarding-off', apply: (c) => setSysctl(node(c, 'node-c'), 'net.ipv4.ip_forward', 0) },
  { fault: 'proxy-arp-off', mode: 'vxlan', expect: 'iface.proxy-arp-off', apply: (c) => setSysctl(node(c, 'node-b'), `net.ipv4.conf.${podsOn(c, 'node-b')[0].iface}.proxy_arp`, 0) },
  {
    fault: 'mtu-mismatch',
    mode: 'vxlan',
    expect: 'mtu.mismatch',
    apply: (c) => {
      for (const p of podsOn(c, 'node-c')) link(node(c, 'node-c'), p.iface).mtu = 1500;
    },
  },
  { fault: 'mtu-mismatch', mode: 'bgp', expect: 'mtu.mismatch', apply: (c) => (link(node(c, 'node-c'), 'eth0').mtu = 1400) },
  { fault: 'nat-outgoing-off', mode: 'bgp', expect: 'nat.outgoing-disabled', apply: (c) => (c.pool.natOutgoing = false) },
  {
    fault: 'rp-filter-strict',
    mode: 'vxlan',
    expect: 'sysctl.rp-filter-strict',
    apply: (c) => {
      // A second link node-a ↔ node-b; node-b sends its pods' traffic for node-a's block over it.
      const [a, b] = [node(c, 'node-a'), node(c, 'node-b')];
      for (const [n, ip, peer] of [[a, '192.168.255.1', 'node-b'], [b, '192.168.255.2', 'node-a']] as const) {
        n.links.push({ ifindex: 30, ifname: 'eth1', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1500, operstate: 'UP', link_type: 'ether', address: `02:00:00:00:01:0${peer === 'node-b' ? 1 : 2}`, promiscuity: 0, linkinfo: { info_kind: 'veth' }, addr_info: [{ family: 'inet', local: ip, prefixlen: 30, scope: 'global', label: 'eth1' }] });
        n.routes.push({ dst: '192.168.255.0/30', dev: 'eth1', protocol: 'kernel', scope: 'link', prefsrc: ip, flags: [] });
      }
      b.routes.push({ dst: a.block, gateway: '192.168.255.1', dev: 'eth1', table: '100', flags: [] });
      b.rules.splice(1, 0, { priority: 100, src: '10.244.2.0', srclen: 26, dst: '10.244.1.0', dstlen: 26, table: '100' });
      setSysctl(a, 'net.ipv4.conf.all.rp_filter', 1);
      setSysctl(a, 'net.ipv4.conf.eth1.rp_filter', 1);
    },
  },
];

/** Evidence that names a line must quote that line of the artifact (JSON captures: the element's text). */
function checkEvidence(b: Bundle, f: { check: string; evidence: { artifact: string; line?: number; text?: string; note?: string }[] }): void {
  expect(f.evidence.length).toBeGreaterThan(0);
  for (const e of f.evidence) {
    const raw = b.rawText(e.artifact);
    expect(raw, `${f.check}: ${e.artifact} is in the bundle`).toBeDefined();
    if (!e.line || /\.json$/.test(e.artifact)) continue;
    const line = raw!.split('\n')[e.line - 1].trim().replace(/^\[\d+:\d+\] /, '');
    if (e.text === undefined) continue;
    if (e.text.endsWith('…')) expect(line.startsWith(e.text.slice(0, -1)), `${f.check}: ${e.artifact}:${e.line}`).toBe(true);
    else expect(e.text, `${f.check}: ${e.artifact}:${e.line}`).toBe(line);
  }
}

describe('the lab fault catalogue on small bundles', () => {
  const rows: string[] = [];
  for (const x of FAULTS) {
    it(`${x.fault} (${x.mode}) → ${x.expect}`, () => {
      const c = healthyCluster({ mode: x.mode, nodes: 3, calicoSystem: true });
      x.apply(c);
      const b = build(c);
      const d = diagnose(b, {}, NODE_CHECKS);
      expect(d.failedChecks).toEqual([]);
      const rank = d.findings.findIndex((f) => f.check === x.expect && f.severity !== 'info');
      rows.push(`${x.fault.padEnd(24)} ${x.mode.padEnd(6)} → ${x.expect.padEnd(28)} ${rank >= 0 ? `found (rank ${rank + 1} of ${d.findings.length}, ${d.findings[rank].severity})` : 'NOT FOUND'}`);
      expect(rank).toBeGreaterThanOrEqual(0);
      for (const f of d.findings) checkEvidence(b, f);
    });
  }
  it('prints the table', () => {
    console.log(`fault → expected id → found (rank)\n${rows.join('\n')}`);
    expect(rows.length).toBe(FAULTS.length);
  });
});
