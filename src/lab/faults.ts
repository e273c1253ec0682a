/**
 * `lab break <fault>` / `lab fix <fault>`: a catalogue of the ways a Calico dataplane goes wrong,
 * each with a stable id, reproduced for real inside the lab's namespaces. Every break records
 * what it changed (`undo`) in the state file so `fix` restores it exactly; `labDown` removes
 * everything regardless.
 *
 * Faults marked `needs: 'renderer'` depend on the Felix-style iptables/ipset renderer
 * (src/lab/render/): with a renderer they are recorded in the state and the dataplane is
 * re-rendered (the renderer reads `ctx.faults`); without one they refuse.
 */
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { birdc, birdKernelRoutes, restartSessions, sessionsOf, waitForBirdRoutes, waitForMesh, writeBirdConfig } from './bird.js';
import { applyDataplane, deleteFaultRule, insertFaultRule, type FaultIptablesRule, type RenderDataplane } from './dataplane.js';
import { cidrContains, nthIp, parseCidr, parseIp } from './ipv4.js';
import { buildPod, destroyPod, startPodAgent, waitForAgents } from './net.js';
import { ipBatch, LabError, nsRun, run, sysctlGet, sysctlSet, waitFor } from './sh.js';
import type { LabMode } from './spec.js';
import { allPods, saveState, type ActiveFault, type LabState } from './state.js';
import { makePodTopo, nodeByName, type LabNodeTopo, type LabPodTopo } from './topology.js';

export type FaultParams = Record<string, string | number | boolean>;

export interface FaultContext {
  renderDataplane?: RenderDataplane;
}

