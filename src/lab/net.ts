/**
 * Building blocks of the lab network, each acting only inside lab namespaces: the underlay
 * bridge, node namespaces, pod namespaces with Calico-shaped veths, VXLAN programming as Felix
 * does it, and the pods' listener agents.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { ipBatch, LabError, pidAlive, run, StopWaiting, sysctlSet, waitFor } from './sh.js';
import { saveState, type LabState } from './state.js';
import { AGENT_FILE, agentControlSocket } from './scripts.js';
import {
  CALI_VETH_MAC,
  FELIX_ROUTE_PROTO,
  POD_GATEWAY,
  UNDERLAY_BRIDGE,
  VXLAN_DEVICE,
  VXLAN_PORT,
  VXLAN_VNI,
  type LabNodeTopo,
  type LabPodTopo,
  type LabTopology,
} from './topology.js';
import type { LabContainerPort } from './spec.js';

/** Creates the named namespaces (recorded in the state before anything is created). */
export async function createNamespaces(state: LabState, names: string[]): Promise<void> {
  for (const n of names) if (!state.namespaces.includes(n)) state.namespaces.push(n);
  await saveState(state);
  await Promise.all(names.map((n) => run('ip', ['netns', 'add', n])));
}

/** Underlay: a bridge in its own namespace, one veth per node plus the external host. */
export async function buildUnderlay(t: LabTopology): Promise<void> {
  const ul = t.underlayNs;
  const lines = ['link set lo up', `link add ${UNDERLAY_BRIDGE} type bridge`, `link set ${UNDERLAY_BRIDGE} up`];
  const ports: Array<{ iface: string; ns: string }> = [...t.nodes.map((n) => ({ iface: n.ulIface, ns: n.ns })), { iface: t.external.ulIface, ns: t.external.ns }];
  for (const p of ports) {
    lines.push(
      `link add ${p.iface} type veth peer name eth0 netns ${p.ns}`,
      `link set ${p.iface} mtu ${t.underlayMtu}`,
      `link set ${p.iface} master ${UNDERLAY_BRIDGE}`,
      `link set ${p.iface} up`,
    );
  }
  await ipBatch(ul, lines);
  // The external host: an address on the underlay, no forwarding, no route to pods (so pod
  // traffic only gets answered when it was masqueraded to a node address).
  await ipBatch(t.external.ns, ['link set lo up', `link set eth0 mtu ${t.underlayMtu}`, `addr add ${t.external.ip}/${t.underlayPrefixLen} dev eth0`, 'link set eth0 up']);
}

/** A node: eth0 on the underlay, default route via the gateway, forwarding on. */
export async function buildNode(t: LabTopology, node: LabNodeTopo): Promise<void> {
  await ipBatch(node.ns, [
    'link set lo up',
    `link set eth0 mtu ${t.underlayMtu}`,
    `addr add ${node.ip}/${t.underlayPrefixLen} dev eth0`,
    'link set eth0 up',
    `route add default via ${t.gateway} dev eth0`,
  ]);
  await sysctlSet(node.ns, { 'net.ipv4.ip_forward': 1 });
}

/**
 * One pod: its namespace gets eth0 with `<ip>/32` and Calico CNI's routes; the node gets the
 * host-side veth (Calico's name, MAC ee:ee:ee:ee:ee:ee, proxy ARP without delay, rp_filter 1 as
 * Felix sets it) and the `/32 dev caliXXX scope link` route.
 */
export async function buildPod(t: LabTopology, pod: LabPodTopo): Promise<void> {
  const node = t.nodes.find((n) => n.name === pod.node);
  if (!node) throw new LabError(`pod ${pod.key}: no node ${pod.node}`);
  await ipBatch(node.ns, [
    `link add ${pod.hostIface} type veth peer name eth0 netns ${pod.netns}`,
    `link set ${pod.hostIface} address ${CALI_VETH_MAC}`,
    `link set ${pod.hostIface} mtu ${t.podMtu}`,
  ]);
  await ipBatch(pod.netns, [
    'link set lo up',
    `link set eth0 mtu ${t.podMtu}`,
    `addr add ${pod.ip}/32 dev eth0`,
    'link set eth0 up',
    `route add ${POD_GATEWAY} dev eth0 scope link`,
    `route add default via ${POD_GATEWAY} dev eth0`,
  ]);
  await sysctlSet(node.ns, {
    [`net.ipv4.conf.${pod.hostIface}.proxy_arp`]: 1,
    [`net.ipv4.neigh.${pod.hostIface}.proxy_delay`]: 0,
    [`net.ipv4.conf.${pod.hostIface}.forwarding`]: 1,
    [`net.ipv4.conf.${pod.hostIface}.rp_filter`]: 1,
  });
  await ipBatch(node.ns, [`link set ${pod.hostIface} up`, `route add ${pod.ip}/32 dev ${pod.hostIface} scope link`]);
}

/**
 * Removes a pod added after lab up. The host-side veth goes first, synchronously (with it the
 * pod's eth0 and its /32 route): a deleted namespace is torn down by the kernel asynchronously,
 * and until then its veth and route would still attract traffic.
 */
