/**
 * Kubernetes and Calico resources as read from the bundle's `cluster/` directory (`kubectl get
 * -o yaml|json`, `calicoctl get -o yaml|json`), typed and normalised for the layers that reason
 * about them (calico/ selectors and policy, checks/ IPAM and BGP, engine/ services).
 *
 * Conventions:
 * - Every typed object keeps `source` (file, line, document and list item) for evidence.
 * - Only the fields later layers need are typed; they are normalised (defaults applied, enum case
 *   fixed where Calico itself is case-insensitive) and every default applied to a field is listed
 *   in `defaulted`, so "given" and "defaulted" stay distinguishable.
 * - Absent vs empty is preserved where it changes meaning (`ingress` absent vs `[]` for Calico
 *   types inference, `from` absent vs `[]` in Kubernetes rules, a Service without selector).
 * - `invalid` lists the reasons an object would have been refused by Calico's / Kubernetes'
 *   validation; such objects are kept (they are in the dump, so something wrote them), and the
 *   consumer decides whether to trust them.
 * - Credentials never reach the model: Secret data and credential-looking fields are replaced by
 *   `REDACTED` while reading.
 */

export const REDACTED = '<redacted>';

/** Where an object starts in its file. `docIndex` and `itemIndex` are 0-based; `line` is 1-based. */
export interface ResourceSource {
  artifact: string;
  line: number;
  /** Index of the YAML document (or top-level JSON value) in the file. */
  docIndex: number;
  /** Index in the `items` of a List (or of a top-level array). */
  itemIndex?: number;
  /** Character offsets of the object's text in the file (for locating fields on demand). */
  offset?: number;
  endOffset?: number;
  /** 1-based column of the object's first character (YAML block content is indented by it). */
  col?: number;
  /** Lines of selected fields located while reading (policy rules: `spec.ingress[0]` → line). */
  fieldLines?: Record<string, number>;
}

/** One object as found in a file, before classification. `body` is the whole object (redacted, managedFields dropped). */
export interface ResourceObject {
  apiVersion: string;
  kind: string;
  body: Record<string, unknown>;
  source: ResourceSource;
}

/** Which API an object was written in. `crd` = `crd.projectcalico.org/v1` (KDD storage form). */
export type ResourceForm = 'k8s' | 'v3' | 'crd';

export interface OwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  generateName?: string;
  ownerReferences: OwnerReference[];
  finalizers: string[];
}

export interface TypedResource<K extends string, S> {
  kind: K;
  apiVersion: string;
  form: ResourceForm;
  metadata: ObjectMeta;
  spec: S;
  source: ResourceSource;
  /** Reasons Calico/Kubernetes validation would refuse this object (see the module comment). */
  invalid?: string[];
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/** Kubernetes LabelSelector. `{}` (no labels, no expressions) selects everything. */
export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: LabelSelectorRequirement[];
}

export type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  key: string;
  operator: LabelSelectorOperator;
  values: string[];
}

/** A port in a Calico rule, normalised from `80`, `"80"`, `"8000:8080"` or `"http"`. */
export type PortSpec =
  | { kind: 'number'; port: number }
  | { kind: 'range'; from: number; to: number }
  | { kind: 'named'; name: string };

export type PortMatch = PortSpec & { raw: number | string };

/** Canonical names Calico's v3 validator accepts (case-sensitive there). */
export type ProtocolName = 'TCP' | 'UDP' | 'ICMP' | 'ICMPv6' | 'SCTP' | 'UDPLite';

export const PROTOCOL_NUMBERS: Record<ProtocolName, number> = {
  TCP: 6,
  UDP: 17,
  ICMP: 1,
  ICMPv6: 58,
  SCTP: 132,
  UDPLite: 136,
};

/** A Calico protocol as written plus its normalised forms. */
export interface ProtocolValue {
  raw: number | string;
  /** Canonical name when the value names (or numbers) a known protocol. */
  name?: ProtocolName;
  /** IP protocol number when known (from the number, or from the name). */
  number?: number;
}

export interface IcmpMatch {
  type?: number;
  code?: number;
}

// ---------------------------------------------------------------------------------------------
// Calico policy

