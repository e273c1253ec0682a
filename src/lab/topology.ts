/**
 * Everything the lab derives from a spec before touching the kernel: namespace and interface
 * names, pod IPs, VTEP addresses and MACs, container IDs, Service endpoints, MTUs. Deterministic:
 * the same spec and prefix always give the same topology (so bundles are reproducible).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { vethNameForWorkload } from '../calico/naming.js';
import { formatIp, nthIp, parseCidr, parseIp } from './ipv4.js';
import type { LabContainerPort, LabMode, LabProtocol, LabSpec } from './spec.js';

/** VXLAN header overhead Calico subtracts from the underlay MTU (felix: 50 for IPv4). */
export const VXLAN_OVERHEAD = 50;
export const VXLAN_VNI = 4096;
export const VXLAN_PORT = 4789;
export const VXLAN_DEVICE = 'vxlan.calico';
/** Felix's route protocol for the routes it programs (`proto 80`). */
export const FELIX_ROUTE_PROTO = 80;
/** The MAC Calico gives every host-side workload veth. */
export const CALI_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
/** The pod's next hop (Calico CNI); answered by proxy ARP on the host-side veth. */
export const POD_GATEWAY = '169.254.1.1';
export const UNDERLAY_BRIDGE = 'br0';

export interface LabBirdPaths {
  dir: string;
  config: string;
  socket: string;
  pidFile: string;
  log: string;
}

export interface LabNodeTopo {
  name: string;
  index: number;
  /** Network namespace of the node. */
  ns: string;
  ip: string;
  block: string;
  asNumber: number;
  /** The node's end of the underlay link inside the underlay namespace. */
  ulIface: string;
  /** VXLAN tunnel address and VTEP MAC (mode vxlan). */
  vtep?: { ip: string; mac: string };
  bird?: LabBirdPaths;
}

export interface LabPodTopo {
  /** `namespace/name`. */
  key: string;
  namespace: string;
  name: string;
  node: string;
  ip: string;
  /** Network namespace of the pod. */
  netns: string;
  /** Host-side veth, named as Calico's CNI names it. */
  hostIface: string;
  containerId: string;
  uid: string;
  labels: Record<string, string>;
  serviceAccount: string;
  ports: LabContainerPort[];
  /** Added by a fault (e.g. duplicate-pod-ip), not by the spec. */
  addedBy?: string;
}

export interface LabEndpoint {
  pod: string;
  node: string;
  ip: string;
  port: number;
}

export interface LabServicePortTopo {
  name?: string;
  port: number;
  protocol: LabProtocol;
  nodePort?: number;
  targetPort: number | string;
  endpoints: LabEndpoint[];
}

export interface LabServiceTopo {
  key: string;
  namespace: string;
  name: string;
  type: 'ClusterIP' | 'NodePort';
  clusterIP: string;
  selector: Record<string, string>;
  ports: LabServicePortTopo[];
}

export interface LabTopology {
  prefix: string;
  mode: LabMode;
  stateDir: string;
  underlayNs: string;
  underlayCidr: string;
  underlayPrefixLen: number;
  underlayMtu: number;
  external: { ns: string; ip: string; ulIface: string; ports: LabContainerPort[] };
  nodes: LabNodeTopo[];
  pods: LabPodTopo[];
  services: LabServiceTopo[];
  /** MTU of pods' eth0 and host-side veths (Calico: underlay − 50 with VXLAN). */
  podMtu: number;
  /** MTU of vxlan.calico (mode vxlan). */
  vxlanMtu: number;
  /** Nodes' default gateway (the external host plays the upstream router). */
  gateway: string;
  poolCidr: string;
  blockSize: number;
  natOutgoing: boolean;
  serviceCIDR: string;
}

export const PREFIX_RE = /^[a-z][a-z0-9]{1,9}$/;

export function checkPrefix(prefix: string): void {
  if (!PREFIX_RE.test(prefix)) throw new Error(`lab prefix ${JSON.stringify(prefix)} must be 2-10 lowercase letters/digits starting with a letter`);
}

const sha = (alg: 'sha1' | 'sha256', s: string) => createHash(alg).update(s, 'utf8').digest();

