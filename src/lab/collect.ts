/**
 * `lab collect -o <bundle>`: a bundle of the lab exactly as from a real cluster. Each node's
 * files come from the real node collector (src/collect/node.ts) run inside the node's network
 * namespace (`netnsExec`); cluster/ holds the spec's resources as Kubernetes and Calico objects —
 * Pods with their IPs and nodes, Namespaces, ServiceAccounts, Services and EndpointSlices, the
 * spec's policies verbatim, and Calico's own state (IPPool, IPAMBlocks with one allocation per
 * pod and tunnel address, BlockAffinities, IPAMHandles, Calico Nodes, WorkloadEndpoints,
 * FelixConfiguration, BGPConfiguration, ClusterInformation), including what faults changed
 * (duplicate pods, leaked allocations).
 */
import { createHash } from 'node:crypto';
import { workloadEndpointName } from '../calico/naming.js';
import { BundleWriter } from '../collect/bundle-writer.js';
import { netnsExec } from '../collect/exec.js';
import { collectNode, type NodeCollectResult } from '../collect/node.js';
import { BundleSink } from '../collect/sink.js';
import type { Manifest } from '../model/manifest.js';
import { cidrContains, cidrSize, parseCidr, parseIp } from './ipv4.js';
import { LabError } from './sh.js';
import { allPods, type LabState } from './state.js';
import type { LabPodTopo, LabTopology } from './topology.js';

/** The Calico version the lab's objects claim (ClusterInformation); the renderer mimics one version. */
export const LAB_CALICO_VERSION = 'v3.30.0';

export interface LabCollectOptions {
  /** Remove secrets (there are none in the lab; on by default like every collector). */
  redact?: boolean;
  /** Node collector timeout per command (default 30 s). */
  timeoutMs?: number;
}

export interface LabCollectResult {
  out: string;
  nodes: NodeCollectResult[];
  clusterFiles: string[];
  manifest: Manifest;
  durationMs: number;
}

type Obj = Record<string, unknown>;
const list = (items: unknown[]) => ({ apiVersion: 'v1', kind: 'List' as const, metadata: { resourceVersion: '' }, items });

/** Writes a bundle of the running lab into `out` (a new directory). */
export async function labCollect(state: LabState, out: string, opts: LabCollectOptions = {}): Promise<LabCollectResult> {
  const t0 = Date.now();
  const t = state.topology;
  const writer = await BundleWriter.create(out, {
    kind: 'lab',
    prefix: state.prefix,
    mode: t.mode,
    spec: state.spec.name,
    faults: Object.values(state.faults).map((f) => ({ id: f.id, params: f.params })),
    dataplane: state.dataplane?.source ?? 'none',
  });
  const sink = new BundleSink(writer, { redact: opts.redact ?? true, format: 'yaml' });

  const skip = ['felix-metrics', 'felix-readiness', 'felix-liveness', 'bird6-protocols', 'bird6-routes'];
  if (t.mode !== 'bgp') skip.push('bird-protocols', 'bird-routes');
  sink.note(`lab ${state.prefix}: ${t.mode} mode, ${t.nodes.length} nodes, dataplane ${state.dataplane?.source ?? 'none'}; no Felix process runs in the lab, so Felix metrics/health are not collected${t.mode === 'bgp' ? '' : '; VXLAN mode runs no BIRD'}`);
  if (Object.keys(state.faults).length) sink.note(`lab faults active: ${Object.keys(state.faults).join(', ')}`);

  // The node collector, byte for byte the one real nodes run, inside each node's namespace.
  const nodes = await Promise.all(
    t.nodes.map((n) =>
      collectNode({
        sink,
        nodeName: n.name,
        exec: netnsExec(n.ns),
        ...(n.bird ? { birdSocket: n.bird.socket } : {}),
        skip,
        ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      }),
    ),
  );

  const clusterFiles: string[] = [];
  for (const [file, items] of Object.entries(clusterResources(state))) {
    if (items.length === 0) continue;
    clusterFiles.push(await sink.list(`cluster/${file}`, list(items), { command: `caliscope lab collect (from the lab spec${file === 'lab-resources.yaml' ? ', verbatim' : ''})` }));
  }
  const manifest = await writer.finish();
  return { out, nodes, clusterFiles, manifest, durationMs: Date.now() - t0 };
}

