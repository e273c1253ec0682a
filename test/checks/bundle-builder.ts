/**
 * Small realistic bundles for the node checks, built in the formats the collector writes and the
 * real tools print: `ip -d -j addr` / `ip -j route show table all` / `ip -j rule` / `ip -j neigh`
 * / `bridge -j fdb` JSON (field names as in test/fixtures/iproute), `sysctl -a` lines,
 * `iptables-save -c` text with Felix's static chains (lines from Felix's real dump,
 * test/fixtures/render/felix-fv-dump.txt) plus per-pod dispatch and endpoint chains and
 * kube-proxy's hooks, `ipset save`, `conntrack -S`, Felix metrics / log / health and
 * `calicoctl node status`, and the cluster's resources as `kubectl get -o yaml` Lists.
 *
 * `healthyCluster()` returns a mutable description of a working cluster (2–3 nodes, pods, one
 * pool, BGP / VXLAN / IPIP); a test breaks one thing in it and `build()` loads it through the
 * real bundle loader.
 */
import { stringify } from 'yaml';
import { memoryBundle } from '../../src/bundle/source.js';
import { loadBundleFromSource } from '../../src/bundle/load.js';
import type { Bundle } from '../../src/model/bundle.js';
import { makeContext } from '../../src/checks/run.js';
import type { Check, CheckResult, Finding } from '../../src/checks/types.js';
import { vethNameForWorkload } from '../../src/calico/naming.js';

export type Mode = 'bgp' | 'vxlan' | 'ipip';
export type Json = Record<string, unknown>;

export interface PodDef {
  namespace: string;
  name: string;
  ip: string;
  node: string;
  iface: string;
  labels?: Record<string, string>;
  /** Kubernetes status: Running + Ready unless overridden. */
  phase?: string;
  ready?: boolean;
  /** Container restarting: not Ready, CrashLoopBackOff. */
  crashLoop?: boolean;
}

export interface NodeDef {
  name: string;
  ip: string;
  block: string;
  /** `ip -d -j addr` elements. */
  links: Json[];
  /** `ip -j route show table all` elements. */
  routes: Json[];
  rules: Json[];
  neigh: Json[];
  fdb: Json[];
  /** `sysctl -a` as ordered key → value. */
  sysctl: Map<string, string>;
  /** iptables-save text (built from `felix` when not set). */
  iptables?: string;
  /** Extra raw lines inserted into the filter table of the generated dump: chain → lines placed first / last. */
  filterTop: Record<string, string[]>;
  filterBottom: Record<string, string[]>;
  /** FORWARD policy. */
  forwardPolicy: 'ACCEPT' | 'DROP';
  /** Leave Felix's FORWARD append rules out. */
  noFelixForwardAppend?: boolean;
  /** Leave the MASQUERADE rule in cali-nat-outgoing out. */
  noNatOutgoingRule?: boolean;
  ipset?: string;
  conntrackStats?: string;
  felixMetrics?: string;
  felixLog?: string;
  felixHealth?: string;
  nodeStatus?: string;
  /** Files of this node not to write (`ip-route.json`, `sysctl.txt`, …). */
  omit: Set<string>;
  /** Extra files (name → text). */
  extra: Record<string, string>;
}

export interface PoolDef {
  name: string;
  cidr: string;
  blockSize: number;
  ipipMode: 'Never' | 'Always' | 'CrossSubnet';
  vxlanMode: 'Never' | 'Always' | 'CrossSubnet';
  natOutgoing: boolean;
}

export interface ClusterDef {
  mode: Mode;
  pool: PoolDef;
  nodes: NodeDef[];
  pods: PodDef[];
  /** calico-node / calico-kube-controllers pods (calico-system). */
  calicoPods: Json[];
  felixConfig?: Json;
  /** More cluster objects. */
  extraObjects: Json[];
  /** Leave the IPAM objects out (IPAMBlocks, BlockAffinities). */
  noIpam?: boolean;
  underlayMtu: number;
  podMtu: number;
}

/** node-a … node-z, then node-26, node-27 … */
export const NODE_NAMES = Array.from({ length: 240 }, (_, i) => (i < 26 ? `node-${String.fromCharCode(97 + i)}` : `node-${i}`));

export function mac(i: number, j: number): string {
  return `66:aa:00:00:${i.toString(16).padStart(2, '0')}:${j.toString(16).padStart(2, '0')}`;
}

/** The VXLAN tunnel address of node i (the first address of its block, as Calico's IPAM usually assigns). */
export function tunnelIp(i: number): string {
  return `10.244.${i + 1}.0`;
}

export interface HealthyOptions {
  mode?: Mode;
  nodes?: number;
  podsPerNode?: number;
  calicoSystem?: boolean;
}

