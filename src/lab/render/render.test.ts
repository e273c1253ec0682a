import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildPolicyModel } from '../../calico/policy/index.js';
import { parseIpset } from '../../parse/ipset.js';
import { parseIptablesSave } from '../../parse/iptables-save.js';
import { emptyClusterResources } from '../../model/resources.js';
import { expectedProgramming } from './expected.js';
import { kubeChains, servicePortName, statisticProbability } from './kube-proxy.js';
import { renderFelixNode, type RenderedNode } from './node.js';
import { policyChainId } from './policy.js';
import { BLOCK_PORTS, SAMPLE_NODES, SAMPLE_PODS, sampleCluster } from './sample-cluster.js';
import { vethNameForWorkload } from '../../calico/naming.js';

const DUMP = readFileSync(new URL('../../../test/fixtures/render/felix-fv-dump.txt', import.meta.url), 'utf8');

function dumpChains(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const m = /^-A (\S+) /.exec(line);
    if (!m) continue;
    const key = `${table}/${m[1]}`;
    out.set(key, [...(out.get(key) ?? []), line]);
  }
  return out;
}

function lines(r: RenderedNode, key: string): string[] {
  return (r.chains.get(key) ?? []).map((x) => x.line);
}

const allIps = SAMPLE_NODES.map((n) => n.ip);

describe('static chains equal the real Felix dump (felix/fv/cali-iptables-dump.txt)', () => {
  // The dump's node: VXLAN on, no workloads, no IP pools with natOutgoing, DefaultEndpointToHostAction ACCEPT.
  const r = renderFelixNode({ cluster: emptyClusterResources(), node: 'n', nodeIp: '10.0.0.1', mode: 'vxlan', allNodeIps: ['10.0.0.1'], kubeProxy: { services: false } });
  const real = dumpChains(DUMP);

  const exact = [
    'raw/PREROUTING',
    'raw/OUTPUT',
    'raw/cali-PREROUTING',
    'raw/cali-OUTPUT',
    'nat/PREROUTING',
    'nat/OUTPUT',
    'nat/POSTROUTING',
    'nat/cali-PREROUTING',
    'nat/cali-POSTROUTING',
    'nat/cali-OUTPUT',
    'filter/INPUT',
    'filter/FORWARD',
    'filter/OUTPUT',
    'filter/cali-FORWARD',
    'filter/cali-wl-to-host',
    'filter/cali-from-wl-dispatch',
    'filter/cali-to-wl-dispatch',
    'mangle/PREROUTING',
    'mangle/POSTROUTING',
    'mangle/cali-PREROUTING',
    'mangle/cali-POSTROUTING',
  ];
  for (const key of exact) {
    it(`${key}: same lines, same hashes`, () => {
      expect(lines(r, key)).toEqual(real.get(key));
    });
  }

  it('filter/cali-INPUT: the dump lacks the "Allow … from allowed hosts" rule, but its DROP rule hash proves Felix rendered it', () => {
    const mine = lines(r, 'filter/cali-INPUT');
    expect(mine[0]).toContain('Allow IPv4 VXLAN packets from allowed hosts');
    // Hashes chain: EDCNTTxYfggApx8C for the DROP rule only arises with the ACCEPT rule before it.
    expect(mine.slice(1)).toEqual(real.get('filter/cali-INPUT'));
  });

  it('filter/cali-OUTPUT: likewise without the VXLAN "to other allowed hosts" rule (hashes of the later rules prove it was rendered)', () => {
    const mine = lines(r, 'filter/cali-OUTPUT');
    expect(mine[2]).toContain('Allow IPv4 VXLAN packets to other allowed hosts');
    expect([...mine.slice(0, 2), ...mine.slice(3)]).toEqual(real.get('filter/cali-OUTPUT'));
  });

  it('declares exactly the dump\'s chains (Felix programs only referenced chains)', () => {
    const tableChains = (text: string) => {
      const out = new Set<string>();
      let t = '';
      for (const l of text.split('\n')) {
        if (l.startsWith('*')) t = l.slice(1);
        const m = /^:(\S+) /.exec(l);
        if (m) out.add(`${t}/${m[1]}`);
      }
      return out;
    };
    const mine = [...tableChains(r.iptablesRestore)].filter((c) => /\/cali-/.test(c)).sort();
    const theirs = [...tableChains(DUMP)].filter((c) => /\/cali-/.test(c)).sort();
    expect(mine).toEqual(theirs);
  });

  it('the restore text parses cleanly', () => {
    const p = parseIptablesSave(r.iptablesRestore, 'rendered');
    expect(p.issues).toEqual([]);
  });
});