const hex = (s: string, n: number) => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, n);

/** The lab's cluster/ objects, by file name (file names as the cluster collector writes them). */
export function clusterResources(state: LabState): Record<string, Obj[]> {
  const spec = state.spec;
  const t = state.topology;
  const created = state.createdAt;
  const pods = allPods(state);
  const given = new Set(spec.resources.map((r) => `${String(r.kind)}/${String((r.metadata as Obj | undefined)?.name ?? '')}`));
  const unlessGiven = (kind: string, objs: Obj[]) => objs.filter((o) => !given.has(`${kind}/${String((o.metadata as Obj).name)}`));
  const nodeIp = new Map(t.nodes.map((n) => [n.name, n.ip]));

  const namespaces = spec.namespaces.map((ns) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: ns.name, uid: uuid(`ns:${ns.name}`), creationTimestamp: created, labels: { ...ns.labels, 'kubernetes.io/metadata.name': ns.name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  }));

  const sas = new Map<string, { ns: string; name: string }>();
  for (const ns of spec.namespaces) sas.set(`${ns.name}/default`, { ns: ns.name, name: 'default' });
  for (const p of pods) sas.set(`${p.namespace}/${p.serviceAccount}`, { ns: p.namespace, name: p.serviceAccount });
  const serviceAccounts = [...sas.values()].map((sa) => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: sa.name, namespace: sa.ns, uid: uuid(`sa:${sa.ns}/${sa.name}`), creationTimestamp: created },
  }));

  const k8sNodes = t.nodes.map((n) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      uid: uuid(`node:${n.name}`),
      creationTimestamp: created,
      labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
      annotations: {
        'projectcalico.org/IPv4Address': `${n.ip}/${t.underlayPrefixLen}`,
        ...(n.vtep ? { 'projectcalico.org/IPv4VXLANTunnelAddr': n.vtep.ip, 'projectcalico.org/VXLANTunnelMACAddr': n.vtep.mac } : {}),
        ...(n.asNumber !== spec.asNumber ? { 'projectcalico.org/ASNumber': String(n.asNumber) } : {}),
      },
    },
    spec: {},
    status: {
      addresses: [
        { type: 'InternalIP', address: n.ip },
        { type: 'Hostname', address: n.name },
      ],
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
      nodeInfo: { kubeletVersion: 'v1.30.0', operatingSystem: 'linux', architecture: 'amd64' },
    },
  }));

  const k8sPods = pods.map((p) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.uid,
      creationTimestamp: created,
      labels: { ...p.labels },
      annotations: {
        'cni.projectcalico.org/containerID': p.containerId,
        'cni.projectcalico.org/podIP': `${p.ip}/32`,
        'cni.projectcalico.org/podIPs': `${p.ip}/32`,
      },
    },
    spec: {
      nodeName: p.node,
      serviceAccountName: p.serviceAccount,
      containers: [
        {
          name: 'app',
          image: 'registry.k8s.io/pause:3.9',
          ports: p.ports.map((cp) => ({ ...(cp.name ? { name: cp.name } : {}), containerPort: cp.containerPort, protocol: cp.protocol })),
        },
      ],
    },
    status: {
      phase: 'Running',
      hostIP: nodeIp.get(p.node),
      podIP: p.ip,
      podIPs: [{ ip: p.ip }],
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [{ name: 'app', ready: true, containerID: `containerd://${p.containerId}`, restartCount: 0 }],
    },
  }));

  const services = t.services.map((s) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: s.namespace, uid: uuid(`svc:${s.key}`), creationTimestamp: created },
    spec: {
      type: s.type,
      clusterIP: s.clusterIP,
      clusterIPs: [s.clusterIP],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      selector: { ...s.selector },
      sessionAffinity: 'None',
      ...(s.type === 'NodePort' ? { externalTrafficPolicy: 'Cluster' } : {}),
      internalTrafficPolicy: 'Cluster',
      ports: s.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol, targetPort: p.targetPort, ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}) })),
    },
    status: { loadBalancer: {} },
  }));

  // EndpointSlices: endpoints grouped by their resolved port numbers (as the controller does).
  const endpointSlices: Obj[] = [];
  for (const s of t.services) {
    const groups = new Map<string, { ports: Obj[]; pods: Set<string> }>();
    const byPod = new Map<string, Map<string, number>>();
    for (const sp of s.ports) for (const e of sp.endpoints) {
      const m = byPod.get(e.pod) ?? new Map<string, number>();
      m.set(`${sp.name ?? ''}/${sp.protocol}`, e.port);
      byPod.set(e.pod, m);
    }
    for (const [pod, m] of byPod) {
      const ports = s.ports.filter((sp) => m.has(`${sp.name ?? ''}/${sp.protocol}`)).map((sp) => ({ name: sp.name ?? '', port: m.get(`${sp.name ?? ''}/${sp.protocol}`)!, protocol: sp.protocol }));
      const sig = JSON.stringify(ports);
      const g = groups.get(sig) ?? { ports, pods: new Set<string>() };
      g.pods.add(pod);
      groups.set(sig, g);
    }
    for (const [sig, g] of groups) {
      endpointSlices.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `${s.name}-${hex(`${s.key}${sig}`, 5)}`,
          namespace: s.namespace,
          labels: { 'kubernetes.io/service-name': s.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
          ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: s.name, uid: uuid(`svc:${s.key}`), controller: true }],
        },
        addressType: 'IPv4',
        endpoints: [...g.pods].map((key) => {
          const p = pods.find((x) => x.key === key)!;
          return { addresses: [p.ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: p.node, targetRef: { kind: 'Pod', name: p.name, namespace: p.namespace, uid: p.uid } };
        }),
        ports: g.ports,
      });
    }
  }

  // Calico state, as stored in a KDD cluster (crd.projectcalico.org/v1).
  const crd = 'crd.projectcalico.org/v1';
  const ippools = [
    {
      apiVersion: crd,
      kind: 'IPPool',
      metadata: { name: spec.ipPool.name, uid: uuid(`pool:${spec.ipPool.name}`), creationTimestamp: created },
      spec: {
        cidr: spec.ipPool.cidr,
        blockSize: spec.ipPool.blockSize,
        ipipMode: spec.ipPool.ipipMode,
        vxlanMode: spec.ipPool.vxlanMode,
        natOutgoing: spec.ipPool.natOutgoing,
        nodeSelector: 'all()',
        allowedUses: ['Workload', 'Tunnel'],
      },
    },
  ];
  const ipam = ipamObjects(state, t, pods.filter((p) => !p.addedBy), crd, created);

  const calicoNodes = t.nodes.map((n) => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name: n.name, uid: uuid(`node:${n.name}`), creationTimestamp: created, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' } },
    spec: {
      addresses: [{ address: `${n.ip}/${t.underlayPrefixLen}`, type: 'CalicoNodeIP' }, { address: n.ip, type: 'InternalIP' }],
      bgp: { ipv4Address: `${n.ip}/${t.underlayPrefixLen}`, ...(n.asNumber !== spec.asNumber ? { asNumber: n.asNumber } : {}) },
      ...(n.vtep ? { ipv4VXLANTunnelAddr: n.vtep.ip, vxlanTunnelMACAddr: n.vtep.mac } : {}),
      orchRefs: [{ nodeName: n.name, orchestrator: 'k8s' }],
    },
    status: {},
  }));

  const weps = pods.map((p) => workloadEndpoint(p, created));

  const felix = [
    {
      apiVersion: crd,
      kind: 'FelixConfiguration',
      metadata: { name: 'default', creationTimestamp: created },
      spec: {
        bpfEnabled: false,
        logSeverityScreen: 'Info',
        reportingInterval: '0s',
        vxlanEnabled: t.mode === 'vxlan',
        ipipEnabled: false,
        healthPort: 9099,
      },
    },
  ];
  const bgpConfig = [
    {
      apiVersion: crd,
      kind: 'BGPConfiguration',
      metadata: { name: 'default', creationTimestamp: created },
      spec: { logSeverityScreen: 'Info', nodeToNodeMeshEnabled: true, asNumber: spec.asNumber },
    },
  ];
  const clusterInfo = [
    {
      apiVersion: crd,
      kind: 'ClusterInformation',
      metadata: { name: 'default', creationTimestamp: created },
      spec: {
        calicoVersion: LAB_CALICO_VERSION,
        clusterGUID: hex(`guid:${state.prefix}:${spec.name}`, 32),
        clusterType: t.mode === 'bgp' ? 'k8s,bgp,kdd' : 'k8s,kdd,vxlan',
        datastoreReady: true,
      },
    },
  ];

  return applyResourceFaults(state, {
    'namespaces.yaml': namespaces,
    'serviceaccounts.yaml': serviceAccounts,
    'nodes.yaml': k8sNodes,
    'pods.yaml': k8sPods,
    'services.yaml': services,
    'endpointslices.discovery.k8s.io.yaml': endpointSlices,
    'lab-resources.yaml': spec.resources.map((r) => JSON.parse(JSON.stringify(r)) as Obj),
    'ippools.crd.projectcalico.org.yaml': unlessGiven('IPPool', ippools),
    'ipamblocks.crd.projectcalico.org.yaml': ipam.blocks,
    'blockaffinities.crd.projectcalico.org.yaml': ipam.affinities,
    'ipamhandles.crd.projectcalico.org.yaml': ipam.handles,
    'felixconfigurations.crd.projectcalico.org.yaml': unlessGiven('FelixConfiguration', felix),
    'bgpconfigurations.crd.projectcalico.org.yaml': unlessGiven('BGPConfiguration', bgpConfig),
    'clusterinformations.crd.projectcalico.org.yaml': unlessGiven('ClusterInformation', clusterInfo),
    'nodes.projectcalico.org.yaml': calicoNodes,
    'workloadendpoints.projectcalico.org.yaml': weps,
  });
}

