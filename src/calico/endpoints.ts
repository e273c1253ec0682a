/**
 * The endpoint set Calico enforces policy on (seed procedure M2), built from a bundle's
 * resources: WorkloadEndpoints when the bundle has them, else Pods (+ Namespaces and
 * ServiceAccounts, which become the `kns.`/`ksa.` profiles), plus HostEndpoints. Network sets are
 * built here too: they are not endpoints, but they carry labels for IPs the way endpoints do.
 *
 * Sources (projectcalico/calico):
 * - Pod → WorkloadEndpoint: libcalico-go/lib/backend/k8s/conversion/workload_endpoint_default.go
 *   (labels, profiles, named ports, interface name) and conversion.go (getPodIPs, IsFinished,
 *   IsValidCalicoWorkloadEndpoint: host-networked and unscheduled pods are not endpoints).
 * - Namespace → profile `kns.<ns>` (labels `pcns.<k>` + `pcns.projectcalico.org/name`) and
 *   ServiceAccount → `ksa.<ns>.<sa>` (`pcsa.<k>` + `pcsa.projectcalico.org/name`): conversion.go
 *   NamespaceToProfile, ServiceAccountToProfile.
 * - Label inheritance: felix/labelindex/named_port_index.go endpointData.GetHandle — the endpoint's
 *   own labels first, then each parent profile's in profile order (own labels win).
 * - NetworkSet labels get `projectcalico.org/namespace` and inherit `kns.<ns>`:
 *   libcalico-go/lib/backend/syncersv1/updateprocessors/networksetprocessor.go.
 */
import type { Evidence, ParseIssue } from '../model/evidence.js';
import type {
  ClusterResources,
  EndpointPortSpec,
  HostEndpoint,
  Pod,
  ResourceSource,
  WorkloadEndpoint,
} from '../model/resources.js';
import { vethNameForWorkload, workloadEndpointNameResult } from './naming.js';
import type { LabelGetter } from './selector/index.js';
import { LABEL_NAMESPACE, LABEL_ORCHESTRATOR, LABEL_SERVICE_ACCOUNT } from './selector/index.js';
import { type Cidr, type Family, parseCidr, parseIp } from './policy/net.js';

export const NAMESPACE_PROFILE_PREFIX = 'kns.';
export const SERVICE_ACCOUNT_PROFILE_PREFIX = 'ksa.';
/** Label Calico adds to profile-inherited labels with the namespace / service account name. */
export const PROFILE_NAME_LABEL = 'projectcalico.org/name';
/** Profile that allows everything, used by automatic (`interfaceName: "*"`) host endpoints. */
export const DEFAULT_ALLOW_PROFILE = 'projectcalico-default-allow';

export interface NamedPort {
  name: string;
  /** IP protocol number (6 TCP, 17 UDP, 132 SCTP); undefined = unknown protocol. */
  protocol?: number;
  protocolName: string;
  port: number;
}

export interface Endpoint {
  kind: 'workload' | 'host';
  /** `ns/pod` for workloads (`ns/pod/endpoint` when a pod has several), `host:<node>/<name>` for HEPs. */
  id: string;
  namespace?: string;
  /** Pod name (workloads) or HostEndpoint name. */
  name: string;
  pod?: string;
  node: string;
  interfaceName: string;
  /** Addresses without prefix length. */
  ips: string[];
  mac?: string;
  /** Own labels, including the ones Calico adds (`projectcalico.org/namespace`, …). */
  labels: Record<string, string>;
  profiles: string[];
  /** Labels inherited from the profiles, first profile first (first wins, as in Felix). */
  profileLabels: Record<string, string>;
  /** Where each inherited label came from (profile name). */
  profileLabelSource: Record<string, string>;
  /** Named ports (Calico only tracks named ports; unnamed container ports are not listed). */
  ports: NamedPort[];
  serviceAccount?: string;
  hostNetwork: boolean;
  /** The WorkloadEndpoint name (`<node>-k8s-<pod>-eth0`). */
  wepName?: string;
  /** Which object this endpoint was built from. */
  from: 'WorkloadEndpoint' | 'Pod' | 'HostEndpoint';
  source: Evidence;
  /** Things a reader should know (no IP, assumed labels, …). */
  notes: string[];
  /** Own labels over inherited ones, exactly as Calico's label inheritance. */
  getLabel: LabelGetter;
  /** Position in the model's endpoint list (set by buildEndpoints). */
  index: number;
}