/** A working cluster: every route, sysctl, rule and tunnel as Calico programs them. */
export function healthyCluster(o: HealthyOptions = {}): ClusterDef {
  const mode = o.mode ?? 'bgp';
  const count = o.nodes ?? 2;
  const perNode = o.podsPerNode ?? 2;
  const underlayMtu = 1500;
  const podMtu = mode === 'vxlan' ? 1450 : mode === 'ipip' ? 1480 : 1500;
  const pool: PoolDef = {
    name: 'default-ipv4-ippool',
    cidr: '10.244.0.0/16',
    blockSize: 26,
    ipipMode: mode === 'ipip' ? 'Always' : 'Never',
    vxlanMode: mode === 'vxlan' ? 'Always' : 'Never',
    natOutgoing: true,
  };
  const pods: PodDef[] = [];
  const nodes: NodeDef[] = [];
  for (let i = 0; i < count; i++) {
    const name = NODE_NAMES[i];
    for (let j = 0; j < perNode; j++) {
      const ns = j % 2 === 0 ? 'frontend' : 'backend';
      const pn = `${ns === 'frontend' ? 'web' : 'api'}-${i}${j}`;
      pods.push({ namespace: ns, name: pn, ip: `10.244.${i + 1}.${j + 1}`, node: name, iface: vethNameForWorkload(ns, pn), labels: { app: ns === 'frontend' ? 'web' : 'api' } });
    }
    nodes.push({
      name,
      ip: `10.0.0.${11 + i}`,
      block: `10.244.${i + 1}.0/26`,
      links: [],
      routes: [],
      rules: [],
      neigh: [],
      fdb: [],
      sysctl: new Map(),
      filterTop: {},
      filterBottom: {},
      forwardPolicy: 'ACCEPT',
      omit: new Set(),
      extra: {},
    });
  }
  const c: ClusterDef = { mode, pool, nodes, pods, calicoPods: [], extraObjects: [], underlayMtu, podMtu };
  if (o.calicoSystem) {
    const kc = 'calico-kube-controllers-7d9c6b5f4-x2x8q';
    pods.push({ namespace: 'calico-system', name: kc, ip: '10.244.1.60', node: nodes[0].name, iface: vethNameForWorkload('calico-system', kc), labels: { 'k8s-app': 'calico-kube-controllers' } });
    c.calicoPods = calicoNodePods(c);
  }
  for (let i = 0; i < count; i++) fillNode(c, i);
  return c;
}

