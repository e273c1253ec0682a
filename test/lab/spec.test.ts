import { describe, it, expect } from 'vitest';
import { stringify } from 'yaml';
import { vethNameForWorkload } from '../../src/calico/naming.js';
import { birdMainConfig, meshProtocolName, parseBirdProtocols } from '../../src/lab/bird.js';
import { clusterResources } from '../../src/lab/collect.js';
import { ipsetReloadScript } from '../../src/lab/dataplane.js';
import { FAULTS } from '../../src/lab/faults.js';
import { kubeSepChain, kubeSvcChain, renderKubeProxy } from '../../src/lab/kube-proxy.js';
import { minimalDataplane } from '../../src/lab/minimal-dataplane.js';
import { planProbes } from '../../src/lab/probe.js';
import { LabError, requireLabHost } from '../../src/lab/sh.js';
import { defaultLabSpec, LabSpecError, labSpecFromObject, parseLabSpec } from '../../src/lab/spec.js';
import { LAB_STATE_FORMAT, type LabState } from '../../src/lab/state.js';
import { buildTopology, vtepMac } from '../../src/lab/topology.js';
import { loadClusterDir } from '../../src/parse/resources.js';

function fakeState(mode: 'vxlan' | 'bgp' = 'vxlan'): LabState {
  const spec = defaultLabSpec(mode);
  return {
    format: LAB_STATE_FORMAT,
    prefix: 'cst',
    stateDir: '/run/caliscope-lab/cst',
    createdAt: '2026-01-01T00:00:00.000Z',
    phase: 'up',
    spec,
    topology: buildTopology(spec, 'cst', '/run/caliscope-lab/cst'),
    iptables: 'nft',
    namespaces: [],
    processes: [],
    faults: {},
    extraPods: [],
    ipamLeaks: [],
    timings: {},
  };
}