/** A NetworkSet or GlobalNetworkSet: IPs with labels that rule selectors can match. */
export interface LabelledNetworkSet {
  kind: 'NetworkSet' | 'GlobalNetworkSet';
  id: string;
  namespace?: string;
  name: string;
  nets: Cidr[];
  labels: Record<string, string>;
  profileLabels: Record<string, string>;
  getLabel: LabelGetter;
  source: Evidence;
}

/** A host-networked pod: not a Calico endpoint; its traffic is the node's. */
export interface HostNetworkPod {
  id: string;
  namespace: string;
  name: string;
  node?: string;
  hostIP?: string;
  source: Evidence;
}

export interface EndpointBuildResult {
  endpoints: Endpoint[];
  networkSets: LabelledNetworkSet[];
  hostNetworkPods: HostNetworkPod[];
  issues: ParseIssue[];
}

export interface EndpointBuildOptions {
  /** FELIX_INTERFACEPREFIX; default: FelixConfiguration `interfacePrefix`, else `cali`. */
  interfacePrefix?: string;
}

const hasOwn = Object.prototype.hasOwnProperty;

function evidenceOf(src: ResourceSource, note: string): Evidence {
  return { artifact: src.artifact, line: src.line, note };
}

function makeGetter(own: Record<string, string>, inherited: Record<string, string>): LabelGetter {
  return (k) => (hasOwn.call(own, k) ? own[k] : hasOwn.call(inherited, k) ? inherited[k] : undefined);
}

const PROTO_BY_NAME: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58, udplite: 136 };

function namedPortsFromWep(ports: EndpointPortSpec[]): NamedPort[] {
  return ports
    .filter((p) => p.name !== '')
    .map((p) => {
      const name = p.protocol?.name ?? (typeof p.protocol?.raw === 'string' ? p.protocol.raw : 'TCP');
      const number = p.protocol?.number ?? PROTO_BY_NAME[String(p.protocol?.raw ?? 'tcp').toLowerCase()];
      return { name: p.name, protocol: number, protocolName: name.toUpperCase(), port: p.port };
    });
}

/** appendEndpointPorts: only ports with a name (or a hostPort) and a known protocol are kept. */
function namedPortsFromPod(pod: Pod): NamedPort[] {
  const out: NamedPort[] = [];
  for (const p of pod.spec.ports) {
    if (!p.name) continue;
    out.push({ name: p.name, protocol: PROTO_BY_NAME[p.protocol.toLowerCase()], protocolName: p.protocol, port: p.containerPort });
  }
  return out;
}

/** Labels a profile contributes, from the objects Calico derives it from. */
class ProfileLabels {
  private readonly cache = new Map<string, { labels: Record<string, string>; assumed?: string }>();
  private readonly nsLabels = new Map<string, Record<string, string>>();
  private readonly saLabels = new Map<string, Record<string, string>>();
  private readonly profileObjects = new Map<string, Record<string, string>>();

  constructor(cluster: ClusterResources) {
    for (const ns of cluster.namespaces) this.nsLabels.set(ns.metadata.name, ns.metadata.labels);
    for (const sa of cluster.serviceAccounts) this.saLabels.set(`${sa.metadata.namespace ?? 'default'}/${sa.metadata.name}`, sa.metadata.labels);
    for (const p of cluster.profiles) this.profileObjects.set(p.metadata.name, p.spec.labelsToApply);
  }

  /** Labels to apply for one profile; `assumed` says why they had to be guessed. */
  get(profile: string): { labels: Record<string, string>; assumed?: string } {
    let r = this.cache.get(profile);
    if (r) return r;
    r = this.compute(profile);
    this.cache.set(profile, r);
    return r;
  }

