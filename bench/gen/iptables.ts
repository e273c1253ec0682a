/**
 * Synthetic but realistic `iptables-save -c` output of a Felix-programmed node running
 * kube-proxy in iptables mode, in the shapes documented in /work/shared/calico/felix-rules.md:
 * Felix's static chains in raw/mangle/nat/filter, per-workload `cali-tw-`/`cali-fw-` chains
 * behind prefix-split dispatch chains, policy chains (`cali-pi-`/`cali-po-`) with selector and
 * named-port ipset matches, port lists, CIDRs and mark-bit Allow/Deny pairs, namespace and
 * service-account profiles, and kube-proxy's KUBE-SERVICES → KUBE-SVC- → KUBE-SEP- chains with
 * `statistic` load balancing and DNAT.
 *
 * Internally consistent, so an engine can walk it: every jump target is declared in its table,
 * every referenced ipset is returned by `generateCalicoRulesetWithSets` with members, workload
 * IPs in the sets are the IPs of generated workloads. Deterministic for a given seed.
 */

export interface CalicoRulesetOptions {
  /** Target number of rules (the fixed skeleton is the minimum; policy rules fill up to it). */
  rules: number;
  /** Local workloads (pods). Default: about one per 60 rules. */
  workloads?: number;
  /** Kubernetes services. Default: about one per 40 rules. */
  services?: number;
  seed?: number;
}

export interface GeneratedIpset {
  name: string;
  type: 'hash:net' | 'hash:ip' | 'hash:ip,port';
  members: string[];
}

export interface GeneratedWorkload {
  iface: string;
  ip: string;
  namespace: string;
  pod: string;
  /** Policy chain suffixes applied to this workload (ingress, egress). */
  ingressPolicies: string[];
  egressPolicies: string[];
}

export interface GeneratedService {
  name: string;
  clusterIp: string;
  port: number;
  proto: 'tcp' | 'udp';
  svcChain: string;
  endpoints: { ip: string; port: number; sepChain: string }[];
}

export interface CalicoRuleset {
  text: string;
  ipsets: GeneratedIpset[];
  rules: number;
  lines: number;
  workloads: GeneratedWorkload[];
  services: GeneratedService[];
}

/** Small, fast, deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const HEX = '0123456789abcdef';
const NAMESPACES = ['default', 'kube-system', 'web', 'payments', 'monitoring', 'batch', 'search', 'auth'];
const APPS = ['web', 'api', 'db', 'cache', 'worker', 'frontend', 'backend', 'metrics', 'queue', 'auth'];

/** Generates the dump text only. */
export function generateCalicoRuleset(opts: CalicoRulesetOptions): string {
  return generateCalicoRulesetWithSets(opts).text;
}

