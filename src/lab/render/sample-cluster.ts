/**
 * A small but complete cluster for the renderer's tests and benchmarks: two nodes, three
 * namespaces, named ports, a kube-dns Service, three tiers (one ending in Pass), a Pass rule, a
 * Kubernetes default-deny, a named-port Kubernetes policy, a rule needing match blocks (>15 ports,
 * several CIDRs, notNets), a Log rule, negations, ICMP, a staged policy and two policies sharing a
 * selector (a policy group).
 */
import type { ClusterResources, ResourceObject } from '../../model/resources.js';
import { buildClusterResources } from '../../parse/resources.js';

type Obj = Record<string, unknown>;

export function clusterFromObjects(objects: Obj[]): ClusterResources {
  const ros: ResourceObject[] = objects.map((body, i) => ({
    apiVersion: typeof body.apiVersion === 'string' ? body.apiVersion : '',
    kind: typeof body.kind === 'string' ? body.kind : '',
    body,
    source: { artifact: 'cluster/sample.yaml', line: i + 1, docIndex: i },
  }));
  return buildClusterResources(ros).value;
}

export const ns = (name: string, labels: Record<string, string> = {}): Obj => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
});

export interface SamplePod {
  namespace: string;
  name: string;
  node: string;
  ip: string;
  labels: Record<string, string>;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  sa?: string;
}

export const pod = (p: SamplePod): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
  spec: { nodeName: p.node, serviceAccountName: p.sa ?? 'default', containers: [{ name: 'c', image: 'x', ports: p.ports ?? [] }] },
  status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }] },
});

export const node = (name: string, ip: string): Obj => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, annotations: { 'projectcalico.org/IPv4Address': `${ip}/24` } },
  status: { addresses: [{ type: 'InternalIP', address: ip }] },
});

export const SAMPLE_NODES = [
  { name: 'node-a', ip: '10.0.0.11' },
  { name: 'node-b', ip: '10.0.0.12' },
];

export const SAMPLE_PODS: SamplePod[] = [
  { namespace: 'frontend', name: 'web-1', node: 'node-a', ip: '10.244.1.2', labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8080 }] },
  { namespace: 'frontend', name: 'web-2', node: 'node-b', ip: '10.244.2.2', labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8080 }] },
  { namespace: 'backend', name: 'api-1', node: 'node-a', ip: '10.244.1.3', labels: { app: 'api' }, ports: [{ name: 'api', containerPort: 9000 }] },
  { namespace: 'backend', name: 'api-2', node: 'node-b', ip: '10.244.2.3', labels: { app: 'api' }, ports: [{ name: 'api', containerPort: 9000 }] },
  { namespace: 'backend', name: 'db-1', node: 'node-a', ip: '10.244.1.4', labels: { app: 'db' }, ports: [{ name: 'pg', containerPort: 5432 }] },
  {
    namespace: 'kube-system',
    name: 'coredns',
    node: 'node-b',
    ip: '10.244.2.4',
    labels: { 'k8s-app': 'kube-dns' },
    ports: [
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
    ],
  },
];

export const BLOCK_PORTS = Array.from({ length: 20 }, (_, i) => 7000 + i * 2);

export function sampleObjects(): Obj[] {
  return [
    ...SAMPLE_NODES.map((n) => node(n.name, n.ip)),
    ns('frontend', { team: 'frontend' }),
    ns('backend', { team: 'backend' }),
    ns('kube-system'),
    ...SAMPLE_PODS.map(pod),
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'default-ipv4-ippool' },
      spec: { cidr: '10.244.0.0/16', vxlanMode: 'Always', ipipMode: 'Never', natOutgoing: true, blockSize: 26 },
    },
    { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'platform' }, spec: { order: 50, defaultAction: 'Pass' } },
    { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'security' }, spec: { order: 100 } },
    // platform (defaultAction Pass): logs ICMP, then falls through to the next tier.
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'platform.log-icmp' },
      spec: { tier: 'platform', order: 1, selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Log', protocol: 'ICMP', icmp: { type: 8 } }] },
    },
    // security: deny a "bad" range, Pass everything else to the next tier; egress: deny redis.
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'security.pass-cluster' },
      spec: {
        tier: 'security',
        order: 10,
        selector: "projectcalico.org/namespace != 'kube-system'",
        types: ['Ingress', 'Egress'],
        ingress: [
          { action: 'Deny', source: { nets: ['192.168.100.0/24'] } },
          { action: 'Deny', protocol: 'TCP', destination: { ports: [22] } },
          { action: 'Pass' },
        ],
        egress: [
          { action: 'Deny', protocol: 'TCP', destination: { ports: [6379], notNets: ['10.244.0.0/16'] } },
          { action: 'Pass', notProtocol: 'SCTP' },
        ],
      },
    },
    // Same selector as pass-cluster: with it, a policy group (cali-gi-/cali-go-).
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'security.deny-telnet' },
      spec: {
        tier: 'security',
        order: 10,
        selector: "projectcalico.org/namespace != 'kube-system'",
        types: ['Ingress'],
        ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [23] } }],
      },
    },
    // default tier: Kubernetes default-deny for backend, named-port allow from frontend.
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: 'backend' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-api-from-frontend', namespace: 'backend' },
      spec: {
        podSelector: { matchLabels: { app: 'api' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'frontend' } }, podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'api' }] }],
      },
    },
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'NetworkPolicy',
      metadata: { name: 'db-access', namespace: 'backend' },
      spec: {
        order: 100,
        selector: "app == 'db'",
        types: ['Ingress'],
        ingress: [
          { action: 'Allow', protocol: 'TCP', source: { selector: "app == 'api'" }, destination: { ports: [5432] } },
          // Match blocks: two source CIDRs, a negated one, and more ports than one multiport holds.
          {
            action: 'Allow',
            protocol: 'TCP',
            source: { nets: ['10.244.1.0/24', '10.244.2.0/24'], notNets: ['10.244.2.128/25'] },
            destination: { ports: BLOCK_PORTS },
          },
          { action: 'Allow', protocol: 'ICMP', source: { notSelector: "app == 'web'" } },
        ],
      },
    },
    // Egress everywhere but kube-system: DNS to kube-dns by named port, then allow all.
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'egress-dns' },
      spec: {
        order: 500,
        selector: "projectcalico.org/namespace != 'kube-system'",
        types: ['Egress'],
        egress: [
          { action: 'Allow', protocol: 'UDP', destination: { selector: "k8s-app == 'kube-dns'", namespaceSelector: 'all()', ports: ['dns'] } },
          { action: 'Deny', protocol: 'UDP', destination: { ports: ['1:1023'] } },
          { action: 'Allow' },
        ],
      },
    },
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'StagedNetworkPolicy',
      metadata: { name: 'staged-lockdown', namespace: 'frontend' },
      spec: { order: 1, selector: 'all()', types: ['Ingress'], ingress: [] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system' },
      spec: {
        type: 'ClusterIP',
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10'],
        selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        ],
      },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'kube-dns-abc', namespace: 'kube-system', labels: { 'kubernetes.io/service-name': 'kube-dns' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.2.4'], conditions: { ready: true }, nodeName: 'node-b' }],
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'frontend' },
      spec: { type: 'NodePort', clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http', nodePort: 30080 }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-xyz', namespace: 'frontend', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.244.1.2'], conditions: { ready: true }, nodeName: 'node-a' },
        { addresses: ['10.244.2.2'], conditions: { ready: true }, nodeName: 'node-b' },
      ],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    },
  ];
}

export function sampleCluster(): ClusterResources {
  return clusterFromObjects(sampleObjects());
}
