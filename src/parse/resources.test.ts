import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIssue, type ParseIssue } from '../model/evidence.js';
import { REDACTED, type ResourceObject } from '../model/resources.js';
import { buildClusterResources, loadClusterDir, parseResourceFile } from './resources.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixDir = path.join(root, 'test/fixtures/resources');
const read = (name: string) => readFileSync(path.join(fixDir, name), 'utf8');
const file = (name: string) => ({ path: `cluster/${name}`, text: read(name) });
const load = (...names: string[]) => loadClusterDir(names.map(file));
const fmt = (issues: ParseIssue[]) => issues.map(formatIssue);
/** 1-based numbers of the lines matching `re`. */
const linesMatching = (text: string, re: RegExp) =>
  text.split('\n').flatMap((l, i) => (re.test(l) ? [i + 1] : []));

const GOOD = readdirSync(fixDir).filter((n) => /\.(ya?ml|json)$/.test(n));

describe('parseResourceFile: kubectl and calicoctl output (fixtures printed by the real kubectl v1.32)', () => {
  it('reads every item of `kubectl get pods -A -o yaml` with the line its `- apiVersion:` is on', () => {
    const text = read('kubectl-get-pods-A.yaml');
    const r = parseResourceFile(text, 'cluster/pods.yaml');
    expect(r.issues).toEqual([]);
    expect(r.value.map((o) => o.kind)).toEqual(Array(7).fill('Pod'));
    expect(r.value.map((o) => o.source.line)).toEqual(linesMatching(text, /^- apiVersion: v1$/));
    expect(r.value.map((o) => o.source.itemIndex)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(r.value.every((o) => o.source.docIndex === 0 && o.source.artifact === 'cluster/pods.yaml')).toBe(true);
  });

  it('finds the start line of each List item in `kubectl get -o json` (4-space indent) and drops managedFields', () => {
    const text = read('kubectl-get-pods-shop-managed-fields.json');
    expect(text).toContain('"managedFields"');
    const r = parseResourceFile(text, 'p.json');
    expect(r.issues).toEqual([]);
    expect(r.value).toHaveLength(5);
    expect(r.value.map((o) => o.source.line)).toEqual(linesMatching(text, /^ {8}\{$/));
    for (const o of r.value) expect((o.body.metadata as Record<string, unknown>).managedFields).toBeUndefined();
  });

  it('reads calicoctl `<Kind>List` output and its JSON form (kind before apiVersion, 2-space indent)', () => {
    const y = parseResourceFile(read('calicoctl-get-globalnetworkpolicies.yaml'), 'g.yaml');
    expect(y.issues).toEqual([]);
    expect(y.value.map((o) => `${o.apiVersion} ${o.kind}`)).toEqual(Array(5).fill('projectcalico.org/v3 GlobalNetworkPolicy'));
    const text = read('calicoctl-get-workloadendpoints-A.json');
    const j = parseResourceFile(text, 'w.json');
    expect(j.issues).toEqual([]);
    expect(j.value.map((o) => o.source.line)).toEqual(linesMatching(text, /^ {4}\{$/));
  });

  it('gives a single object line 1 and no itemIndex', () => {
    const r = parseResourceFile(read('kubectl-get-ipamconfig-default.crd.yaml'), 'c.yaml');
    expect(r.value).toHaveLength(1);
    expect(r.value[0].source).toMatchObject({ line: 1, docIndex: 0 });
    expect(r.value[0].source.itemIndex).toBeUndefined();
  });

  it('reads a multi-document YAML mixing kinds, skipping comment-only documents, resolving in-document aliases', () => {
    const text = read('multi-doc-manifests.yaml');
    const r = parseResourceFile(text, 'm.yaml');
    expect(r.issues).toEqual([]);
    expect(r.value.map((o) => o.kind)).toEqual([
      'Tier',
      'NetworkPolicy',
      'StagedNetworkPolicy',
      'StagedKubernetesNetworkPolicy',
      'NetworkSet',
      'GlobalNetworkSet',
      'Deployment',
      'Secret',
      'BGPPeer',
    ]);
    // The comment before the first `---` belongs to that first document; the comment-only one is index 2.
    expect(r.value.map((o) => o.source.docIndex)).toEqual([0, 1, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.value.map((o) => o.source.line)).toEqual(linesMatching(text, /^apiVersion:/));
    const ns = r.value.find((o) => o.kind === 'NetworkSet')!;
    expect((ns.body.spec as Record<string, unknown>)['x-annotations-copy']).toEqual({ owner: 'shop-team' });
  });

  it('reads concatenated JSON documents, a top-level array (calicoctl with several types) and CRLF line ends', () => {
    const a = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }, null, 2);
    const b = JSON.stringify([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'c' } }], null, 2);
    const text = `${a}\n${b}\n`.replace(/\n/g, '\r\n');
    const r = parseResourceFile(text, 'x.json');
    expect(r.issues).toEqual([]);
    expect(r.value.map((o) => [(o.body.metadata as { name: string }).name, o.source.line, o.source.docIndex, o.source.itemIndex])).toEqual([
      ['a', 1, 0, undefined],
      ['b', 9, 1, 0],
      ['c', 16, 1, 1],
    ]);
  });

  it('reads a 10 MB single-line JSON List (`kubectl get pods -o json | jq -c`)', () => {
    const list = JSON.parse(read('kubectl-get-pods-shop-managed-fields.json'));
    const items = [];
    let size = 0;
    for (let i = 0; size < 10_000_000; i++) {
      const p = structuredClone(list.items[i % list.items.length]);
      p.metadata.name = `pod-${i}`;
      size += JSON.stringify(p).length;
      items.push(p);
    }
    const text = JSON.stringify({ ...list, items });
    expect(text.length).toBeGreaterThan(10_000_000);
    const r = parseResourceFile(text, 'big.json');
    expect(r.issues).toEqual([]);
    expect(r.value).toHaveLength(items.length);
    expect(r.value.every((o) => o.source.line === 1)).toBe(true);
  });

  it('reports a 10 MB single line of garbage once', () => {
    const r = parseResourceFile('x'.repeat(10_000_000), 'g.yaml');
    expect(r.value).toEqual([]);
    expect(r.issues.length).toBeLessThanOrEqual(2);
    expect(r.issues[0].reason.length).toBeLessThan(400);
  });

  it('treats an empty file as a warning', () => {
    expect(parseResourceFile('', 'e.yaml').issues).toEqual([{ artifact: 'e.yaml', line: 0, reason: 'empty file: no objects', severity: 'warning' }]);
    expect(parseResourceFile('\n\n  \n', 'e.yaml').issues).toHaveLength(1);
  });
});