describe('lab spec', () => {
  it('the default spec is valid in both modes and survives a YAML round trip', () => {
    for (const mode of ['vxlan', 'bgp'] as const) {
      const spec = defaultLabSpec(mode);
      const again = parseLabSpec(stringify(spec), 'default.yaml');
      expect(again).toEqual(spec);
      expect(spec.nodes.map((n) => n.name)).toEqual(['node-a', 'node-b', 'node-c']);
      expect(spec.ipPool.vxlanMode).toBe(mode === 'vxlan' ? 'Always' : 'Never');
    }
  });

  it('fills defaults for a minimal spec', () => {
    const spec = parseLabSpec(
      `mode: bgp
nodes:
  - {name: n1, ip: 10.0.0.11, block: 10.244.1.0/26}
  - {name: n2, ip: 10.0.0.12, block: 10.244.2.0/26}
namespaces: [default]
pods:
  - {name: a, node: n1, ports: [{containerPort: 80}]}
`,
    );
    expect(spec.ipPool).toMatchObject({ cidr: '10.244.0.0/16', blockSize: 26, natOutgoing: true, vxlanMode: 'Never', ipipMode: 'Never' });
    expect(spec.pods[0]).toMatchObject({ namespace: 'default', serviceAccount: 'default', ports: [{ containerPort: 80, protocol: 'TCP' }] });
    expect(spec.external.ip).toBe('10.0.0.100');
  });

  it('reports every problem at once, with paths', () => {
    let err: LabSpecError | undefined;
    try {
      labSpecFromObject({
        mode: 'ipip',
        bogus: 1,
        nodes: [
          { name: 'n1', ip: '10.0.0.11', block: '10.244.1.0/26' },
          { name: 'n1', ip: '10.0.0.11', block: '10.244.1.0/27' },
          { name: 'Bad_Name', ip: '10.9.0.1', block: '10.244.1.5/26' },
        ],
        namespaces: ['default'],
        pods: [
          { name: 'p', node: 'nope', ports: [{ containerPort: 80, name: 'Not_A_Name' }, { containerPort: 80 }] },
          { name: 'q', namespace: 'ghost', node: 'n1', ip: '10.244.1.0' },
        ],
        services: [{ name: 's', clusterIP: '10.0.0.5', type: 'NodePort', selector: { app: 'x' }, ports: [{ port: 80 }] }],
        resources: [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'np', namespace: 'nowhere' } }, { kind: 'Secret' }],
      });
    } catch (e) {
      err = e as LabSpecError;
    }
    expect(err).toBeInstanceOf(LabSpecError);
    const text = err!.problems.join('\n');
    for (const want of [
      /^mode: must be one of vxlan, bgp/m,
      /^bogus: unknown field/m,
      /^nodes\[1\]\.name: duplicate node n1/m,
      /^nodes\[1\]\.ip: 10\.0\.0\.11 is already used by nodes\[0\]\.ip/m,
      /^nodes\[1\]\.block: must be a \/26/m,
      /^nodes\[2\]\.name: "Bad_Name" must be a lowercase DNS name/m,
      /^nodes\[2\]\.ip: 10\.9\.0\.1 is not a host address of the underlay/m,
      /^nodes\[2\]\.block: 10\.244\.1\.5\/26 has host bits set \(did you mean 10\.244\.1\.0\/26\?\)/m,
      /^pods\[0\]\.node: node "nope" is not in nodes/m,
      /^pods\[0\]\.ports\[0\]\.name: "Not_A_Name" is not a valid port name/m,
      /^pods\[0\]\.ports\[1\]: duplicate port 80\/TCP/m,
      /^pods\[1\]\.namespace: namespace "ghost" is not in namespaces/m,
      /^pods\[1\]\.ip: 10\.244\.1\.0 is the block's first address/m,
      /^services\[0\]\.clusterIP: 10\.0\.0\.5 is outside serviceCIDR/m,
      /^services\[0\]\.ports\[0\]\.nodePort: is required for a NodePort service/m,
      /^resources\[0\]\.metadata\.namespace: namespace "nowhere" is not in namespaces/m,
      /^resources\[1\]\.kind: Secrets are not accepted/m,
    ]) {
      expect(text).toMatch(want);
    }
    expect(err!.message).toMatch(/^lab spec: invalid lab spec:/);
  });

  it('refuses YAML that is not YAML or not a mapping', () => {
    expect(() => parseLabSpec('a: [1, 2', 'x.yaml')).toThrow(/x\.yaml: invalid lab spec:\n {2}- not valid YAML/);
    expect(() => parseLabSpec('- 1\n- 2\n', 'x.yaml')).toThrow(/must be a mapping/);
    expect(() => parseLabSpec('mode: vxlan\nmode: bgp\n', 'x.yaml')).toThrow(/not valid YAML/);
  });
});

describe('lab topology', () => {
  it('derives names, addresses and endpoints deterministically', () => {
    const t = buildTopology(defaultLabSpec('vxlan'), 'csl', '/run/caliscope-lab/csl');
    expect(t.underlayNs).toBe('csl-ul');
    expect(t.nodes.map((n) => n.ns)).toEqual(['csl-node-a', 'csl-node-b', 'csl-node-c']);
    expect(t.nodes[0].vtep).toEqual({ ip: '10.244.1.0', mac: vtepMac('node-a') });
    expect(vtepMac('node-a')).toMatch(/^66(:[0-9a-f]{2}){5}$/);
    const web1 = t.pods.find((p) => p.key === 'frontend/web-1')!;
    expect(web1).toMatchObject({ ip: '10.244.1.1', node: 'node-a', netns: 'csl-p-frontend-web-1', hostIface: vethNameForWorkload('frontend', 'web-1') });
    expect(web1.hostIface).toHaveLength(15);
    expect(t.pods.map((p) => p.ip)).toEqual(['10.244.1.1', '10.244.1.2', '10.244.1.3', '10.244.1.4', '10.244.2.1', '10.244.2.2', '10.244.2.3', '10.244.3.1', '10.244.3.2', '10.244.3.3']);
    expect(t.podMtu).toBe(1450);
    expect(buildTopology(defaultLabSpec('bgp'), 'csl', '/x').podMtu).toBe(1500);
    const api = t.services.find((s) => s.key === 'backend/api')!;
    expect(api.ports[0].endpoints.map((e) => `${e.pod}=${e.ip}:${e.port}`)).toEqual(['backend/api-1=10.244.1.2:8080', 'backend/api-2=10.244.2.2:8080', 'backend/api-3=10.244.3.2:8080']);
    const dns = t.services.find((s) => s.key === 'kube-system/kube-dns')!;
    expect(dns.ports.map((p) => p.endpoints.length)).toEqual([2, 2, 2]);
  });

  it('refuses bad prefixes and node names that collide with lab namespaces', () => {
    expect(() => buildTopology(defaultLabSpec(), 'Bad-prefix', '/x')).toThrow(/prefix/);
    const spec = defaultLabSpec();
    spec.nodes[0].name = 'ext';
    spec.pods.forEach((p) => (p.node = p.node === 'node-a' ? 'ext' : p.node));
    expect(() => buildTopology(spec, 'csl', '/x')).toThrow(/collides/);
  });
});