describe('sample cluster: two tiers, Pass, default deny, named ports', () => {
  const cluster = sampleCluster();
  const model = buildPolicyModel(cluster);
  const render = (node: string, style: 'tiered' | 'kind' = 'tiered') =>
    renderFelixNode({ cluster, model, node, nodeIp: SAMPLE_NODES.find((n) => n.name === node)!.ip, mode: 'vxlan', allNodeIps: allIps, felixConfig: { chainStyle: style } });
  const a = render('node-a');
  const iface = (ns: string, pod: string) => vethNameForWorkload(ns, pod);
  const api1 = iface('backend', 'api-1');
  const db1 = iface('backend', 'db-1');
  const web1 = iface('frontend', 'web-1');

  it('parses with no errors and declares every chain it jumps to', () => {
    const p = parseIptablesSave(a.iptablesRestore, 'rendered');
    expect(p.issues).toEqual([]);
    for (const [key, rules] of a.chains) {
      const table = key.split('/')[0];
      for (const r of rules) if (r.target) expect(a.chains.has(`${table}/${r.target}`) || p.value.tables.get(table)?.chains.has(r.target)).toBe(true);
    }
    const s = parseIpset(a.ipsetRestore, 'ipsets');
    expect(s.issues).toEqual([]);
  });

  it('dispatch chains list the local workloads, in name order, ending with "Unknown interface"', () => {
    const local = SAMPLE_PODS.filter((p) => p.node === 'node-a').map((p) => iface(p.namespace, p.name)).sort();
    const from = lines(a, 'filter/cali-from-wl-dispatch');
    expect(from.slice(0, -1).map((l) => /-i (\S+)/.exec(l)![1])).toEqual(local);
    expect(from.at(-1)).toMatch(/"Unknown interface" -j DROP$/);
    expect(lines(a, 'filter/cali-to-wl-dispatch').slice(0, -1).every((l) => / -o cali\S+ .* -g cali-tw-cali/.test(l))).toBe(true);
  });

  it('tier blocks: platform (defaultAction Pass, no end-of-tier drop), security (group, end-of-tier drop), default; then profiles', () => {
    const tw = lines(a, `filter/cali-tw-${api1}`);
    const comments = tw.map((l) => [...l.matchAll(/--comment "([^"]*)"/g)].map((m) => m[1]).filter((c) => !c.startsWith('cali:')).join('|'));
    expect(comments).toEqual([
      '',
      '',
      '',
      'Start of tier platform',
      '',
      'Return if policy accepted',
      'Start of tier security',
      '',
      'Return if policy accepted',
      'End of tier security. DROP if no policies passed packet',
      'Start of tier default',
      '',
      'Return if policy accepted',
      '',
      'Return if policy accepted',
      'End of tier default. DROP if no policies passed packet',
      '',
      'Return if profile accepted',
      '',
      'Return if profile accepted',
      'DROP if no profiles matched',
    ]);
    expect(tw[0]).toMatch(/-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT$/);
    expect(tw[1]).toMatch(/-m conntrack --ctstate INVALID -j DROP$/);
    expect(tw[2]).toMatch(/-j MARK --set-xmark 0x0\/0x30000$/);
    // Two security policies share a selector: one group chain holding both.
    const group = /-j (cali-gi-\S+)$/.exec(tw[7])![1];
    const g = lines(a, `filter/${group}`);
    expect(g).toHaveLength(2);
    expect(g[0]).toMatch(/-j cali-pi-/);
    expect(g[1]).toMatch(/-m mark --mark 0x0\/0x30000 -j cali-pi-/);
    // The tw chain never drops encapsulated traffic; the fw chain does.
    expect(tw.some((l) => l.includes('encapped'))).toBe(false);
    const fw = lines(a, `filter/cali-fw-${api1}`);
    expect(fw[3]).toMatch(/-p udp .*"DROP VXLAN encapped packets originating in workloads" -m multiport --dports 4789 -j DROP$/);
    expect(fw[4]).toMatch(/-p ipencap .*"DROP IPinIP encapped packets originating in workloads" -j DROP$/);
  });

  it('Pass rule: mark pass then RETURN; a chain ending in Pass keeps no trailing RETURN', () => {
    const p = a.policyChains.find((c) => c.policy === 'security.pass-cluster' && c.direction === 'ingress')!;
    const l = lines(a, `filter/${p.chain}`);
    expect(l[0]).toMatch(/-s 192\.168\.100\.0\/24 .*"Policy security\.pass-cluster ingress" -j MARK --set-xmark 0x40000\/0x40000$/);
    expect(l[1]).toMatch(/-m mark --mark 0x40000\/0x40000 -j DROP$/);
    expect(l.at(-1)).toMatch(/-j MARK --set-xmark 0x20000\/0x20000$/);
    const e = lines(a, `filter/${a.policyChains.find((c) => c.policy === 'security.pass-cluster' && c.direction === 'egress')!.chain}`);
    expect(e[0]).toMatch(/^-A cali-po-\S+ ! -d 10\.244\.0\.0\/16 -p tcp .* -m multiport --dports 6379 -j MARK --set-xmark 0x40000\/0x40000$/);
    expect(e.at(-1)).toMatch(/ ! -p sctp .*-j MARK --set-xmark 0x20000\/0x20000$/);
  });

  it('Kubernetes default-deny: a comment-only chain, so the tier ends in DROP', () => {
    const p = a.policyChains.find((c) => c.policy === 'backend/knp.default.default-deny' && c.direction === 'ingress')!;
    expect(lines(a, `filter/${p.chain}`)).toEqual([expect.stringMatching(/^-A cali-pi-\S+ -m comment --comment "cali:\S+" -m comment --comment "Policy backend\/knp\.default\.default-deny ingress"$/)]);
  });

  it('named ports: dst,dst set of the pods with the port, no selector set on that side', () => {
    const p = a.policyChains.find((c) => c.policy === 'backend/knp.default.allow-api-from-frontend' && c.direction === 'ingress')!;
    const l = lines(a, `filter/${p.chain}`);
    expect(l).toHaveLength(1); // the trailing RETURN is stripped
    const m = /-m set --match-set (\S+) src -m set --match-set (\S+) dst,dst -j MARK --set-xmark 0x10000\/0x10000$/.exec(l[0])!;
    expect(m).not.toBeNull();
    expect(a.ipsets.get(m[1])!.members).toEqual(['10.244.1.2', '10.244.2.2']);
    expect(a.ipsets.get(m[2])).toMatchObject({ type: 'hash:ip,port', members: ['10.244.1.3,tcp:9000', '10.244.2.3,tcp:9000'] });
    expect(a.ipsetRestore).toContain(`add ${m[2]} 10.244.1.3,tcp:9000`);
  });

  it('match blocks: several CIDRs, a negated CIDR, more than 15 ports', () => {
    const p = a.policyChains.find((c) => c.policy === 'backend/db-access' && c.direction === 'ingress')!;
    const l = lines(a, `filter/${p.chain}`).map((x) => x.replace(/-m comment --comment "cali:\S+" /, '').replace(/^-A \S+ /, ''));
    const ports = (xs: number[]) => xs.join(',');
    expect(l.slice(2, 10)).toEqual([
      '-j MARK --set-xmark 0x0/0x180000',
      `-p tcp -m multiport --dports ${ports(BLOCK_PORTS.slice(0, 15))} -j MARK --set-xmark 0x80000/0x80000`,
      `-p tcp -m multiport --dports ${ports(BLOCK_PORTS.slice(15))} -j MARK --set-xmark 0x80000/0x80000`,
      '-s 10.244.1.0/24 -j MARK --set-xmark 0x100000/0x100000',
      '-s 10.244.2.0/24 -j MARK --set-xmark 0x100000/0x100000',
      '-m mark --mark 0x0/0x100000 -j MARK --set-xmark 0x0/0x80000',
      '! -s 10.244.2.128/25 -p tcp -m mark --mark 0x80000/0x80000 -j MARK --set-xmark 0x10000/0x10000',
      '-m mark --mark 0x10000/0x10000 -j RETURN',
    ]);
  });

  it('Log rule and ICMP type', () => {
    const p = a.policyChains.find((c) => c.policy === 'platform.log-icmp' && c.direction === 'ingress')!;
    expect(lines(a, `filter/${p.chain}`)).toEqual([expect.stringMatching(/ -p icmp .* -m icmp --icmp-type 8 -j LOG --log-prefix "calico-packet: " --log-level 5$/)]);
  });

  it('profiles: kns allows (one MARK rule), ksa is comment-only', () => {
    expect(lines(a, 'filter/cali-pri-kns.backend')).toEqual([expect.stringMatching(/"Profile kns\.backend ingress" -j MARK --set-xmark 0x10000\/0x10000$/)]);
    expect(lines(a, 'filter/cali-pro-ksa.backend.default')).toEqual([expect.stringMatching(/"Profile ksa\.backend\.default egress"$/)]);
  });

  it('the staged policy is not programmed; the tier it alone occupies has no jumps and no drop', () => {
    expect(a.policyChains.some((c) => c.policy.includes('staged'))).toBe(false);
    const tw = lines(a, `filter/cali-tw-${web1}`);
    const i = tw.findIndex((l) => l.includes('Start of tier default'));
    expect(tw[i + 1]).toMatch(/-j cali-pri-kns\.frontend$/);
  });

  it('nat-outgoing with the v3.30 set name, and the special sets', () => {
    expect(lines(a, 'nat/cali-nat-outgoing')).toEqual([expect.stringMatching(/-m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully$/)]);
    expect(a.ipsets.get('cali40all-vxlan-net')!.members).toEqual(['10.0.0.12']);
    expect(a.ipsets.get('cali40masq-ipam-pools')!.members).toEqual(['10.244.0.0/16']);
    const off = renderFelixNode({ cluster, model, node: 'node-a', nodeIp: '10.0.0.11', mode: 'vxlan', allNodeIps: allIps, felixConfig: { natOutgoing: false } });
    expect(lines(off, 'nat/cali-nat-outgoing')).toEqual([]);
    expect(off.ipsets.get('cali40masq-ipam-pools')!.members).toEqual([]);
  });

  it('ipip and bgp modes', () => {
    const ipip = renderFelixNode({ cluster, model, node: 'node-a', nodeIp: '10.0.0.11', mode: 'ipip', allNodeIps: allIps });
    expect(lines(ipip, 'filter/cali-INPUT')[0]).toMatch(/-p ipencap .*"Allow IPIP packets from Calico hosts" -m set --match-set cali40all-hosts-net src -m addrtype --dst-type LOCAL -j ACCEPT$/);
    expect(lines(ipip, 'nat/cali-POSTROUTING')[2]).toMatch(/-o tunl0 /);
    expect(ipip.ipsets.get('cali40all-hosts-net')!.members).toEqual(allIps);
    const bgp = renderFelixNode({ cluster, model, node: 'node-a', nodeIp: '10.0.0.11', mode: 'bgp', allNodeIps: allIps });
    expect(lines(bgp, 'filter/cali-INPUT')[0]).toMatch(/-i cali\+ .* -g cali-wl-to-host$/);
    expect(lines(bgp, 'raw/cali-PREROUTING').some((l) => l.includes('NOTRACK'))).toBe(false);
    expect(lines(bgp, 'nat/cali-POSTROUTING')).toHaveLength(2);
  });

  it('kind style (v3.32+): policy IDs, comments and the v3.31 set name', () => {
    const k = render('node-a', 'kind');
    const p = model.policies.find((x) => x.id === 'backend/default-deny' || x.k8sName === 'default-deny')!;
    expect(policyChainId(p, 'kind')).toBe('knp/backend/default-deny');
    expect(policyChainId(p, 'tiered')).toBe('default/backend/knp.default.default-deny');
    const c = k.policyChains.find((x) => x.policy === p.id && x.direction === 'ingress')!;
    expect(lines(k, `filter/${c.chain}`)[0]).toContain('"KubernetesNetworkPolicy backend/default-deny ingress"');
    expect(lines(k, 'nat/cali-nat-outgoing')[0]).toContain('! --match-set cali40network-ip-pools dst');
    expect(lines(k, 'mangle/cali-POSTROUTING')[0]).toContain('"set dscp for traffic leaving cluster."');
  });

  it('dispatch prefix tree: several interfaces sharing the next character get a child chain', () => {
    // On node-b: web-2, api-2, coredns; give them names to force a split.
    const r = renderFelixNode({ cluster, model, node: 'node-b', nodeIp: '10.0.0.12', mode: 'vxlan', allNodeIps: allIps });
    const names = SAMPLE_PODS.filter((p) => p.node === 'node-b').map((p) => iface(p.namespace, p.name)).sort();
    const next = names.map((n) => n[4]);
    const root = lines(r, 'filter/cali-from-wl-dispatch');
    const shared = next.filter((c, i) => next.indexOf(c) !== i);
    if (shared.length) expect(root.some((l) => / -g cali-from-wl-dispatch-/.test(l))).toBe(true);
    else expect(root).toHaveLength(names.length + 1);
  });

  it('kube-proxy: chain hashes, probabilities, DNAT to the endpoints', () => {
    expect(kubeChains.svc(servicePortName('kube-system', 'kube-dns', 'dns'), 'udp')).toBe('KUBE-SVC-TCOU7JCQXEZGVUNU');
    expect(kubeChains.svc(servicePortName('kube-system', 'kube-dns', 'dns-tcp'), 'tcp')).toBe('KUBE-SVC-ERIFXISQEP7F7OF4');
    expect([2, 3, 4].map(statisticProbability)).toEqual(['0.50000000000', '0.33333333349', '0.25000000000']);
    const svc = lines(a, 'nat/KUBE-SERVICES');
    expect(svc).toContain('-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU');
    expect(svc.at(-1)).toContain('-j KUBE-NODEPORTS');
    const web = lines(a, `nat/${kubeChains.svc('frontend/web:http', 'tcp')}`);
    expect(web[1]).toContain('--probability 0.50000000000');
    expect(lines(a, 'nat/POSTROUTING').map((l) => / -j (\S+)/.exec(l)![1])).toEqual(['KUBE-POSTROUTING', 'cali-POSTROUTING']);
    expect(lines(a, 'filter/FORWARD').map((l) => / -j (\S+)/.exec(l)![1])).toEqual(['cali-FORWARD', 'KUBE-PROXY-FIREWALL', 'KUBE-FORWARD', 'KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'ACCEPT', 'MARK']);
  });

  it('expectedProgramming: chains per endpoint and policy, ipset members', () => {
    const e = expectedProgramming(cluster, model, 'node-a');
    expect(e.facts).toMatchObject({ nodeIp: '10.0.0.11', mode: 'vxlan' });
    const ep = e.endpoints.find((x) => x.endpoint === 'backend/db-1')!;
    expect(ep.chains).toEqual({ ingress: `cali-tw-${db1}`, egress: `cali-fw-${db1}` });
    expect(ep.policies.ingress.map((p) => p.policy)).toEqual(['platform.log-icmp', 'security.deny-telnet', 'security.pass-cluster', 'backend/db-access', 'backend/knp.default.default-deny']);
    expect(e.felixChains.has(`filter/cali-tw-${db1}`)).toBe(true);
    for (const p of e.policyChains) expect(e.felixChains.has(`filter/${p.chain}`)).toBe(true);
    expect([...e.ipsets.keys()].some((k) => k.startsWith('cali40n:'))).toBe(true);
  });
});