describe('parseResourceFile: broken files', () => {
  const broken = (name: string) => parseResourceFile(read(`broken/${name}`), `cluster/${name}`);

  it('bad indentation in a List: reports file, line and item; keeps the items before the error and the next document', () => {
    const r = broken('bad-indent.yaml');
    expect(fmt(r.issues)).toEqual([
      'cluster/bad-indent.yaml:10: error: Namespace beta: YAML error: Nested mappings are not allowed in compact mappings (+1 more); kept the 1 list items before it, skipped 2',
    ]);
    expect(r.value.map((o) => (o.body.metadata as { name: string }).name)).toEqual(['alpha', 'delta']);
    expect(r.value[1].source).toMatchObject({ line: 21, docIndex: 1 });
  });

  it('a tab used as indentation: the document is skipped, the next one is read', () => {
    const r = broken('tab.yaml');
    expect(r.issues).toHaveLength(1);
    expect(formatIssue(r.issues[0])).toMatch(/^cluster\/tab\.yaml:8: error: GlobalNetworkPolicy tabbed: YAML error: Tabs are not allowed as indentation/);
    expect(r.value.map((o) => o.kind)).toEqual(['GlobalNetworkSet']);
  });

  it('a truncated JSON List: the complete items are read and the cut one is named', () => {
    const r = broken('truncated.json');
    expect(r.value.map((o) => (o.body.metadata as { name: string }).name)).toEqual(['default-deny-ingress', 'allow-frontend-to-backend']);
    expect(fmt(r.issues)).toEqual(['cluster/truncated.json:131: error: truncated JSON List (starts at line 1, never closed): read 2 complete items; the cut one (NetworkPolicy allow-dns-egress) is lost']);
  });

  it('a truncated YAML List (no `kind:` footer): items read, truncation suspected', () => {
    const r = broken('truncated.yaml');
    expect(r.value).toHaveLength(1);
    expect(r.issues).toEqual([expect.objectContaining({ line: 1, severity: 'warning', reason: expect.stringContaining('may be truncated') })]);
  });

  it('binary content: one issue for the whole file', () => {
    expect(fmt(broken('binary-gzip.yaml').issues)).toEqual(['cluster/binary-gzip.yaml: error: binary content, not YAML or JSON']);
  });

  it('an iptables-save dump given as YAML: a YAML error and a file-level "no objects" error', () => {
    const r = broken('iptables-save-as.yaml');
    expect(r.value).toEqual([]);
    expect(r.issues.map((i) => i.line)).toEqual([3, 0]);
    expect(r.issues[1].reason).toMatch(/no Kubernetes objects could be read/);
  });

  it('kubectl table output, kubectl errors and "No resources found"', () => {
    expect(broken('kubectl-table-output.yaml').issues[0].reason).toMatch(/^not a Kubernetes object but plain string: "NAME +READY/);
    expect(broken('kubectl-error.yaml').issues[0].reason).toBe('document: not a Kubernetes object: no kind (keys: error)');
    expect(broken('no-resources.yaml').issues).toEqual([expect.objectContaining({ severity: 'warning', reason: 'kubectl printed "No resources found in shop namespace." instead of objects' })]);
  });

  it('salvages the valid items of a JSON List with a syntax error inside one item', () => {
    const text = read('kubectl-get-networkpolicies-A.json').replace('"name": "allow-dns-egress"', '"name": "allow-dns-egress",,');
    const r = parseResourceFile(text, 'n.json');
    expect(r.value).toHaveLength(4);
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0].line).toBe(linesMatching(text, /allow-dns-egress",,/)[0]);
    expect(r.issues[0].reason).toMatch(/^NetworkPolicy allow-dns-egress: list item 2: invalid JSON/);
  });
});

describe('redaction while reading', () => {
  it('never keeps Secret data, kubeconfig tokens or plaintext BGP passwords; keeps references to secrets', () => {
    const r = load('kubectl-get-secrets-configmaps-A.yaml', 'multi-doc-manifests.yaml', 'kubectl-get-pods-A.yaml', 'calicoctl-get-bgppeers.yaml');
    const all = JSON.stringify(r.value);
    for (const secret of ['aHVudGVyMi1iZ3AtdmVyeS1zZWNyZXQ=', 'hunter2', 'correct-horse', 'eyJhbGciOi', 'plaintext-should-never-be-here']) expect(all).not.toContain(secret);
    const secret = r.value.other.find((o) => o.kind === 'Secret' && (o.body.metadata as { name: string }).name === 'bgp-secrets')!;
    expect(secret.body.data).toEqual({ 'rr-password': REDACTED });
    expect((secret.body.metadata as { annotations: Record<string, string> }).annotations['kubectl.kubernetes.io/last-applied-configuration']).toBe(REDACTED);
    const cm = r.value.other.find((o) => o.kind === 'ConfigMap')!.body.data as Record<string, string>;
    expect(cm.kubeconfig).toBe(REDACTED);
    expect(cm['prometheus.yml']).toContain('172.18.0.2:9091');
    const peer = r.value.bgpPeers.find((p) => p.metadata.name === 'rack-a-tor')!;
    expect(peer.spec.password).toEqual({ secretKeyRef: { name: 'bgp-secrets', key: 'rr-password' } });
    expect(r.value.bgpPeers.find((p) => p.metadata.name === 'legacy-plaintext-password')!.spec.password).toEqual({});
  });
});

describe('redaction of credential-looking fields outside Secrets', () => {
  it('plain environment variables named like credentials, and the same inside last-applied-configuration', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        namespace: 'n1',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{"containers":[{"env":[{"name":"DB_PASSWORD","value":"s3cr3t-value"}]}]}}' },
      },
      spec: { containers: [{ name: 'c', env: [{ name: 'DB_PASSWORD', value: 's3cr3t-value' }, { name: 'DB_HOST', value: 'db.shop' }, { name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'k', key: 'api-key' } } }] }] },
    };
    const r = parseResourceFile(JSON.stringify(pod), 'p.json');
    const text = JSON.stringify(r.value);
    expect(text).not.toContain('s3cr3t');
    expect(text).toContain('db.shop');
    expect(text).toContain('"secretKeyRef":{"name":"k","key":"api-key"}');
  });
});