/**
 * The renderer faults that are resource edits (`nat-outgoing-off`, `policy-wrong-selector`,
 * `default-deny-no-dns`): applied to the emitted resources, so the bundle shows the cause and the
 * renderer programs its effect from the same objects, exactly as Felix would from the datastore.
 */
function applyResourceFaults(state: LabState, files: Record<string, Obj[]>): Record<string, Obj[]> {
  const f = state.faults;
  const all = () => Object.values(files).flat();
  if (f['nat-outgoing-off']) {
    for (const o of all()) if (o.kind === 'IPPool') (o.spec as Obj).natOutgoing = false;
  }
  const wrong = f['policy-wrong-selector'];
  if (wrong) {
    const want = typeof wrong.params.policy === 'string' ? wrong.params.policy : 'NetworkPolicy/backend/allow-db-from-api';
    // kind/namespace/name, or kind/name for cluster-scoped policies.
    const parts = want.split('/');
    const [kind, ns, name] = parts.length === 3 ? parts : [parts[0], '', parts[1]];
    const target = all().find((o) => o.kind === kind && (o.metadata as Obj | undefined)?.name === name && String((o.metadata as Obj | undefined)?.namespace ?? '') === ns);
    if (!target) throw new LabError(`policy-wrong-selector: no policy ${want} in the lab's resources`);
    const spec = target.spec as Obj;
    // The operator's classic mistake: the right label, the wrong case (seed 002).
    const flip = (v: string) => (v[0] === v[0].toUpperCase() ? v.toLowerCase() : v[0].toUpperCase() + v.slice(1));
    if (typeof spec.selector === 'string') {
      spec.selector = spec.selector.replace(/(==\s*)(['"])([^'"]+)\2/, (_m, op: string, q: string, v: string) => `${op}${q}${flip(v)}${q}`);
    } else {
      const ml = ((spec.podSelector as Obj | undefined)?.matchLabels ?? {}) as Record<string, string>;
      const k = Object.keys(ml)[0];
      if (k === undefined) throw new LabError(`policy-wrong-selector: ${want} has no label to change`);
      ml[k] = flip(ml[k]);
    }
    wrong.undo = { ...wrong.undo, policy: want };
  }
  const noDns = f['default-deny-no-dns'];
  if (noDns) {
    const ns = typeof noDns.params.namespace === 'string' ? noDns.params.namespace : 'frontend';
    (files['lab-resources.yaml'] ??= []).push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny-egress', namespace: ns, uid: uuid(`np:${ns}/default-deny-egress`), creationTimestamp: state.createdAt },
      spec: { podSelector: {}, policyTypes: ['Egress'] },
    });
    noDns.undo = { ...noDns.undo, namespace: ns };
  }
  return files;
}

function workloadEndpoint(p: LabPodTopo, created: string): Obj {
  const labels: Record<string, string> = {
    ...p.labels,
    'projectcalico.org/namespace': p.namespace,
    'projectcalico.org/orchestrator': 'k8s',
  };
  if (p.serviceAccount.length < 63) labels['projectcalico.org/serviceaccount'] = p.serviceAccount;
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'WorkloadEndpoint',
    metadata: {
      name: workloadEndpointName({ node: p.node, orchestrator: 'k8s', pod: p.name, endpoint: 'eth0' }),
      namespace: p.namespace,
      uid: uuid(`wep:${p.key}:${p.node}`),
      creationTimestamp: created,
      labels,
    },
    spec: {
      orchestrator: 'k8s',
      node: p.node,
      pod: p.name,
      containerID: p.containerId,
      endpoint: 'eth0',
      interfaceName: p.hostIface,
      ipNetworks: [`${p.ip}/32`],
      profiles: [`kns.${p.namespace}`, `ksa.${p.namespace}.${p.serviceAccount}`],
      serviceAccountName: p.serviceAccount,
      ports: p.ports.filter((cp) => cp.name).map((cp) => ({ name: cp.name, port: cp.containerPort, protocol: cp.protocol })),
    },
  };
}