export type RuleAction = 'Allow' | 'Deny' | 'Pass' | 'Log';
export const RULE_ACTIONS: readonly RuleAction[] = ['Allow', 'Deny', 'Pass', 'Log'];

export type PolicyType = 'Ingress' | 'Egress';

export interface ServiceAccountMatch {
  names: string[];
  selector?: string;
}

export interface ServiceMatch {
  name: string;
  namespace?: string;
}

export interface EntityRule {
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  serviceAccounts?: ServiceAccountMatch;
  services?: ServiceMatch;
  nets: string[];
  notNets: string[];
  ports: PortMatch[];
  notPorts: PortMatch[];
}

export interface HttpMatch {
  methods: string[];
  paths: { exact?: string; prefix?: string }[];
}

export interface CalicoRule {
  /** Absent only when the written action was not recognisable (see `invalid` on the policy). */
  action?: RuleAction;
  protocol?: ProtocolValue;
  notProtocol?: ProtocolValue;
  icmp?: IcmpMatch;
  notICMP?: IcmpMatch;
  ipVersion?: 4 | 6;
  source: EntityRule;
  destination: EntityRule;
  http?: HttpMatch;
  /** `metadata.annotations` of the rule. */
  annotations?: Record<string, string>;
  /** Position in its ingress/egress list. */
  index: number;
  /** Line of the rule in the file, when it could be located. */
  line?: number;
}

export type StagedAction = 'Set' | 'Delete' | 'Learn' | 'Ignore';

export interface CalicoPolicySpec {
  /** Tier from `spec.tier`, default `default`. */
  tier: string;
  /**
   * The name as calicoctl shows it: a CRD (KDD storage, Calico ≤ 3.30) name `default.foo` in the
   * default tier is `foo`; otherwise metadata.name (other tiers' names keep `<tier>.` in both forms).
   */
  policyName: string;
  order?: number;
  selector?: string;
  namespaceSelector?: string;
  serviceAccountSelector?: string;
  /** As written; `undefined` when not given (inference is the caller's job, see `ingress`/`egress`). */
  types?: PolicyType[];
  typesGiven: boolean;
  /** `undefined` = field absent; `[]` = given and empty. */
  ingress?: CalicoRule[];
  egress?: CalicoRule[];
  doNotTrack: boolean;
  preDNAT: boolean;
  applyOnForward: boolean;
  performanceHints: string[];
  /** Staged* kinds only. */
  stagedAction?: StagedAction;
  /** Set when the object is Calico's rendering of another policy (`knp.default.*`, `ossg.*`). */
  derivedFrom?: 'k8s-networkpolicy' | 'openstack';
}

export type CalicoNetworkPolicy = TypedResource<'NetworkPolicy', CalicoPolicySpec>;
export type GlobalNetworkPolicy = TypedResource<'GlobalNetworkPolicy', CalicoPolicySpec>;
export type StagedNetworkPolicy = TypedResource<'StagedNetworkPolicy', CalicoPolicySpec>;
export type StagedGlobalNetworkPolicy = TypedResource<'StagedGlobalNetworkPolicy', CalicoPolicySpec>;

export interface TierSpec {
  order?: number;
  defaultAction: 'Deny' | 'Pass';
  defaulted: string[];
}
export type Tier = TypedResource<'Tier', TierSpec>;

export interface ProfileSpec {
  ingress?: CalicoRule[];
  egress?: CalicoRule[];
  labelsToApply: Record<string, string>;
}
export type Profile = TypedResource<'Profile', ProfileSpec>;

// ---------------------------------------------------------------------------------------------
// Kubernetes NetworkPolicy

export interface K8sPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except: string[] };
}

export interface K8sPolicyPort {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  /** True when `protocol` was not written (Kubernetes defaults it to TCP). */
  protocolDefaulted: boolean;
  /** Absent = all ports of the protocol. Number or named port. */
  port?: number | string;
  endPort?: number;
}

export interface K8sPolicyRule {
  /** Ingress `from` / egress `to`. `undefined` = absent (all peers), `[]` = given empty (also all peers). */
  peers?: K8sPeer[];
  /** `undefined` = absent (all ports). */
  ports?: K8sPolicyPort[];
  index: number;
  line?: number;
}