describe('buildClusterResources: Kubernetes objects', () => {
  const { value: c, issues } = load(
    'kubectl-get-pods-A.yaml',
    'kubectl-get-namespaces.json',
    'kubectl-get-nodes.yaml',
    'kubectl-get-serviceaccounts-A.yaml',
    'kubectl-get-services-A.json',
    'kubectl-get-endpointslices-A.yaml',
    'kubectl-get-endpoints-A.yaml',
    'kubectl-get-networkpolicies-A.json',
  );
  const pod = (name: string) => c.pods.find((p) => p.metadata.name === name)!;

  it('has no issues and the expected counts', () => {
    expect(fmt(issues)).toEqual([]);
    expect([c.pods, c.namespaces, c.nodes, c.serviceAccounts, c.services, c.endpointSlices, c.endpoints, c.k8sNetworkPolicies].map((a) => a.length)).toEqual([7, 5, 3, 4, 6, 4, 2, 5]);
  });

  it('Pods: identity, node, IPs, readiness, service account, named ports, Calico CNI annotations', () => {
    const f = pod('frontend-6b9f7c7d5-x2kqp');
    expect(f.metadata).toMatchObject({ namespace: 'shop', labels: { app: 'frontend', tier: 'web', 'pod-template-hash': '6b9f7c7d5' } });
    expect(f.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'frontend-6b9f7c7d5', uid: 'b2c3d4e5-f6a7-4829-ab0c-2d3e4f5a6b15', controller: true }]);
    expect(f.spec).toEqual({
      nodeName: 'kind-worker',
      serviceAccountName: 'frontend',
      serviceAccountDefaulted: false,
      hostNetwork: false,
      containers: ['nginx'],
      ports: [{ container: 'nginx', name: 'http', containerPort: 80, protocol: 'TCP', protocolDefaulted: false }],
    });
    expect(f.status).toMatchObject({ phase: 'Running', podIP: '192.168.110.130', podIPs: ['192.168.110.130'], hostIP: '172.18.0.3', ready: true });
    expect(f.status).toMatchObject({ calicoPodIP: '192.168.110.130/32', calicoPodIPs: ['192.168.110.130/32'], calicoContainerID: expect.stringMatching(/^3f1e5b7c/) });
    expect(pod('backend-7d4f8b9c6-5tn2m').status.ready).toBe(false);
    expect(pod('coredns-668d6bf9bc-7xk2p').spec.ports.map((p) => `${p.name}/${p.containerPort}/${p.protocol}`)).toEqual(['dns/53/UDP', 'dns-tcp/53/TCP', 'metrics/9153/TCP']);
    const pending = pod('backend-7d4f8b9c6-qq7wz');
    expect(pending.spec.nodeName).toBeUndefined();
    expect(pending.status).toMatchObject({ phase: 'Pending', podIPs: [] });
    expect(pending.status.podIP).toBeUndefined();
    expect(pod('calico-node-4kq8x').spec.hostNetwork).toBe(true);
    expect(pod('frontend-6b9f7c7d5-old01').metadata.deletionTimestamp).toBe('2025-06-09T21:30:12Z');
    expect(pod('frontend-6b9f7c7d5-old01').status.calicoPodIPs).toEqual([]);
  });

  it('Namespaces, ServiceAccounts, Nodes (with the Calico data KDD keeps in node annotations)', () => {
    expect(c.namespaces.find((n) => n.metadata.name === 'shop')!.metadata.labels).toEqual({ env: 'prod', 'kubernetes.io/metadata.name': 'shop', team: 'shop' });
    expect(c.serviceAccounts.find((s) => s.metadata.name === 'frontend')!.metadata).toMatchObject({ namespace: 'shop', labels: { app: 'frontend', tier: 'web' } });
    const w2 = c.nodes.find((n) => n.metadata.name === 'kind-worker2')!;
    expect(w2.status.ready).toBe(false);
    expect(w2.status.addresses).toContainEqual({ type: 'InternalIP', address: '172.18.0.4' });
    expect(w2.calico).toEqual({
      ipv4Address: '172.18.0.4/16',
      ipv4VXLANTunnelAddr: '192.168.162.128',
      vxlanTunnelMACAddr: '66:02:9c:bb:47:d3',
      routeReflectorClusterID: '224.0.0.1',
      asNumber: 64512,
    });
    const cp = c.nodes.find((n) => n.metadata.name === 'kind-control-plane')!;
    expect(cp.spec).toMatchObject({ podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'], taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] });
    expect(cp.status.kernelVersion).toBe('6.8.0-60-generic');
  });

  it('Services: types, named target ports, load balancer IPs, headless, ExternalName, no-selector', () => {
    const svc = (ns: string, n: string) => c.services.find((s) => s.metadata.namespace === ns && s.metadata.name === n)!.spec;
    expect(svc('shop', 'frontend')).toMatchObject({
      type: 'LoadBalancer',
      clusterIP: '10.96.112.40',
      loadBalancerIPs: ['172.18.255.200'],
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 31870,
      ports: [{ name: 'http', port: 80, targetPort: 'http', targetPortDefaulted: false, nodePort: 30080, protocol: 'TCP' }],
      selector: { app: 'frontend' },
    });
    expect(svc('shop', 'backend')).toMatchObject({ sessionAffinity: 'ClientIP', ports: [{ targetPort: 'http-api' }, { targetPort: 9090, appProtocol: 'http' }] });
    expect(svc('shop', 'db')).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(svc('shop', 'payments')).toMatchObject({ type: 'ExternalName', externalName: 'payments.example.net', ports: [] });
    expect(svc('default', 'kubernetes').selector).toBeUndefined();
    expect(svc('kube-system', 'kube-dns').ports.map((p) => `${p.protocol}/${p.port}`)).toEqual(['UDP/53', 'TCP/53', 'TCP/9153']);
  });

  it('EndpointSlices and Endpoints', () => {
    const be = c.endpointSlices.find((e) => e.spec.serviceName === 'backend')!;
    expect(be.spec).toMatchObject({
      addressType: 'IPv4',
      endpoints: [{ addresses: ['192.168.162.131'], ready: false, serving: false, terminating: false, nodeName: 'kind-worker2', targetRef: { kind: 'Pod', name: 'backend-7d4f8b9c6-5tn2m', namespace: 'shop' } }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP', appProtocol: 'http' }],
    });
    const ep = c.endpoints.find((e) => e.metadata.name === 'backend')!;
    expect(ep.spec.subsets[0].addresses).toEqual([]);
    expect(ep.spec.subsets[0].notReadyAddresses.map((a) => a.ip)).toEqual(['192.168.162.131']);
  });

  it('Kubernetes NetworkPolicy: selectors, peers, ports, and absent vs empty vs `[{}]` kept apart', () => {
    const np = (n: string) => c.k8sNetworkPolicies.find((p) => p.metadata.name === n)!;
    expect(np('default-deny-ingress').spec).toEqual({ podSelector: { matchLabels: {}, matchExpressions: [] }, policyTypesGiven: true, policyTypes: ['Ingress'] });
    const fe = np('allow-frontend-to-backend').spec.ingress!;
    expect(fe).toHaveLength(1);
    expect(fe[0].peers).toEqual([{ podSelector: { matchLabels: { app: 'frontend' }, matchExpressions: [] } }]);
    expect(fe[0].ports).toEqual([
      { protocol: 'TCP', protocolDefaulted: false, port: 'http-api' },
      { protocol: 'TCP', protocolDefaulted: false, port: 9090 },
    ]);
    const dns = np('allow-dns-egress').spec;
    expect(dns.ingress).toBeUndefined();
    expect(dns.podSelector.matchExpressions).toEqual([{ key: 'tier', operator: 'In', values: ['web', 'api'] }]);
    expect(dns.egress!.map((r) => r.peers)).toEqual([
      [{ podSelector: { matchLabels: { 'k8s-app': 'kube-dns' }, matchExpressions: [] }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' }, matchExpressions: [] } }],
      [{ podSelector: { matchLabels: {}, matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'db-replica'] }, { key: 'deprecated', operator: 'DoesNotExist', values: [] }] } }],
      [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.96.0.0/12', '10.244.0.0/16'] } }],
    ]);
    expect(dns.egress![1].ports).toEqual([{ protocol: 'TCP', protocolDefaulted: false, port: 5432, endPort: 5440 }]);
    expect(dns.egress![2].ports).toBeUndefined();
    const mon = np('allow-all-from-monitoring').spec;
    expect(mon.policyTypesGiven).toBe(false);
    expect(mon.policyTypes).toBeUndefined();
    expect(mon.ingress![1]).toEqual({ index: 1, line: expect.any(Number) });
    expect(mon.ingress![1].peers).toBeUndefined();
  });

  it('rules carry the line they start on (JSON too)', () => {
    const text = read('kubectl-get-networkpolicies-A.json');
    const dns = c.k8sNetworkPolicies.find((p) => p.metadata.name === 'allow-dns-egress')!;
    const egressAt = linesMatching(text, /"egress": \[/)[0];
    expect(dns.spec.egress![0].line).toBe(egressAt + 1);
    expect(text.split('\n')[dns.spec.egress![0].line! - 1].trim()).toBe('{');
  });

  it('locates a deep field of a JSON List item for an issue', () => {
    const text = read('kubectl-get-networkpolicies-A.json').replace('"operator": "DoesNotExist"', '"operator": "doesNotExist"');
    const r = loadClusterDir([{ path: 'n.json', text }]);
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0].line).toBe(linesMatching(text, /"operator": "doesNotExist"/)[0]);
    expect(r.issues[0].reason).toMatch(/^NetworkPolicy shop\/allow-dns-egress: spec\.egress\[1\]\.to\[0\]\.podSelector\.matchExpressions\[1\]\.operator "doesNotExist"/);
  });

  it('defaults the protocol of a Kubernetes policy port to TCP and records that it was defaulted', () => {
    const r = buildClusterResources(
      parseResourceFile('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: ns1}\nspec:\n  podSelector: {}\n  ingress:\n  - from: []\n    ports: [{port: 80}]\n', 'x').value,
    );
    expect(r.issues).toEqual([]);
    const rule = r.value.k8sNetworkPolicies[0].spec.ingress![0];
    expect(rule.peers).toEqual([]);
    expect(rule.ports).toEqual([{ protocol: 'TCP', protocolDefaulted: true, port: 80 }]);
  });

  it('agrees with the Kubernetes NetworkPolicy conformance vectors: every policy builds without issues', () => {
    const cases = JSON.parse(readFileSync(path.join(root, '../shared/conformance/netpol-cases.json'), 'utf8')) as { policies: unknown[] }[];
    const objs = cases.flatMap((tc, i) =>
      tc.policies.map((p, j) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', body: p as Record<string, unknown>, source: { artifact: `case-${i}`, line: j + 1, docIndex: 0 } }) as ResourceObject),
    );
    const objsUnique = objs.map((o, k) => ({ ...o, body: { ...o.body, metadata: { ...(o.body.metadata as object), name: `p${k}` } } }));
    const r = buildClusterResources(objsUnique);
    expect(fmt(r.issues)).toEqual([]);
    expect(r.value.k8sNetworkPolicies).toHaveLength(objs.length);
  });
});

describe('buildClusterResources: Calico policy', () => {
  const { value: c, issues } = load('calicoctl-get-globalnetworkpolicies.yaml', 'calicoctl-get-stagedglobalnetworkpolicies.yaml', 'kubectl-get-calico-policies.crd.yaml', 'multi-doc-manifests.yaml', 'calicoctl-get-profiles.yaml');
  const gnp = (n: string) => c.globalNetworkPolicies.find((p) => p.metadata.name === n)!;

  it('only the expected duplicate (the same GNP in v3 and CRD form) is reported', () => {
    expect(fmt(issues)).toEqual([
      'cluster/kubectl-get-calico-policies.crd.yaml:62: warning: GlobalNetworkPolicy security.block-cloud-metadata: also defined at cluster/calicoctl-get-globalnetworkpolicies.yaml:38; the later one (this) is used',
    ]);
    expect(c.globalNetworkPolicies).toHaveLength(5);
    expect(gnp('security.block-cloud-metadata').form).toBe('crd');
  });

  it('types rules: actions, protocols (name or number), ICMP, ports (number, range, named), selectors, nets', () => {
    const d = gnp('default-deny-egress').spec;
    expect(d).toMatchObject({ tier: 'default', policyName: 'default-deny-egress', order: 2000, selector: 'all()', types: ['Egress'], typesGiven: true });
    expect(d.namespaceSelector).toMatch(/^has\(projectcalico.org\/name\)/);
    expect(d.ingress).toBeUndefined();
    const [dns, icmp, log, deny] = d.egress!;
    expect(dns).toMatchObject({ action: 'Allow', protocol: { raw: 'UDP', name: 'UDP', number: 17 } });
    expect(dns.destination).toMatchObject({ selector: "k8s-app == 'kube-dns'", namespaceSelector: "projectcalico.org/name == 'kube-system'", ports: [{ kind: 'number', port: 53, raw: 53 }] });
    expect(icmp).toMatchObject({ action: 'Allow', protocol: { name: 'ICMP', number: 1 }, icmp: { type: 8, code: 0 } });
    expect(log).toMatchObject({ action: 'Log', notProtocol: { name: 'TCP' } });
    expect(deny).toMatchObject({ action: 'Deny', ipVersion: 4, destination: { notNets: ['10.0.0.0/8', '192.168.0.0/16'] } });
    const admins = gnp('security.allow-api-from-admins').spec;
    expect(admins).toMatchObject({ tier: 'security', order: 20 });
    expect(admins.serviceAccountSelector).toBeUndefined();
    expect(admins.ingress![0].destination.ports).toEqual([
      { kind: 'range', from: 8000, to: 8100, raw: '8000:8100' },
      { kind: 'named', name: 'http-api', raw: 'http-api' },
    ]);
    expect(admins.ingress![0]).toMatchObject({
      source: { serviceAccounts: { names: [], selector: "role == 'admin'" } },
      destination: { serviceAccounts: { names: ['default'] } },
      http: { methods: ['GET'], paths: [{ prefix: '/api/' }, { exact: '/healthz' }] },
      annotations: { ticket: 'NET-1234' },
    });
    expect(gnp('untracked-dns').spec.ingress![0].protocol).toEqual({ raw: 17, name: 'UDP', number: 17 });
  });

  it('keeps `egress: []` apart from no egress, and the host-endpoint flags', () => {
    expect(gnp('untracked-dns').spec).toMatchObject({ doNotTrack: true, applyOnForward: true, preDNAT: false, egress: [], typesGiven: false, performanceHints: ['AssumeNeededOnEveryNode'] });
    expect(gnp('host-ssh-prednat').spec).toMatchObject({ preDNAT: true, applyOnForward: true, doNotTrack: false });
    expect(gnp('host-ssh-prednat').spec.egress).toBeUndefined();
  });

  it('rules carry their line', () => {
    const text = read('calicoctl-get-globalnetworkpolicies.yaml');
    const lines = gnp('default-deny-egress').spec.egress!.map((r) => r.line!);
    expect(lines.map((l) => text.split('\n')[l - 1].trim())).toEqual(['- action: Allow', '- action: Allow', '- action: Log', '- action: Deny']);
  });

  it('CRD form: the `default.` prefix of default-tier names is dropped from policyName, other tiers keep theirs', () => {
    const np = c.calicoNetworkPolicies.find((p) => p.metadata.name === 'default.allow-frontend-ingress')!;
    expect(np).toMatchObject({ form: 'crd', spec: { tier: 'default', policyName: 'allow-frontend-ingress', order: 500, selector: "app == 'frontend'" } });
    expect(np.spec.ingress![0].source.nets).toEqual(['172.18.0.0/16']);
    expect(gnp('security.block-cloud-metadata').spec).toMatchObject({ tier: 'security', policyName: 'security.block-cloud-metadata' });
    const pl = c.calicoNetworkPolicies.find((p) => p.metadata.name === 'platform.allow-prometheus')!;
    expect(pl.spec).toMatchObject({ tier: 'platform', policyName: 'platform.allow-prometheus' });
    expect(pl.spec.ingress![0].destination.ports).toEqual([
      { kind: 'named', name: 'metrics', raw: 'metrics' },
      { kind: 'number', port: 9090, raw: 9090 },
    ]);
  });

  it('tiers, staged kinds and profiles', () => {
    expect(c.tiers.map((t) => [t.metadata.name, t.spec.order, t.spec.defaultAction, t.spec.defaulted])).toEqual([
      ['security', 100, 'Pass', []],
      ['default', 1000000, 'Deny', ['defaultAction']],
      ['platform', 50, 'Deny', ['defaultAction']],
    ]);
    expect(c.stagedGlobalNetworkPolicies[0].spec).toMatchObject({ stagedAction: 'Set', ingress: [{ action: 'Deny', source: { namespaceSelector: "team == 'platform'" } }] });
    expect(c.stagedNetworkPolicies[0].spec).toMatchObject({ stagedAction: 'Set', tier: 'default', typesGiven: false });
    expect(c.stagedKubernetesNetworkPolicies[0].spec).toMatchObject({ stagedAction: 'Set', policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 'postgres', protocolDefaulted: true }] }] });
    const kns = c.profiles.find((p) => p.metadata.name === 'kns.shop')!;
    expect(kns.spec.labelsToApply).toMatchObject({ 'pcns.projectcalico.org/name': 'shop', 'pcns.team': 'shop' });
    expect(kns.spec.ingress!.map((r) => r.action)).toEqual(['Allow']);
    expect(c.profiles.find((p) => p.metadata.name === 'ksa.shop.frontend')!.spec.ingress).toBeUndefined();
  });

  it('Calico validation errors name file, line of the field, object and reason; the policy is kept and marked', () => {
    const r = load('broken/invalid-action.yaml');
    expect(fmt(r.issues)).toEqual([
      'cluster/broken/invalid-action.yaml:11: error: NetworkPolicy default/foo: spec.ingress[0].action "allow" is not one of Allow, Deny, Pass, Log (Calico is case-sensitive)',
      'cluster/broken/invalid-action.yaml:12: error: NetworkPolicy default/foo: spec.ingress[0].protocol "tcp" is not one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite (Calico is case-sensitive)',
      'cluster/broken/invalid-action.yaml:16: error: NetworkPolicy default/foo: spec.ingress[1].action "Permit" is not one of Allow, Deny, Pass, Log',
      'cluster/broken/invalid-action.yaml:23: error: NetworkPolicy default/foo: spec.ingress[2].destination.ports protocol ICMP does not support ports',
      'cluster/broken/invalid-action.yaml:27: error: NetworkPolicy default/foo: spec.ingress[3].destination.ports numeric ports need protocol TCP, UDP or SCTP on the rule',
    ]);
    const p = r.value.calicoNetworkPolicies[0];
    // Felix lower-cases actions and protocols, so the case-only mistakes are read as meant.
    expect(p.spec.ingress!.map((x) => x.action)).toEqual(['Allow', undefined, 'Deny', 'Allow']);
    expect(p.spec.ingress![0].protocol).toEqual({ raw: 'tcp', name: 'TCP', number: 6 });
    expect(p.invalid).toHaveLength(5);
  });

  it('reports the first problems of hand-written rules: ICMP code without type, mixed IP versions, preDNAT without applyOnForward', () => {
    const text = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: bad
spec:
  preDNAT: true
  types: [Ingress, egress]
  ingress:
  - action: Deny
    protocol: ICMP
    icmp: {code: 3}
    source:
      nets: [10.0.0.0/8, "fd00::/8"]
`;
    const r = loadClusterDir([{ path: 'g.yaml', text }]);
    expect(fmt(r.issues)).toEqual([
      'g.yaml:7: error: GlobalNetworkPolicy bad: spec.types[1] "egress" is not one of Ingress, Egress (Calico is case-sensitive)',
      'g.yaml:11: error: GlobalNetworkPolicy bad: spec.ingress[0].icmp ICMP code specified without an ICMP type',
      'g.yaml:9: error: GlobalNetworkPolicy bad: spec.ingress[0] rule contains both IPv4 and IPv6 CIDRs',
      "g.yaml:7: error: GlobalNetworkPolicy bad: spec.types a preDNAT policy cannot have the 'Egress' type",
      'g.yaml:5: error: GlobalNetworkPolicy bad: spec.applyOnForward must be true when preDNAT or doNotTrack is true',
    ]);
    expect(r.value.globalNetworkPolicies[0].spec.types).toEqual(['Ingress', 'Egress']);
  });

  it('points at the field line inside a JSON file too, and at the object line without file texts', () => {
    const text = JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'j' }, spec: { ingress: [{ action: 'Allow' }, { action: 'deny' }] } }, null, 2);
    const objs = parseResourceFile(text, 'j.json').value;
    const withText = buildClusterResources(objs, { texts: new Map([['j.json', text]]) });
    expect(withText.issues.map((i) => i.line)).toEqual([linesMatching(text, /"deny"/)[0]]);
    expect(buildClusterResources(objs).issues.map((i) => i.line)).toEqual([1]);
  });
});

describe('buildClusterResources: IPAM, BGP, configuration, endpoints', () => {
  const { value: c, issues } = load(
    'kubectl-get-ippools.crd.yaml',
    'kubectl-get-ipamblocks.crd.yaml',
    'kubectl-get-blockaffinities.crd.yaml',
    'kubectl-get-ipamhandles.crd.json',
    'kubectl-get-ipamconfig-default.crd.yaml',
    'calicoctl-get-bgppeers.yaml',
    'kubectl-get-bgpconfigurations.crd.yaml',
    'calicoctl-get-bgpfilters.yaml',
    'kubectl-get-felixconfigurations.crd.yaml',
    'kubectl-get-clusterinformation-default.crd.json',
    'kubectl-get-kubecontrollersconfigurations.crd.yaml',
    'calicoctl-get-nodes.yaml',
    'calicoctl-get-caliconodestatuses.yaml',
    'calicoctl-get-workloadendpoints-A.json',
    'calicoctl-get-hostendpoints.yaml',
    'calicoctl-get-globalnetworksets.yaml',
  );

  it('has no issues', () => {
    expect(fmt(issues)).toEqual([]);
  });

  it('IPPools with Calico defaults applied and recorded, and v1-era fields mapped', () => {
    const pool = (n: string) => c.ipPools.find((p) => p.metadata.name === n)!.spec;
    expect(pool('default-ipv4-ippool')).toEqual({
      cidr: '192.168.0.0/16',
      ipVersion: 4,
      blockSize: 26,
      ipipMode: 'Never',
      vxlanMode: 'Always',
      natOutgoing: true,
      disabled: false,
      disableBGPExport: false,
      nodeSelector: 'all()',
      allowedUses: ['Workload', 'Tunnel'],
      assignmentMode: 'Automatic',
      defaulted: ['assignmentMode'],
    });
    expect(pool('lb-pool')).toMatchObject({ blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', allowedUses: ['LoadBalancer'], defaulted: ['blockSize', 'ipipMode', 'vxlanMode', 'nodeSelector', 'assignmentMode'] });
    expect(pool('legacy-ipip-pool')).toMatchObject({ ipipMode: 'CrossSubnet', natOutgoing: true, disabled: true, deprecatedFields: ['ipip', 'nat-outgoing'] });
  });

  it('IPAMBlocks with their full allocation arrays, attributes and affinity', () => {
    const b = c.ipamBlocks.find((x) => x.spec.cidr === '192.168.162.128/26')!;
    expect(b.metadata.name).toBe('192-168-162-128-26');
    expect(b.spec.allocations).toHaveLength(64);
    expect(b.spec.allocations.slice(0, 6)).toEqual([0, null, null, 1, null, 2]);
    expect(b.spec.unallocated).toHaveLength(61);
    expect(b.spec.unallocated.slice(-3)).toEqual([1, 2, 4]);
    expect(b.spec).toMatchObject({ affinity: 'host:kind-worker2', affinityType: 'host', affinityNode: 'kind-worker2', deleted: false, strictAffinity: false, sequenceNumber: 9 });
    expect(b.spec.attributes[0]).toEqual({ handleID: 'vxlan-tunnel-addr-kind-worker2', secondary: { node: 'kind-worker2', type: 'vxlanTunnelAddress' } });
    expect(b.spec.attributes[2].secondary.pod).toBe('backend-7d4f8b9c6-gone1');
  });

  it('BlockAffinities (deleted stored as a string), IPAMHandles, IPAMConfig', () => {
    expect(c.blockAffinities.map((a) => [a.spec.node, a.spec.cidr, a.spec.state, a.spec.deleted])).toEqual([
      ['kind-control-plane', '192.168.82.0/26', 'confirmed', false],
      ['kind-worker', '192.168.110.128/26', 'confirmed', false],
      ['kind-worker2', '192.168.162.128/26', 'confirmed', false],
      ['kind-worker2', '192.168.162.192/26', 'pendingDeletion', true],
    ]);
    expect(c.ipamHandles).toHaveLength(9);
    expect(c.ipamHandles.find((h) => h.spec.handleID === 'vxlan-tunnel-addr-kind-worker')!.spec).toEqual({ handleID: 'vxlan-tunnel-addr-kind-worker', block: { '192.168.110.128/26': 1 }, deleted: false });
    expect(c.ipamConfigs[0].spec).toEqual({ strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 0 });
  });

  it('BGP peers, configuration (defaults, per-node scope) and filters', () => {
    const peer = (n: string) => c.bgpPeers.find((p) => p.metadata.name === n)!.spec;
    expect(peer('rack-a-tor')).toEqual({
      peerIP: '172.18.0.1',
      peerAddress: '172.18.0.1',
      asNumber: 64513,
      nodeSelector: "rack == 'a'",
      keepOriginalNextHop: true,
      filters: ['export-lb-only'],
      password: { secretKeyRef: { name: 'bgp-secrets', key: 'rr-password' } },
    });
    expect(peer('peer-with-route-reflectors')).toMatchObject({ nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" });
    expect(peer('kind-worker2-upstream-v6')).toMatchObject({ node: 'kind-worker2', peerAddress: 'fd00:10::1', peerPort: 1790, asNumber: 65001, ttlSecurity: 1, sourceAddress: 'None' });
    const def = c.bgpConfigurations.find((b) => b.metadata.name === 'default')!.spec;
    expect(def).toMatchObject({ scope: 'global', nodeToNodeMeshEnabled: false, asNumber: 64512, bindMode: 'NodeIP', serviceClusterIPs: ['10.96.0.0/12'], serviceLoadBalancerIPs: ['172.18.255.192/26'], defaulted: [] });
    const node = c.bgpConfigurations.find((b) => b.metadata.name === 'node.kind-worker2')!.spec;
    expect(node).toMatchObject({ scope: 'node', scopeNode: 'kind-worker2', logSeverityScreen: 'Debug', nodeToNodeMeshEnabled: true, defaulted: ['nodeToNodeMeshEnabled', 'asNumber', 'listenPort', 'bindMode'] });
    expect(c.bgpFilters[0].spec.exportV4).toEqual([{ action: 'Accept', cidr: '172.18.255.192/26', matchOperator: 'In', prefixLength: { max: 32 } }, { action: 'Reject' }]);
  });

  it('FelixConfiguration: typed fields with Felix-style case normalisation, everything else in raw', () => {
    const def = c.felixConfigurations.find((f) => f.metadata.name === 'default')!.spec;
    expect(def).toMatchObject({
      scope: 'global',
      defaultEndpointToHostAction: 'Accept',
      iptablesBackend: 'Auto',
      iptablesMarkMask: 0xffff0000,
      vxlanEnabled: true,
      vxlanPort: 4789,
      vxlanVNI: 4096,
      wireguardEnabled: false,
      bpfEnabled: false,
      natOutgoingExclusions: 'IPPoolsAndHostIPs',
      prometheusMetricsEnabled: true,
      logSeverityScreen: 'Info',
      healthPort: 9099,
      routeTableRange: { min: 1, max: 250 },
    });
    expect(def.failsafeOutboundHostPorts).toContainEqual({ protocol: 'TCP', port: 443, net: '10.96.0.0/12' });
    expect(def.raw.floatingIPs).toBe('Disabled');
    const w2 = c.felixConfigurations.find((f) => f.metadata.name === 'node.kind-worker2')!.spec;
    expect(w2).toMatchObject({ scope: 'node', scopeNode: 'kind-worker2', chainInsertMode: 'Append', logSeverityScreen: 'Debug', vxlanMTU: 1410 });
  });

  it('ClusterInformation, KubeControllersConfiguration, Calico Nodes and CalicoNodeStatus', () => {
    expect(c.clusterInformations[0].spec).toEqual({ calicoVersion: 'v3.30.3', clusterGUID: '3a9c2f71d6e84b0c9d1e2f3a4b5c6d7e', clusterType: 'typha,kdd,k8s,operator,bgp,kubeadm', datastoreReady: true });
    const kcc = c.kubeControllersConfigurations[0].spec;
    expect(kcc).toMatchObject({ healthChecks: 'Enabled', logSeverityScreen: 'Info', controllers: { node: { syncLabels: 'Enabled' }, loadBalancer: { assignIPs: 'AllServices' } } });
    expect(kcc.status).toMatchObject({ environmentVars: { ENABLED_CONTROLLERS: 'node,loadbalancer' } });
    const w = c.calicoNodes.find((n) => n.metadata.name === 'kind-worker')!;
    expect(w.spec).toMatchObject({ bgp: { ipv4Address: '172.18.0.3/16' }, ipv4VXLANTunnelAddr: '192.168.110.128', vxlanTunnelMACAddr: '66:7d:e1:03:5a:91', wireguard: { interfaceIPv4Address: '192.168.110.129' } });
    expect(w.status.wireguardPublicKey).toBe('jlkVyQYooZYzI2wFfNhSZez5eWh44yfq1wKVjLvSXgY=');
    expect(c.calicoNodes.find((n) => n.metadata.name === 'kind-worker2')!.spec.bgp).toEqual({ asNumber: 64512, ipv4Address: '172.18.0.4/16', routeReflectorClusterID: '224.0.0.1' });
    const st = c.caliconodestatuses[0];
    expect(st.spec).toEqual({ node: 'kind-worker2', classes: ['Agent', 'BGP', 'Routes'], updatePeriodSeconds: 10 });
    expect(st.status).toMatchObject({ birdV4: { state: 'Ready', routerID: '172.18.0.4' }, numberEstablishedV4: 1, numberNotEstablishedV4: 1 });
    expect(st.status.peersV4).toEqual([
      { peerIP: '172.18.0.3', since: '21:02:13', state: 'Established', type: 'NodeMesh' },
      { peerIP: '172.18.0.1', since: '21:01:52', state: 'Active', type: 'GlobalPeer' },
    ]);
    expect(st.status.routesV4[1]).toEqual({ destination: '192.168.162.128/26', gateway: 'N/A', interface: 'blackhole', type: 'FIB', learnedFrom: { sourceType: 'Static' } });
  });

  it('WorkloadEndpoints, HostEndpoints, network sets', () => {
    const wep = c.workloadEndpoints.find((w) => w.spec.pod === 'backend-7d4f8b9c6-5tn2m')!;
    expect(wep.metadata).toMatchObject({ name: 'kind--worker2-k8s-backend--7d4f8b9c6--5tn2m-eth0', namespace: 'shop' });
    expect(wep.metadata.labels['projectcalico.org/serviceaccount']).toBe('default');
    expect(wep.spec).toMatchObject({
      orchestrator: 'k8s',
      node: 'kind-worker2',
      endpoint: 'eth0',
      interfaceName: 'cali50f93b6ed29',
      ipNetworks: ['192.168.162.131/32'],
      profiles: ['kns.shop', 'ksa.shop.default'],
      serviceAccountName: 'default',
    });
    expect(wep.spec.ports).toEqual([
      { name: 'http-api', protocol: { raw: 'TCP', name: 'TCP', number: 6 }, port: 8080 },
      { name: 'metrics', protocol: { raw: 'TCP', name: 'TCP', number: 6 }, port: 9090 },
    ]);
    expect(c.hostEndpoints[0].spec).toEqual({ node: 'kind-worker', interfaceName: 'eth0', expectedIPs: ['172.18.0.3'], profiles: [], ports: [{ name: 'ssh', protocol: { raw: 'TCP', name: 'TCP', number: 6 }, port: 22 }] });
    expect(c.globalNetworkSets[0].spec.nets).toEqual(['203.0.113.0/24', '198.51.100.17/32', '2001:db8:1::/48']);
  });
});

describe('buildClusterResources: classification, duplicates, wrong types', () => {
  it('keeps unknown kinds in `other` with counts, without issues', () => {
    const r = load('multi-doc-manifests.yaml', 'kubectl-get-secrets-configmaps-A.yaml');
    expect(r.issues).toEqual([]);
    expect(r.value.otherCounts).toEqual({ 'apps/v1 Deployment': 1, 'v1 Secret': 2, 'v1 ConfigMap': 1 });
    expect(r.value.other).toHaveLength(4);
  });

  it('duplicates: warns with both places and keeps the later one', () => {
    const r = load('kubectl-get-pods-A.yaml', 'kubectl-get-pods-shop-managed-fields.json');
    expect(r.value.pods).toHaveLength(7);
    expect(r.issues).toHaveLength(5);
    expect(formatIssue(r.issues[0])).toBe(
      'cluster/kubectl-get-pods-shop-managed-fields.json:4: warning: Pod shop/frontend-6b9f7c7d5-x2kqp: also defined at cluster/kubectl-get-pods-A.yaml:3; the later one (this) is used',
    );
    expect(r.value.pods.find((p) => p.metadata.name === 'db-0')!.source.artifact).toBe('cluster/kubectl-get-pods-shop-managed-fields.json');
  });

  it('objects without apiVersion: read when the kind is unambiguous, not when it could be Kubernetes or Calico', () => {
    const r = loadClusterDir([{ path: 'a.yaml', text: 'kind: Pod\nmetadata: {name: p, namespace: ns1}\n---\nkind: Node\nmetadata: {name: n1}\n---\nkind: IPPool\nmetadata: {name: x}\nspec: {cidr: 10.0.0.0/8}\n' }]);
    expect(r.value.pods).toHaveLength(1);
    expect(r.value.ipPools).toHaveLength(1);
    expect(r.value.ipPools[0].form).toBe('v3');
    expect(r.value.nodes).toHaveLength(0);
    expect(r.value.otherCounts).toEqual({ '<no apiVersion> Node': 1 });
    expect(fmt(r.issues)).toEqual([
      'a.yaml:1: warning: Pod ns1/p: no apiVersion; read as v1',
      'a.yaml:4: warning: Node n1: no apiVersion, and Node exists in both Kubernetes and Calico; not read',
      'a.yaml:7: warning: IPPool x: no apiVersion; read as projectcalico.org/v3',
    ]);
  });

  it('wrong types, bad enums and a missing name are errors naming the field line; the objects are kept', () => {
    const r = load('broken/wrong-types.yaml');
    expect(fmt(r.issues)).toEqual([
      'cluster/broken/wrong-types.yaml:7: error: IPPool typo-pool: spec.blockSize should be a number, got the string "26"',
      'cluster/broken/wrong-types.yaml:9: error: IPPool typo-pool: spec.ipipMode "always" is not one of Never, Always, CrossSubnet (Calico is case-sensitive)',
      'cluster/broken/wrong-types.yaml:8: error: IPPool typo-pool: spec.natOutgoing should be a boolean, got "yes"',
      'cluster/broken/wrong-types.yaml:20: error: Service default/web: spec.ports[0].port should be a number, got "http"',
      'cluster/broken/wrong-types.yaml:47: error: NetworkPolicy default/bad-peers: spec.policyTypes[0] "ingress" is not one of Ingress, Egress (Kubernetes is case-sensitive)',
      'cluster/broken/wrong-types.yaml:38: error: NetworkPolicy default/bad-peers: spec.ingress[0].from[0].ipBlock.cidr "10.0.0.0/33" is not a valid CIDR',
      'cluster/broken/wrong-types.yaml:42: error: NetworkPolicy default/bad-peers: spec.ingress[0].from[1].podSelector.matchExpressions[0].operator "in" is not one of In, NotIn, Exists, DoesNotExist (Kubernetes… (179 chars)',
      'cluster/broken/wrong-types.yaml:46: error: NetworkPolicy default/bad-peers: spec.ingress[0].ports[0].protocol "tcp" is not one of TCP, UDP, SCTP (Kubernetes is case-sensitive)',
      'cluster/broken/wrong-types.yaml:51: error: Tier <no name>: metadata.name is missing',
      'cluster/broken/wrong-types.yaml:53: error: Tier <no name>: spec.order should be a number, got "first"',
    ]);
    expect(r.value.ipPools[0].spec).toMatchObject({ blockSize: 26, ipipMode: 'Never', natOutgoing: false });
    expect(r.value.ipPools[0].invalid).toHaveLength(3);
    expect(r.value.tiers).toHaveLength(1);
  });

  it('accepts asdot AS numbers and string "true"/"false" where Calico stores them so', () => {
    const r = loadClusterDir([
      {
        path: 'b.yaml',
        text: 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.1, asNumber: "1.10"}\n---\napiVersion: crd.projectcalico.org/v1\nkind: BlockAffinity\nmetadata: {name: a}\nspec: {node: node1, cidr: 10.0.0.0/26, state: confirmed, deleted: "True"}\n',
      },
    ]);
    expect(r.issues).toEqual([]);
    expect(r.value.bgpPeers[0].spec.asNumber).toBe(65546);
    expect(r.value.blockAffinities[0].spec.deleted).toBe(true);
  });

  it('reads YAML as kubectl does (YAML 1.1): unquoted yes/no are booleans, port ranges and timestamps stay strings', () => {
    const r = loadClusterDir([
      {
        path: 'y.yaml',
        text: 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p, creationTimestamp: 2025-06-03T09:41:02Z, labels: {enabled: yes}}\nspec: {cidr: 10.0.0.0/16, natOutgoing: yes}\n---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n    destination: {ports: [8000:8100]}\n',
      },
    ]);
    expect(r.value.ipPools[0].spec.natOutgoing).toBe(true);
    expect(r.value.ipPools[0].metadata.creationTimestamp).toBe('2025-06-03T09:41:02Z');
    expect(fmt(r.issues)).toEqual(['y.yaml:3: error: IPPool p: metadata.labels.enabled should be a string, got boolean true (unquoted yes/no/on/off/y/n are booleans to kubectl: quote it)']);
    expect(r.value.globalNetworkPolicies[0].spec.ingress![0].destination.ports).toEqual([{ kind: 'range', from: 8000, to: 8100, raw: '8000:8100' }]);
  });

  it('loadClusterDir of nothing is an empty model', () => {
    const r = loadClusterDir([]);
    expect(r.issues).toEqual([]);
    expect(r.value.pods).toEqual([]);
    expect(r.value.other).toEqual([]);
  });

  it('every good fixture parses without errors', () => {
    for (const name of GOOD) {
      const r = parseResourceFile(read(name), name);
      expect(r.issues.filter((i) => i.severity === 'error'), name).toEqual([]);
      expect(r.value.length, name).toBeGreaterThan(0);
    }
  });
});

describe('never throws (property-based)', () => {
  const fixtures = GOOD.map(read);
  const lineCount = (t: string) => t.split('\n').length;
  const valid = (issues: ParseIssue[], text: string) => issues.every((i) => Number.isInteger(i.line) && i.line >= 0 && i.line <= lineCount(text) + 1);
  const run = (text: string) => {
    const r = parseResourceFile(text, 'f');
    expect(valid(r.issues, text)).toBe(true);
    const b = loadClusterDir([{ path: 'f', text }]);
    expect(valid(b.issues, text)).toBe(true);
    return r;
  };

  it('random strings and YAML/JSON-ish text', () => {
    const yamlish = fc.array(fc.constantFrom('apiVersion: v1', 'kind: Pod', 'kind: List', 'items:', '- ', '  ', 'metadata:', '  name: x', '---', '{', '}', '[', ']', '"', ':', ',', '\t', '&a', '*a', '!!str', 'null', '\r\n', '\n', '# c', 'spec:', '  ingress:', '  - action: Allow'), { maxLength: 60 }).map((a) => a.join(''));
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 400 }), fc.string({ unit: 'binary', maxLength: 200 }), yamlish), (s) => void run(s)), { numRuns: 400 });
  });

  it('random JSON values and Kubernetes-shaped objects with random field values', () => {
    const kinds = ['Pod', 'Service', 'NetworkPolicy', 'GlobalNetworkPolicy', 'IPPool', 'IPAMBlock', 'BlockAffinity', 'BGPPeer', 'BGPConfiguration', 'FelixConfiguration', 'Node', 'EndpointSlice', 'Endpoints', 'WorkloadEndpoint', 'Profile', 'Tier', 'CalicoNodeStatus', 'StagedKubernetesNetworkPolicy', 'BGPFilter', 'HostEndpoint', 'KubeControllersConfiguration'];
    const apis = ['v1', 'networking.k8s.io/v1', 'discovery.k8s.io/v1', 'projectcalico.org/v3', 'crd.projectcalico.org/v1'];
    const obj = fc.record({
      apiVersion: fc.constantFrom(...apis),
      kind: fc.constantFrom(...kinds),
      metadata: fc.oneof(fc.record({ name: fc.string(), namespace: fc.string(), labels: fc.anything() }), fc.anything()),
      spec: fc.anything(),
      status: fc.anything(),
      addressType: fc.anything(),
      endpoints: fc.anything(),
      subsets: fc.anything(),
    });
    const ruleSpec = fc.record({ ingress: fc.array(fc.record({ action: fc.anything(), protocol: fc.anything(), source: fc.anything(), destination: fc.record({ ports: fc.anything(), nets: fc.anything() }) })), egress: fc.anything(), types: fc.anything(), podSelector: fc.anything(), order: fc.anything() });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), obj, obj.map((o) => ({ ...o, spec: undefined })).chain((o) => ruleSpec.map((spec) => ({ ...o, spec })))), fc.boolean(), (v, asYaml) => {
        const json = JSON.stringify(v) ?? 'null';
        run(asYaml ? json.replace(/^\{/, '{ ') : JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [v, v] }, null, 2));
        run(json);
      }),
      { numRuns: 300 },
    );
  });

  it('mutated real fixtures: truncation, line shuffles, injected garbage, CRLF, deleted characters', () => {
    const mutated = fc
      .tuple(fc.constantFrom(...fixtures), fc.nat(), fc.nat(), fc.constantFrom('truncate', 'shuffle', 'garbage', 'crlf', 'delete', 'tab'), fc.string({ maxLength: 30 }))
      .map(([t, a, b, kind, junk]) => {
        const lines = t.split('\n');
        switch (kind) {
          case 'truncate':
            return t.slice(0, a % (t.length + 1));
          case 'shuffle': {
            const i = a % lines.length;
            const j = b % lines.length;
            [lines[i], lines[j]] = [lines[j], lines[i]];
            return lines.join('\n');
          }
          case 'garbage':
            lines.splice(a % (lines.length + 1), 0, junk);
            return lines.join('\n');
          case 'crlf':
            return t.replace(/\n/g, '\r\n');
          case 'tab':
            lines[a % lines.length] = `\t${lines[a % lines.length]}`;
            return lines.join('\n');
          default: {
            const i = a % Math.max(1, t.length);
            return t.slice(0, i) + t.slice(i + 1 + (b % 5));
          }
        }
      });
    fc.assert(fc.property(mutated, (t) => void run(t)), { numRuns: 300 });
  });

  it('CRLF versions of the fixtures read the same objects on the same lines', () => {
    for (const name of GOOD) {
      const t = read(name);
      const a = parseResourceFile(t, name).value.map((o) => [o.kind, o.source.line, o.source.itemIndex]);
      const b = parseResourceFile(t.replace(/\n/g, '\r\n'), name).value.map((o) => [o.kind, o.source.line, o.source.itemIndex]);
      expect(b, name).toEqual(a);
    }
  });

  it('a YAML List truncated after item N still yields its first N items', () => {
    const text = read('kubectl-get-pods-A.yaml');
    const starts = linesMatching(text, /^- apiVersion/);
    const lines = text.split('\n');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: starts.length - 1 }), fc.nat(40), (n, extra) => {
        // Cut somewhere inside item n (0-based), after at least its first line.
        const cutLine = Math.min(starts[n] + extra, (starts[n + 1] ?? lines.length) - 1);
        const t = lines.slice(0, cutLine).join('\n');
        const r = parseResourceFile(t, 'p.yaml');
        expect(r.value.length).toBeGreaterThanOrEqual(n);
        expect(r.value.slice(0, n).map((o) => o.source.line)).toEqual(starts.slice(0, n));
      }),
      { numRuns: 60 },
    );
  });
});