  private compute(profile: string): { labels: Record<string, string>; assumed?: string } {
    if (profile.startsWith(NAMESPACE_PROFILE_PREFIX)) {
      const ns = profile.slice(NAMESPACE_PROFILE_PREFIX.length);
      const nsl = this.nsLabels.get(ns);
      if (nsl) return { labels: prefixed('pcns.', nsl, ns) };
      const obj = this.profileObjects.get(profile);
      if (obj) return { labels: { ...obj } };
      // Kubernetes (1.21+) always labels namespaces with their name; nothing else can be known.
      return {
        labels: prefixed('pcns.', { 'kubernetes.io/metadata.name': ns }, ns),
        assumed: `namespace ${ns} is not in the bundle; assumed only its automatic label kubernetes.io/metadata.name=${ns}`,
      };
    }
    if (profile.startsWith(SERVICE_ACCOUNT_PROFILE_PREFIX)) {
      const rest = profile.slice(SERVICE_ACCOUNT_PROFILE_PREFIX.length);
      const dot = rest.indexOf('.');
      const ns = dot >= 0 ? rest.slice(0, dot) : rest;
      const sa = dot >= 0 ? rest.slice(dot + 1) : '';
      const sal = this.saLabels.get(`${ns}/${sa}`);
      if (sal) return { labels: prefixed('pcsa.', sal, sa) };
      const obj = this.profileObjects.get(profile);
      if (obj) return { labels: { ...obj } };
      return {
        labels: prefixed('pcsa.', {}, sa),
        assumed: `service account ${ns}/${sa} is not in the bundle; assumed it has no labels`,
      };
    }
    const obj = this.profileObjects.get(profile);
    if (obj) return { labels: { ...obj } };
    return { labels: {}, assumed: profile === DEFAULT_ALLOW_PROFILE ? undefined : `profile ${profile} is not in the bundle; assumed it applies no labels` };
  }
}

function prefixed(prefix: string, labels: Record<string, string>, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) out[prefix + k] = v;
  out[prefix + PROFILE_NAME_LABEL] = name;
  return out;
}

function inherit(profiles: string[], pl: ProfileLabels, notes: string[]): { labels: Record<string, string>; sources: Record<string, string> } {
  const labels: Record<string, string> = {};
  const sources: Record<string, string> = {};
  for (const p of profiles) {
    const r = pl.get(p);
    if (r.assumed && !notes.includes(r.assumed)) notes.push(r.assumed);
    for (const [k, v] of Object.entries(r.labels)) {
      if (hasOwn.call(labels, k)) continue; // first parent wins
      labels[k] = v;
      sources[k] = p;
    }
  }
  return { labels, sources };
}

function stripPrefixLen(s: string): string {
  const ip = parseIp(s);
  return ip ? ip.text : s.replace(/\/(32|128)$/, '');
}

/** getPodIPs: status.podIPs, status.podIP, then the Calico CNI annotations. */
function podIPs(pod: Pod): string[] {
  if (pod.status.podIPs.length > 0) return pod.status.podIPs;
  if (pod.status.podIP) return [pod.status.podIP];
  if (pod.status.calicoPodIPs.length > 0) return pod.status.calicoPodIPs.map(stripPrefixLen);
  if (pod.status.calicoPodIP) return [stripPrefixLen(pod.status.calicoPodIP)];
  return [];
}

/** IsFinished: Failed/Succeeded/Completed pods no longer own their IPs. */
function isFinished(pod: Pod): boolean {
  if (pod.metadata.deletionTimestamp && pod.metadata.annotations['cni.projectcalico.org/podIP'] === '') return true;
  return pod.status.phase === 'Failed' || pod.status.phase === 'Succeeded' || pod.status.phase === 'Completed';
}

function interfacePrefixOf(cluster: ClusterResources, opts: EndpointBuildOptions): string {
  if (opts.interfacePrefix) return opts.interfacePrefix;
  const global = cluster.felixConfigurations.find((f) => f.spec.scope === 'global');
  return global?.spec.interfacePrefix || 'cali';
}