export interface K8sNetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: PolicyType[];
  policyTypesGiven: boolean;
  /** `undefined` = absent, `[]` = given and empty; `[{}]` = one rule with no peers and no ports (allow all). */
  ingress?: K8sPolicyRule[];
  egress?: K8sPolicyRule[];
  /** StagedKubernetesNetworkPolicy only. */
  stagedAction?: StagedAction;
}
export type K8sNetworkPolicy = TypedResource<'NetworkPolicy', K8sNetworkPolicySpec>;
export type StagedKubernetesNetworkPolicy = TypedResource<'StagedKubernetesNetworkPolicy', K8sNetworkPolicySpec>;

// ---------------------------------------------------------------------------------------------
// Kubernetes workloads and services

export interface ContainerPort {
  container: string;
  name?: string;
  containerPort: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  protocolDefaulted: boolean;
  hostPort?: number;
  hostIP?: string;
}

export interface PodSpec {
  nodeName?: string;
  serviceAccountName: string;
  serviceAccountDefaulted: boolean;
  hostNetwork: boolean;
  containers: string[];
  /** Ports of containers and init containers (sidecars can own named ports). */
  ports: ContainerPort[];
}

export interface PodStatus {
  phase?: string;
  podIP?: string;
  podIPs: string[];
  hostIP?: string;
  /** The `Ready` condition; `undefined` when not reported. */
  ready?: boolean;
  conditions: { type: string; status: string; reason?: string }[];
  /** From the annotations the Calico CNI plugin writes. */
  calicoPodIP?: string;
  calicoPodIPs: string[];
  calicoContainerID?: string;
}

export interface Pod extends TypedResource<'Pod', PodSpec> {
  status: PodStatus;
}

export type Namespace = TypedResource<'Namespace', { phase?: string }>;
export type ServiceAccount = TypedResource<'ServiceAccount', Record<string, never>>;

export interface ServicePort {
  name?: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  port: number;
  /** Number or container port name; defaults to `port`. */
  targetPort: number | string;
  targetPortDefaulted: boolean;
  nodePort?: number;
  appProtocol?: string;
}

export interface ServiceSpec {
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** `None` for headless services. */
  clusterIP?: string;
  clusterIPs: string[];
  externalIPs: string[];
  /** From status.loadBalancer.ingress[].ip. */
  loadBalancerIPs: string[];
  ports: ServicePort[];
  /** `undefined` = no selector (endpoints managed elsewhere). */
  selector?: Record<string, string>;
  externalTrafficPolicy?: 'Cluster' | 'Local';
  internalTrafficPolicy?: 'Cluster' | 'Local';
  sessionAffinity: 'None' | 'ClientIP';
  ipFamilies: string[];
  externalName?: string;
  publishNotReadyAddresses: boolean;
  healthCheckNodePort?: number;
  defaulted: string[];
}
export type Service = TypedResource<'Service', ServiceSpec>;

export interface ObjectReference {
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
}

export interface EndpointSliceSpec {
  addressType: 'IPv4' | 'IPv6' | 'FQDN' | string;
  /** From label kubernetes.io/service-name. */
  serviceName?: string;
  endpoints: {
    addresses: string[];
    ready?: boolean;
    serving?: boolean;
    terminating?: boolean;
    nodeName?: string;
    zone?: string;
    hostname?: string;
    targetRef?: ObjectReference;
  }[];
  /** `port` absent = all ports. */
  ports: { name?: string; port?: number; protocol: 'TCP' | 'UDP' | 'SCTP'; appProtocol?: string }[];
}
export type EndpointSlice = TypedResource<'EndpointSlice', EndpointSliceSpec>;

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectReference;
}
export interface EndpointsSpec {
  subsets: {
    addresses: EndpointAddress[];
    notReadyAddresses: EndpointAddress[];
    ports: { name?: string; port: number; protocol: 'TCP' | 'UDP' | 'SCTP'; appProtocol?: string }[];
  }[];
}
export type Endpoints = TypedResource<'Endpoints', EndpointsSpec>;