describe('lab programming text', () => {
  it("kube-proxy chain names match kube-proxy's hashing", () => {
    // Known chain names from real clusters.
    expect(kubeSvcChain('kube-system/kube-dns:dns', 'UDP')).toBe('KUBE-SVC-TCOU7JCQXEZGVUNU');
    expect(kubeSvcChain('kube-system/kube-dns:dns-tcp', 'TCP')).toBe('KUBE-SVC-ERIFXISQEP7F7OF4');
    expect(kubeSvcChain('default/kubernetes:https', 'TCP')).toBe('KUBE-SVC-NPX46M4PTMTKRN6Y');
    expect(kubeSepChain('kube-system/kube-dns:dns', 'UDP', '10.244.1.4:53')).toMatch(/^KUBE-SEP-[A-Z2-7]{16}$/);
  });

  it('renders kube-proxy rules with random spreading over the endpoints', () => {
    const t = fakeState().topology;
    const kp = renderKubeProxy(t);
    const svc = kubeSvcChain('backend/api:http', 'TCP');
    const rules = kp.nat.rules.filter((r) => r.startsWith(`-A ${svc} `));
    expect(rules[0]).toBe(`-A ${svc} ! -s 10.244.0.0/16 -d 10.96.10.20/32 -p tcp -m comment --comment "backend/api:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`);
    expect(rules.slice(1).map((r) => /--probability (\S+)/.exec(r)?.[1] ?? 'last')).toEqual(['0.33333333333', '0.50000000000', 'last']);
    expect(kp.nat.rules.filter((r) => r.startsWith('-A KUBE-NODEPORTS'))).toEqual([expect.stringMatching(/^-A KUBE-NODEPORTS -p tcp -m comment --comment "frontend\/web:http" -m tcp --dport 30080 -j KUBE-EXT-[A-Z2-7]{16}$/)]);
    expect(kp.nat.chains).toContain(`:${svc} - [0:0]`);
  });

  it('the placeholder dataplane has nat-outgoing with Felix ipsets and is the same on every node', () => {
    const st = fakeState();
    const dp = minimalDataplane({ spec: st.spec, topology: st.topology, pods: st.topology.pods, kubeProxy: renderKubeProxy(st.topology), faults: {}, iptables: 'nft' });
    expect(Object.keys(dp)).toEqual(['node-a', 'node-b', 'node-c']);
    expect(dp['node-a'].iptablesRestore).toContain('-A cali-nat-outgoing -m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully');
    expect(dp['node-a'].ipsetRestore).toContain('add cali40masq-ipam-pools 10.244.0.0/16');
    expect(dp['node-a'].iptablesRestore.match(/^COMMIT$/gm)).toHaveLength(2);
  });

  it('turns an ipset save into an in-place reload', () => {
    const r = ipsetReloadScript('create s1 hash:net family inet\nadd s1 10.0.0.0/8\n# c\n\ncreate s2 hash:ip -exist\n');
    expect(r.sets).toEqual(['s1', 's2']);
    expect(r.script).toBe('create s1 hash:net family inet -exist\nflush s1\nadd s1 10.0.0.0/8 -exist\ncreate s2 hash:ip -exist\nflush s2\n');
  });

  it("writes BIRD configs shaped like Calico's mesh", () => {
    const t = fakeState('bgp').topology;
    const cfg = birdMainConfig(t, t.nodes[0]);
    expect(cfg).toContain('router id 10.0.0.11;');
    expect(cfg).toContain('protocol bgp Mesh_10_0_0_12 from bgp_template {\n  neighbor 10.0.0.12 as 64512;\n  source address 10.0.0.11;');
    expect(cfg).toContain('local as 64512;');
    // Unidirectional mesh: the peer with the greater address connects.
    expect(cfg).toMatch(/Mesh_10_0_0_13 from bgp_template \{[^}]*passive on;/);
    expect(birdMainConfig(t, t.nodes[2])).not.toContain('passive on;');
    expect(birdMainConfig(t, t.nodes[0], { localAs: 64513 })).toContain('local as 64513;');
    expect(meshProtocolName('10.0.0.12')).toBe('Mesh_10_0_0_12');
    const st = parseBirdProtocols('BIRD 1.6.8 ready.\nname     proto    table    state  since       info\nstatic1  Static   master   up     11:13:52    \nMesh_10_0_0_12 BGP      master   up     11:13:53    Established   \nMesh_10_0_0_13 BGP      master   start  11:13:53    Active        Socket: Connection refused\n');
    expect(st).toEqual([
      { name: 'static1', proto: 'Static', state: 'up', info: '' },
      { name: 'Mesh_10_0_0_12', proto: 'BGP', state: 'up', info: 'Established' },
      { name: 'Mesh_10_0_0_13', proto: 'BGP', state: 'start', info: 'Active Socket: Connection refused' },
    ]);
  });

  it('plans the whole matrix: pod pairs × ports, ICMP, full-size ICMP, Services, external, NodePorts', () => {
    const st = fakeState();
    const plan = planProbes(st);
    const pods = st.topology.pods.length;
    const ports = st.topology.pods.reduce((n, p) => n + p.ports.length, 0);
    const svcPorts = st.topology.services.reduce((n, s) => n + s.ports.length, 0);
    expect(plan).toHaveLength(ports * (pods - 1) + 2 * pods * (pods - 1) + pods * svcPorts + pods * 3 + 3);
    expect(new Set(plan.map((p) => p.id)).size).toBe(plan.length);
    expect(plan.filter((p) => p.fullSize).every((p) => p.size === 1450 - 28)).toBe(true);
  });
});

