import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { clusterFromObjects, ns, pod, sa } from '../../test/calico/cluster.js';
import { loadClusterDir } from '../parse/resources.js';
import { buildEndpoints, effectiveLabels, endpointIp } from './endpoints.js';
import { vethNameForWorkload } from './naming.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('endpoints from Pods (workload_endpoint_default.go podToDefaultWorkloadEndpoint)', () => {
  const { cluster } = clusterFromObjects([
    ns('shop', { team: 'shop' }),
    sa('shop', 'frontend', { tier: 'web' }),
    pod('shop', 'web-1', { labels: { app: 'web' }, ip: '10.1.0.5', sa: 'frontend', node: 'worker-1', ports: [{ name: 'http', containerPort: 8080 }, { containerPort: 9000 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }),
    pod('shop', 'pending', { labels: { app: 'web' } }),
    pod('shop', 'host', { hostNetwork: true, node: 'worker-1' }),
    pod('shop', 'x'.repeat(10), { sa: 's'.repeat(63), ip: '10.1.0.6' }),
    { ...pod('shop', 'done', { ip: '10.1.0.7' }), status: { phase: 'Succeeded', podIP: '10.1.0.7' } },
    { ...pod('shop', 'annotated'), metadata: { name: 'annotated', namespace: 'shop', annotations: { 'cni.projectcalico.org/podIP': '10.1.0.8/32' } } },
  ]);
  const r = buildEndpoints(cluster);
  const byId = new Map(r.endpoints.map((e) => [e.id, e]));

  it('labels, profiles and inherited labels', () => {
    const e = byId.get('shop/web-1')!;
    expect(e.labels).toEqual({
      app: 'web',
      'projectcalico.org/namespace': 'shop',
      'projectcalico.org/orchestrator': 'k8s',
      'projectcalico.org/serviceaccount': 'frontend',
    });
    expect(e.profiles).toEqual(['kns.shop', 'ksa.shop.frontend']);
    expect(e.profileLabels).toEqual({
      'pcns.team': 'shop',
      'pcns.kubernetes.io/metadata.name': 'shop',
      'pcns.projectcalico.org/name': 'shop',
      'pcsa.tier': 'web',
      'pcsa.projectcalico.org/name': 'frontend',
    });
    expect(e.getLabel('pcns.team')).toBe('shop');
    expect(e.getLabel('app')).toBe('web');
    expect(e.getLabel('constructor')).toBeUndefined();
    expect(effectiveLabels(e)['pcsa.tier']).toBe('web');
  });

  it('interface, WEP name, node, IPs, named ports (only named ones, with protocol)', () => {
    const e = byId.get('shop/web-1')!;
    expect(e.interfaceName).toBe(vethNameForWorkload('shop', 'web-1'));
    expect(e.wepName).toBe('worker--1-k8s-web--1-eth0');
    expect(e.node).toBe('worker-1');
    expect(e.ips).toEqual(['10.1.0.5']);
    expect(endpointIp(e, 4)).toBe('10.1.0.5');
    expect(e.ports).toEqual([
      { name: 'http', protocol: 6, protocolName: 'TCP', port: 8080 },
      { name: 'dns', protocol: 17, protocolName: 'UDP', port: 53 },
    ]);
    expect(e.source).toMatchObject({ artifact: 'cluster/test.yaml', line: 3 });
  });

  it('pods without IP are endpoints without IPs, flagged', () => {
    const e = byId.get('shop/pending')!;
    expect(e.ips).toEqual([]);
    expect(e.notes.join()).toMatch(/no IP|not scheduled/);
  });

  it('host-networked pods are not endpoints; finished pods are dropped', () => {
    expect(byId.has('shop/host')).toBe(false);
    expect(r.hostNetworkPods.map((h) => h.id)).toEqual(['shop/host']);
    expect(byId.has('shop/done')).toBe(false);
  });

  it('service account label only below 63 characters', () => {
    expect(byId.get(`shop/${'x'.repeat(10)}`)!.labels['projectcalico.org/serviceaccount']).toBeUndefined();
  });

  it('IP from the Calico CNI annotation when the status has none (getPodIPs)', () => {
    expect(byId.get('shop/annotated')!.ips).toEqual(['10.1.0.8']);
  });
});