/** IPAMBlocks (one per node block), BlockAffinities and IPAMHandles for pods, tunnel addresses and leaks. */
function ipamObjects(state: LabState, t: LabTopology, pods: LabPodTopo[], crd: string, created: string): { blocks: Obj[]; affinities: Obj[]; handles: Obj[] } {
  const blocks: Obj[] = [];
  const affinities: Obj[] = [];
  const handles: Obj[] = [];
  for (const n of t.nodes) {
    const c = parseCidr(n.block)!;
    const size = cidrSize(c);
    const allocations: Array<number | null> = new Array(size).fill(null);
    const attributes: Obj[] = [];
    const seqFor: Record<string, number> = {};
    let seq = 0;
    const allocate = (ip: string, attr: Obj, handle: string) => {
      const n32 = parseIp(ip)!;
      if (!cidrContains(c, n32)) return;
      const ord = n32 - c.base;
      if (allocations[ord] !== null) return;
      allocations[ord] = attributes.length;
      attributes.push(attr);
      seqFor[String(ord)] = seq++;
      handles.push({
        apiVersion: crd,
        kind: 'IPAMHandle',
        metadata: { name: handle.toLowerCase(), creationTimestamp: created },
        spec: { handleID: handle, block: { [n.block]: 1 }, deleted: false },
      });
    };
    if (n.vtep) {
      const h = `vxlan-tunnel-addr-${n.name}`;
      allocate(n.vtep.ip, { handle_id: h, secondary: { node: n.name, type: 'vxlanTunnelAddress' } }, h);
    }
    for (const p of pods.filter((x) => x.node === n.name).sort((a, b) => parseIp(a.ip)! - parseIp(b.ip)!)) {
      const h = `k8s-pod-network.${p.containerId}`;
      allocate(p.ip, { handle_id: h, secondary: { namespace: p.namespace, node: n.name, pod: p.name, timestamp: `${created.replace('T', ' ').replace('Z', '')} +0000 UTC` } }, h);
    }
    for (const l of state.ipamLeaks.filter((x) => x.block === n.block)) {
      allocate(l.ip, { handle_id: l.handleId, secondary: { namespace: l.namespace, node: l.node, pod: l.pod, timestamp: `${created.replace('T', ' ').replace('Z', '')} +0000 UTC` } }, l.handleId);
    }
    const unallocated: number[] = [];
    for (let i = 0; i < size; i++) if (allocations[i] === null) unallocated.push(i);
    const name = n.block.replace(/[./]/g, '-');
    blocks.push({
      apiVersion: crd,
      kind: 'IPAMBlock',
      metadata: { name, creationTimestamp: created },
      spec: {
        cidr: n.block,
        affinity: `host:${n.name}`,
        allocations,
        unallocated,
        attributes,
        sequenceNumber: seq,
        sequenceNumberForAllocation: seqFor,
        deleted: false,
        strictAffinity: false,
      },
    });
    affinities.push({
      apiVersion: crd,
      kind: 'BlockAffinity',
      metadata: { name: `${n.name}-${name}`, creationTimestamp: created },
      spec: { state: 'confirmed', node: n.name, cidr: n.block, deleted: 'false' },
    });
  }
  return { blocks, affinities, handles };
}

function uuid(seed: string): string {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
