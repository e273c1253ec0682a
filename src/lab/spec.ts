/**
 * The lab spec: what `caliscope lab up` builds. Nodes, the IP pool and its per-node blocks, pods
 * (labels, service accounts, container ports), Services, an "external" host on the underlay,
 * and any Kubernetes/Calico objects (policies, tiers, network sets) kept verbatim so that
 * `lab collect` emits them as cluster/ YAML exactly as written.
 *
 * `parseLabSpec` reads YAML, fills defaults and validates; every problem is reported at once as
 * `path: reason` in a LabSpecError.
 */
import { parse as yamlParse } from 'yaml';
import { cidrContains, cidrSize, cidrsOverlap, cidrWithin, formatCidr, parseCidr, parseIp, type Cidr } from './ipv4.js';

export type LabMode = 'vxlan' | 'bgp';
export const LAB_MODES: readonly LabMode[] = ['vxlan', 'bgp'];
export type LabProtocol = 'TCP' | 'UDP';
export type EncapMode = 'Always' | 'CrossSubnet' | 'Never';

export const LAB_SPEC_API_VERSION = 'caliscope.dev/v1alpha1';
export const LAB_SPEC_KIND = 'Lab';

export interface LabContainerPort {
  /** IANA service name (named port), optional. */
  name?: string;
  containerPort: number;
  protocol: LabProtocol;
}

export interface LabNodeSpec {
  name: string;
  /** Underlay address (the node's eth0). */
  ip: string;
  /** The IPAM block this node owns (its size is the pool's blockSize). */
  block: string;
  /** BGP AS of this node; the spec-wide asNumber when absent. */
  asNumber?: number;
}

export interface LabNamespaceSpec {
  name: string;
  labels: Record<string, string>;
}

export interface LabPodSpec {
  namespace: string;
  name: string;
  node: string;
  /** Pod IP; allocated from the node's block when absent. */
  ip?: string;
  labels: Record<string, string>;
  serviceAccount: string;
  ports: LabContainerPort[];
}

export interface LabServicePort {
  name?: string;
  port: number;
  protocol: LabProtocol;
  /** Container port number or name. */
  targetPort: number | string;
  nodePort?: number;
}

export interface LabServiceSpec {
  namespace: string;
  name: string;
  type: 'ClusterIP' | 'NodePort';
  clusterIP: string;
  selector: Record<string, string>;
  ports: LabServicePort[];
}

export interface LabPoolSpec {
  name: string;
  cidr: string;
  blockSize: number;
  natOutgoing: boolean;
  vxlanMode: EncapMode;
  ipipMode: EncapMode;
}

export interface LabExternalSpec {
  /** An address on the underlay that plays "the internet" (for natOutgoing probes). */
  ip: string;
  ports: LabContainerPort[];
}

export interface LabSpec {
  apiVersion: string;
  kind: string;
  name: string;
  mode: LabMode;
  /** Default BGP AS of the nodes (Calico's default 64512). */
  asNumber: number;
  underlay: { cidr: string; mtu: number };
  ipPool: LabPoolSpec;
  serviceCIDR: string;
  external: LabExternalSpec;
  nodes: LabNodeSpec[];
  namespaces: LabNamespaceSpec[];
  pods: LabPodSpec[];
  services: LabServiceSpec[];
  /** Kubernetes / Calico objects emitted verbatim as cluster/ YAML (policies, tiers, sets…). */
  resources: Record<string, unknown>[];
}