export function buildEndpoints(cluster: ClusterResources, opts: EndpointBuildOptions = {}): EndpointBuildResult {
  const issues: ParseIssue[] = [];
  const issue = (src: ResourceSource, reason: string, severity: 'error' | 'warning' = 'warning') =>
    issues.push({ artifact: src.artifact, line: src.line, reason, severity });
  const pl = new ProfileLabels(cluster);
  const prefix = interfacePrefixOf(cluster, opts);
  const endpoints: Endpoint[] = [];
  const hostNetworkPods: HostNetworkPod[] = [];
  const usedIds = new Set<string>();
  const uniqueId = (base: string, suffix: string) => {
    let id = usedIds.has(base) ? `${base}/${suffix}` : base;
    for (let i = 2; usedIds.has(id); i++) id = `${base}/${suffix}#${i}`;
    usedIds.add(id);
    return id;
  };

  const podsByKey = new Map<string, Pod>();
  for (const p of cluster.pods) podsByKey.set(`${p.metadata.namespace ?? 'default'}/${p.metadata.name}`, p);

  const covered = new Set<string>();
  for (const wep of cluster.workloadEndpoints) {
    const ep = fromWep(wep, podsByKey, pl, prefix, issue);
    ep.id = uniqueId(ep.id, wep.spec.endpoint ?? wep.metadata.name);
    endpoints.push(ep);
    if (ep.pod) covered.add(`${ep.namespace}/${ep.pod}`);
  }

  for (const pod of cluster.pods) {
    const ns = pod.metadata.namespace ?? 'default';
    const key = `${ns}/${pod.metadata.name}`;
    if (covered.has(key)) continue;
    if (pod.spec.hostNetwork) {
      const h: HostNetworkPod = { id: key, namespace: ns, name: pod.metadata.name, source: evidenceOf(pod.source, `Pod ${key}`) };
      if (pod.spec.nodeName) h.node = pod.spec.nodeName;
      if (pod.status.hostIP) h.hostIP = pod.status.hostIP;
      hostNetworkPods.push(h);
      continue;
    }
    if (isFinished(pod)) continue; // Calico drops finished pods: their IPs are back in the pool.
    const ep = fromPod(pod, pl, prefix, issue, cluster.workloadEndpoints.length > 0);
    ep.id = uniqueId(ep.id, 'eth0');
    endpoints.push(ep);
  }

  for (const hep of cluster.hostEndpoints) {
    const ep = fromHep(hep, pl, issue);
    ep.id = uniqueId(ep.id, String(endpoints.length));
    endpoints.push(ep);
  }

  endpoints.forEach((e, i) => {
    e.index = i;
  });

  // The same IP on two endpoints makes every IP-based answer ambiguous; say so once per IP.
  const byIp = new Map<string, Endpoint[]>();
  for (const e of endpoints) for (const ip of e.ips) byIp.set(ip, [...(byIp.get(ip) ?? []), e]);
  for (const [ip, eps] of byIp) {
    if (eps.length < 2) continue;
    const src = eps[1].source;
    issues.push({
      artifact: src.artifact,
      line: src.line ?? 0,
      reason: `IP ${ip} belongs to several endpoints (${eps.map((e) => e.id).join(', ')}); IP-based lookups use the first`,
      severity: 'warning',
    });
  }

  return { endpoints, networkSets: networkSetsOf(cluster, pl, issue), hostNetworkPods, issues };
}