describe('lab cluster resources', () => {
  it('parse cleanly and keep IPAM consistent, including fault artefacts', () => {
    const st = fakeState();
    const dupSrc = st.topology.pods[0];
    st.extraPods.push({ ...dupSrc, key: `${dupSrc.namespace}/${dupSrc.name}-dup`, name: `${dupSrc.name}-dup`, node: 'node-c', addedBy: 'duplicate-pod-ip' });
    st.ipamLeaks.push({ block: '10.244.1.0/26', ip: '10.244.1.5', handleId: 'k8s-pod-network.abc', node: 'node-a', namespace: 'default', pod: 'ghost-abc' });
    const res = clusterResources(st);
    const files = Object.entries(res).map(([f, items]) => ({ path: `cluster/${f}`, text: stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items }) }));
    const parsed = loadClusterDir(files);
    expect(parsed.issues).toEqual([]);
    const c = parsed.value;
    expect(c.pods).toHaveLength(11);
    expect(c.workloadEndpoints).toHaveLength(11);
    expect(c.ipamBlocks).toHaveLength(3);
    expect(c.calicoNodes).toHaveLength(3);
    expect(c.k8sNetworkPolicies).toHaveLength(4);
    expect(c.globalNetworkPolicies).toHaveLength(1);

    const blockA = res['ipamblocks.crd.projectcalico.org.yaml'].find((b) => (b.spec as { cidr: string }).cidr === '10.244.1.0/26')!.spec as {
      allocations: Array<number | null>;
      unallocated: number[];
      attributes: Array<{ handle_id: string; secondary: Record<string, string> }>;
    };
    expect(blockA.allocations).toHaveLength(64);
    // Tunnel address, 4 pods, 1 leak — the duplicate is not in IPAM.
    expect(blockA.allocations.slice(0, 7)).toEqual([0, 1, 2, 3, 4, 5, null]);
    expect(blockA.unallocated).toHaveLength(64 - 6);
    expect(blockA.attributes[0]).toEqual({ handle_id: 'vxlan-tunnel-addr-node-a', secondary: { node: 'node-a', type: 'vxlanTunnelAddress' } });
    expect(blockA.attributes[1].handle_id).toBe(`k8s-pod-network.${st.topology.pods[0].containerId}`);
    expect(blockA.attributes[1].secondary).toMatchObject({ namespace: 'frontend', pod: 'web-1', node: 'node-a' });
    expect(blockA.attributes[5]).toMatchObject({ handle_id: 'k8s-pod-network.abc', secondary: { pod: 'ghost-abc' } });
    expect(res['ipamhandles.crd.projectcalico.org.yaml']).toHaveLength(3 + 10 + 1);
    const dup = res['pods.yaml'].find((p) => (p.metadata as { name: string }).name === 'web-1-dup')!;
    expect(dup.status).toMatchObject({ podIP: '10.244.1.1', hostIP: '10.0.0.13' });
    const wep = res['workloadendpoints.projectcalico.org.yaml'][0];
    expect(wep.metadata).toMatchObject({ name: 'node--a-k8s-web--1-eth0', namespace: 'frontend' });
    expect(wep.spec).toMatchObject({ interfaceName: vethNameForWorkload('frontend', 'web-1'), ipNetworks: ['10.244.1.1/32'], profiles: ['kns.frontend', 'ksa.frontend.web'] });
    expect(res['lab-resources.yaml']).toEqual(st.spec.resources);
    const node = res['nodes.projectcalico.org.yaml'][0].spec as Record<string, unknown>;
    expect(node).toMatchObject({ bgp: { ipv4Address: '10.0.0.11/24' }, ipv4VXLANTunnelAddr: '10.244.1.0', vxlanTunnelMACAddr: vtepMac('node-a') });
  });
});