/** Deterministic locally administered unicast MAC for a node's VTEP (Felix picks a random one and stores it in the Node). */
export function vtepMac(node: string): string {
  const b = sha('sha256', `vtep:${node}`);
  return ['66', ...[...b.subarray(0, 5)].map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

/** A 64-hex container ID (as the runtime would report it), stable per pod. */
export function containerIdFor(namespace: string, pod: string): string {
  return sha('sha256', `container:${namespace}/${pod}`).toString('hex');
}

export function podUid(namespace: string, pod: string): string {
  const h = sha('sha256', `uid:${namespace}/${pod}`).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function nodeNetns(prefix: string, node: string): string {
  return `${prefix}-${node}`;
}

export function podNetns(prefix: string, namespace: string, pod: string): string {
  return `${prefix}-p-${namespace}-${pod}`;
}

/** Builds a pod's topology entry (also used by faults that add pods). */
export function makePodTopo(prefix: string, p: { namespace: string; name: string; node: string; ip: string; labels: Record<string, string>; serviceAccount: string; ports: LabContainerPort[] }): LabPodTopo {
  return {
    key: `${p.namespace}/${p.name}`,
    namespace: p.namespace,
    name: p.name,
    node: p.node,
    ip: p.ip,
    netns: podNetns(prefix, p.namespace, p.name),
    hostIface: vethNameForWorkload(p.namespace, p.name),
    containerId: containerIdFor(p.namespace, p.name),
    uid: podUid(p.namespace, p.name),
    labels: { ...p.labels },
    serviceAccount: p.serviceAccount,
    ports: p.ports.map((x) => ({ ...x })),
  };
}

/** Derives the lab topology of a (validated) spec. */
export function buildTopology(spec: LabSpec, prefix: string, stateDir: string): LabTopology {
  checkPrefix(prefix);
  for (const n of spec.nodes) {
    if (n.name === 'ul' || n.name === 'ext' || n.name.startsWith('p-')) {
      throw new Error(`node name ${JSON.stringify(n.name)} collides with the lab's own namespace names (ul, ext, p-*)`);
    }
  }
  const ul = parseCidr(spec.underlay.cidr)!;
  const vxlan = spec.mode === 'vxlan';
  const nodes: LabNodeTopo[] = spec.nodes.map((n, index) => {
    const block = parseCidr(n.block)!;
    const node: LabNodeTopo = {
      name: n.name,
      index,
      ns: nodeNetns(prefix, n.name),
      ip: n.ip,
      block: n.block,
      asNumber: n.asNumber ?? spec.asNumber,
      ulIface: `ul${index}`,
    };
    if (vxlan) node.vtep = { ip: nthIp(block, 0), mac: vtepMac(n.name) };
    else {
      const dir = path.join(stateDir, 'bird', n.name);
      node.bird = { dir, config: path.join(dir, 'bird.cfg'), socket: path.join(dir, 'bird.ctl'), pidFile: path.join(dir, 'bird.pid'), log: path.join(dir, 'bird.log') };
    }
    return node;
  });
  // Pod IPs: explicit ones first, then the lowest free address of the node's block after the
  // first (reserved for the tunnel address in every mode so pod IPs do not depend on the mode).
  const used = new Set<number>(spec.pods.filter((p) => p.ip).map((p) => parseIp(p.ip!)!));
  const next = new Map<string, number>();
  const pods: LabPodTopo[] = spec.pods.map((p) => {
    let ip = p.ip;
    if (!ip) {
      const block = parseCidr(spec.nodes.find((n) => n.name === p.node)!.block)!;
      let i = next.get(p.node) ?? 1;
      while (used.has(block.base + i)) i++;
      used.add(block.base + i);
      next.set(p.node, i + 1);
      ip = formatIp(block.base + i);
    }
    return makePodTopo(prefix, { ...p, ip });
  });
  const podMtu = vxlan ? spec.underlay.mtu - VXLAN_OVERHEAD : spec.underlay.mtu;
  return {
    prefix,
    mode: spec.mode,
    stateDir,
    underlayNs: `${prefix}-ul`,
    underlayCidr: spec.underlay.cidr,
    underlayPrefixLen: ul.prefix,
    underlayMtu: spec.underlay.mtu,
    external: { ns: `${prefix}-ext`, ip: spec.external.ip, ulIface: 'ulext', ports: spec.external.ports.map((x) => ({ ...x })) },
    nodes,
    pods,
    services: resolveServices(spec, pods),
    podMtu,
    vxlanMtu: spec.underlay.mtu - VXLAN_OVERHEAD,
    gateway: spec.external.ip,
    poolCidr: spec.ipPool.cidr,
    blockSize: spec.ipPool.blockSize,
    natOutgoing: spec.ipPool.natOutgoing,
    serviceCIDR: spec.serviceCIDR,
  };
}

/** Endpoints of each Service port: pods of the namespace matching the selector that expose the target port. */
export function resolveServices(spec: LabSpec, pods: LabPodTopo[]): LabServiceTopo[] {
  return spec.services.map((s) => {
    const members = pods.filter((p) => p.namespace === s.namespace && Object.entries(s.selector).every(([k, v]) => p.labels[k] === v));
    return {
      key: `${s.namespace}/${s.name}`,
      namespace: s.namespace,
      name: s.name,
      type: s.type,
      clusterIP: s.clusterIP,
      selector: { ...s.selector },
      ports: s.ports.map((sp) => {
        const endpoints: LabEndpoint[] = [];
        for (const p of members) {
          let port: number | undefined;
          if (typeof sp.targetPort === 'number') port = sp.targetPort;
          else port = p.ports.find((cp) => cp.name === sp.targetPort && cp.protocol === sp.protocol)?.containerPort;
          if (port !== undefined) endpoints.push({ pod: p.key, node: p.node, ip: p.ip, port });
        }
        return {
          ...(sp.name !== undefined ? { name: sp.name } : {}),
          port: sp.port,
          protocol: sp.protocol,
          ...(sp.nodePort !== undefined ? { nodePort: sp.nodePort } : {}),
          targetPort: sp.targetPort,
          endpoints,
        };
      }),
    };
  });
}

export function nodeByName(t: LabTopology, name: string): LabNodeTopo {
  const n = t.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${JSON.stringify(name)} in the lab (nodes: ${t.nodes.map((x) => x.name).join(', ')})`);
  return n;
}