describe('endpoints from WorkloadEndpoints and HostEndpoints', () => {
  const files = ['calicoctl-get-workloadendpoints-A.json', 'calicoctl-get-hostendpoints.yaml'].map((f) => ({
    path: `cluster/${f}`,
    text: readFileSync(path.join(root, 'test/fixtures/resources', f), 'utf8'),
  }));
  const { value: cluster } = loadClusterDir(files);
  const r = buildEndpoints(cluster);

  it('takes names, interface, IPs, labels and profiles from the WEP', () => {
    const wep = cluster.workloadEndpoints[0];
    const e = r.endpoints.find((x) => x.wepName === wep.metadata.name)!;
    expect(e.from).toBe('WorkloadEndpoint');
    expect(e.id).toBe(`${wep.metadata.namespace}/${wep.spec.pod}`);
    expect(e.interfaceName).toBe(wep.spec.interfaceName);
    expect(e.ips).toEqual(wep.spec.ipNetworks.map((n) => n.replace(/\/32$/, '')));
    expect(e.profiles).toEqual(wep.spec.profiles);
    expect(e.labels['projectcalico.org/namespace']).toBe(wep.metadata.namespace);
    // The namespace is not in these files: its profile labels are assumed and flagged.
    expect(e.profileLabels[`pcns.projectcalico.org/name`]).toBe(wep.metadata.namespace);
    expect(e.notes.join()).toContain('not in the bundle');
  });

  it('host endpoints get host:<node>/<name> ids and their expected IPs', () => {
    const h = r.endpoints.filter((x) => x.kind === 'host');
    expect(h.length).toBe(cluster.hostEndpoints.length);
    const hep = cluster.hostEndpoints[0];
    expect(h[0].id).toBe(`host:${hep.spec.node}/${hep.metadata.name}`);
    expect(h[0].ips).toEqual(hep.spec.expectedIPs);
    expect(h[0].labels).toEqual(hep.metadata.labels);
  });
});

describe('label inheritance', () => {
  it('own labels win over profile labels; the first profile wins over later ones', () => {
    const { cluster } = clusterFromObjects([
      { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'p1' }, spec: { labelsToApply: { role: 'from-p1', shared: 'p1' } } },
      { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'p2' }, spec: { labelsToApply: { shared: 'p2', only2: 'yes' } } },
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'WorkloadEndpoint',
        metadata: { name: 'n-k8s-p-eth0', namespace: 'default', labels: { role: 'own' } },
        spec: { node: 'n', orchestrator: 'k8s', pod: 'p', endpoint: 'eth0', ipNetworks: ['10.0.0.1/32'], profiles: ['p1', 'p2'], interfaceName: 'cali0' },
      },
    ]);
    const e = buildEndpoints(cluster).endpoints[0];
    expect(e.getLabel('role')).toBe('own');
    expect(e.getLabel('shared')).toBe('p1');
    expect(e.getLabel('only2')).toBe('yes');
    expect(e.profileLabelSource).toMatchObject({ shared: 'p1', only2: 'p2' });
    // Calico adds these on Kubernetes WEPs; a hand-written WEP without them gets them back.
    expect(e.labels['projectcalico.org/namespace']).toBe('default');
  });

  it('NetworkSets carry the namespace label and inherit the namespace profile', () => {
    const { cluster } = clusterFromObjects([
      ns('ops', { zone: 'a' }),
      { apiVersion: 'projectcalico.org/v3', kind: 'NetworkSet', metadata: { name: 'ext', namespace: 'ops', labels: { kind: 'ext' } }, spec: { nets: ['1.2.3.0/24', 'bogus'] } },
    ]);
    const r = buildEndpoints(cluster);
    const s = r.networkSets[0];
    expect(s.getLabel('projectcalico.org/namespace')).toBe('ops');
    expect(s.getLabel('pcns.zone')).toBe('a');
    expect(s.nets.map((c) => c.canonical)).toEqual(['1.2.3.0/24']);
    expect(r.issues.map((i) => i.reason).join()).toContain('bogus');
  });
});