describe('lab catalogue and host checks', () => {
  it('has every fault of the issue with a stable id, renderer faults marked', () => {
    const ids = FAULTS.map((f) => f.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'route-missing', 'blackhole-shadow', 'iptables-drop', 'ipset-stale', 'policy-wrong-selector', 'default-deny-no-dns', 'nat-outgoing-off',
        'bgp-port-blocked', 'bgp-as-mismatch', 'vxlan-underlay-blocked', 'mtu-mismatch', 'proxy-arp-off', 'forwarding-off', 'rp-filter-strict',
        'duplicate-pod-ip', 'ipam-leak',
      ]),
    );
    expect(new Set(ids).size).toBe(ids.length);
    expect(FAULTS.filter((f) => f.needs === 'renderer').map((f) => f.id).sort()).toEqual(['default-deny-no-dns', 'ipset-stale', 'nat-outgoing-off', 'policy-wrong-selector']);
    for (const f of FAULTS) expect(f.description.length, f.id).toBeGreaterThan(60);
  });

  it('refuses clearly without Linux or root', () => {
    expect(() => requireLabHost([], { platform: 'darwin', uid: 0 })).toThrow(/needs Linux/);
    expect(() => requireLabHost([], { platform: 'linux', uid: 1000 })).toThrow(LabError);
    expect(() => requireLabHost([], { platform: 'linux', uid: 1000 })).toThrow(/needs root/);
  });
});
