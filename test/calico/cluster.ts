/**
 * Test helper: a ClusterResources from plain Kubernetes/Calico objects, through the same
 * classification and normalisation as a bundle (buildClusterResources).
 */
import type { ParseIssue } from '../../src/model/evidence.js';
import type { ClusterResources, ResourceObject } from '../../src/model/resources.js';
import { buildClusterResources } from '../../src/parse/resources.js';

export function clusterFromObjects(objects: Record<string, unknown>[], artifact = 'cluster/test.yaml'): { cluster: ClusterResources; issues: ParseIssue[] } {
  const ros: ResourceObject[] = objects.map((body, i) => ({
    apiVersion: typeof body.apiVersion === 'string' ? body.apiVersion : '',
    kind: typeof body.kind === 'string' ? body.kind : '',
    body,
    source: { artifact, line: i + 1, docIndex: i },
  }));
  const r = buildClusterResources(ros);
  return { cluster: r.value, issues: r.issues };
}

export function ns(name: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } };
}

export interface PodOpts {
  labels?: Record<string, string>;
  ip?: string;
  node?: string;
  sa?: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  hostNetwork?: boolean;
}

export function pod(namespace: string, name: string, o: PodOpts = {}): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    nodeName: o.node ?? 'node-1',
    serviceAccountName: o.sa ?? 'default',
    containers: [{ name: 'c', image: 'x', ports: o.ports ?? [] }],
  };
  if (o.hostNetwork) spec.hostNetwork = true;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: o.labels ?? {} },
    spec,
    status: o.ip ? { phase: 'Running', podIP: o.ip, podIPs: [{ ip: o.ip }] } : { phase: 'Pending' },
  };
}

export function sa(namespace: string, name: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, labels } };
}

export function cnp(namespace: string, name: string, spec: Record<string, unknown>, kind = 'NetworkPolicy'): Record<string, unknown> {
  return { apiVersion: 'projectcalico.org/v3', kind, metadata: { name, namespace }, spec };
}

export function gnp(name: string, spec: Record<string, unknown>, kind = 'GlobalNetworkPolicy'): Record<string, unknown> {
  return { apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec };
}

export function tier(name: string, order?: number, defaultAction?: 'Deny' | 'Pass'): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  if (order !== undefined) spec.order = order;
  if (defaultAction) spec.defaultAction = defaultAction;
  return { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name }, spec };
}

export function knp(namespace: string, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}
