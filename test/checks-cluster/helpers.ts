/**
 * Test helpers for the cluster checks: bundles built in memory from Kubernetes/Calico objects
 * (written as `kubectl get -o yaml` Lists, so evidence lines are real) and raw node artifacts,
 * loaded through the real bundle loader.
 */
import { stringify } from 'yaml';
import { memoryBundle } from '../../src/bundle/source.js';
import { loadBundleFromSource } from '../../src/bundle/load.js';
import type { Bundle } from '../../src/model/bundle.js';
import { makeContext } from '../../src/checks/run.js';
import type { Check, CheckResult, Finding } from '../../src/checks/types.js';

export type Obj = Record<string, unknown>;

export interface BundleSpec {
  /** Objects written to cluster/<file> (default file: cluster/resources.yaml). */
  objects?: Obj[];
  /** More cluster files: path → objects. */
  clusterFiles?: Record<string, Obj[]>;
  /** Raw files: bundle path → text (e.g. `nodes/node-a/bird-protocols.txt`). */
  files?: Record<string, string>;
}

export function listYaml(objects: Obj[]): string {
  return stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: objects }, { lineWidth: 0 });
}

export function makeBundle(spec: BundleSpec): Bundle {
  const files: Record<string, string> = { ...(spec.files ?? {}) };
  if (spec.objects) files['cluster/resources.yaml'] = listYaml(spec.objects);
  for (const [p, objs] of Object.entries(spec.clusterFiles ?? {})) files[p] = listYaml(objs);
  return loadBundleFromSource(memoryBundle(files, '<test>'));
}

export function runCheck(check: Check, b: Bundle): CheckResult {
  return check.run(makeContext(b));
}

export function ids(fs: Finding[]): string[] {
  return fs.map((f) => f.check);
}

// ---------------------------------------------------------------------------------------------
// Objects

export function ns(name: string, labels: Record<string, string> = {}): Obj {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } };
}

export interface PodOpts {
  labels?: Record<string, string>;
  ip?: string;
  node?: string;
  containerID?: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  hostNetwork?: boolean;
  phase?: string;
}

export function pod(namespace: string, name: string, o: PodOpts = {}): Obj {
  const spec: Obj = {
    nodeName: o.node ?? 'node-a',
    serviceAccountName: 'default',
    containers: [{ name: 'c', image: 'x', ports: o.ports ?? [] }],
  };
  if (o.hostNetwork) spec.hostNetwork = true;
  const annotations: Record<string, string> = {};
  if (o.ip) {
    annotations['cni.projectcalico.org/podIP'] = `${o.ip}/32`;
    annotations['cni.projectcalico.org/podIPs'] = `${o.ip}/32`;
  }
  if (o.containerID) annotations['cni.projectcalico.org/containerID'] = o.containerID;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: o.labels ?? {}, annotations },
    spec,
    status: o.ip ? { phase: o.phase ?? 'Running', podIP: o.ip, podIPs: [{ ip: o.ip }] } : { phase: o.phase ?? 'Pending' },
  };
}

export function cnp(namespace: string, name: string, spec: Obj): Obj {
  return { apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

export function gnp(name: string, spec: Obj): Obj {
  return { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec };
}

export function knp(namespace: string, name: string, spec: Obj): Obj {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

export function tier(name: string, order?: number): Obj {
  return { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name }, spec: order === undefined ? {} : { order } };
}

export function ippool(name: string, cidr: string, extra: Obj = {}): Obj {
  return { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec: { cidr, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()', ...extra } };
}

export function calicoNode(name: string, ip: string, asNumber?: number): Obj {
  const bgp: Obj = { ipv4Address: `${ip}/24` };
  if (asNumber !== undefined) bgp.asNumber = asNumber;
  return { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name }, spec: { bgp, orchRefs: [{ nodeName: name, orchestrator: 'k8s' }] } };
}

export function k8sNode(name: string, ip: string): Obj {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {}, status: { addresses: [{ type: 'InternalIP', address: ip }] } };
}

export function bgpConfig(spec: Obj = {}, name = 'default'): Obj {
  return { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name }, spec };
}

export function bgpPeer(name: string, spec: Obj): Obj {
  return { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec };
}

export function bgpFilter(name: string, spec: Obj): Obj {
  return { apiVersion: 'projectcalico.org/v3', kind: 'BGPFilter', metadata: { name }, spec };
}

export function ipamConfig(spec: Obj): Obj {
  return { apiVersion: 'crd.projectcalico.org/v1', kind: 'IPAMConfig', metadata: { name: 'default' }, spec };
}

export function affinity(node: string, cidr: string, extra: Obj = {}): Obj {
  return {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'BlockAffinity',
    metadata: { name: `${node}-${cidr.replace(/[./]/g, '-')}` },
    spec: { state: 'confirmed', node, cidr, deleted: 'false', ...extra },
  };
}

export interface BlockAlloc {
  /** Ordinal in the block. */
  ordinal: number;
  handle: string;
  secondary?: Record<string, string>;
}

/** An IPAMBlock (CRD form); `size` = number of addresses. */
export function ipamBlock(cidr: string, node: string | undefined, allocs: BlockAlloc[], size?: number): Obj {
  const n = size ?? 2 ** (32 - Number(cidr.split('/')[1]));
  const allocations: (number | null)[] = new Array(n).fill(null);
  const attributes: Obj[] = [];
  allocs.forEach((a, i) => {
    allocations[a.ordinal] = i;
    attributes.push({ handle_id: a.handle, secondary: a.secondary ?? {} });
  });
  const unallocated: number[] = [];
  for (let i = 0; i < n; i++) if (allocations[i] === null) unallocated.push(i);
  const spec: Obj = { cidr, allocations, unallocated, attributes, strictAffinity: false };
  if (node) spec.affinity = `host:${node}`;
  return { apiVersion: 'crd.projectcalico.org/v1', kind: 'IPAMBlock', metadata: { name: cidr.replace(/[./]/g, '-') }, spec };
}

export function service(namespace: string, name: string, clusterIP: string, selector: Record<string, string>, ports: Obj[]): Obj {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], selector, ports } };
}