function fromWep(
  wep: WorkloadEndpoint,
  pods: Map<string, Pod>,
  pl: ProfileLabels,
  prefix: string,
  issue: (src: ResourceSource, reason: string, severity?: 'error' | 'warning') => void,
): Endpoint {
  const ns = wep.metadata.namespace ?? 'default';
  const s = wep.spec;
  const podName = s.pod ?? s.workload ?? wep.metadata.name;
  const notes: string[] = [];
  const labels = { ...wep.metadata.labels };
  // Felix sees these on every Kubernetes WEP; a hand-written dump may lack them.
  if (labels[LABEL_NAMESPACE] === undefined) {
    labels[LABEL_NAMESPACE] = ns;
    notes.push(`label ${LABEL_NAMESPACE} missing on the WorkloadEndpoint; added (${ns})`);
  }
  if (labels[LABEL_ORCHESTRATOR] === undefined && (s.orchestrator ?? 'k8s') === 'k8s') labels[LABEL_ORCHESTRATOR] = 'k8s';
  const sa = s.serviceAccountName;
  const profiles = s.profiles.length > 0 ? s.profiles : defaultProfiles(ns, sa);
  const inh = inherit(profiles, pl, notes);
  const ips = s.ipNetworks.map(stripPrefixLen);
  if (ips.length === 0) {
    notes.push('no IP address: Felix does not program an endpoint without IPs');
    issue(wep.source, `WorkloadEndpoint ${ns}/${wep.metadata.name}: no ipNetworks`);
  }
  const pod = pods.get(`${ns}/${podName}`);
  let ports = namedPortsFromWep(s.ports);
  if (ports.length === 0 && pod && s.ports.length === 0) ports = namedPortsFromPod(pod);
  const ep: Endpoint = {
    kind: 'workload',
    id: `${ns}/${podName}`,
    namespace: ns,
    name: podName,
    pod: podName,
    node: s.node ?? pod?.spec.nodeName ?? '',
    interfaceName: s.interfaceName ?? vethNameForWorkload(ns, podName, prefix),
    ips,
    labels,
    profiles,
    profileLabels: inh.labels,
    profileLabelSource: inh.sources,
    ports,
    hostNetwork: false,
    wepName: wep.metadata.name,
    from: 'WorkloadEndpoint',
    source: evidenceOf(wep.source, `WorkloadEndpoint ${ns}/${wep.metadata.name}`),
    notes,
    getLabel: makeGetter(labels, inh.labels),
    index: -1,
  };
  if (s.mac) ep.mac = s.mac;
  if (sa) ep.serviceAccount = sa;
  if (!s.interfaceName) notes.push(`interface name computed: ${ep.interfaceName}`);
  return ep;
}

function defaultProfiles(ns: string, sa: string | undefined): string[] {
  return sa ? [`${NAMESPACE_PROFILE_PREFIX}${ns}`, `${SERVICE_ACCOUNT_PROFILE_PREFIX}${ns}.${sa}`] : [`${NAMESPACE_PROFILE_PREFIX}${ns}`];
}

function fromPod(
  pod: Pod,
  pl: ProfileLabels,
  prefix: string,
  issue: (src: ResourceSource, reason: string, severity?: 'error' | 'warning') => void,
  wepsPresent: boolean,
): Endpoint {
  const ns = pod.metadata.namespace ?? 'default';
  const name = pod.metadata.name;
  const notes: string[] = [];
  const sa = pod.spec.serviceAccountName;
  const labels: Record<string, string> = { ...pod.metadata.labels };
  labels[LABEL_NAMESPACE] = ns;
  labels[LABEL_ORCHESTRATOR] = 'k8s';
  // "For backwards compatibility, include the label if less than 63 characters."
  if (sa && sa.length < 63) labels[LABEL_SERVICE_ACCOUNT] = sa;
  const profiles = defaultProfiles(ns, sa);
  const inh = inherit(profiles, pl, notes);
  const ips = podIPs(pod);
  const node = pod.spec.nodeName ?? '';
  if (!node) {
    notes.push('pod is not scheduled: Calico creates no WorkloadEndpoint for it');
  } else if (ips.length === 0) {
    notes.push('pod has no IP address yet: Felix does not program it; evaluated from its labels only');
    issue(pod.source, `Pod ${ns}/${name}: no IP address (status.podIP / Calico annotations empty)`);
  }
  if (wepsPresent && node && ips.length > 0) notes.push('no WorkloadEndpoint in the bundle for this pod; built from the Pod');
  let wepName: string | undefined;
  if (node) {
    const r = workloadEndpointNameResult({ node, orchestrator: 'k8s', pod: name, endpoint: 'eth0' });
    if (r.ok) wepName = r.name;
  }
  const ep: Endpoint = {
    kind: 'workload',
    id: `${ns}/${name}`,
    namespace: ns,
    name,
    pod: name,
    node,
    interfaceName: vethNameForWorkload(ns, name, prefix),
    ips,
    labels,
    profiles,
    profileLabels: inh.labels,
    profileLabelSource: inh.sources,
    ports: namedPortsFromPod(pod),
    serviceAccount: sa,
    hostNetwork: false,
    from: 'Pod',
    source: evidenceOf(pod.source, `Pod ${ns}/${name}`),
    notes,
    getLabel: makeGetter(labels, inh.labels),
    index: -1,
  };
  if (wepName) ep.wepName = wepName;
  return ep;
}