/** Calico data Calico itself keeps on a Kubernetes Node (KDD mode), from `projectcalico.org/*` annotations. */
export interface NodeCalicoAnnotations {
  ipv4Address?: string;
  ipv6Address?: string;
  asNumber?: number;
  ipv4IPIPTunnelAddr?: string;
  ipv4VXLANTunnelAddr?: string;
  vxlanTunnelMACAddr?: string;
  ipv6VXLANTunnelAddr?: string;
  vxlanTunnelMACAddrV6?: string;
  routeReflectorClusterID?: string;
  wireguardPublicKey?: string;
  wireguardPublicKeyV6?: string;
  ipv4WireguardInterfaceAddr?: string;
  ipv6WireguardInterfaceAddr?: string;
}

export interface K8sNodeSpec {
  podCIDR?: string;
  podCIDRs: string[];
  providerID?: string;
  unschedulable: boolean;
  taints: { key: string; value?: string; effect: string }[];
}
export interface K8sNodeStatus {
  addresses: { type: string; address: string }[];
  ready?: boolean;
  conditions: { type: string; status: string; reason?: string; message?: string }[];
  kubeletVersion?: string;
  osImage?: string;
  kernelVersion?: string;
  containerRuntimeVersion?: string;
}
export interface K8sNode extends TypedResource<'Node', K8sNodeSpec> {
  status: K8sNodeStatus;
  calico: NodeCalicoAnnotations;
}

// ---------------------------------------------------------------------------------------------
// Calico endpoints and sets

export interface EndpointPortSpec {
  name: string;
  protocol?: ProtocolValue;
  port: number;
  hostPort?: number;
  hostIP?: string;
}

export interface WorkloadEndpointSpec {
  orchestrator?: string;
  workload?: string;
  node?: string;
  containerID?: string;
  pod?: string;
  endpoint?: string;
  serviceAccountName?: string;
  ipNetworks: string[];
  ipNATs: { internalIP: string; externalIP: string }[];
  ipv4Gateway?: string;
  ipv6Gateway?: string;
  profiles: string[];
  interfaceName?: string;
  mac?: string;
  ports: EndpointPortSpec[];
  allowSpoofedSourcePrefixes: string[];
  qosControls?: Record<string, number>;
}
export type WorkloadEndpoint = TypedResource<'WorkloadEndpoint', WorkloadEndpointSpec>;

export interface HostEndpointSpec {
  node?: string;
  interfaceName?: string;
  expectedIPs: string[];
  profiles: string[];
  ports: EndpointPortSpec[];
}
export type HostEndpoint = TypedResource<'HostEndpoint', HostEndpointSpec>;

export type NetworkSet = TypedResource<'NetworkSet', { nets: string[] }>;
export type GlobalNetworkSet = TypedResource<'GlobalNetworkSet', { nets: string[] }>;

// ---------------------------------------------------------------------------------------------
// IPAM

export type EncapMode = 'Never' | 'Always' | 'CrossSubnet';
export type IPPoolAllowedUse = 'Workload' | 'Tunnel' | 'LoadBalancer';

export interface IPPoolSpec {
  cidr: string;
  ipVersion?: 4 | 6;
  blockSize: number;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  disabled: boolean;
  disableBGPExport: boolean;
  nodeSelector: string;
  namespaceSelector?: string;
  allowedUses: IPPoolAllowedUse[];
  assignmentMode: 'Automatic' | 'Manual';
  defaulted: string[];
  /** Deprecated v1-era fields that were present and mapped (`ipip`, `nat-outgoing`). */
  deprecatedFields?: string[];
}
export type IPPool = TypedResource<'IPPool', IPPoolSpec>;

export interface AllocationAttribute {
  handleID?: string;
  /** `secondary` (active owner attributes: namespace, node, pod, timestamp, type …). */
  secondary: Record<string, string>;
  alternateOwnerAttrs?: Record<string, string>;
  releasedAt?: string;
}

export interface IPAMBlockSpec {
  cidr: string;
  /** As written: `host:<node>`, `virtual:<…>`; absent = unaffine. */
  affinity?: string;
  affinityType?: string;
  affinityNode?: string;
  affinityClaimTime?: string;
  /** One entry per address; value = index into `attributes`, null = free. */
  allocations: (number | null)[];
  unallocated: number[];
  attributes: AllocationAttribute[];
  sequenceNumber?: number;
  deleted: boolean;
  strictAffinity: boolean;
}
export type IPAMBlock = TypedResource<'IPAMBlock', IPAMBlockSpec>;