export function generateCalicoRulesetWithSets(opts: CalicoRulesetOptions): CalicoRuleset {
  const r = rng(opts.seed ?? 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const id = (alphabet: string, len: number): string => {
    let s = '';
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(r() * alphabet.length)];
    return s;
  };
  const hash = () => `"cali:${id(B64, 16)}"`;
  const cnt = (): string => {
    // Most rules see little traffic; a few see a lot.
    const x = r();
    const p = x < 0.6 ? 0 : x < 0.95 ? Math.floor(r() * 1000) : Math.floor(r() * 5_000_000);
    return `[${p}:${p * (60 + Math.floor(r() * 1400))}]`;
  };

  const target = Math.max(0, opts.rules);
  const nWorkloads = Math.max(2, opts.workloads ?? Math.round(target / 60));
  const nServices = Math.max(1, opts.services ?? Math.round(target / 40));

  // ---- ipsets
  const ipsets: GeneratedIpset[] = [];
  const addSet = (name: string, type: GeneratedIpset['type'], members: string[]) => {
    const s = { name, type, members };
    ipsets.push(s);
    return s;
  };
  addSet('cali40all-ipam-pools', 'hash:net', ['10.244.0.0/16']);
  addSet('cali40masq-ipam-pools', 'hash:net', ['10.244.0.0/16']);
  addSet('cali40all-vxlan-net', 'hash:net', ['172.18.0.3', '172.18.0.4', '172.18.0.5']);
  addSet('cali40all-hosts-net', 'hash:net', ['172.18.0.2', '172.18.0.3', '172.18.0.4', '172.18.0.5']);
  addSet('cali40this-host', 'hash:ip', ['172.18.0.2', '127.0.0.1']);

  // ---- workloads
  const workloads: GeneratedWorkload[] = [];
  const ifaces = new Set<string>();
  for (let i = 0; i < nWorkloads; i++) {
    let iface: string;
    do iface = `cali${id(HEX, 11)}`;
    while (ifaces.has(iface));
    ifaces.add(iface);
    // 254 hosts per /24 inside 10.244.0.0/16, spilling into 10.245… past 65,024 workloads.
    const ip = `10.${244 + Math.floor(i / 65_024)}.${Math.floor(i / 254) % 256}.${(i % 254) + 1}`;
    const pod = `${pick(APPS)}-${id(HEX, 10)}-${id('abcdefghijklmnopqrstuvwxyz0123456789', 5)}`;
    workloads.push({ iface, ip, namespace: pick(NAMESPACES), pod, ingressPolicies: [], egressPolicies: [] });
  }
  workloads.sort((a, b) => (a.iface < b.iface ? -1 : a.iface > b.iface ? 1 : 0));

  // ---- services and their endpoints (endpoints are workloads' IPs)
  const services: GeneratedService[] = [];
  for (let s = 0; s < nServices; s++) {
    const proto: 'tcp' | 'udp' = r() < 0.85 ? 'tcp' : 'udp';
    const port = pick([80, 443, 8080, 53, 5432, 6379, 9090, 3000]);
    const nEp = 1 + Math.floor(r() * (r() < 0.1 ? 10 : 3));
    const endpoints = [];
    for (let e = 0; e < nEp; e++) {
      endpoints.push({ ip: workloads[Math.floor(r() * workloads.length)].ip, port: port === 443 ? 8443 : port, sepChain: `KUBE-SEP-${id(B32, 16)}` });
    }
    services.push({
      name: `${pick(NAMESPACES)}/${pick(APPS)}-${s}:${proto === 'udp' ? 'dns' : 'http'}`,
      clusterIp: `10.96.${(s >> 8) & 255}.${(s & 255) || 1}`,
      port,
      proto,
      svcChain: `KUBE-SVC-${id(B32, 16)}`,
      endpoints,
    });
  }

  // ---- policies: a pool of policy chains; each workload gets 0-2 ingress and 0-1 egress.
  interface Policy {
    chain: string;
    ns: string;
    name: string;
    ingress: boolean;
    rules: string[][]; // each entry: one API rule rendered as 1-2 iptables rules (without -A prefix)
  }
  const policies: Policy[] = [];
  // Sets are shared between rules, as Felix shares one set per distinct selector.
  const maxSelectorSets = Math.max(20, Math.round(nWorkloads / 2));
  const maxNamedPortSets = Math.max(5, Math.round(nWorkloads / 20));
  const selectorSets: string[] = [];
  const namedPortSets: string[] = [];
  const selectorSet = (): string => {
    if (selectorSets.length >= maxSelectorSets) return pick(selectorSets);
    const name = `cali40s:${id(B64, 23)}`;
    selectorSets.push(name);
    const members: string[] = [];
    const k = 1 + Math.floor(r() * 12);
    for (let i = 0; i < k; i++) members.push(workloads[Math.floor(r() * workloads.length)].ip);
    addSet(name, 'hash:net', [...new Set(members)]);
    return name;
  };
  const namedPortSet = (): string => {
    if (namedPortSets.length >= maxNamedPortSets) return pick(namedPortSets);
    const name = `cali40n:${id(B64, 23)}`;
    namedPortSets.push(name);
    const members: string[] = [];
    const k = 1 + Math.floor(r() * 6);
    for (let i = 0; i < k; i++) members.push(`${workloads[Math.floor(r() * workloads.length)].ip},tcp:${pick([8080, 8443, 9090, 3000])}`);
    addSet(name, 'hash:ip,port', [...new Set(members)]);
    return name;
  };
  const apiRule = (ingress: boolean): string[] => {
    const x = r();
    const peerSide = ingress ? 'src' : 'dst';
    let m = '';
    const proto = x < 0.75 ? 'tcp' : x < 0.9 ? 'udp' : 'icmp';
    m += ` -p ${proto}`;
    const c1 = hash();
    const parts: string[] = [];
    const y = r();
    if (y < 0.6) parts.push(`-m set --match-set ${selectorSet()} ${peerSide}`);
    else if (y < 0.8) parts.push(`${ingress ? '-s' : '-d'} ${pick(['10.0.0.0/8', '192.168.0.0/16', '172.16.0.0/12', '10.244.0.0/16'])}`);
    if (proto === 'icmp') parts.push('-m icmp --icmp-type 8');
    else if (r() < 0.15) parts.push(`-m set --match-set ${namedPortSet()} dst,dst`);
    else {
      const base = pick([8000, 9000]);
      const ports = r() < 0.7 ? String(pick([80, 443, 8080, 5432, 53, 6379])) : `${pick([80, 443])},${base}:${base + 100}`;
      parts.push(`-m multiport --dports ${ports}`);
    }
    // iptables-save puts -s/-d first, then -p, then the modules in order.
    const addr = parts.filter((p) => p.startsWith('-s') || p.startsWith('-d'));
    const mods = parts.filter((p) => p.startsWith('-m'));
    const match = `${addr.length ? ` ${addr.join(' ')}` : ''}${m} -m comment --comment ${c1}${mods.length ? ` ${mods.join(' ')}` : ''}`;
    const deny = r() < 0.1;
    const bit = deny ? '0x40000' : '0x10000';
    return [
      `${match} -j MARK --set-xmark ${bit}/${bit}`,
      ` -m comment --comment ${hash()} -m mark --mark ${bit}/${bit} -j ${deny ? 'DROP' : 'RETURN'}`,
    ];
  };
  const newPolicy = (ingress: boolean): Policy => {
    const p: Policy = { chain: `cali-p${ingress ? 'i' : 'o'}-_${id(B64, 19)}`, ns: pick(NAMESPACES), name: `${pick(APPS)}-policy-${policies.length}`, ingress, rules: [] };
    const k = 1 + Math.floor(r() * 3);
    for (let i = 0; i < k; i++) p.rules.push(apiRule(ingress));
    policies.push(p);
    return p;
  };
  const nPolicies = Math.max(2, Math.round(nWorkloads / 3));
  for (let i = 0; i < nPolicies; i++) newPolicy(i % 3 !== 2);
  const ingressPols = policies.filter((p) => p.ingress);
  const egressPols = policies.filter((p) => !p.ingress);
  for (const w of workloads) {
    const ni = r() < 0.2 ? 0 : 1 + Math.floor(r() * 2);
    for (let i = 0; i < ni; i++) {
      const p = ingressPols[Math.floor(r() * ingressPols.length)];
      if (!w.ingressPolicies.includes(p.chain)) w.ingressPolicies.push(p.chain);
    }
    if (egressPols.length && r() < 0.4) w.egressPolicies.push(egressPols[Math.floor(r() * egressPols.length)].chain);
  }

  // ---- render
  const out: string[] = [];
  let rules = 0;
  const table = (name: string, chains: string[], body: string[], builtins: Record<string, string>) => {
    out.push('# Generated by iptables-save v1.8.9 (nf_tables) on Sun Nov 22 10:00:00 2026');
    out.push(`*${name}`);
    for (const [c, pol] of Object.entries(builtins)) out.push(`:${c} ${pol} ${cnt()}`);
    for (const c of chains) out.push(`:${c} - [0:0]`);
    for (const b of body) out.push(b);
    rules += body.length;
    out.push('COMMIT');
    out.push('# Completed on Sun Nov 22 10:00:00 2026');
  };
  const A = (chain: string, rest: string) => `${cnt()} -A ${chain}${rest}`;

  // raw
  {
    const body: string[] = [];
    body.push(A('PREROUTING', ` -m comment --comment ${hash()} -j cali-PREROUTING`));
    body.push(A('OUTPUT', ` -m comment --comment ${hash()} -j cali-OUTPUT`));
    body.push(A('cali-OUTPUT', ` -m comment --comment ${hash()} -j MARK --set-xmark 0x0/0x1b0000`));
    body.push(A('cali-OUTPUT', ` -m comment --comment ${hash()} -j cali-to-host-endpoint`));
    body.push(A('cali-OUTPUT', ` -p udp -m comment --comment ${hash()} -m udp --dport 4789 -j NOTRACK`));
    body.push(A('cali-OUTPUT', ` -m comment --comment ${hash()} -m mark --mark 0x10000/0x10000 -j ACCEPT`));
    body.push(A('cali-PREROUTING', ` -m comment --comment ${hash()} -j MARK --set-xmark 0x0/0x1b0000`));
    body.push(A('cali-PREROUTING', ` -p udp -m comment --comment ${hash()} -m udp --dport 4789 -j NOTRACK`));
    body.push(A('cali-PREROUTING', ` -i cali+ -m comment --comment ${hash()} -j MARK --set-xmark 0x80000/0x80000`));
    body.push(A('cali-PREROUTING', ` -m comment --comment ${hash()} -m mark --mark 0x80000/0x80000 -j cali-rpf-skip`));
    body.push(A('cali-PREROUTING', ` -m comment --comment ${hash()} -m mark --mark 0x80000/0x80000 -m rpfilter --validmark --invert -j DROP`));
    body.push(A('cali-PREROUTING', ` -m comment --comment ${hash()} -m mark --mark 0x0/0x80000 -j cali-from-host-endpoint`));
    body.push(A('cali-PREROUTING', ` -m comment --comment ${hash()} -m mark --mark 0x10000/0x10000 -j ACCEPT`));
    table('raw', ['cali-OUTPUT', 'cali-PREROUTING', 'cali-from-host-endpoint', 'cali-rpf-skip', 'cali-to-host-endpoint'], body, { PREROUTING: 'ACCEPT', OUTPUT: 'ACCEPT' });
  }
  // mangle
  {
    const body: string[] = [];
    body.push(A('PREROUTING', ` -m comment --comment ${hash()} -j cali-PREROUTING`));
    body.push(A('POSTROUTING', ` -m comment --comment ${hash()} -j cali-POSTROUTING`));
    body.push(A('cali-POSTROUTING', ` -m comment --comment ${hash()} -m mark --mark 0x10000/0x10000 -j RETURN`));
    body.push(A('cali-POSTROUTING', ` -m comment --comment ${hash()} -j MARK --set-xmark 0x0/0x1b0000`));
    body.push(A('cali-POSTROUTING', ` -m comment --comment ${hash()} -m conntrack --ctstate DNAT -j cali-to-host-endpoint`));
    body.push(A('cali-POSTROUTING', ` -m comment --comment ${hash()} -m comment --comment "Host endpoint policy accepted packet." -m mark --mark 0x10000/0x10000 -j RETURN`));
    body.push(A('cali-PREROUTING', ` -m comment --comment ${hash()} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`));
    body.push(A('cali-PREROUTING', ` -m comment --comment ${hash()} -m mark --mark 0x10000/0x10000 -j ACCEPT`));
    body.push(A('cali-PREROUTING', ` -m comment --comment ${hash()} -j cali-from-host-endpoint`));
    body.push(A('cali-PREROUTING', ` -m comment --comment ${hash()} -m comment --comment "Host endpoint policy accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT`));
    table('mangle', ['cali-POSTROUTING', 'cali-PREROUTING', 'cali-from-host-endpoint', 'cali-to-host-endpoint'], body, {
      PREROUTING: 'ACCEPT', INPUT: 'ACCEPT', FORWARD: 'ACCEPT', OUTPUT: 'ACCEPT', POSTROUTING: 'ACCEPT',
    });
  }
  // nat
  {
    const body: string[] = [];
    const chains = ['KUBE-MARK-MASQ', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-SERVICES', 'cali-OUTPUT', 'cali-POSTROUTING', 'cali-PREROUTING', 'cali-fip-dnat', 'cali-fip-snat', 'cali-nat-outgoing'];
    body.push(A('PREROUTING', ` -m comment --comment ${hash()} -j cali-PREROUTING`));
    body.push(A('PREROUTING', ' -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'));
    body.push(A('OUTPUT', ` -m comment --comment ${hash()} -j cali-OUTPUT`));
    body.push(A('OUTPUT', ' -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'));
    body.push(A('POSTROUTING', ` -m comment --comment ${hash()} -j cali-POSTROUTING`));
    body.push(A('POSTROUTING', ' -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING'));
    body.push(A('KUBE-MARK-MASQ', ' -j MARK --set-xmark 0x4000/0x4000'));
    body.push(A('KUBE-POSTROUTING', ' -m mark ! --mark 0x4000/0x4000 -j RETURN'));
    body.push(A('KUBE-POSTROUTING', ' -j MARK --set-xmark 0x4000/0x0'));
    body.push(A('KUBE-POSTROUTING', ' -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully'));
    for (const s of services) {
      chains.push(s.svcChain);
      body.push(A('KUBE-SERVICES', ` -d ${s.clusterIp}/32 -p ${s.proto} -m comment --comment "${s.name} cluster IP" -m ${s.proto} --dport ${s.port} -j ${s.svcChain}`));
      body.push(A(s.svcChain, ` ! -s 10.244.0.0/16 -d ${s.clusterIp}/32 -p ${s.proto} -m comment --comment "${s.name} cluster IP" -m ${s.proto} --dport ${s.port} -j KUBE-MARK-MASQ`));
      const n = s.endpoints.length;
      s.endpoints.forEach((e, i) => {
        const prob = i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(11)}` : '';
        body.push(A(s.svcChain, ` -m comment --comment "${s.name} -> ${e.ip}:${e.port}"${prob} -j ${e.sepChain}`));
      });
      for (const e of s.endpoints) {
        chains.push(e.sepChain);
        body.push(A(e.sepChain, ` -s ${e.ip}/32 -m comment --comment "${s.name}" -j KUBE-MARK-MASQ`));
        body.push(A(e.sepChain, ` -p ${s.proto} -m comment --comment "${s.name}" -m ${s.proto} -j DNAT --to-destination ${e.ip}:${e.port}`));
      }
    }
    body.push(A('KUBE-SERVICES', ' -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS'));
    body.push(A('cali-OUTPUT', ` -m comment --comment ${hash()} -j cali-fip-dnat`));
    body.push(A('cali-POSTROUTING', ` -m comment --comment ${hash()} -j cali-fip-snat`));
    body.push(A('cali-POSTROUTING', ` -m comment --comment ${hash()} -j cali-nat-outgoing`));
    body.push(A('cali-POSTROUTING', ` -o vxlan.calico -m comment --comment ${hash()} -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL -j MASQUERADE --random-fully`));
    body.push(A('cali-PREROUTING', ` -m comment --comment ${hash()} -j cali-fip-dnat`));
    body.push(A('cali-nat-outgoing', ` -m comment --comment ${hash()} -m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully`));
    table('nat', chains, body, { PREROUTING: 'ACCEPT', INPUT: 'ACCEPT', OUTPUT: 'ACCEPT', POSTROUTING: 'ACCEPT' });
  }
  // filter
  {
    const body: string[] = [];
    const chains = [
      'KUBE-FIREWALL', 'KUBE-FORWARD', 'KUBE-SERVICES', 'cali-FORWARD', 'cali-INPUT', 'cali-OUTPUT', 'cali-cidr-block',
      'cali-from-hep-forward', 'cali-from-host-endpoint', 'cali-from-wl-dispatch', 'cali-to-hep-forward',
      'cali-to-host-endpoint', 'cali-to-wl-dispatch', 'cali-wl-to-host',
    ];
    body.push(A('INPUT', ` -m comment --comment ${hash()} -j cali-INPUT`));
    body.push(A('INPUT', ' -j KUBE-FIREWALL'));
    body.push(A('FORWARD', ` -m comment --comment ${hash()} -j cali-FORWARD`));
    body.push(A('FORWARD', ' -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD'));
    body.push(A('FORWARD', ' -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'));
    body.push(A('FORWARD', ` -m comment --comment ${hash()} -m comment --comment "Policy explicitly accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT`));
    body.push(A('FORWARD', ` -m comment --comment ${hash()} -j MARK --set-xmark 0x10000/0x10000`));
    body.push(A('OUTPUT', ` -m comment --comment ${hash()} -j cali-OUTPUT`));
    body.push(A('OUTPUT', ' -j KUBE-FIREWALL'));
    body.push(A('KUBE-FIREWALL', ' ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP'));
    body.push(A('KUBE-FORWARD', ' -m conntrack --ctstate INVALID -j DROP'));
    body.push(A('KUBE-FORWARD', ' -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT'));
    body.push(A('KUBE-FORWARD', ' -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'));
    body.push(A('cali-FORWARD', ` -m comment --comment ${hash()} -j MARK --set-xmark 0x0/0x1a0000`));
    body.push(A('cali-FORWARD', ` -m comment --comment ${hash()} -m mark --mark 0x0/0x10000 -j cali-from-hep-forward`));
    body.push(A('cali-FORWARD', ` -i cali+ -m comment --comment ${hash()} -j cali-from-wl-dispatch`));
    body.push(A('cali-FORWARD', ` -o cali+ -m comment --comment ${hash()} -j cali-to-wl-dispatch`));
    body.push(A('cali-FORWARD', ` -m comment --comment ${hash()} -j cali-to-hep-forward`));
    body.push(A('cali-FORWARD', ` -m comment --comment ${hash()} -j cali-cidr-block`));
    body.push(A('cali-INPUT', ` -p udp -m comment --comment ${hash()} -m comment --comment "Allow IPv4 VXLAN packets from allowed hosts" -m multiport --dports 4789 -m set --match-set cali40all-vxlan-net src -m addrtype --dst-type LOCAL -j ACCEPT`));
    body.push(A('cali-INPUT', ` -p udp -m comment --comment ${hash()} -m comment --comment "Drop IPv4 VXLAN packets from non-allowed hosts" -m multiport --dports 4789 -m addrtype --dst-type LOCAL -j DROP`));
    body.push(A('cali-INPUT', ` -i cali+ -m comment --comment ${hash()} -g cali-wl-to-host`));
    body.push(A('cali-INPUT', ` -m comment --comment ${hash()} -m mark --mark 0x10000/0x10000 -j ACCEPT`));
    body.push(A('cali-INPUT', ` -m comment --comment ${hash()} -j MARK --set-xmark 0x0/0x1b0000`));
    body.push(A('cali-INPUT', ` -m comment --comment ${hash()} -j cali-from-host-endpoint`));
    body.push(A('cali-INPUT', ` -m comment --comment ${hash()} -m comment --comment "Host endpoint policy accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT`));
    body.push(A('cali-OUTPUT', ` -m comment --comment ${hash()} -m mark --mark 0x10000/0x10000 -j ACCEPT`));
    body.push(A('cali-OUTPUT', ` -o cali+ -m comment --comment ${hash()} -j RETURN`));
    body.push(A('cali-OUTPUT', ` -p udp -m comment --comment ${hash()} -m comment --comment "Allow IPv4 VXLAN packets to other allowed hosts" -m multiport --dports 4789 -m addrtype --src-type LOCAL -m set --match-set cali40all-vxlan-net dst -j ACCEPT`));
    body.push(A('cali-OUTPUT', ` -m comment --comment ${hash()} -j MARK --set-xmark 0x0/0x1b0000`));
    body.push(A('cali-OUTPUT', ` -m comment --comment ${hash()} -m conntrack ! --ctstate DNAT -j cali-to-host-endpoint`));
    body.push(A('cali-OUTPUT', ` -m comment --comment ${hash()} -m comment --comment "Host endpoint policy accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT`));
    body.push(A('cali-wl-to-host', ` -m comment --comment ${hash()} -j cali-from-wl-dispatch`));
    body.push(A('cali-wl-to-host', ` -m comment --comment ${hash()} -m comment --comment "Configured DefaultEndpointToHostAction" -j ACCEPT`));

    // Dispatch chains, split one level by the character after the common "cali" prefix.
    const groups = new Map<string, GeneratedWorkload[]>();
    for (const w of workloads) {
      const c = w.iface[4];
      if (!groups.has(c)) groups.set(c, []);
      groups.get(c)!.push(w);
    }
    for (const [dir, flag, pfx] of [['from', '-i', 'cali-fw-'], ['to', '-o', 'cali-tw-']] as const) {
      const root = `cali-${dir}-wl-dispatch`;
      for (const [c, ws] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
        if (ws.length === 1) {
          body.push(A(root, ` ${flag} ${ws[0].iface} -m comment --comment ${hash()} -g ${pfx}${ws[0].iface}`));
          continue;
        }
        const child = `${root}-${c}`;
        chains.push(child);
        body.push(A(root, ` ${flag} cali${c}+ -m comment --comment ${hash()} -g ${child}`));
        for (const w of ws) body.push(A(child, ` ${flag} ${w.iface} -m comment --comment ${hash()} -g ${pfx}${w.iface}`));
        body.push(A(child, ` -m comment --comment ${hash()} -m comment --comment "Unknown interface" -j DROP`));
      }
      body.push(A(root, ` -m comment --comment ${hash()} -m comment --comment "Unknown interface" -j DROP`));
    }

    // Workload endpoint chains, and one profile chain per (profile, direction); long profile
    // names are hashed once, as Felix does.
    const profileChains = new Map<string, { prof: string; ingress: boolean }>();
    const profileChainName = new Map<string, string>();
    for (const w of workloads) {
      for (const ingress of [true, false]) {
        const chain = `${ingress ? 'cali-tw-' : 'cali-fw-'}${w.iface}`;
        chains.push(chain);
        body.push(A(chain, ` -m comment --comment ${hash()} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`));
        body.push(A(chain, ` -m comment --comment ${hash()} -m conntrack --ctstate INVALID -j DROP`));
        body.push(A(chain, ` -m comment --comment ${hash()} -j MARK --set-xmark 0x0/0x30000`));
        if (!ingress) {
          body.push(A(chain, ` -p udp -m comment --comment ${hash()} -m comment --comment "DROP VXLAN encapped packets originating in workloads" -m multiport --dports 4789 -j DROP`));
          body.push(A(chain, ` -p ipencap -m comment --comment ${hash()} -m comment --comment "DROP IPinIP encapped packets originating in workloads" -j DROP`));
        }
        const pols = ingress ? w.ingressPolicies : w.egressPolicies;
        if (pols.length) {
          body.push(A(chain, ` -m comment --comment ${hash()} -m comment --comment "Start of tier default" -j MARK --set-xmark 0x0/0x20000`));
          for (const p of pols) {
            body.push(A(chain, ` -m comment --comment ${hash()} -m mark --mark 0x0/0x20000 -j ${p}`));
            body.push(A(chain, ` -m comment --comment ${hash()} -m comment --comment "Return if policy accepted" -m mark --mark 0x10000/0x10000 -j RETURN`));
          }
          body.push(A(chain, ` -m comment --comment ${hash()} -m comment --comment "End of tier default. DROP if no policies passed packet" -m mark --mark 0x0/0x20000 -j DROP`));
        }
        const d = ingress ? 'pri' : 'pro';
        for (const prof of [`kns.${w.namespace}`, `ksa.${w.namespace}.default`]) {
          const key = `${d}/${prof}`;
          let pc = profileChainName.get(key);
          if (pc === undefined) {
            pc = `cali-${d}-${prof}`.length <= 28 ? `cali-${d}-${prof}` : `cali-${d}-_${id(B64, 18)}`;
            profileChainName.set(key, pc);
            profileChains.set(pc, { prof, ingress });
          }
          body.push(A(chain, ` -m comment --comment ${hash()} -j ${pc}`));
          body.push(A(chain, ` -m comment --comment ${hash()} -m comment --comment "Return if profile accepted" -m mark --mark 0x10000/0x10000 -j RETURN`));
        }
        body.push(A(chain, ` -m comment --comment ${hash()} -m comment --comment "DROP if no profiles matched" -j DROP`));
      }
    }
    for (const [pc, { prof, ingress }] of [...profileChains].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      chains.push(pc);
      const dir = ingress ? 'ingress' : 'egress';
      if (prof.startsWith('kns.')) {
        body.push(A(pc, ` -m comment --comment ${hash()} -m comment --comment "Profile ${prof} ${dir}" -j MARK --set-xmark 0x10000/0x10000`));
        body.push(A(pc, ` -m comment --comment ${hash()} -m mark --mark 0x10000/0x10000 -j RETURN`));
      } else body.push(A(pc, ` -m comment --comment ${hash()} -m comment --comment "Profile ${prof} ${dir}"`));
    }

    // Policy chains; extra API rules are added round-robin until the rule budget is met.
    const fixedRules = rules + body.length + 1; // + the KUBE-SERVICES REJECT below
    let policyRules = 0;
    for (const p of policies) policyRules += p.rules.length * 2;
    let pi = 0;
    while (fixedRules + policyRules < target) {
      const p = policies[pi++ % policies.length];
      p.rules.push(apiRule(p.ingress));
      policyRules += 2;
    }
    for (const p of policies) {
      chains.push(p.chain);
      p.rules.forEach((pair, i) => {
        const first = i === 0 ? pair[0].replace(/-m comment --comment ("cali:[^"]+")/, `-m comment --comment $1 -m comment --comment "NetworkPolicy ${p.ns}/${p.name} ${p.ingress ? 'ingress' : 'egress'}"`) : pair[0];
        body.push(A(p.chain, first));
        body.push(A(p.chain, pair[1]));
      });
    }
    body.push(A('KUBE-SERVICES', ' -d 10.96.255.254/32 -p tcp -m comment --comment "default/no-endpoints:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable'));
    // (cali-from/to-hep-forward and cali-from/to-host-endpoint stay empty: no host endpoints.)
    table('filter', chains, body, { INPUT: 'ACCEPT', FORWARD: 'DROP', OUTPUT: 'ACCEPT' });
  }

  const text = `${out.join('\n')}\n`;
  return { text, ipsets, rules, lines: out.length, workloads, services };
}

/** `ipset restore` text for the generated sets (for loading into a real kernel). */
export function ipsetRestoreText(sets: GeneratedIpset[]): string {
  const lines: string[] = [];
  for (const s of sets) {
    lines.push(`create ${s.name} ${s.type} family inet hashsize 1024 maxelem 1048576`);
    for (const m of s.members) lines.push(`add ${s.name} ${m}`);
  }
  return `${lines.join('\n')}\n`;
}
