/**
 * Which Kubernetes and Calico resources a cluster collection lists, and how each is discovered.
 * Calico's resources are read through the `projectcalico.org/v3` API when the Calico API server
 * serves it, else from the `crd.projectcalico.org/v1` CRDs; IPAM internals (blocks, handles,
 * IPAM config) exist only as CRDs, so they are always read there.
 */
import { KubeApiError, type KubeApi } from './kube.js';

export interface ApiResource {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const CALICO_V3 = 'projectcalico.org';
export const CALICO_CRD = 'crd.projectcalico.org';

export const CORE_RESOURCES: ApiResource[] = [
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
  { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true },
];

/** Kubernetes AdminNetworkPolicy (Calico enforces it); listed only when served. */
export const ANP_GROUP = 'policy.networking.k8s.io';
export const ANP_PLURALS = new Set(['adminnetworkpolicies', 'baselineadminnetworkpolicies', 'clusternetworkpolicies']);

/** The Calico CRDs, used when discovery is not allowed (then each is tried and 404s are notes). */
export const CALICO_CRDS: ApiResource[] = (
  [
    ['ippools', 'IPPool', false],
    ['ipreservations', 'IPReservation', false],
    ['ipamblocks', 'IPAMBlock', false],
    ['blockaffinities', 'BlockAffinity', false],
    ['ipamhandles', 'IPAMHandle', false],
    ['ipamconfigs', 'IPAMConfig', false],
    ['networkpolicies', 'NetworkPolicy', true],
    ['globalnetworkpolicies', 'GlobalNetworkPolicy', false],
    ['stagednetworkpolicies', 'StagedNetworkPolicy', true],
    ['stagedglobalnetworkpolicies', 'StagedGlobalNetworkPolicy', false],
    ['stagedkubernetesnetworkpolicies', 'StagedKubernetesNetworkPolicy', true],
    ['tiers', 'Tier', false],
    ['hostendpoints', 'HostEndpoint', false],
    ['networksets', 'NetworkSet', true],
    ['globalnetworksets', 'GlobalNetworkSet', false],
    ['bgppeers', 'BGPPeer', false],
    ['bgpconfigurations', 'BGPConfiguration', false],
    ['bgpfilters', 'BGPFilter', false],
    ['felixconfigurations', 'FelixConfiguration', false],
    ['clusterinformations', 'ClusterInformation', false],
    ['kubecontrollersconfigurations', 'KubeControllersConfiguration', false],
    ['caliconodestatuses', 'CalicoNodeStatus', false],
    ['workloadendpoints', 'WorkloadEndpoint', true],
  ] as const
).map(([plural, kind, namespaced]) => ({ group: CALICO_CRD, version: 'v1', plural, kind, namespaced }));

interface APIGroupList {
  groups?: { name: string; versions?: { groupVersion: string; version: string }[]; preferredVersion?: { version: string } }[];
}
interface APIResourceList {
  resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[];
}

export interface DiscoveryResult {
  /** What will be listed, in order (nodes, namespaces and pods first). */
  resources: ApiResource[];
  calicoApi: 'projectcalico.org/v3' | 'crd.projectcalico.org/v1' | 'etcdv3' | 'none' | 'unknown';
  /** Things worth telling the reader (discovery forbidden, a group missing). */
  notes: string[];
  /** Discovery requests that failed (403 …), as manifest failures. */
  failures: { target: string; command: string; error: string }[];
}

async function groupResources(api: KubeApi, group: string, version: string): Promise<ApiResource[]> {
  const list = await api.getJSON<APIResourceList>(`/apis/${group}/${version}`);
  return (list.resources ?? [])
    .filter((r) => !r.name.includes('/') && (r.verbs ?? ['list']).includes('list'))
    .map((r) => ({ group, version, plural: r.name, kind: r.kind, namespaced: r.namespaced }));
}

/** API discovery (`/apis`, then each interesting group/version), as kubectl does it. */
export async function discoverResources(api: KubeApi): Promise<DiscoveryResult> {
  const res: DiscoveryResult = { resources: [...CORE_RESOURCES], calicoApi: 'unknown', notes: [], failures: [] };
  let groups: APIGroupList | undefined;
  try {
    groups = await api.getJSON<APIGroupList>('/apis');
  } catch (e) {
    res.failures.push({ target: 'discovery', command: 'GET /apis', error: (e as Error).message });
    res.notes.push('API discovery failed; trying every Calico CRD directly (404 = not installed)');
    res.resources.push(...CALICO_CRDS);
    return res;
  }
  const byName = new Map((groups.groups ?? []).map((g) => [g.name, g]));
  const preferred = (name: string) => {
    const g = byName.get(name);
    return g ? (g.preferredVersion?.version ?? g.versions?.[0]?.version) : undefined;
  };
  const anpVersion = preferred(ANP_GROUP);
  if (anpVersion) {
    try {
      res.resources.push(...(await groupResources(api, ANP_GROUP, anpVersion)).filter((r) => ANP_PLURALS.has(r.plural)));
    } catch (e) {
      res.failures.push({ target: `discovery/${ANP_GROUP}`, command: `GET /apis/${ANP_GROUP}/${anpVersion}`, error: (e as Error).message });
    }
  }
  const v3Served = byName.get(CALICO_V3)?.versions?.some((v) => v.version === 'v3');
  const crdServed = byName.has(CALICO_CRD);
  let v3: ApiResource[] = [];
  if (v3Served) {
    try {
      v3 = await groupResources(api, CALICO_V3, 'v3');
      res.calicoApi = 'projectcalico.org/v3';
    } catch (e) {
      res.failures.push({ target: `discovery/${CALICO_V3}`, command: `GET /apis/${CALICO_V3}/v3`, error: (e as Error).message });
      res.notes.push('the projectcalico.org/v3 API (Calico API server) is registered but its discovery failed; using the CRDs');
    }
  }
  let crds: ApiResource[] = [];
  if (crdServed) {
    try {
      crds = await groupResources(api, CALICO_CRD, 'v1');
    } catch (e) {
      res.failures.push({ target: `discovery/${CALICO_CRD}`, command: `GET /apis/${CALICO_CRD}/v1`, error: (e as Error).message });
      crds = CALICO_CRDS;
    }
    if (res.calicoApi === 'unknown') res.calicoApi = 'crd.projectcalico.org/v1';
  }
  if (v3.length === 0 && !crdServed) {
    res.calicoApi = 'none';
    res.notes.push('no Calico API (projectcalico.org/v3 or crd.projectcalico.org/v1) is served by this cluster');
  }
  // The v3 API covers what it serves; the CRDs only for what v3 does not (IPAM blocks and handles).
  const v3Plurals = new Set(v3.map((r) => r.plural));
  res.resources.push(...v3, ...crds.filter((r) => !v3Plurals.has(r.plural)));
  return res;
}

/** `cluster/pods.yaml`, `cluster/ippools.crd.projectcalico.org.yaml`, chunk n ≥ 2: `….<n>.yaml`. */
export function resourceFileName(r: ApiResource, chunk = 1): string {
  return `cluster/${r.plural}${r.group ? `.${r.group}` : ''}${chunk > 1 ? `.${chunk}` : ''}.yaml`;
}

export function resourceBasePath(r: ApiResource): string {
  return r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
}

export function apiVersionOf(r: ApiResource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

export function isForbidden(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 403;
}

export function isNotFound(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 404;
}