export interface BlockAffinitySpec {
  state: 'confirmed' | 'pending' | 'pendingDeletion' | string;
  node: string;
  type?: string;
  cidr: string;
  /** Normalised: older CRDs store `"true"` / `"false"`. */
  deleted: boolean;
}
export type BlockAffinity = TypedResource<'BlockAffinity', BlockAffinitySpec>;

export interface IPAMHandleSpec {
  handleID: string;
  /** Block CIDR → number of this handle's IPs in it. */
  block: Record<string, number>;
  deleted: boolean;
}
export type IPAMHandle = TypedResource<'IPAMHandle', IPAMHandleSpec>;

export interface IPAMConfigSpec {
  strictAffinity: boolean;
  autoAllocateBlocks: boolean;
  maxBlocksPerHost: number;
  kubeVirtVMAddressPersistence?: string;
  ipCooldownSeconds?: number;
}
/** Kind `IPAMConfig` (CRD) or `IPAMConfiguration` (v3). */
export type IPAMConfig = TypedResource<'IPAMConfig', IPAMConfigSpec>;

// ---------------------------------------------------------------------------------------------
// BGP

export interface SecretKeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

export interface BGPPeerSpec {
  node?: string;
  nodeSelector?: string;
  /** As written (may carry `:port` or `[v6]:port`). */
  peerIP?: string;
  /** Address part of peerIP. */
  peerAddress?: string;
  peerPort?: number;
  asNumber?: number;
  localASNumber?: number;
  peerSelector?: string;
  keepOriginalNextHop: boolean;
  nextHopMode?: string;
  password?: { secretKeyRef?: SecretKeyRef };
  sourceAddress?: string;
  maxRestartTime?: string;
  keepaliveTime?: string;
  numAllowedLocalASNumbers?: number;
  ttlSecurity?: number;
  reachableBy?: string;
  filters: string[];
  localWorkloadSelector?: string;
  reversePeering?: string;
}
export type BGPPeer = TypedResource<'BGPPeer', BGPPeerSpec>;

export interface BGPConfigurationSpec {
  /** `default` = cluster-wide; `node.<name>` = per node (defaults apply to the cluster-wide one only). */
  scope: 'global' | 'node';
  scopeNode?: string;
  nodeToNodeMeshEnabled: boolean;
  asNumber: number;
  listenPort: number;
  bindMode: 'None' | 'NodeIP' | string;
  logSeverityScreen?: string;
  serviceClusterIPs: string[];
  serviceExternalIPs: string[];
  serviceLoadBalancerIPs: string[];
  communities: { name: string; value: string }[];
  prefixAdvertisements: { cidr: string; communities: string[] }[];
  ignoredInterfaces: string[];
  nodeMeshPassword?: { secretKeyRef?: SecretKeyRef };
  nodeMeshMaxRestartTime?: string;
  localWorkloadPeeringIPV4?: string;
  localWorkloadPeeringIPV6?: string;
  programClusterRoutes?: string;
  defaulted: string[];
}
export type BGPConfiguration = TypedResource<'BGPConfiguration', BGPConfigurationSpec>;

export interface BGPFilterRule {
  action: 'Accept' | 'Reject' | string;
  cidr?: string;
  matchOperator?: 'Equal' | 'NotEqual' | 'In' | 'NotIn' | string;
  prefixLength?: { min?: number; max?: number };
  source?: string;
  interface?: string;
  peerType?: string;
  priority?: number;
  communities?: string[];
  asPathPrefix?: number[];
  operations?: Record<string, unknown>[];
}
export interface BGPFilterSpec {
  exportV4: BGPFilterRule[];
  importV4: BGPFilterRule[];
  exportV6: BGPFilterRule[];
  importV6: BGPFilterRule[];
}
export type BGPFilter = TypedResource<'BGPFilter', BGPFilterSpec>;

// ---------------------------------------------------------------------------------------------
// Configuration and node state

export interface ProtoPortSpec {
  protocol: string;
  port: number;
  net?: string;
}