export class LabSpecError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: invalid lab spec:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'LabSpecError';
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// Kubernetes IANA_SVC_NAME: ≤15 chars, lowercase alphanumerics and '-', at least one letter, no '--'.
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const NAMESPACED_KINDS = new Set([
  'NetworkPolicy',
  'StagedNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'NetworkSet',
  'Pod',
  'Service',
  'ServiceAccount',
  'EndpointSlice',
  'Endpoints',
  'ConfigMap',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Collects problems while reading untyped YAML. */
class Reader {
  readonly problems: string[] = [];
  err(path: string, msg: string): void {
    this.problems.push(`${path}: ${msg}`);
  }
  obj(v: unknown, path: string): Obj {
    if (v === undefined || v === null) return {};
    if (!isObj(v)) {
      this.err(path, 'must be a mapping');
      return {};
    }
    return v;
  }
  list(v: unknown, path: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.err(path, 'must be a list');
      return [];
    }
    return v;
  }
  str(v: unknown, path: string, dflt?: string): string {
    if (v === undefined || v === null) {
      if (dflt !== undefined) return dflt;
      this.err(path, 'is required');
      return '';
    }
    if (typeof v !== 'string') {
      this.err(path, `must be a string, got ${JSON.stringify(v)}`);
      return '';
    }
    return v;
  }
  optStr(v: unknown, path: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    return this.str(v, path);
  }
  int(v: unknown, path: string, min: number, max: number, dflt?: number): number {
    if (v === undefined || v === null) {
      if (dflt !== undefined) return dflt;
      this.err(path, 'is required');
      return min;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.err(path, `must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
      return min;
    }
    return v;
  }
  bool(v: unknown, path: string, dflt: boolean): boolean {
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') {
      this.err(path, `must be true or false, got ${JSON.stringify(v)}`);
      return dflt;
    }
    return v;
  }
  labels(v: unknown, path: string): Record<string, string> {
    const o = this.obj(v, path);
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(o)) {
      if (!LABEL_KEY.test(k) || k.length > 316) this.err(`${path}.${k}`, 'is not a valid label key');
      const s = typeof val === 'string' ? val : typeof val === 'number' || typeof val === 'boolean' ? String(val) : undefined;
      if (s === undefined) this.err(`${path}.${k}`, 'label values must be strings');
      else if (!LABEL_VALUE.test(s) || s.length > 63) this.err(`${path}.${k}`, `${JSON.stringify(s)} is not a valid label value`);
      else out[k] = s;
    }
    return out;
  }
  protocol(v: unknown, path: string): LabProtocol {
    if (v === undefined || v === null) return 'TCP';
    if (v === 'TCP' || v === 'UDP') return v;
    this.err(path, `must be TCP or UDP, got ${JSON.stringify(v)}`);
    return 'TCP';
  }
  encap(v: unknown, path: string, dflt: EncapMode): EncapMode {
    if (v === undefined || v === null) return dflt;
    if (v === 'Always' || v === 'CrossSubnet' || v === 'Never') return v;
    this.err(path, `must be Always, CrossSubnet or Never, got ${JSON.stringify(v)}`);
    return dflt;
  }
}

function readPorts(r: Reader, v: unknown, path: string): LabContainerPort[] {
  return r.list(v, path).map((p, i) => {
    const pp = `${path}[${i}]`;
    const o = r.obj(p, pp);
    const name = r.optStr(o.name, `${pp}.name`);
    return {
      ...(name !== undefined ? { name } : {}),
      containerPort: r.int(o.containerPort ?? o.port, `${pp}.containerPort`, 1, 65535),
      protocol: r.protocol(o.protocol, `${pp}.protocol`),
    };
  });
}

/** Reads a lab spec from YAML text. Throws LabSpecError listing every problem. */
export function parseLabSpec(text: string, source = 'lab.yaml'): LabSpec {
  let doc: unknown;
  try {
    doc = yamlParse(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    throw new LabSpecError(source, [`not valid YAML: ${(e as Error).message.split('\n')[0]}`]);
  }
  return labSpecFromObject(doc, source);
}

/** Builds a LabSpec from an already parsed object (YAML/JSON), applying defaults and validation. */
export function labSpecFromObject(doc: unknown, source = 'lab spec'): LabSpec {
  const r = new Reader();
  if (!isObj(doc)) throw new LabSpecError(source, ['the document must be a mapping (a Lab spec object)']);
  const apiVersion = r.str(doc.apiVersion, 'apiVersion', LAB_SPEC_API_VERSION);
  const kind = r.str(doc.kind, 'kind', LAB_SPEC_KIND);
  if (apiVersion !== LAB_SPEC_API_VERSION) r.err('apiVersion', `must be ${LAB_SPEC_API_VERSION}`);
  if (kind !== LAB_SPEC_KIND) r.err('kind', `must be ${LAB_SPEC_KIND}`);
  const modeRaw = r.str(doc.mode, 'mode', 'vxlan');
  const mode: LabMode = LAB_MODES.includes(modeRaw as LabMode) ? (modeRaw as LabMode) : 'vxlan';
  if (!LAB_MODES.includes(modeRaw as LabMode)) r.err('mode', `must be one of ${LAB_MODES.join(', ')}, got ${JSON.stringify(modeRaw)}`);
  const ul = r.obj(doc.underlay, 'underlay');
  const poolO = r.obj(doc.ipPool, 'ipPool');
  const extO = r.obj(doc.external, 'external');
  const spec: LabSpec = {
    apiVersion,
    kind,
    name: r.str(doc.name, 'name', 'lab'),
    mode,
    asNumber: r.int(doc.asNumber, 'asNumber', 1, 4294967295, 64512),
    underlay: { cidr: r.str(ul.cidr, 'underlay.cidr', '10.0.0.0/24'), mtu: r.int(ul.mtu, 'underlay.mtu', 1280, 9000, 1500) },
    ipPool: {
      name: r.str(poolO.name, 'ipPool.name', 'default-ipv4-ippool'),
      cidr: r.str(poolO.cidr, 'ipPool.cidr', '10.244.0.0/16'),
      blockSize: r.int(poolO.blockSize, 'ipPool.blockSize', 20, 32, 26),
      natOutgoing: r.bool(poolO.natOutgoing, 'ipPool.natOutgoing', true),
      vxlanMode: r.encap(poolO.vxlanMode, 'ipPool.vxlanMode', mode === 'vxlan' ? 'Always' : 'Never'),
      ipipMode: r.encap(poolO.ipipMode, 'ipPool.ipipMode', 'Never'),
    },
    serviceCIDR: r.str(doc.serviceCIDR, 'serviceCIDR', '10.96.0.0/12'),
    external: { ip: r.str(extO.ip, 'external.ip', '10.0.0.100'), ports: readPorts(r, extO.ports, 'external.ports') },
    nodes: r.list(doc.nodes, 'nodes').map((n, i) => {
      const o = r.obj(n, `nodes[${i}]`);
      const as = o.asNumber === undefined ? undefined : r.int(o.asNumber, `nodes[${i}].asNumber`, 1, 4294967295);
      return {
        name: r.str(o.name, `nodes[${i}].name`),
        ip: r.str(o.ip, `nodes[${i}].ip`),
        block: r.str(o.block, `nodes[${i}].block`),
        ...(as !== undefined ? { asNumber: as } : {}),
      };
    }),
    namespaces: r.list(doc.namespaces, 'namespaces').map((n, i) => {
      const o = typeof n === 'string' ? { name: n } : r.obj(n, `namespaces[${i}]`);
      return { name: r.str(o.name, `namespaces[${i}].name`), labels: r.labels(o.labels, `namespaces[${i}].labels`) };
    }),
    pods: r.list(doc.pods, 'pods').map((p, i) => {
      const pp = `pods[${i}]`;
      const o = r.obj(p, pp);
      const ip = r.optStr(o.ip, `${pp}.ip`);
      return {
        namespace: r.str(o.namespace, `${pp}.namespace`, 'default'),
        name: r.str(o.name, `${pp}.name`),
        node: r.str(o.node, `${pp}.node`),
        ...(ip !== undefined ? { ip } : {}),
        labels: r.labels(o.labels, `${pp}.labels`),
        serviceAccount: r.str(o.serviceAccount, `${pp}.serviceAccount`, 'default'),
        ports: readPorts(r, o.ports, `${pp}.ports`),
      };
    }),
    services: r.list(doc.services, 'services').map((s, i) => {
      const sp = `services[${i}]`;
      const o = r.obj(s, sp);
      const type = r.str(o.type, `${sp}.type`, 'ClusterIP');
      if (type !== 'ClusterIP' && type !== 'NodePort') r.err(`${sp}.type`, `must be ClusterIP or NodePort, got ${JSON.stringify(type)}`);
      return {
        namespace: r.str(o.namespace, `${sp}.namespace`, 'default'),
        name: r.str(o.name, `${sp}.name`),
        type: type === 'NodePort' ? 'NodePort' : 'ClusterIP',
        clusterIP: r.str(o.clusterIP, `${sp}.clusterIP`),
        selector: r.labels(o.selector, `${sp}.selector`),
        ports: r.list(o.ports, `${sp}.ports`).map((p, j) => {
          const pp = `${sp}.ports[${j}]`;
          const po = r.obj(p, pp);
          const port = r.int(po.port, `${pp}.port`, 1, 65535);
          let targetPort: number | string = port;
          if (typeof po.targetPort === 'number') targetPort = r.int(po.targetPort, `${pp}.targetPort`, 1, 65535);
          else if (typeof po.targetPort === 'string') targetPort = /^\d+$/.test(po.targetPort) ? Number(po.targetPort) : po.targetPort;
          else if (po.targetPort !== undefined && po.targetPort !== null) r.err(`${pp}.targetPort`, 'must be a port number or a port name');
          const name = r.optStr(po.name, `${pp}.name`);
          const nodePort = po.nodePort === undefined || po.nodePort === null ? undefined : r.int(po.nodePort, `${pp}.nodePort`, 30000, 32767);
          return {
            ...(name !== undefined ? { name } : {}),
            port,
            protocol: r.protocol(po.protocol, `${pp}.protocol`),
            targetPort,
            ...(nodePort !== undefined ? { nodePort } : {}),
          };
        }),
      };
    }),
    resources: r.list(doc.resources, 'resources').map((o, i) => r.obj(o, `resources[${i}]`)),
  };
  const known = new Set(['apiVersion', 'kind', 'name', 'mode', 'asNumber', 'underlay', 'ipPool', 'serviceCIDR', 'external', 'nodes', 'namespaces', 'pods', 'services', 'resources']);
  for (const k of Object.keys(doc)) if (!known.has(k)) r.err(k, `unknown field (known: ${[...known].join(', ')})`);
  validate(spec, r);
  if (r.problems.length) throw new LabSpecError(source, r.problems);
  return spec;
}

/** Checks a spec that is already typed (e.g. built in code). Throws LabSpecError. */
export function validateLabSpec(spec: LabSpec, source = 'lab spec'): void {
  const r = new Reader();
  validate(spec, r);
  if (r.problems.length) throw new LabSpecError(source, r.problems);
}

function validate(spec: LabSpec, r: Reader): void {
  if (!DNS_LABEL.test(spec.name)) r.err('name', `${JSON.stringify(spec.name)} must be a DNS label`);
  if (spec.mode === 'vxlan' && spec.ipPool.vxlanMode !== 'Always') r.err('ipPool.vxlanMode', 'mode vxlan needs vxlanMode Always (CrossSubnet is not modelled by the lab)');
  if (spec.mode === 'bgp' && spec.ipPool.vxlanMode !== 'Never') r.err('ipPool.vxlanMode', 'mode bgp needs vxlanMode Never');
  if (spec.ipPool.ipipMode !== 'Never') r.err('ipPool.ipipMode', 'IPIP is not modelled by the lab; use Never (mode bgp routes natively)');
  const ul = cidrOrErr(r, spec.underlay.cidr, 'underlay.cidr');
  const pool = cidrOrErr(r, spec.ipPool.cidr, 'ipPool.cidr');
  const svc = cidrOrErr(r, spec.serviceCIDR, 'serviceCIDR');
  if (pool && spec.ipPool.blockSize < pool.prefix) r.err('ipPool.blockSize', `must not be shorter than the pool prefix /${pool.prefix}`);
  if (ul && pool && cidrsOverlap(ul, pool)) r.err('ipPool.cidr', 'overlaps the underlay');
  if (svc && pool && cidrsOverlap(svc, pool)) r.err('serviceCIDR', 'overlaps the IP pool');
  if (svc && ul && cidrsOverlap(svc, ul)) r.err('serviceCIDR', 'overlaps the underlay');

  const usedUnderlay = new Map<number, string>();
  const underlayIp = (ip: string, path: string) => {
    const n = parseIp(ip);
    if (n === undefined) return r.err(path, `${JSON.stringify(ip)} is not an IPv4 address`);
    if (ul && (!cidrContains(ul, n) || n === ul.base || n === ul.base + cidrSize(ul) - 1)) return r.err(path, `${ip} is not a host address of the underlay ${spec.underlay.cidr}`);
    const prev = usedUnderlay.get(n);
    if (prev) return r.err(path, `${ip} is already used by ${prev}`);
    usedUnderlay.set(n, path);
  };
  underlayIp(spec.external.ip, 'external.ip');
  checkPorts(r, spec.external.ports, 'external.ports');

  if (spec.nodes.length === 0) r.err('nodes', 'at least one node is needed');
  const nodeNames = new Set<string>();
  const blocks: Array<{ c: Cidr; path: string }> = [];
  const nodeBlocks = new Map<string, Cidr>();
  spec.nodes.forEach((n, i) => {
    const p = `nodes[${i}]`;
    if (!DNS_SUBDOMAIN.test(n.name) || n.name.length > 63) r.err(`${p}.name`, `${JSON.stringify(n.name)} must be a lowercase DNS name of at most 63 characters`);
    if (nodeNames.has(n.name)) r.err(`${p}.name`, `duplicate node ${n.name}`);
    nodeNames.add(n.name);
    underlayIp(n.ip, `${p}.ip`);
    const b = cidrOrErr(r, n.block, `${p}.block`);
    if (!b) return;
    if (b.prefix !== spec.ipPool.blockSize) r.err(`${p}.block`, `must be a /${spec.ipPool.blockSize} (the pool's blockSize)`);
    if (pool && !cidrWithin(b, pool)) r.err(`${p}.block`, `${n.block} is outside the pool ${spec.ipPool.cidr}`);
    for (const o of blocks) if (cidrsOverlap(o.c, b)) r.err(`${p}.block`, `overlaps ${o.path}`);
    blocks.push({ c: b, path: `${p}.block` });
    nodeBlocks.set(n.name, b);
  });

  const nsNames = new Set<string>();
  spec.namespaces.forEach((n, i) => {
    if (!DNS_LABEL.test(n.name) || n.name.length > 63) r.err(`namespaces[${i}].name`, `${JSON.stringify(n.name)} must be a DNS label`);
    if (nsNames.has(n.name)) r.err(`namespaces[${i}].name`, `duplicate namespace ${n.name}`);
    nsNames.add(n.name);
  });

  const podKeys = new Set<string>();
  const podIps = new Map<number, string>();
  const perNode = new Map<string, number>();
  spec.pods.forEach((p, i) => {
    const pp = `pods[${i}]`;
    if (!nsNames.has(p.namespace)) r.err(`${pp}.namespace`, `namespace ${JSON.stringify(p.namespace)} is not in namespaces`);
    if (!DNS_SUBDOMAIN.test(p.name) || p.name.length > 63) r.err(`${pp}.name`, `${JSON.stringify(p.name)} must be a lowercase DNS name of at most 63 characters`);
    const key = `${p.namespace}/${p.name}`;
    if (podKeys.has(key)) r.err(`${pp}.name`, `duplicate pod ${key}`);
    podKeys.add(key);
    if (!DNS_SUBDOMAIN.test(p.serviceAccount)) r.err(`${pp}.serviceAccount`, 'must be a DNS name');
    if (!nodeNames.has(p.node)) r.err(`${pp}.node`, `node ${JSON.stringify(p.node)} is not in nodes`);
    perNode.set(p.node, (perNode.get(p.node) ?? 0) + 1);
    if (p.ip !== undefined) {
      const n = parseIp(p.ip);
      const b = nodeBlocks.get(p.node);
      if (n === undefined) r.err(`${pp}.ip`, `${JSON.stringify(p.ip)} is not an IPv4 address`);
      else if (b && !cidrContains(b, n)) r.err(`${pp}.ip`, `${p.ip} is not in node ${p.node}'s block ${formatCidr(b)}`);
      else if (b && n === b.base) r.err(`${pp}.ip`, `${p.ip} is the block's first address, reserved for the node's tunnel address`);
      else if (podIps.has(n)) r.err(`${pp}.ip`, `${p.ip} is already used by ${podIps.get(n)}`);
      else podIps.set(n, key);
    }
    checkPorts(r, p.ports, `${pp}.ports`);
  });
  for (const [node, count] of perNode) {
    const b = nodeBlocks.get(node);
    if (b && count > cidrSize(b) - 1) r.err('pods', `node ${node} has ${count} pods but its block holds ${cidrSize(b) - 1}`);
  }

  const svcKeys = new Set<string>();
  const clusterIps = new Set<string>();
  const nodePorts = new Set<number>();
  spec.services.forEach((s, i) => {
    const sp = `services[${i}]`;
    if (!nsNames.has(s.namespace)) r.err(`${sp}.namespace`, `namespace ${JSON.stringify(s.namespace)} is not in namespaces`);
    if (!DNS_LABEL.test(s.name)) r.err(`${sp}.name`, `${JSON.stringify(s.name)} must be a DNS label`);
    const key = `${s.namespace}/${s.name}`;
    if (svcKeys.has(key)) r.err(`${sp}.name`, `duplicate service ${key}`);
    svcKeys.add(key);
    const ip = parseIp(s.clusterIP);
    if (ip === undefined) r.err(`${sp}.clusterIP`, `${JSON.stringify(s.clusterIP)} is not an IPv4 address`);
    else if (svc && !cidrContains(svc, ip)) r.err(`${sp}.clusterIP`, `${s.clusterIP} is outside serviceCIDR ${spec.serviceCIDR}`);
    if (clusterIps.has(s.clusterIP)) r.err(`${sp}.clusterIP`, `${s.clusterIP} is used by another service`);
    clusterIps.add(s.clusterIP);
    if (Object.keys(s.selector).length === 0) r.err(`${sp}.selector`, 'a selector is required (the lab derives endpoints from it)');
    if (s.ports.length === 0) r.err(`${sp}.ports`, 'at least one port is required');
    const seen = new Set<string>();
    s.ports.forEach((p, j) => {
      const pp = `${sp}.ports[${j}]`;
      if (s.ports.length > 1 && !p.name) r.err(`${pp}.name`, 'is required when a service has several ports');
      if (p.name !== undefined && !PORT_NAME.test(p.name)) r.err(`${pp}.name`, `${JSON.stringify(p.name)} is not a valid port name`);
      const k = `${p.port}/${p.protocol}`;
      if (seen.has(k)) r.err(`${pp}`, `duplicate port ${k}`);
      seen.add(k);
      if (typeof p.targetPort === 'string' && !isPortName(p.targetPort)) r.err(`${pp}.targetPort`, `${JSON.stringify(p.targetPort)} is not a valid port name`);
      if (p.nodePort !== undefined) {
        if (s.type !== 'NodePort') r.err(`${pp}.nodePort`, 'only NodePort services have nodePorts');
        if (nodePorts.has(p.nodePort)) r.err(`${pp}.nodePort`, `${p.nodePort} is used by another service`);
        nodePorts.add(p.nodePort);
      } else if (s.type === 'NodePort') r.err(`${pp}.nodePort`, 'is required for a NodePort service (the lab does not allocate one)');
    });
  });

  spec.resources.forEach((o, i) => {
    const p = `resources[${i}]`;
    if (typeof o.apiVersion !== 'string' || o.apiVersion === '') r.err(`${p}.apiVersion`, 'is required');
    if (typeof o.kind !== 'string' || o.kind === '') r.err(`${p}.kind`, 'is required');
    const meta = isObj(o.metadata) ? o.metadata : undefined;
    if (!meta || typeof meta.name !== 'string' || meta.name === '') r.err(`${p}.metadata.name`, 'is required');
    if (typeof o.kind === 'string' && NAMESPACED_KINDS.has(o.kind)) {
      const ns = meta?.namespace;
      if (typeof ns !== 'string') r.err(`${p}.metadata.namespace`, `a ${o.kind} needs a namespace`);
      else if (!nsNames.has(ns)) r.err(`${p}.metadata.namespace`, `namespace ${JSON.stringify(ns)} is not in namespaces`);
    }
    if (o.kind === 'Secret') r.err(`${p}.kind`, 'Secrets are not accepted in a lab spec');
  });
}

function isPortName(s: string): boolean {
  return s.length <= 15 && PORT_NAME.test(s) && /[a-z]/.test(s) && !s.includes('--');
}

function checkPorts(r: Reader, ports: LabContainerPort[], path: string): void {
  const seen = new Set<string>();
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const k = `${p.containerPort}/${p.protocol}`;
    if (seen.has(k)) r.err(`${path}[${i}]`, `duplicate port ${k}`);
    seen.add(k);
    if (p.name !== undefined) {
      if (!isPortName(p.name)) r.err(`${path}[${i}].name`, `${JSON.stringify(p.name)} is not a valid port name (IANA_SVC_NAME: ≤15 lowercase letters, digits, '-')`);
      if (names.has(p.name)) r.err(`${path}[${i}].name`, `duplicate port name ${p.name}`);
      names.add(p.name);
    }
  });
}

function cidrOrErr(r: Reader, s: string, path: string): Cidr | undefined {
  const c = parseCidr(s);
  if (!c) {
    const loose = parseCidr(s, false);
    r.err(path, loose ? `${s} has host bits set (did you mean ${formatCidr(loose)}?)` : `${JSON.stringify(s)} is not an IPv4 CIDR`);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// The built-in spec

/**
 * The default lab: 3 nodes on 10.0.0.0/24, pool 10.244.0.0/16 with one /26 per node, DNS in
 * kube-system, a web frontend, an API and a database in backend (default-deny + allow rules),
 * Services (ClusterIP with several backends, one NodePort), a Calico tier with
 * GlobalNetworkPolicies and an "external" host 10.0.0.100.
 */
export function defaultLabSpec(mode: LabMode = 'vxlan'): LabSpec {
  const tcp = (name: string, containerPort: number): LabContainerPort => ({ name, containerPort, protocol: 'TCP' });
  const udp = (name: string, containerPort: number): LabContainerPort => ({ name, containerPort, protocol: 'UDP' });
  const web = (name: string, node: string): LabPodSpec => ({
    namespace: 'frontend',
    name,
    node,
    labels: { app: 'web', version: 'v1' },
    serviceAccount: 'web',
    ports: [tcp('http', 8080)],
  });
  const api = (name: string, node: string): LabPodSpec => ({
    namespace: 'backend',
    name,
    node,
    labels: { app: 'api' },
    serviceAccount: 'api',
    ports: [tcp('http', 8080), tcp('grpc', 9090)],
  });
  const dns = (name: string, node: string): LabPodSpec => ({
    namespace: 'kube-system',
    name,
    node,
    labels: { 'k8s-app': 'kube-dns' },
    serviceAccount: 'coredns',
    ports: [udp('dns', 53), tcp('dns-tcp', 53), tcp('metrics', 9153)],
  });
  const spec: LabSpec = {
    apiVersion: LAB_SPEC_API_VERSION,
    kind: LAB_SPEC_KIND,
    name: 'default',
    mode,
    asNumber: 64512,
    underlay: { cidr: '10.0.0.0/24', mtu: 1500 },
    ipPool: {
      name: 'default-ipv4-ippool',
      cidr: '10.244.0.0/16',
      blockSize: 26,
      natOutgoing: true,
      vxlanMode: mode === 'vxlan' ? 'Always' : 'Never',
      ipipMode: 'Never',
    },
    serviceCIDR: '10.96.0.0/12',
    external: { ip: '10.0.0.100', ports: [tcp('http', 80), udp('dns', 53)] },
    nodes: [
      { name: 'node-a', ip: '10.0.0.11', block: '10.244.1.0/26' },
      { name: 'node-b', ip: '10.0.0.12', block: '10.244.2.0/26' },
      { name: 'node-c', ip: '10.0.0.13', block: '10.244.3.0/26' },
    ],
    namespaces: [
      { name: 'default', labels: {} },
      { name: 'kube-system', labels: {} },
      { name: 'frontend', labels: { team: 'web' } },
      { name: 'backend', labels: { team: 'api', tier: 'backend' } },
    ],
    pods: [
      web('web-1', 'node-a'),
      api('api-1', 'node-a'),
      { namespace: 'default', name: 'batch-0', node: 'node-a', labels: { app: 'batch' }, serviceAccount: 'default', ports: [tcp('metrics', 9100)] },
      dns('coredns-1', 'node-a'),
      web('web-2', 'node-b'),
      api('api-2', 'node-b'),
      { namespace: 'default', name: 'client', node: 'node-b', labels: { app: 'client' }, serviceAccount: 'default', ports: [udp('stats', 5000)] },
      dns('coredns-0', 'node-c'),
      api('api-3', 'node-c'),
      { namespace: 'backend', name: 'db-0', node: 'node-c', labels: { app: 'db' }, serviceAccount: 'db', ports: [tcp('postgres', 5432)] },
    ],
    services: [
      {
        namespace: 'kube-system',
        name: 'kube-dns',
        type: 'ClusterIP',
        clusterIP: '10.96.0.10',
        selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 'dns' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 'dns-tcp' },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
      },
      {
        namespace: 'backend',
        name: 'api',
        type: 'ClusterIP',
        clusterIP: '10.96.10.20',
        selector: { app: 'api' },
        ports: [
          { name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' },
          { name: 'grpc', port: 9090, protocol: 'TCP', targetPort: 'grpc' },
        ],
      },
      {
        namespace: 'backend',
        name: 'db',
        type: 'ClusterIP',
        clusterIP: '10.96.10.30',
        selector: { app: 'db' },
        ports: [{ name: 'postgres', port: 5432, protocol: 'TCP', targetPort: 5432 }],
      },
      {
        namespace: 'frontend',
        name: 'web',
        type: 'NodePort',
        clusterIP: '10.96.20.10',
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http', nodePort: 30080 }],
      },
    ],
    resources: defaultPolicies(),
  };
  return spec;
}

function defaultPolicies(): Record<string, unknown>[] {
  return [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny', namespace: 'backend' },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-api-from-frontend', namespace: 'backend' },
      spec: {
        podSelector: { matchLabels: { app: 'api' } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'frontend' } }, podSelector: { matchLabels: { app: 'web' } } }],
            ports: [{ protocol: 'TCP', port: 'http' }],
          },
        ],
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-db-from-api', namespace: 'backend' },
      spec: {
        podSelector: { matchLabels: { app: 'db' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-api-egress', namespace: 'backend' },
      spec: {
        podSelector: { matchLabels: { app: 'api' } },
        policyTypes: ['Egress'],
        egress: [
          { to: [{ podSelector: { matchLabels: { app: 'db' } } }], ports: [{ protocol: 'TCP', port: 5432 }] },
          {
            to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'NetworkPolicy',
      metadata: { name: 'web-ingress', namespace: 'frontend' },
      spec: {
        tier: 'default',
        order: 100,
        selector: "app == 'web'",
        types: ['Ingress'],
        ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } }],
      },
    },
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Tier',
      metadata: { name: 'security' },
      spec: { order: 100 },
    },
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'security.block-metadata' },
      spec: {
        tier: 'security',
        order: 10,
        selector: 'all()',
        types: ['Egress'],
        egress: [{ action: 'Deny', destination: { nets: ['169.254.169.254/32'] } }, { action: 'Pass' }],
      },
    },
  ];
}

/** YAML for a spec (what `caliscope lab up --spec` reads); the default spec serialised is a good template. */
export function labSpecToObject(spec: LabSpec): Record<string, unknown> {
  return JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
}