function fromHep(hep: HostEndpoint, pl: ProfileLabels, issue: (src: ResourceSource, reason: string, severity?: 'error' | 'warning') => void): Endpoint {
  const node = hep.spec.node ?? '';
  const notes: string[] = [];
  const labels = { ...hep.metadata.labels };
  const inh = inherit(hep.spec.profiles, pl, notes);
  const ips = hep.spec.expectedIPs.map(stripPrefixLen);
  if (!node) issue(hep.source, `HostEndpoint ${hep.metadata.name}: no spec.node`);
  if (hep.spec.interfaceName === '*') notes.push('all-interfaces host endpoint (interfaceName "*")');
  const ep: Endpoint = {
    kind: 'host',
    id: `host:${node}/${hep.metadata.name}`,
    name: hep.metadata.name,
    node,
    interfaceName: hep.spec.interfaceName ?? '',
    ips,
    labels,
    profiles: hep.spec.profiles,
    profileLabels: inh.labels,
    profileLabelSource: inh.sources,
    ports: namedPortsFromWep(hep.spec.ports),
    hostNetwork: true,
    from: 'HostEndpoint',
    source: evidenceOf(hep.source, `HostEndpoint ${hep.metadata.name}`),
    notes,
    getLabel: makeGetter(labels, inh.labels),
    index: -1,
  };
  return ep;
}

/** NetworkSets and GlobalNetworkSets with their labels (buildEndpoints returns them too). */
export function buildNetworkSets(cluster: ClusterResources): LabelledNetworkSet[] {
  return networkSetsOf(cluster, new ProfileLabels(cluster), () => {});
}

function networkSetsOf(cluster: ClusterResources, pl: ProfileLabels, issue: (src: ResourceSource, reason: string) => void): LabelledNetworkSet[] {
  const out: LabelledNetworkSet[] = [];
  const nets = (src: ResourceSource, id: string, list: string[]) =>
    list.flatMap((n) => {
      const c = parseCidr(n);
      if (!c) issue(src, `${id}: ${JSON.stringify(n)} is not a CIDR; Calico skips it`);
      return c ? [c] : [];
    });
  for (const s of cluster.networkSets) {
    const ns = s.metadata.namespace ?? 'default';
    const id = `${ns}/${s.metadata.name}`;
    const labels = { ...s.metadata.labels, [LABEL_NAMESPACE]: ns };
    const inh = inherit([`${NAMESPACE_PROFILE_PREFIX}${ns}`], pl, []);
    out.push({
      kind: 'NetworkSet',
      id,
      namespace: ns,
      name: s.metadata.name,
      nets: nets(s.source, `NetworkSet ${id}`, s.spec.nets),
      labels,
      profileLabels: inh.labels,
      getLabel: makeGetter(labels, inh.labels),
      source: evidenceOf(s.source, `NetworkSet ${id}`),
    });
  }
  for (const s of cluster.globalNetworkSets) {
    const labels = { ...s.metadata.labels };
    out.push({
      kind: 'GlobalNetworkSet',
      id: s.metadata.name,
      name: s.metadata.name,
      nets: nets(s.source, `GlobalNetworkSet ${s.metadata.name}`, s.spec.nets),
      labels,
      profileLabels: {},
      getLabel: makeGetter(labels, {}),
      source: evidenceOf(s.source, `GlobalNetworkSet ${s.metadata.name}`),
    });
  }
  return out;
}

/** Own labels plus inherited ones not shadowed by them (what selectors see). */
export function effectiveLabels(e: { labels: Record<string, string>; profileLabels: Record<string, string> }): Record<string, string> {
  return { ...e.profileLabels, ...e.labels };
}

/** The endpoint's address of one family (first), if any. */
export function endpointIp(e: Endpoint, family?: Family): string | undefined {
  for (const ip of e.ips) {
    const p = parseIp(ip);
    if (p && (family === undefined || p.family === family)) return p.text;
  }
  return undefined;
}