export interface FelixConfigurationSpec {
  /** `default` = cluster-wide; `node.<name>` = per node. */
  scope: 'global' | 'node';
  scopeNode?: string;
  /** Every spec field as written (credential-looking values redacted). */
  raw: Record<string, unknown>;
  /** Typed fields; absent = not set (Felix default applies). Enum case normalised like Felix does. */
  defaultEndpointToHostAction?: 'Drop' | 'Accept' | 'Return';
  iptablesMarkMask?: number;
  vxlanEnabled?: boolean;
  vxlanPort?: number;
  vxlanVNI?: number;
  vxlanMTU?: number;
  vxlanMTUV6?: number;
  ipipEnabled?: boolean;
  ipipMTU?: number;
  wireguardEnabled?: boolean;
  wireguardEnabledV6?: boolean;
  wireguardMTU?: number;
  wireguardListeningPort?: number;
  wireguardInterfaceName?: string;
  bpfEnabled?: boolean;
  bpfExternalServiceMode?: string;
  chainInsertMode?: 'Insert' | 'Append';
  iptablesBackend?: 'Auto' | 'Legacy' | 'NFT';
  nftablesMode?: string;
  natOutgoingExclusions?: 'IPPoolsOnly' | 'IPPoolsAndHostIPs';
  natOutgoingAddress?: string;
  natPortRange?: PortSpec;
  iptablesNATOutgoingInterfaceFilter?: string;
  prometheusMetricsEnabled?: boolean;
  prometheusMetricsPort?: number;
  healthPort?: number;
  failsafeInboundHostPorts?: ProtoPortSpec[];
  failsafeOutboundHostPorts?: ProtoPortSpec[];
  logSeverityScreen?: string;
  interfacePrefix?: string;
  routeTableRange?: { min: number; max: number };
  routeTableRanges?: { min: number; max: number }[];
  mtuIfacePattern?: string;
  ipv6Support?: boolean;
  routeSource?: string;
  iptablesFilterAllowAction?: string;
  iptablesMangleAllowAction?: string;
  iptablesFilterDenyAction?: string;
}
export type FelixConfiguration = TypedResource<'FelixConfiguration', FelixConfigurationSpec>;

export interface ClusterInformationSpec {
  calicoVersion?: string;
  datastoreReady?: boolean;
  clusterType?: string;
  clusterGUID?: string;
  variant?: string;
}
export type ClusterInformation = TypedResource<'ClusterInformation', ClusterInformationSpec>;

export interface KubeControllersConfigurationSpec {
  logSeverityScreen?: string;
  healthChecks?: string;
  etcdV3CompactionPeriod?: string;
  /** Enabled controllers with their settings, as written. */
  controllers: Record<string, Record<string, unknown>>;
  raw: Record<string, unknown>;
  status?: Record<string, unknown>;
}
export type KubeControllersConfiguration = TypedResource<'KubeControllersConfiguration', KubeControllersConfigurationSpec>;

export interface CalicoNodeSpec {
  bgp?: {
    ipv4Address?: string;
    ipv6Address?: string;
    asNumber?: number;
    ipv4IPIPTunnelAddr?: string;
    routeReflectorClusterID?: string;
  };
  ipv4VXLANTunnelAddr?: string;
  vxlanTunnelMACAddr?: string;
  ipv6VXLANTunnelAddr?: string;
  vxlanTunnelMACAddrV6?: string;
  wireguard?: { interfaceIPv4Address?: string; interfaceIPv6Address?: string };
  addresses: { address: string; type?: string }[];
  orchRefs: { nodeName?: string; orchestrator: string }[];
  interfaces: { name?: string; addresses: string[] }[];
}
export interface CalicoNodeStatusFields {
  wireguardPublicKey?: string;
  wireguardPublicKeyV6?: string;
  podCIDRs: string[];
}
/** `projectcalico.org/v3` Node (calicoctl get nodes). */
export interface CalicoNode extends TypedResource<'Node', CalicoNodeSpec> {
  status: CalicoNodeStatusFields;
}