function fillNode(c: ClusterDef, i: number): void {
  const n = c.nodes[i];
  const mine = c.pods.filter((p) => p.node === n.name);
  const links: Json[] = [
    { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, qdisc: 'noqueue', operstate: 'UNKNOWN', link_type: 'loopback', address: '00:00:00:00:00:00', promiscuity: 0, addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host', label: 'lo' }] },
    { ifindex: 2, ifname: 'eth0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: c.underlayMtu, qdisc: 'mq', operstate: 'UP', link_type: 'ether', address: `52:54:00:00:00:${(11 + i).toString(16)}`, promiscuity: 0, addr_info: [{ family: 'inet', local: n.ip, prefixlen: 24, broadcast: '10.0.0.255', scope: 'global', label: 'eth0' }] },
  ];
  let ifindex = 3;
  if (c.mode === 'vxlan') {
    links.push({ ifindex: ifindex++, ifname: 'vxlan.calico', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: c.underlayMtu - 50, qdisc: 'noqueue', operstate: 'UNKNOWN', link_type: 'ether', address: mac(i, 0), promiscuity: 0, linkinfo: { info_kind: 'vxlan', info_data: { id: 4096, local: n.ip, link: 'eth0', port: 4789, learning: false, ttl: 0, df: 'unset' } }, addr_info: [{ family: 'inet', local: tunnelIp(i), prefixlen: 32, scope: 'global', label: 'vxlan.calico' }] });
  }
  if (c.mode === 'ipip') {
    links.push({ ifindex: ifindex++, link: null, ifname: 'tunl0', flags: ['NOARP', 'UP', 'LOWER_UP'], mtu: c.underlayMtu - 20, qdisc: 'noqueue', operstate: 'UNKNOWN', link_type: 'ipip', address: '0.0.0.0', promiscuity: 0, linkinfo: { info_kind: 'ipip', info_data: { proto: 'any', remote: 'any', local: 'any', ttl: 0, pmtudisc: true } }, addr_info: [{ family: 'inet', local: tunnelIp(i), prefixlen: 32, scope: 'global', label: 'tunl0' }] });
  }
  mine.forEach((p, j) => {
    links.push({ ifindex: ifindex++, link_index: 2, ifname: p.iface, flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: c.podMtu, qdisc: 'noqueue', operstate: 'UP', link_type: 'ether', address: 'ee:ee:ee:ee:ee:ee', link_netnsid: j, promiscuity: 0, linkinfo: { info_kind: 'veth' }, addr_info: [{ family: 'inet6', local: 'fe80::ecee:eeff:feee:eeee', prefixlen: 64, scope: 'link' }] });
  });
  n.links = links;

  const proto = c.mode === 'vxlan' ? '80' : 'bird';
  const routes: Json[] = [
    { dst: 'default', gateway: '10.0.0.1', dev: 'eth0', protocol: 'static', flags: [] },
    { dst: '10.0.0.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: n.ip, flags: [] },
    { type: 'blackhole', dst: n.block, protocol: proto, flags: [] },
  ];
  for (const p of mine) routes.push({ dst: p.ip, dev: p.iface, scope: 'link', flags: [] });
  c.nodes.forEach((o, k) => {
    if (k === i) return;
    if (c.mode === 'bgp') routes.push({ dst: o.block, gateway: o.ip, dev: 'eth0', protocol: 'bird', flags: [] });
    else if (c.mode === 'ipip') routes.push({ dst: o.block, gateway: o.ip, dev: 'tunl0', protocol: 'bird', flags: ['onlink'] });
    else routes.push({ dst: o.block, gateway: tunnelIp(k), dev: 'vxlan.calico', protocol: '80', flags: ['onlink'] });
  });
  routes.push({ type: 'local', dst: n.ip, dev: 'eth0', table: 'local', protocol: 'kernel', scope: 'host', prefsrc: n.ip, flags: [] });
  routes.push({ type: 'local', dst: '127.0.0.1', dev: 'lo', table: 'local', protocol: 'kernel', scope: 'host', prefsrc: '127.0.0.1', flags: [] });
  if (c.mode !== 'bgp') routes.push({ type: 'local', dst: tunnelIp(i), dev: c.mode === 'vxlan' ? 'vxlan.calico' : 'tunl0', table: 'local', protocol: 'kernel', scope: 'host', prefsrc: tunnelIp(i), flags: [] });
  n.routes = routes;
  n.rules = [
    { priority: 0, src: 'all', table: 'local' },
    { priority: 32766, src: 'all', table: 'main' },
    { priority: 32767, src: 'all', table: 'default' },
  ];
  n.neigh = [{ dst: '10.0.0.1', dev: 'eth0', lladdr: '52:54:00:00:00:01', state: ['REACHABLE'] }];
  n.fdb = [{ mac: '33:33:00:00:00:01', ifname: 'eth0', flags: ['self'], state: 'permanent' }];
  if (c.mode === 'vxlan') {
    c.nodes.forEach((o, k) => {
      if (k === i) return;
      n.neigh.push({ dst: tunnelIp(k), dev: 'vxlan.calico', lladdr: mac(k, 0), state: ['PERMANENT'] });
      n.fdb.push({ mac: mac(k, 0), ifname: 'vxlan.calico', dst: o.ip, flags: ['self'], state: 'permanent' });
    });
  }
  for (const p of mine) n.neigh.push({ dst: p.ip, dev: p.iface, lladdr: '0a:58:0a:f4:00:01', state: ['REACHABLE'] });

  const s = new Map<string, string>();
  const ifaces = ['all', 'default', 'eth0', 'lo', ...(c.mode === 'vxlan' ? ['vxlan/calico'] : c.mode === 'ipip' ? ['tunl0'] : []), ...mine.map((p) => p.iface)];
  for (const f of ifaces) {
    const cali = f.startsWith('cali');
    s.set(`net.ipv4.conf.${f}.forwarding`, '1');
    s.set(`net.ipv4.conf.${f}.proxy_arp`, cali ? '1' : '0');
    s.set(`net.ipv4.conf.${f}.rp_filter`, cali ? '1' : f === 'all' || f === 'default' ? '0' : '2');
    s.set(`net.ipv4.conf.${f}.src_valid_mark`, '0');
  }
  s.set('net.ipv4.ip_forward', '1');
  s.set('net.ipv6.conf.all.forwarding', '0');
  s.set('net.netfilter.nf_conntrack_count', '1834');
  s.set('net.netfilter.nf_conntrack_max', '262144');
  n.sysctl = s;
  n.conntrackStats = 'cpu=0   \tfound=3 invalid=23 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \ncpu=1   \tfound=3 invalid=41 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n';
  n.felixMetrics = felixMetrics({});
  n.felixLog = HEALTHY_LOG;
  n.felixHealth = 'GET http://localhost:9099/readiness -> 200\n+-----------+---------+----------------+-----------------+--------+\n| COMPONENT | TIMEOUT |    LIVENESS    |    READINESS    | DETAIL |\n+-----------+---------+----------------+-----------------+--------+\n| felix     | 20s     | reporting live | reporting ready |        |\n+-----------+---------+----------------+-----------------+--------+\n\nGET http://localhost:9099/liveness -> 200\nfelix live\n';
}

/** Felix metrics in Prometheus text format, with the given overrides (name → value). */
export function felixMetrics(over: Record<string, number>): string {
  const v: Record<string, [string, number]> = {
    felix_resync_state: ['gauge', 3],
    felix_resyncs_started: ['gauge', 1],
    felix_int_dataplane_failures: ['counter', 0],
    felix_iptables_restore_errors: ['counter', 0],
    felix_iptables_save_errors: ['counter', 0],
    felix_ipset_errors: ['counter', 0],
    felix_iptables_rules: ['gauge', 214],
    felix_active_local_endpoints: ['gauge', 2],
  };
  for (const [k, x] of Object.entries(over)) v[k] = [v[k]?.[0] ?? 'gauge', x];
  return Object.entries(v)
    .map(([k, [t, x]]) => `# HELP ${k} ${k.replace(/_/g, ' ')}.\n# TYPE ${k} ${t}\n${k} ${x}`)
    .join('\n')
    .concat('\n');
}

export const HEALTHY_LOG = [
  '2026-11-22 11:29:41.602 [INFO][84] felix/daemon.go 133: Felix starting up GOMAXPROCS=4 version="v3.30.3"',
  '2026-11-22 11:29:41.603 [INFO][84] felix/daemon.go 215: Connecting to datastore datastore="kubernetes"',
  '2026-11-22 11:29:44.020 [INFO][84] felix/int_dataplane.go 2482: Started internal iptables dataplane driver loop',
  '2026-11-22 11:29:44.377 [INFO][84] felix/async_calc_graph.go 166: First time we\'ve been in sync',
  '2026-11-22 11:29:44.379 [INFO][84] felix/daemon.go 1453: Datastore now in sync.',
  '2026-11-22 11:29:44.988 [INFO][84] felix/int_dataplane.go 2585: Completed first update to dataplane. secsSinceStart=3.386215409',
  '2026-11-22 11:30:47.851 [INFO][84] felix/summarizer.go 100: Summarising 14 dataplane reconciliation loops over 1m3.5s: avg=11ms longest=46ms (resync-filter-v4,resync-nat-v4,update-filter-v4)',
  '',
].join('\n');

function calicoNodePods(c: ClusterDef): Json[] {
  return c.nodes.map((n, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `calico-node-${i.toString(36).padStart(2, 'x')}k2q`, namespace: 'calico-system', labels: { 'k8s-app': 'calico-node' } },
    spec: { nodeName: n.name, hostNetwork: true, serviceAccountName: 'calico-node', containers: [{ name: 'calico-node', image: 'calico/node:v3.30.3' }] },
    status: { phase: 'Running', podIP: n.ip, hostIP: n.ip, conditions: [{ type: 'Ready', status: 'True' }, { type: 'ContainersReady', status: 'True' }], containerStatuses: [{ name: 'calico-node', ready: true, restartCount: 0 }] },
  }));
}

/** Marks a calico-system pod as failing (not Ready, CrashLoopBackOff). */
export function crashLoop(p: Json): void {
  p.status = {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }, { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady' }],
    containerStatuses: [{ name: 'c', ready: false, restartCount: 14, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container' } } }],
  };
}

// ---------------------------------------------------------------------------------------------
// iptables-save and ipset save

function chainId(iface: string): string {
  return iface;
}

/** Felix's dump (static chains as in its real dump, dispatch and endpoint chains per pod) plus kube-proxy's hooks. */
export function felixDump(c: ClusterDef, n: NodeDef): string {
  const mine = c.pods.filter((p) => p.node === n.name);
  const h = (k: string) => `-m comment --comment "cali:${k.padEnd(16, 'x').slice(0, 16)}"`;
  const vx = c.mode === 'vxlan';
  const ipip = c.mode === 'ipip';
  const out: string[] = ['# Generated by iptables-save v1.8.9 (nf_tables) on Sun Nov 22 11:25:34 2026'];
  out.push('*raw', ':PREROUTING ACCEPT [78416:301973864]', ':OUTPUT ACCEPT [49610:65254027]', ':cali-OUTPUT - [0:0]', ':cali-PREROUTING - [0:0]', ':cali-from-host-endpoint - [0:0]', ':cali-rpf-skip - [0:0]', ':cali-to-host-endpoint - [0:0]');
  out.push(`[9:9] -A PREROUTING ${h('6gwbT8clXdHdC1b1')} -j cali-PREROUTING`, `[9:9] -A OUTPUT ${h('tVnHkvAo15HuiPy0')} -j cali-OUTPUT`);
  out.push(`[9:9] -A cali-OUTPUT ${h('clI8WObfCl4yhr60')} -j MARK --set-xmark 0x0/0x1b0000`, `[9:9] -A cali-OUTPUT ${h('ZbkN6P8OdRcBRPpU')} -j cali-to-host-endpoint`, `[0:0] -A cali-OUTPUT ${h('MGhICIksKDnYMIkW')} -m mark --mark 0x10000/0x10000 -j ACCEPT`);
  out.push(
    `[9:9] -A cali-PREROUTING ${h('DQ6LK2guiBRMyrLK')} -j MARK --set-xmark 0x0/0x1b0000`,
    `[9:9] -A cali-PREROUTING -i cali+ ${h('W0qKAga6QivxLxL1')} -j MARK --set-xmark 0x80000/0x80000`,
    `[9:9] -A cali-PREROUTING ${h('QOYCZUivPyJL6Dp1')} -m mark --mark 0x80000/0x80000 -j cali-rpf-skip`,
    `[0:0] -A cali-PREROUTING ${h('uvipz_NmQPrGYnTB')} -m mark --mark 0x80000/0x80000 -m rpfilter --validmark --invert -j DROP`,
    `[9:9] -A cali-PREROUTING ${h('pj4jqF0K2OCNLmzX')} -m mark --mark 0x0/0x80000 -j cali-from-host-endpoint`,
    `[0:0] -A cali-PREROUTING ${h('Jefg6QI5khJcHnVl')} -m mark --mark 0x10000/0x10000 -j ACCEPT`,
    'COMMIT',
  );
  out.push('*nat', ':PREROUTING ACCEPT [29:1352]', ':INPUT ACCEPT [29:1352]', ':OUTPUT ACCEPT [54:6201]', ':POSTROUTING ACCEPT [54:6201]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-SERVICES - [0:0]', ':cali-OUTPUT - [0:0]', ':cali-POSTROUTING - [0:0]', ':cali-PREROUTING - [0:0]', ':cali-fip-dnat - [0:0]', ':cali-fip-snat - [0:0]', ':cali-nat-outgoing - [0:0]');
  out.push(
    `[9:9] -A PREROUTING ${h('6gwbT8clXdHdC1b1')} -j cali-PREROUTING`,
    '[9:9] -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    `[9:9] -A OUTPUT ${h('tVnHkvAo15HuiPy0')} -j cali-OUTPUT`,
    '[9:9] -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    `[9:9] -A POSTROUTING ${h('0i8pjzKKPyA34aQD')} -j cali-POSTROUTING`,
    '[9:9] -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '[9:9] -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    `[9:9] -A cali-OUTPUT ${h('GBTAv2p5CwevEyJm')} -j cali-fip-dnat`,
    `[9:9] -A cali-POSTROUTING ${h('Z-c7XtVd2Bq7s_hA')} -j cali-fip-snat`,
    `[9:9] -A cali-POSTROUTING ${h('nYKhEzDlr11Jccal')} -j cali-nat-outgoing`,
  );
  if (vx) out.push(`[0:0] -A cali-POSTROUTING -o vxlan.calico ${h('e9dnSgSVNmIcpVhP')} -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL -j MASQUERADE --random-fully`);
  if (ipip) out.push(`[0:0] -A cali-POSTROUTING -o tunl0 ${h('SXWvdsbh4Mw7wOln')} -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL -j MASQUERADE --random-fully`);
  out.push(`[9:9] -A cali-PREROUTING ${h('r6XmIziWUJsdOK6Z')} -j cali-fip-dnat`);
  if (c.pool.natOutgoing && !n.noNatOutgoingRule) out.push(`[288:17328] -A cali-nat-outgoing ${h('flqWnvo8yq4ULQLa')} -m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully`);
  out.push('COMMIT');

  out.push('*filter', ':INPUT ACCEPT [348:105097]', `:FORWARD ${n.forwardPolicy} [0:0]`, ':OUTPUT ACCEPT [307:60006]', ':KUBE-FORWARD - [0:0]', ':KUBE-SERVICES - [0:0]');
  const namespaces = [...new Set(c.pods.map((p) => p.namespace))].sort();
  const staticChains = ['cali-FORWARD', 'cali-INPUT', 'cali-OUTPUT', 'cali-cidr-block', 'cali-from-hep-forward', 'cali-from-host-endpoint', 'cali-from-wl-dispatch', 'cali-to-hep-forward', 'cali-to-host-endpoint', 'cali-to-wl-dispatch', 'cali-wl-to-host', ...namespaces.flatMap((ns) => [`cali-pri-kns.${ns}`, `cali-pro-kns.${ns}`])];
  for (const ch of staticChains) out.push(`:${ch} - [0:0]`);
  for (const p of mine) out.push(`:cali-tw-${chainId(p.iface)} - [0:0]`, `:cali-fw-${chainId(p.iface)} - [0:0]`);
  const extraChains = new Set([...Object.keys(n.filterTop), ...Object.keys(n.filterBottom)].filter((x) => !['INPUT', 'FORWARD', 'OUTPUT'].includes(x) && !staticChains.includes(x)));
  for (const ch of extraChains) out.push(`:${ch} - [0:0]`);
  const rules: Record<string, string[]> = {
    INPUT: [`[9:9] -A INPUT ${h('Cz_u1IQiXIMmKD4c')} -j cali-INPUT`],
    FORWARD: [
      `[9:9] -A FORWARD ${h('wUHhoiAYhphO9Mso')} -j cali-FORWARD`,
      '[9:9] -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
      '[9:9] -A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      ...(n.noFelixForwardAppend ? [] : [`[9:9] -A FORWARD ${h('S93hcgKJrXEqnTfs')} -m comment --comment "Policy explicitly accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT`, `[9:9] -A FORWARD ${h('mp77cMpurHhyjLrM')} -j MARK --set-xmark 0x10000/0x10000`]),
    ],
    OUTPUT: [`[9:9] -A OUTPUT ${h('tVnHkvAo15HuiPy0')} -j cali-OUTPUT`],
    'KUBE-FORWARD': ['[0:0] -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP', '[9:9] -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'],
    'cali-FORWARD': [
      `[9:9] -A cali-FORWARD ${h('W_vvds1Nw3n9QE2f')} -j MARK --set-xmark 0x0/0x1a0000`,
      `[9:9] -A cali-FORWARD ${h('ZfgmjuiLaA8Pg0kp')} -m mark --mark 0x0/0x10000 -j cali-from-hep-forward`,
      `[9:9] -A cali-FORWARD -i cali+ ${h('tAzwBLPaV-j53OOZ')} -j cali-from-wl-dispatch`,
      `[9:9] -A cali-FORWARD -o cali+ ${h('4Z0Pf0byo05NFe-P')} -j cali-to-wl-dispatch`,
      `[9:9] -A cali-FORWARD ${h('hQ7Oc16wmUtLuneJ')} -j cali-to-hep-forward`,
      `[9:9] -A cali-FORWARD ${h('rnKNH2WxGcRQcIlD')} -j cali-cidr-block`,
    ],
    'cali-INPUT': [
      ...(vx ? [`[9:9] -A cali-INPUT -p udp ${h('J76FwxInZIsk7uKY')} -m comment --comment "Allow IPv4 VXLAN packets from allowed hosts" -m multiport --dports 4789 -m set --match-set cali40all-vxlan-net src -m addrtype --dst-type LOCAL -j ACCEPT`, `[0:0] -A cali-INPUT -p udp ${h('EDCNTTxYfggApx8C')} -m comment --comment "Drop IPv4 VXLAN packets from non-allowed hosts" -m multiport --dports 4789 -m addrtype --dst-type LOCAL -j DROP`] : []),
      ...(ipip ? [`[9:9] -A cali-INPUT -p ipencap ${h('PajejrV4aFdkZojI')} -m comment --comment "Allow IPIP packets from Calico hosts" -m set --match-set cali40all-hosts-net src -m addrtype --dst-type LOCAL -j ACCEPT`, `[0:0] -A cali-INPUT -p ipencap ${h('_wjq-Yrma8Ly1Svo')} -m comment --comment "Drop IPIP packets from non-Calico hosts" -j DROP`] : []),
      `[9:9] -A cali-INPUT -i cali+ ${h('H03xYXARh4e8pwd4')} -g cali-wl-to-host`,
      `[9:9] -A cali-INPUT ${h('MN6K3isIWBigb1Va')} -m mark --mark 0x10000/0x10000 -j ACCEPT`,
      `[9:9] -A cali-INPUT ${h('aKDQAoV0P_FFAIwV')} -j MARK --set-xmark 0x0/0x1b0000`,
      `[9:9] -A cali-INPUT ${h('vIx3xkWzuvLW9fr4')} -j cali-from-host-endpoint`,
      `[0:0] -A cali-INPUT ${h('5W9XghKma9wuz47x')} -m comment --comment "Host endpoint policy accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT`,
    ],
    'cali-OUTPUT': [`[9:9] -A cali-OUTPUT ${h('Mq1_rAdXXH3YkrzW')} -m mark --mark 0x10000/0x10000 -j ACCEPT`, `[9:9] -A cali-OUTPUT -o cali+ ${h('69FkRTJDvD5Vu6Vl')} -j RETURN`, `[9:9] -A cali-OUTPUT ${h('6T0hFtymUtXMOfEV')} -j MARK --set-xmark 0x0/0x1b0000`],
    'cali-from-wl-dispatch': [...mine.map((p) => `[9:9] -A cali-from-wl-dispatch -i ${p.iface} ${h(`fwd${p.iface}`)} -g cali-fw-${chainId(p.iface)}`), `[0:0] -A cali-from-wl-dispatch ${h('zTj6P0TIgYvgz-md')} -m comment --comment "Unknown interface" -j DROP`],
    'cali-to-wl-dispatch': [...mine.map((p) => `[9:9] -A cali-to-wl-dispatch -o ${p.iface} ${h(`twd${p.iface}`)} -g cali-tw-${chainId(p.iface)}`), `[0:0] -A cali-to-wl-dispatch ${h('7KNphB1nNHw80nIO')} -m comment --comment "Unknown interface" -j DROP`],
    'cali-wl-to-host': [`[9:9] -A cali-wl-to-host ${h('Ee9Sbo10IpVujdIY')} -j cali-from-wl-dispatch`, `[9:9] -A cali-wl-to-host ${h('nSZbcOoG1xPONxb8')} -m comment --comment "Configured DefaultEndpointToHostAction" -j ACCEPT`],
  };
  for (const ns of namespaces) {
    rules[`cali-pri-kns.${ns}`] = [`[9:9] -A cali-pri-kns.${ns} ${h(`pri${ns}`)} -j MARK --set-xmark 0x10000/0x10000`, `[9:9] -A cali-pri-kns.${ns} ${h(`pri2${ns}`)} -m mark --mark 0x10000/0x10000 -j RETURN`];
    rules[`cali-pro-kns.${ns}`] = [`[9:9] -A cali-pro-kns.${ns} ${h(`pro${ns}`)} -j MARK --set-xmark 0x10000/0x10000`, `[9:9] -A cali-pro-kns.${ns} ${h(`pro2${ns}`)} -m mark --mark 0x10000/0x10000 -j RETURN`];
  }
  for (const p of mine) {
    const id = chainId(p.iface);
    for (const [dir, prof] of [['tw', 'pri'], ['fw', 'pro']] as const) {
      const ch = `cali-${dir}-${id}`;
      rules[ch] = [
        `[9:9] -A ${ch} ${h(`${dir}1${id}`)} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `[0:0] -A ${ch} ${h(`${dir}2${id}`)} -m conntrack --ctstate INVALID -j DROP`,
        `[9:9] -A ${ch} ${h(`${dir}3${id}`)} -j MARK --set-xmark 0x0/0x10000`,
        `[9:9] -A ${ch} ${h(`${dir}4${id}`)} -j cali-${prof}-kns.${p.namespace}`,
        `[9:9] -A ${ch} ${h(`${dir}5${id}`)} -m comment --comment "Return if profile accepted" -m mark --mark 0x10000/0x10000 -j RETURN`,
        `[0:0] -A ${ch} ${h(`${dir}6${id}`)} -m comment --comment "Drop if no profiles matched" -j DROP`,
      ];
    }
  }
  const order = ['INPUT', 'FORWARD', 'OUTPUT', 'KUBE-FORWARD', ...staticChains, ...mine.flatMap((p) => [`cali-tw-${chainId(p.iface)}`, `cali-fw-${chainId(p.iface)}`]), ...extraChains];
  for (const ch of order) {
    const top = (n.filterTop[ch] ?? []).map((l) => `[0:0] -A ${ch} ${l}`);
    const bottom = (n.filterBottom[ch] ?? []).map((l) => `[0:0] -A ${ch} ${l}`);
    out.push(...top, ...(rules[ch] ?? []), ...bottom);
  }
  out.push('COMMIT', '# Completed on Sun Nov 22 11:25:34 2026');
  return out.join('\n') + '\n';
}

export function ipsetSave(c: ClusterDef): string {
  const lines = [
    'create cali40masq-ipam-pools hash:net family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x8fe22a60',
    ...(c.pool.natOutgoing ? [`add cali40masq-ipam-pools ${c.pool.cidr}`] : []),
    'create cali40all-ipam-pools hash:net family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0xa7192e38',
    `add cali40all-ipam-pools ${c.pool.cidr}`,
    'create cali40all-vxlan-net hash:net family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x1e4b2e61',
    ...(c.mode === 'vxlan' ? c.nodes.map((n) => `add cali40all-vxlan-net ${n.ip}`) : []),
    'create cali40all-hosts-net hash:net family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x5c1a2b3d',
    ...(c.mode === 'ipip' ? c.nodes.map((n) => `add cali40all-hosts-net ${n.ip}`) : []),
  ];
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Cluster resources

export function listYaml(objects: Json[]): string {
  return stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: objects }, { lineWidth: 0 });
}

function clusterObjects(c: ClusterDef): Record<string, Json[]> {
  const files: Record<string, Json[]> = {};
  files['cluster/ippools.crd.projectcalico.org.yaml'] = [{ apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name: c.pool.name }, spec: { cidr: c.pool.cidr, blockSize: c.pool.blockSize, ipipMode: c.pool.ipipMode, vxlanMode: c.pool.vxlanMode, natOutgoing: c.pool.natOutgoing, nodeSelector: 'all()' } }];
  files['cluster/nodes.yaml'] = c.nodes.map((n, i) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' }, annotations: { 'projectcalico.org/IPv4Address': `${n.ip}/24`, ...(c.mode === 'vxlan' ? { 'projectcalico.org/IPv4VXLANTunnelAddr': tunnelIp(i), 'projectcalico.org/VXLANTunnelMACAddr': mac(i, 0) } : {}) } },
    spec: { podCIDR: `10.96.${i}.0/24` },
    status: { addresses: [{ type: 'InternalIP', address: n.ip }, { type: 'Hostname', address: n.name }], conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] },
  }));
  files['cluster/nodes.projectcalico.org.yaml'] = c.nodes.map((n, i) => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name } },
    spec: {
      addresses: [{ address: `${n.ip}/24`, type: 'CalicoNodeIP' }, { address: n.ip, type: 'InternalIP' }],
      bgp: { ipv4Address: `${n.ip}/24`, ...(c.mode === 'ipip' ? { ipv4IPIPTunnelAddr: tunnelIp(i) } : {}) },
      ...(c.mode === 'vxlan' ? { ipv4VXLANTunnelAddr: tunnelIp(i), vxlanTunnelMACAddr: mac(i, 0) } : {}),
      orchRefs: [{ nodeName: n.name, orchestrator: 'k8s' }],
    },
  }));
  if (!c.noIpam) {
    files['cluster/ipamblocks.crd.projectcalico.org.yaml'] = c.nodes.map((n) => {
      const mine = c.pods.filter((p) => p.node === n.name);
      const allocations: (number | null)[] = Array.from({ length: 64 }, () => null);
      mine.forEach((p, j) => (allocations[Number(p.ip.split('.')[3])] = j));
      return {
        apiVersion: 'crd.projectcalico.org/v1',
        kind: 'IPAMBlock',
        metadata: { name: n.block.replace(/[./]/g, '-') },
        spec: { cidr: n.block, affinity: `host:${n.name}`, allocations, unallocated: allocations.map((a, k) => (a === null ? k : -1)).filter((k) => k >= 0), attributes: mine.map((p) => ({ handle_id: `k8s-pod-network.${p.name}`, secondary: { namespace: p.namespace, node: n.name, pod: p.name, timestamp: '2026-11-22 11:20:00 +0000 UTC' } })), deleted: false },
      };
    });
    files['cluster/blockaffinities.crd.projectcalico.org.yaml'] = c.nodes.map((n) => ({ apiVersion: 'crd.projectcalico.org/v1', kind: 'BlockAffinity', metadata: { name: `${n.name}-${n.block.replace(/[./]/g, '-')}` }, spec: { state: 'confirmed', node: n.name, cidr: n.block, deleted: 'false' } }));
  }
  files['cluster/pods.yaml'] = [
    ...c.pods.map((p) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p.name, namespace: p.namespace, labels: p.labels ?? {}, annotations: { 'cni.projectcalico.org/podIP': `${p.ip}/32`, 'cni.projectcalico.org/podIPs': `${p.ip}/32` } },
      spec: { nodeName: p.node, serviceAccountName: 'default', containers: [{ name: 'app', image: 'nginx' }] },
      status: {
        phase: p.phase ?? 'Running',
        podIP: p.ip,
        podIPs: [{ ip: p.ip }],
        hostIP: c.nodes.find((n) => n.name === p.node)?.ip,
        conditions: p.crashLoop || p.ready === false ? [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }, { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady' }] : [{ type: 'Ready', status: 'True' }],
        containerStatuses: [p.crashLoop ? { name: 'app', ready: false, restartCount: 14, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container' } } } : { name: 'app', ready: p.ready !== false, restartCount: 0 }],
      },
    })),
    ...c.calicoPods,
  ];
  files['cluster/namespaces.yaml'] = [...new Set(['frontend', 'backend', 'calico-system', ...c.pods.map((p) => p.namespace)])].map((ns) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } } }));
  if (c.felixConfig) files['cluster/felixconfigurations.crd.projectcalico.org.yaml'] = [c.felixConfig];
  if (c.extraObjects.length) files['cluster/extra.yaml'] = c.extraObjects;
  return files;
}

// ---------------------------------------------------------------------------------------------
// Building

function sysctlText(s: Map<string, string>): string {
  return [...s].map(([k, v]) => `${k} = ${v}`).join('\n') + '\n';
}

/** Every file of the bundle (path → text). */
export function bundleFiles(c: ClusterDef): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [p, objs] of Object.entries(clusterObjects(c))) files[p] = listYaml(objs);
  for (const n of c.nodes) {
    const put = (name: string, text: string | undefined) => {
      if (text !== undefined && !n.omit.has(name)) files[`nodes/${n.name}/${name}`] = text;
    };
    put('ip-addr.json', JSON.stringify(n.links));
    put('ip-route.json', JSON.stringify(n.routes));
    put('ip-rule.json', JSON.stringify(n.rules));
    put('ip-neigh.json', JSON.stringify(n.neigh));
    put('bridge-fdb.json', JSON.stringify(n.fdb));
    put('sysctl.txt', sysctlText(n.sysctl));
    put('iptables-save.txt', n.iptables ?? felixDump(c, n));
    put('ipset.txt', n.ipset ?? ipsetSave(c));
    put('conntrack-stats.txt', n.conntrackStats);
    put('felix-metrics.txt', n.felixMetrics);
    put('felix.log', n.felixLog);
    put('felix-health.txt', n.felixHealth);
    put('calicoctl-node-status.txt', n.nodeStatus);
    for (const [k, v] of Object.entries(n.extra)) put(k, v);
  }
  return files;
}

export function build(c: ClusterDef): Bundle {
  return loadBundleFromSource(memoryBundle(bundleFiles(c), '<node-checks test>'));
}

export function runCheck(check: Check, b: Bundle): CheckResult {
  return check.run(makeContext(b));
}

export function ids(fs: Finding[]): string[] {
  return fs.map((f) => f.check);
}

// ---------------------------------------------------------------------------------------------
// Mutations

export function node(c: ClusterDef, name: string): NodeDef {
  const n = c.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
}

export function link(n: NodeDef, name: string): Json {
  const l = n.links.find((x) => x.ifname === name);
  if (!l) throw new Error(`no interface ${name} on ${n.name}`);
  return l;
}

export function removeRoute(n: NodeDef, dst: string): void {
  const before = n.routes.length;
  n.routes = n.routes.filter((r) => r.dst !== dst);
  if (n.routes.length === before) throw new Error(`no route ${dst} on ${n.name}`);
}

export function podsOn(c: ClusterDef, nodeName: string): PodDef[] {
  return c.pods.filter((p) => p.node === nodeName);
}

/** Sets a sysctl (interface names with dots written the way `sysctl -a` prints them). */
export function setSysctl(n: NodeDef, key: string, value: string | number): void {
  n.sysctl.set(key, String(value));
}

/** Runs one check on a cluster description. */
export function check(ch: Check, c: ClusterDef): CheckResult {
  return runCheck(ch, build(c));
}

/** Drops a node's whole directory from the bundle (the node stays in the cluster resources). */
export function dropNodeFiles(n: NodeDef): void {
  for (const f of ['ip-addr.json', 'ip-route.json', 'ip-rule.json', 'ip-neigh.json', 'bridge-fdb.json', 'sysctl.txt', 'iptables-save.txt', 'ipset.txt', 'conntrack-stats.txt', 'felix-metrics.txt', 'felix.log', 'felix-health.txt', 'calicoctl-node-status.txt']) n.omit.add(f);
}