// ---------------------------------------------------------------------------------------------
// Node artifacts

/** `birdcl show protocols all` for the given BGP sessions (plus the usual non-BGP protocols). */
export function birdProtocols(sessions: { ip: string; state?: string; info?: string; neighborAs?: number; lastError?: string; kind?: 'Mesh' | 'Node' | 'Global' }[]): string {
  const out = ['BIRD v0.3.3+birdv1.6.8 ready.', 'name     proto    table    state  since       info', 'static1  Static   master   up     11:20:35', 'kernel1  Kernel   master   up     11:20:35', 'device1  Device   master   up     11:20:35', 'direct1  Direct   master   up     11:20:35', ''];
  for (const s of sessions) {
    const name = `${s.kind ?? 'Mesh'}_${s.ip.replace(/\./g, '_')}`;
    const info = s.info ?? 'Established';
    const state = s.state ?? (info.startsWith('Established') ? 'up' : 'start');
    out.push(`${name} BGP      master   ${state}  11:20:37    ${info}`);
    out.push('  Description:    Connection to BGP peer');
    out.push('  Preference:     100');
    out.push('  Input filter:   ACCEPT');
    out.push('  Output filter:  calico_export_to_bgp_peers');
    out.push(`  BGP state:          ${info.split(' ')[0]}`);
    out.push(`    Neighbor address: ${s.ip}`);
    out.push(`    Neighbor AS:      ${s.neighborAs ?? 64512}`);
    if (s.lastError) out.push(`    Last error:       ${s.lastError}`);
    out.push('');
  }
  return out.join('\n');
}

/** `birdcl show route` with the given prefixes learned via BGP (and local ones). */
export function birdRoutes(routes: { prefix: string; via?: string; proto?: string; blackhole?: boolean }[]): string {
  const out = ['BIRD v0.3.3+birdv1.6.8 ready.', '0.0.0.0/0          via 10.0.0.100 on eth0 [kernel1 11:20:36] * (10)'];
  for (const r of routes) {
    if (r.blackhole) out.push(`${r.prefix}      blackhole [static1 11:20:35] * (200)`);
    else out.push(`${r.prefix}      via ${r.via} on eth0 [${r.proto ?? `Mesh_${r.via!.replace(/\./g, '_')}`} 11:20:37] * (100/0) [i]`);
  }
  return `${out.join('\n')}\n`;
}

/** A minimal iptables-save (filter table only) with the given INPUT/OUTPUT/extra lines. */
export function iptablesSave(filterRules: string[], chains: string[] = []): string {
  return [
    '# Generated by iptables-save v1.8.9 (nf_tables) on Sat Nov 22 11:25:34 2026',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...chains.map((c) => `:${c} - [0:0]`),
    ...filterRules,
    'COMMIT',
    '# Completed on Sat Nov 22 11:25:34 2026',
    '',
  ].join('\n');
}

/** Lines of `ip -j addr` for a node with eth0 = ip/24. */
export function ipAddrJson(ip: string): string {
  return JSON.stringify([
    { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, operstate: 'UNKNOWN', link_type: 'loopback', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }] },
    { ifindex: 2, ifname: 'eth0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1500, operstate: 'UP', link_type: 'ether', address: '02:00:00:00:00:01', addr_info: [{ family: 'inet', local: ip, prefixlen: 24, scope: 'global' }] },
  ]);
}

export function ipRouteJson(ip: string, gw = '10.0.0.100'): string {
  const net = ip.split('.').slice(0, 3).join('.');
  return JSON.stringify([
    { dst: 'default', gateway: gw, dev: 'eth0', flags: [] },
    { dst: `${net}.0/24`, dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: ip, flags: [] },
  ]);
}