export interface FaultDef {
  id: string;
  title: string;
  /** What is changed, and what the kernel then does with traffic. */
  description: string;
  /** Modes where the fault exists (bgp-* only with BIRD, vxlan-* only with VXLAN). */
  modes: LabMode[];
  /** Only the emitted cluster resources change (nothing in the kernel). */
  clusterOnly?: boolean;
  /** Needs the Felix-style renderer (not part of the network half). */
  needs?: 'renderer';
  /** Parameter → meaning (and default). */
  params: Record<string, string>;
  break(state: LabState, params: FaultParams, ctx: FaultContext): Promise<ActiveFault['undo']>;
  fix(state: LabState, fault: ActiveFault, ctx: FaultContext): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Defaults and helpers

/** The default victim pod: the first pod (spec order) on the second node. */
function defaultVictim(state: LabState): LabPodTopo {
  const t = state.topology;
  const node = t.nodes[Math.min(1, t.nodes.length - 1)];
  const p = t.pods.find((x) => x.node === node.name) ?? t.pods[0];
  if (!p) throw new LabError('the lab has no pods');
  return p;
}

function podParam(state: LabState, params: FaultParams, dflt: () => LabPodTopo = () => defaultVictim(state)): LabPodTopo {
  const key = params.pod;
  if (key === undefined) return dflt();
  const p = state.topology.pods.find((x) => x.key === String(key));
  if (!p) throw new LabError(`no pod ${JSON.stringify(key)} (pods: ${state.topology.pods.map((x) => x.key).join(', ')})`);
  return p;
}

/** Node parameter; the default is the last node. */
function nodeParam(state: LabState, params: FaultParams, name = 'node', dflt?: LabNodeTopo): LabNodeTopo {
  const v = params[name];
  if (v === undefined) return dflt ?? state.topology.nodes[state.topology.nodes.length - 1];
  return nodeByName(state.topology, String(v));
}

function podNode(state: LabState, pod: LabPodTopo): LabNodeTopo {
  return nodeByName(state.topology, pod.node);
}

async function addRules(state: LabState, rules: FaultIptablesRule[]): Promise<{ iptablesRules: FaultIptablesRule[] }> {
  for (const r of rules) await insertFaultRule(state, r);
  return { iptablesRules: rules };
}

async function removeRules(state: LabState, fault: ActiveFault): Promise<void> {
  for (const r of (fault.undo.iptablesRules as FaultIptablesRule[] | undefined) ?? []) await deleteFaultRule(state, r);
}

/** Forgets cached path MTUs (nodes and pods), so the next packets see the MTUs as they are now. */
async function flushRouteCaches(state: LabState): Promise<void> {
  const nss = [...state.topology.nodes.map((n) => n.ns), ...allPods(state).map((p) => p.netns)];
  await Promise.all(nss.map((ns) => run('ip', ['-n', ns, 'route', 'flush', 'cache'], { allowFail: true })));
}

async function waitRoutesGone(state: LabState, node: LabNodeTopo): Promise<void> {
  const t = state.topology;
  await waitFor(`BGP routes to and from ${node.name} withdrawn`, 20_000, async () => {
    for (const n of t.nodes) {
      const routes = (await birdKernelRoutes(n)).map((r) => r.dst);
      const stale = n.name === node.name ? t.nodes.filter((o) => o.name !== n.name && routes.includes(o.block)) : routes.includes(node.block) ? [node] : [];
      if (stale.length) throw new LabError(`${n.name} still routes ${stale.map((s) => s.block).join(', ')}`);
    }
    return true;
  });
}

async function restoreMesh(state: LabState, node: LabNodeTopo): Promise<void> {
  const t = state.topology;
  await restartSessions(t, sessionsOf(t, node.name));
  await waitForMesh(t, 'established', { timeoutMs: 45_000 });
  await waitForBirdRoutes(t, 20_000);
}

function requireMode(state: LabState, def: FaultDef): void {
  if (!def.modes.includes(state.topology.mode)) {
    throw new LabError(`fault ${def.id} exists only in mode ${def.modes.join('/')}; this lab runs ${state.topology.mode}`);
  }
}

const RENDERER_MISSING = (id: string) =>
  new LabError(`fault ${id} needs the Felix-style iptables/ipset renderer (src/lab/render/), which this lab was not given; the placeholder dataplane has no policy to break`);

/** A fault carried out by the renderer: recorded, then the dataplane is re-rendered. */
function rendererFault(id: string, title: string, description: string, params: Record<string, string>): FaultDef {
  return {
    id,
    title,
    description,
    modes: ['vxlan', 'bgp'],
    needs: 'renderer',
    params,
    async break(state, p, ctx) {
      if (!ctx.renderDataplane) throw RENDERER_MISSING(id);
      // The renderer reads state.faults[id].params while rendering; the record is made by labBreak
      // before applyDataplane runs (see labBreak).
      return { rerender: true, params: p };
    },
    async fix(state, _fault, ctx) {
      if (!ctx.renderDataplane) throw RENDERER_MISSING(id);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The catalogue

export const FAULTS: FaultDef[] = [
  {
    id: 'route-missing',
    title: "A pod's /32 route is missing on its node",
    description:
      "Deletes `<podIP> dev caliXXX scope link` on the pod's node. Traffic to the pod then matches the node's block blackhole and is dropped; the pod's own packets fail the strict rp_filter on its veth (no route back through it). Every flow to or from the pod fails.",
    modes: ['vxlan', 'bgp'],
    params: { pod: 'ns/name of the pod (default: first pod on the second node)' },
    async break(state, params) {
      const pod = podParam(state, params);
      const node = podNode(state, pod);
      await nsRun(node.ns, 'ip', ['route', 'del', `${pod.ip}/32`, 'dev', pod.hostIface]);
      return { pod: pod.key, node: node.name, ip: pod.ip, iface: pod.hostIface };
    },
    async fix(state, f) {
      const node = nodeByName(state.topology, String(f.undo.node));
      await nsRun(node.ns, 'ip', ['route', 'replace', `${f.undo.ip}/32`, 'dev', String(f.undo.iface), 'scope', 'link']);
    },
  },
  {
    id: 'blackhole-shadow',
    title: 'A more specific blackhole shadows a remote block',
    description:
      "Adds `blackhole <cidr>` (default: the first /28 of the second node's block) on a node (default: the first). Longest prefix wins, so that node drops traffic to those remote pods (and their replies). In bgp mode BIRD learns the route (`learn`) and, being inside the IP pool, exports it: other nodes then send those pods' traffic to the blackholing node too.",
    modes: ['vxlan', 'bgp'],
    params: { node: 'node holding the blackhole (default: first node)', cidr: 'blackholed prefix (default: first /28 of the second node block)' },
    async break(state, params) {
      const t = state.topology;
      const node = nodeParam(state, params, 'node', t.nodes[0]);
      let cidr = params.cidr !== undefined ? String(params.cidr) : undefined;
      if (!cidr) {
        const other = t.nodes.find((n) => n.name !== node.name) ?? node;
        cidr = `${nthIp(parseCidr(other.block)!, 0)}/28`;
      }
      if (!parseCidr(cidr)) throw new LabError(`cidr ${JSON.stringify(cidr)} is not an IPv4 CIDR`);
      await nsRun(node.ns, 'ip', ['route', 'add', 'blackhole', cidr]);
      if (t.mode === 'bgp') {
        // Let BIRD's kernel scan (every 2 s) learn and export it before the caller probes.
        await waitFor(`BIRD to export ${cidr}`, 10_000, async () => {
          for (const n of t.nodes) {
            if (n.name === node.name) continue;
            const r = await birdKernelRoutes(n);
            if (!r.some((x) => x.dst === cidr)) throw new LabError(`${n.name} has no route to ${cidr} yet`);
          }
          return true;
        });
      }
      return { node: node.name, cidr };
    },
    async fix(state, f) {
      const t = state.topology;
      const node = nodeByName(t, String(f.undo.node));
      await nsRun(node.ns, 'ip', ['route', 'del', 'blackhole', String(f.undo.cidr)], { allowFail: true });
      if (t.mode === 'bgp') {
        await waitFor(`BIRD to withdraw ${f.undo.cidr}`, 10_000, async () => {
          for (const n of t.nodes) {
            if ((await birdKernelRoutes(n)).some((x) => x.dst === f.undo.cidr)) throw new LabError(`${n.name} still routes ${f.undo.cidr}`);
          }
          return true;
        });
      }
    },
  },
  {
    id: 'iptables-drop',
    title: 'A stray DROP rule in FORWARD',
    description:
      "Inserts `-A FORWARD -d <podIP>/32 -j DROP` at the top of the filter FORWARD chain on the pod's node, as a foreign firewall would. Every forwarded packet to the pod is dropped, so flows to it fail, and flows from it fail too (their replies are dropped).",
    modes: ['vxlan', 'bgp'],
    params: { pod: 'ns/name of the pod (default: first pod on the second node)' },
    async break(state, params) {
      const pod = podParam(state, params);
      const undo = await addRules(state, [{ node: pod.node, table: 'filter', chain: 'FORWARD', rule: ['-d', `${pod.ip}/32`, '-j', 'DROP'] }]);
      return { pod: pod.key, ...undo };
    },
    async fix(state, f) {
      await removeRules(state, f);
    },
  },
  {
    id: 'bgp-port-blocked',
    title: 'BGP (TCP 179) blocked on a node',
    description:
      "Inserts `-p tcp --dport 179 -j DROP` and `-p tcp --sport 179 -j DROP` at the top of INPUT on a node (default: the last) and restarts that node's mesh sessions at both ends (standing in for the hold timer expiring). The sessions cannot re-establish, routes to and from the node's block are withdrawn, and cross-node traffic to and from its pods follows the default route to the gateway, which drops it.",
    modes: ['bgp'],
    params: { node: 'node whose BGP is blocked (default: last node)' },
    async break(state, params) {
      const node = nodeParam(state, params);
      const undo = await addRules(state, [
        { node: node.name, table: 'filter', chain: 'INPUT', rule: ['-p', 'tcp', '--dport', '179', '-j', 'DROP'] },
        { node: node.name, table: 'filter', chain: 'INPUT', rule: ['-p', 'tcp', '--sport', '179', '-j', 'DROP'] },
      ]);
      const t = state.topology;
      await restartSessions(t, sessionsOf(t, node.name));
      await waitForMesh(t, 'down', { sessions: sessionsOf(t, node.name), timeoutMs: 20_000 });
      await waitRoutesGone(state, node);
      return { node: node.name, ...undo };
    },
    async fix(state, f) {
      await removeRules(state, f);
      await restoreMesh(state, nodeByName(state.topology, String(f.undo.node)));
    },
  },
  {
    id: 'bgp-as-mismatch',
    title: "A node's BIRD runs with the wrong AS",
    description:
      "Rewrites one node's bird.cfg with a different `local as` (default: the node's AS + 1) and runs `birdc configure`. Its peers reject the OPEN (`BGP Error: Bad peer AS`), the sessions stay down, routes to and from the node's block are withdrawn and cross-node traffic to and from its pods is lost at the gateway.",
    modes: ['bgp'],
    params: { node: 'node to misconfigure (default: last node)', as: 'the wrong AS (default: node AS + 1)' },
    async break(state, params) {
      const t = state.topology;
      const node = nodeParam(state, params);
      const wrongAs = params.as !== undefined ? Number(params.as) : node.asNumber + 1;
      if (!Number.isInteger(wrongAs) || wrongAs < 1 || wrongAs === node.asNumber) throw new LabError(`as must be an AS number other than ${node.asNumber}`);
      const original = await fs.readFile(node.bird!.config, 'utf8');
      await writeBirdConfig(t, node, { localAs: wrongAs });
      await birdc(node, ['configure']);
      await restartSessions(t, sessionsOf(t, node.name));
      await waitForMesh(t, 'down', { sessions: sessionsOf(t, node.name), timeoutMs: 20_000 });
      await waitRoutesGone(state, node);
      return { node: node.name, as: wrongAs, originalConfig: original };
    },
    async fix(state, f) {
      const t = state.topology;
      const node = nodeByName(t, String(f.undo.node));
      await writeBirdConfig(t, node);
      await birdc(node, ['configure']);
      await restoreMesh(state, node);
    },
  },
  {
    id: 'vxlan-underlay-blocked',
    title: 'VXLAN (UDP 4789) dropped by a host firewall',
    description:
      "Inserts `-p udp --dport 4789 -j DROP` at the top of INPUT on a node (default: the last), before Felix's `-j cali-INPUT`, as a host firewall would. Encapsulated packets arriving at that node are dropped before the VXLAN socket decapsulates them: requests to its pods and replies to them from other nodes are lost, so every cross-node flow involving its pods fails; same-node flows still work.",
    modes: ['vxlan'],
    params: { node: 'receiving node (default: last node)' },
    async break(state, params) {
      const node = nodeParam(state, params);
      const undo = await addRules(state, [{ node: node.name, table: 'filter', chain: 'INPUT', rule: ['-p', 'udp', '--dport', '4789', '-j', 'DROP'] }]);
      return { node: node.name, ...undo };
    },
    async fix(state, f) {
      await removeRules(state, f);
    },
  },
  {
    id: 'mtu-mismatch',
    title: 'MTUs that do not fit the path',
    description:
      "vxlan mode: the veths of one node's pods (default: the last node) and the pods' eth0 get the underlay MTU (1500) while vxlan.calico stays at 1450 — Calico's veth MTU set without the VXLAN overhead. A full-size (1500-byte) don't-fragment packet from those pods to another node no longer fits the tunnel: the node drops it and answers ICMP fragmentation-needed. bgp mode: the node's eth0 and its underlay port drop to 1400 while pods and veths stay at 1500; full-size DF packets leaving that node (its pods' requests and replies) are dropped with ICMP fragmentation-needed. In both modes small packets (TCP handshakes, UDP, ping) pass; the probe matrix's full-size DF ping (sized to the source pod's MTU) shows the fault. (Lowering a node's NIC MTU in vxlan mode breaks nothing here: Linux sends VXLAN with DF unset and fragments the outer packet.)",
    modes: ['vxlan', 'bgp'],
    params: { node: 'node (default: last node)', mtu: 'vxlan: MTU of the veths (default: underlay MTU); bgp: MTU of eth0 (default: underlay MTU − 100)' },
    async break(state, params) {
      const t = state.topology;
      const node = nodeParam(state, params);
      if (t.mode === 'vxlan') {
        const mtu = params.mtu !== undefined ? Number(params.mtu) : t.underlayMtu;
        if (!Number.isInteger(mtu) || mtu <= t.vxlanMtu || mtu > 9000) throw new LabError(`mtu must be an integer in ${t.vxlanMtu + 1}..9000 (above vxlan.calico's ${t.vxlanMtu})`);
        const pods = allPods(state).filter((p) => p.node === node.name);
        await ipBatch(node.ns, pods.map((p) => `link set ${p.hostIface} mtu ${mtu}`));
        await Promise.all(pods.map((p) => ipBatch(p.netns, [`link set eth0 mtu ${mtu}`])));
        return { node: node.name, variant: 'veth', mtu, previous: t.podMtu, pods: pods.map((p) => p.key) };
      }
      const mtu = params.mtu !== undefined ? Number(params.mtu) : t.underlayMtu - 100;
      if (!Number.isInteger(mtu) || mtu < 1280 || mtu >= t.underlayMtu) throw new LabError(`mtu must be an integer in 1280..${t.underlayMtu - 1}`);
      await ipBatch(t.underlayNs, [`link set ${node.ulIface} mtu ${mtu}`]);
      await ipBatch(node.ns, [`link set eth0 mtu ${mtu}`]);
      return { node: node.name, variant: 'underlay', mtu, previous: t.underlayMtu };
    },
    async fix(state, f) {
      const t = state.topology;
      const node = nodeByName(t, String(f.undo.node));
      if (f.undo.variant === 'veth') {
        const pods = allPods(state).filter((p) => (f.undo.pods as string[]).includes(p.key));
        await ipBatch(node.ns, pods.map((p) => `link set ${p.hostIface} mtu ${f.undo.previous}`));
        await Promise.all(pods.map((p) => ipBatch(p.netns, [`link set eth0 mtu ${f.undo.previous}`])));
      } else {
        await ipBatch(node.ns, [`link set eth0 mtu ${f.undo.previous}`]);
        await ipBatch(t.underlayNs, [`link set ${node.ulIface} mtu ${f.undo.previous}`]);
      }
      await flushRouteCaches(state);
    },
  },
  {
    id: 'proxy-arp-off',
    title: "Proxy ARP off on a pod's host-side veth",
    description:
      "Sets net.ipv4.conf.<caliXXX>.proxy_arp=0 on the pod's node and flushes the pod's neighbour cache. The pod's ARP for its gateway 169.254.1.1 goes unanswered, so it cannot send anything: every flow from it fails, and every flow to it fails at the reply.",
    modes: ['vxlan', 'bgp'],
    params: { pod: 'ns/name of the pod (default: first pod on the second node)' },
    async break(state, params) {
      const pod = podParam(state, params);
      const node = podNode(state, pod);
      const key = `net.ipv4.conf.${pod.hostIface}.proxy_arp`;
      const previous = await sysctlGet(node.ns, key);
      await sysctlSet(node.ns, { [key]: 0 });
      await nsRun(pod.netns, 'ip', ['neigh', 'flush', 'dev', 'eth0'], { allowFail: true });
      await nsRun(node.ns, 'ip', ['neigh', 'flush', 'dev', pod.hostIface], { allowFail: true });
      return { pod: pod.key, node: node.name, key, previous };
    },
    async fix(state, f) {
      const node = nodeByName(state.topology, String(f.undo.node));
      await sysctlSet(node.ns, { [String(f.undo.key)]: String(f.undo.previous) });
      const pod = allPods(state).find((p) => p.key === f.undo.pod);
      if (pod) await nsRun(pod.netns, 'ip', ['neigh', 'flush', 'dev', 'eth0'], { allowFail: true });
    },
  },
  {
    id: 'forwarding-off',
    title: 'IP forwarding off on a node',
    description:
      'Sets net.ipv4.ip_forward=0 on a node (default: the last). The node stops routing: every flow to or from its pods fails, including between two pods of that node, and its pods lose the external host and Services.',
    modes: ['vxlan', 'bgp'],
    params: { node: 'node (default: last node)' },
    async break(state, params) {
      const node = nodeParam(state, params);
      const previous = await sysctlGet(node.ns, 'net.ipv4.ip_forward');
      await sysctlSet(node.ns, { 'net.ipv4.ip_forward': 0 });
      return { node: node.name, previous };
    },
    async fix(state, f) {
      const node = nodeByName(state.topology, String(f.undo.node));
      await sysctlSet(node.ns, { 'net.ipv4.ip_forward': String(f.undo.previous) });
    },
  },
  {
    id: 'rp-filter-strict',
    title: 'Strict reverse-path filtering with an asymmetric path',
    description:
      "Adds a second link (eth1, 192.168.255.0/30) between two nodes (default: the second and the first) and a policy route on the sender: traffic from its pods to the other node's block leaves through eth1 (`ip rule from <own block> to <peer block> lookup 100`). The receiving node sets rp_filter=1 (all and eth1). Arriving on eth1, a packet from a pod of the sender fails the strict check — the receiver's route back to that source goes through vxlan.calico (vxlan) or eth0 (bgp), not eth1 — so fib_validate_source rejects it and the kernel drops it as a martian. Flows in both directions between the two nodes' pods fail (replies take the same asymmetric path); with rp_filter 0 or 2 (loose) the same traffic is delivered.",
    modes: ['vxlan', 'bgp'],
    params: { node: 'node with strict rp_filter (default: first node)', via: 'node sending over the second link (default: second node)' },
    async break(state, params) {
      const t = state.topology;
      const node = nodeParam(state, params, 'node', t.nodes[0]);
      const via = nodeParam(state, params, 'via', t.nodes.find((n) => n.name !== node.name));
      if (via.name === node.name) throw new LabError('rp-filter-strict needs two different nodes');
      const keys = ['net.ipv4.conf.all.rp_filter'];
      const previous: Record<string, string> = {};
      for (const k of keys) previous[k] = await sysctlGet(node.ns, k);
      await ipBatch(via.ns, [`link add eth1 type veth peer name eth1 netns ${node.ns}`, 'addr add 192.168.255.2/30 dev eth1', 'link set eth1 up']);
      await ipBatch(node.ns, ['addr add 192.168.255.1/30 dev eth1', 'link set eth1 up']);
      await sysctlSet(node.ns, { 'net.ipv4.conf.all.rp_filter': 1, 'net.ipv4.conf.eth1.rp_filter': 1 });
      await ipBatch(via.ns, [`route add ${node.block} via 192.168.255.1 dev eth1 table 100`, `rule add from ${via.block} to ${node.block} lookup 100 priority 100`]);
      return { node: node.name, via: via.name, previous };
    },
    async fix(state, f) {
      const t = state.topology;
      const node = nodeByName(t, String(f.undo.node));
      const via = nodeByName(t, String(f.undo.via));
      await nsRun(via.ns, 'ip', ['rule', 'del', 'priority', '100'], { allowFail: true });
      await nsRun(via.ns, 'ip', ['link', 'del', 'eth1'], { allowFail: true });
      await sysctlSet(node.ns, f.undo.previous as Record<string, string>);
    },
  },
  {
    id: 'duplicate-pod-ip',
    title: "A second pod with another pod's IP on another node",
    description:
      "Creates `<pod>-dup` (same namespace, labels and ports) on another node (default: the last) with the IP of a pod (default: the first pod of the first node), with its own caliXXX veth, /32 route and listeners, and emits it as a Pod/WorkloadEndpoint. On the duplicate's node the local /32 wins: that node's pods reach the duplicate instead (TCP/UDP answered by the wrong pod), and replies to the original pod from that node's pods go to the duplicate, so the original's flows to them fail. In bgp mode BIRD exports the duplicate's /32 (inside the pool, outside its node's block), so every node but the original's sends the original's traffic to the duplicate.",
    modes: ['vxlan', 'bgp'],
    params: { pod: 'ns/name of the original (default: first pod on the first node)', node: 'node of the duplicate (default: last node)' },
    async break(state, params, ctx) {
      const t = state.topology;
      const orig = podParam(state, params, () => t.pods.find((p) => p.node === t.nodes[0].name) ?? t.pods[0]);
      const node = nodeParam(state, params);
      if (node.name === orig.node) throw new LabError('the duplicate must be on another node than the original');
      const dup = makePodTopo(state.prefix, { namespace: orig.namespace, name: `${orig.name}-dup`, node: node.name, ip: orig.ip, labels: orig.labels, serviceAccount: orig.serviceAccount, ports: orig.ports });
      dup.addedBy = 'duplicate-pod-ip';
      if (allPods(state).some((p) => p.key === dup.key)) throw new LabError(`pod ${dup.key} already exists`);
      state.namespaces.push(dup.netns);
      state.extraPods.push(dup);
      await saveState(state);
      await run('ip', ['netns', 'add', dup.netns]);
      await buildPod(t, dup);
      await startPodAgent(state, dup);
      await saveState(state);
      await waitForAgents(state, [dup.netns]);
      if (t.mode === 'bgp') {
        // BIRD learns the duplicate's /32 (an alien kernel route inside the pool, outside the
        // node's own block) and exports it; wait until the other nodes route to it.
        const others = t.nodes.filter((n) => n.name !== node.name && n.name !== orig.node);
        await waitFor(`BIRD to export ${orig.ip}/32 from ${node.name}`, 15_000, async () => {
          for (const n of others) {
            if (!(await birdKernelRoutes(n)).some((r) => r.dst === orig.ip || r.dst === `${orig.ip}/32`)) throw new LabError(`${n.name} has no route to ${orig.ip}/32 yet`);
          }
          return true;
        });
      }
      // Felix programs the new endpoint as it would any pod (its chains, ipset memberships).
      if (ctx.renderDataplane) await applyDataplane(state, ctx.renderDataplane);
      return { original: orig.key, duplicate: dup.key, netns: dup.netns, node: node.name, ip: orig.ip };
    },
    async fix(state, f, ctx) {
      const dup = state.extraPods.find((p) => p.key === f.undo.duplicate);
      if (dup) await destroyPod(state, dup);
      state.extraPods = state.extraPods.filter((p) => p.key !== f.undo.duplicate);
      if (ctx.renderDataplane) await applyDataplane(state, ctx.renderDataplane);
      if (state.topology.mode === 'bgp') {
        const ip = String(f.undo.ip);
        await waitFor(`BIRD to withdraw ${ip}/32`, 15_000, async () => {
          for (const n of state.topology.nodes) {
            if ((await birdKernelRoutes(n)).some((r) => r.dst === ip || r.dst === `${ip}/32`)) throw new LabError(`${n.name} still routes ${ip}/32`);
          }
          return true;
        });
      }
    },
  },
  {
    id: 'ipam-leak',
    title: 'An IPAM allocation whose pod does not exist',
    description:
      "Adds an allocation to a node's IPAMBlock (default: the first node) with handle k8s-pod-network.<containerID> and attributes naming a pod that does not exist, plus its IPAMHandle. Only the emitted cluster resources change; traffic is unaffected (the address is just unusable).",
    modes: ['vxlan', 'bgp'],
    clusterOnly: true,
    params: { node: 'node whose block leaks (default: first node)' },
    async break(state, params) {
      const t = state.topology;
      const node = nodeParam(state, params, 'node', t.nodes[0]);
      const block = parseCidr(node.block)!;
      const used = new Set<number>(allPods(state).map((p) => parseIp(p.ip)!).filter((n) => cidrContains(block, n)));
      used.add(block.base); // tunnel address / reserved
      for (const l of state.ipamLeaks) used.add(parseIp(l.ip)!);
      let i = 1;
      while (used.has(block.base + i) && i < 2 ** (32 - block.prefix)) i++;
      if (i >= 2 ** (32 - block.prefix)) throw new LabError(`block ${node.block} is full`);
      const ip = nthIp(block, i);
      const containerId = createHash('sha256').update(`leak:${node.name}:${ip}`).digest('hex');
      const pod = `ghost-${containerId.slice(0, 5)}`;
      state.ipamLeaks.push({ block: node.block, ip, handleId: `k8s-pod-network.${containerId}`, node: node.name, namespace: 'default', pod });
      return { ip };
    },
    async fix(state, f) {
      state.ipamLeaks = state.ipamLeaks.filter((l) => l.ip !== f.undo.ip);
    },
  },
  rendererFault(
    'ipset-stale',
    'A member missing from a Felix IP set (Felix out of sync)',
    "Removes a pod's IP from an IP set its policies match on (e.g. the source set of an allow rule), as when Felix's dataplane lags the datastore: traffic that policy allows is dropped by the policy chain's default deny.",
    { pod: 'ns/name whose IP is missing', set: 'the Felix IP set name (default: chosen by the renderer)' },
  ),
  rendererFault(
    'policy-wrong-selector',
    "A policy whose selector does not match (case mismatch)",
    "Changes a policy selector's label value case (e.g. app == 'Web'), so it selects nothing and the traffic it should allow is denied.",
    { policy: 'kind/ns/name of the policy (default: chosen by the renderer)' },
  ),
  rendererFault(
    'default-deny-no-dns',
    'A default-deny egress policy without a DNS exception',
    'Adds a default-deny egress policy in a namespace with no rule allowing UDP/TCP 53 to kube-dns: DNS from those pods is dropped.',
    { namespace: 'namespace (default: chosen by the renderer)' },
  ),
  rendererFault(
    'nat-outgoing-off',
    'natOutgoing disabled on the IP pool',
    'Sets natOutgoing false on the pool: Felix removes the cali-nat-outgoing MASQUERADE, pod traffic reaches the external host with its pod source address and the replies have no route back.',
    {},
  ),
];

export function faultById(id: string): FaultDef {
  const f = FAULTS.find((x) => x.id === id);
  if (!f) throw new LabError(`unknown fault ${JSON.stringify(id)}; known: ${FAULTS.map((x) => x.id).join(', ')}`);
  return f;
}

/** Faults that can be broken in this lab (its mode; renderer faults only with a renderer). */
export function availableFaults(state: LabState, ctx: FaultContext = {}): FaultDef[] {
  return FAULTS.filter((f) => f.modes.includes(state.topology.mode) && (f.needs !== 'renderer' || !!ctx.renderDataplane));
}

/** Breaks the lab; records the fault and what it changed in the state file. */
export async function labBreak(state: LabState, id: string, params: FaultParams = {}, ctx: FaultContext = {}): Promise<ActiveFault> {
  const def = faultById(id);
  requireMode(state, def);
  if (def.needs === 'renderer' && !ctx.renderDataplane) throw RENDERER_MISSING(id);
  if (state.faults[id]) throw new LabError(`fault ${id} is already active; \`lab fix ${id}\` first`);
  for (const k of Object.keys(params)) if (!(k in def.params)) throw new LabError(`fault ${id} has no parameter ${JSON.stringify(k)} (parameters: ${Object.keys(def.params).join(', ') || 'none'})`);
  const fault: ActiveFault = { id, params, undo: {}, brokenAt: new Date().toISOString() };
  // Recorded first: a crash half-way still leaves a trace for labDown/fix.
  state.faults[id] = fault;
  await saveState(state);
  try {
    fault.undo = await def.break(state, params, ctx);
  } catch (e) {
    await def.fix(state, fault, ctx).catch(() => {});
    delete state.faults[id];
    await saveState(state);
    throw e;
  }
  await saveState(state);
  if (def.needs === 'renderer') await applyDataplane(state, ctx.renderDataplane);
  return fault;
}

/** Undoes an active fault. */
export async function labFix(state: LabState, id: string, ctx: FaultContext = {}): Promise<void> {
  const def = faultById(id);
  const fault = state.faults[id];
  if (!fault) throw new LabError(`fault ${id} is not active (active: ${Object.keys(state.faults).join(', ') || 'none'})`);
  await def.fix(state, fault, ctx);
  delete state.faults[id];
  await saveState(state);
  if (def.needs === 'renderer') await applyDataplane(state, ctx.renderDataplane);
}

/** Undoes every active fault (most recent first). */
export async function labFixAll(state: LabState, ctx: FaultContext = {}): Promise<string[]> {
  const ids = Object.values(state.faults)
    .sort((a, b) => b.brokenAt.localeCompare(a.brokenAt))
    .map((f) => f.id);
  for (const id of ids) await labFix(state, id, ctx);
  return ids;
}