export async function destroyPod(state: LabState, pod: LabPodTopo): Promise<void> {
  const node = state.topology.nodes.find((n) => n.name === pod.node);
  if (node) await run('ip', ['-n', node.ns, 'link', 'del', pod.hostIface], { allowFail: true });
  // Its agent and anything the agent started (the ping shell) live in the namespace.
  const pids = (await run('ip', ['netns', 'pids', pod.netns], { allowFail: true })).stdout.split('\n').map(Number).filter((n) => Number.isInteger(n) && n > 1);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  state.processes = state.processes.filter((p) => p.netns !== pod.netns);
  await run('ip', ['netns', 'del', pod.netns], { allowFail: true });
  state.namespaces = state.namespaces.filter((n) => n !== pod.netns);
}

/**
 * VXLAN as Felix programs it (felix/dataplane/linux/vxlan_mgr.go): device vxlan.calico (VNI
 * 4096, port 4789, local = node IP, parent eth0, no learning) with the node's tunnel address,
 * and per remote node a permanent neighbour + FDB entry for its VTEP and a
 * `<block> via <vtep> dev vxlan.calico onlink proto 80` route; plus `blackhole <block> proto 80`
 * for the node's own block.
 */
export async function buildVxlan(t: LabTopology, node: LabNodeTopo): Promise<void> {
  const v = node.vtep!;
  const lines = [
    `link add ${VXLAN_DEVICE} type vxlan id ${VXLAN_VNI} local ${node.ip} dev eth0 dstport ${VXLAN_PORT} nolearning`,
    `link set ${VXLAN_DEVICE} address ${v.mac}`,
    `link set ${VXLAN_DEVICE} mtu ${t.vxlanMtu}`,
    `link set ${VXLAN_DEVICE} up`,
    `addr add ${v.ip}/32 dev ${VXLAN_DEVICE}`,
    `route add blackhole ${node.block} proto ${FELIX_ROUTE_PROTO}`,
  ];
  const fdb: string[] = [];
  for (const r of t.nodes) {
    if (r.name === node.name) continue;
    lines.push(`neigh add ${r.vtep!.ip} lladdr ${r.vtep!.mac} dev ${VXLAN_DEVICE} nud permanent`);
    lines.push(`route add ${r.block} via ${r.vtep!.ip} dev ${VXLAN_DEVICE} onlink proto ${FELIX_ROUTE_PROTO}`);
    fdb.push(`fdb add ${r.vtep!.mac} dev ${VXLAN_DEVICE} dst ${r.ip} self permanent`);
  }
  await ipBatch(node.ns, lines);
  if (fdb.length) await run('bridge', ['-n', node.ns, '-batch', '-'], { input: `${fdb.join('\n')}\n` });
}

// ---------------------------------------------------------------------------------------------
// Listener agents

export function agentDir(state: LabState): string {
  return path.join(state.stateDir, 'agents');
}

/**
 * Starts the agent of a pod (or the external host) inside `netns` with plain `node`: its
 * listeners and its prober (scripts.ts). Records the pid in the state; waitForAgents waits until
 * every port listens.
 */
export async function startAgent(state: LabState, netns: string, identity: string, ports: LabContainerPort[], label: string): Promise<number> {
  const dir = agentDir(state);
  await fs.mkdir(dir, { recursive: true });
  const cfgFile = path.join(dir, `${netns}.json`);
  const readyFile = path.join(dir, `${netns}.ready`);
  const logFile = path.join(dir, `${netns}.log`);
  await fs.rm(readyFile, { force: true });
  await fs.writeFile(cfgFile, JSON.stringify({ identity, ports, readyFile, controlSocket: agentControlSocket(state.stateDir, netns) }));
  const fd = openSync(logFile, 'a');
  let pid: number | undefined;
  try {
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, path.join(state.stateDir, AGENT_FILE), cfgFile], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    pid = child.pid;
    child.unref();
  } finally {
    closeSync(fd);
  }
  if (!pid) throw new LabError(`could not start the agent in ${netns}`);
  state.processes.push({ pid, kind: 'agent', netns, label });
  return pid;
}

export async function waitForAgents(state: LabState, netnsList: string[], timeoutMs = 15_000): Promise<void> {
  const dir = agentDir(state);
  await waitFor(`listeners in ${netnsList.length} namespaces`, timeoutMs, async () => {
    const missing: string[] = [];
    for (const ns of netnsList) {
      try {
        await fs.access(path.join(dir, `${ns}.ready`));
      } catch {
        missing.push(ns);
      }
    }
    if (missing.length === 0) return true;
    for (const ns of missing) {
      const proc = state.processes.find((p) => p.netns === ns && p.kind === 'agent');
      if (proc && !processAlive(proc.pid)) {
        const log = await fs.readFile(path.join(dir, `${ns}.log`), 'utf8').catch(() => '');
        throw new StopWaiting(`the listener agent in ${ns} exited: ${log.trim().split('\n').slice(-3).join(' | ')}`);
      }
    }
    throw new LabError(`not ready: ${missing.join(', ')}`);
  }, 50);
}

export const processAlive = pidAlive;

/** Starts the agent of a pod. */
export function startPodAgent(state: LabState, pod: LabPodTopo): Promise<number> {
  return startAgent(state, pod.netns, pod.key, pod.ports, pod.key);
}