export interface NodeStatusPeer {
  peerIP?: string;
  type?: string;
  state?: string;
  since?: string;
}
export interface NodeStatusRoute {
  type?: string;
  destination?: string;
  gateway?: string;
  interface?: string;
  learnedFrom?: { sourceType?: string; peerIP?: string };
}
export interface BirdDaemonStatus {
  state?: string;
  version?: string;
  routerID?: string;
  lastBootTime?: string;
  lastReconfigurationTime?: string;
}
export interface CalicoNodeStatusSpec {
  node?: string;
  classes: string[];
  updatePeriodSeconds?: number;
}
export interface CalicoNodeStatusStatus {
  lastUpdated?: string;
  birdV4?: BirdDaemonStatus;
  birdV6?: BirdDaemonStatus;
  numberEstablishedV4?: number;
  numberNotEstablishedV4?: number;
  numberEstablishedV6?: number;
  numberNotEstablishedV6?: number;
  peersV4: NodeStatusPeer[];
  peersV6: NodeStatusPeer[];
  routesV4: NodeStatusRoute[];
  routesV6: NodeStatusRoute[];
}
export interface CalicoNodeStatus extends TypedResource<'CalicoNodeStatus', CalicoNodeStatusSpec> {
  status: CalicoNodeStatusStatus;
}

// ---------------------------------------------------------------------------------------------

export interface ClusterResources {
  pods: Pod[];
  namespaces: Namespace[];
  nodes: K8sNode[];
  serviceAccounts: ServiceAccount[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  endpoints: Endpoints[];
  k8sNetworkPolicies: K8sNetworkPolicy[];
  calicoNetworkPolicies: CalicoNetworkPolicy[];
  globalNetworkPolicies: GlobalNetworkPolicy[];
  stagedNetworkPolicies: StagedNetworkPolicy[];
  stagedGlobalNetworkPolicies: StagedGlobalNetworkPolicy[];
  stagedKubernetesNetworkPolicies: StagedKubernetesNetworkPolicy[];
  tiers: Tier[];
  profiles: Profile[];
  workloadEndpoints: WorkloadEndpoint[];
  hostEndpoints: HostEndpoint[];
  networkSets: NetworkSet[];
  globalNetworkSets: GlobalNetworkSet[];
  ipPools: IPPool[];
  ipamBlocks: IPAMBlock[];
  blockAffinities: BlockAffinity[];
  ipamHandles: IPAMHandle[];
  ipamConfigs: IPAMConfig[];
  bgpPeers: BGPPeer[];
  bgpConfigurations: BGPConfiguration[];
  bgpFilters: BGPFilter[];
  felixConfigurations: FelixConfiguration[];
  clusterInformations: ClusterInformation[];
  kubeControllersConfigurations: KubeControllersConfiguration[];
  calicoNodes: CalicoNode[];
  caliconodestatuses: CalicoNodeStatus[];
  /** Objects of kinds not modelled here (kept, counted, not an error). Secrets are in here, redacted. */
  other: ResourceObject[];
  /** `apiVersion kind` → count, for `other`. */
  otherCounts: Record<string, number>;
}

export type ClusterResourceArrayKey = Exclude<keyof ClusterResources, 'other' | 'otherCounts'>;

export function emptyClusterResources(): ClusterResources {
  return {
    pods: [],
    namespaces: [],
    nodes: [],
    serviceAccounts: [],
    services: [],
    endpointSlices: [],
    endpoints: [],
    k8sNetworkPolicies: [],
    calicoNetworkPolicies: [],
    globalNetworkPolicies: [],
    stagedNetworkPolicies: [],
    stagedGlobalNetworkPolicies: [],
    stagedKubernetesNetworkPolicies: [],
    tiers: [],
    profiles: [],
    workloadEndpoints: [],
    hostEndpoints: [],
    networkSets: [],
    globalNetworkSets: [],
    ipPools: [],
    ipamBlocks: [],
    blockAffinities: [],
    ipamHandles: [],
    ipamConfigs: [],
    bgpPeers: [],
    bgpConfigurations: [],
    bgpFilters: [],
    felixConfigurations: [],
    clusterInformations: [],
    kubeControllersConfigurations: [],
    calicoNodes: [],
    caliconodestatuses: [],
    other: [],
    otherCounts: {},
  };
}

/** `ns/name` or `name` — how objects are named in issues and reports. */
export function objectRef(m: { name?: string; namespace?: string }): string {
  const name = m.name || '<no name>';
  return m.namespace ? `${m.namespace}/${name}` : name;
}

/** IPAMBlock CRD name for a CIDR (`192.168.45.0/26` → `192-168-45-0-26`). */
export function ipamBlockNameForCidr(cidr: string): string {
  return cidr.replace(/[.:/]/g, '-');
}
