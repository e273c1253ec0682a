import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { addressBook, indexTrace, kernelAccount, nextHop, nodeFate, parseNftTrace, parseTracedHeader, type TracedPacket } from './kernel-trace.js';
import type { ProbeResult } from './probe.js';
import { defaultLabSpec } from './spec.js';
import type { LabState } from './state.js';
import { buildTopology } from './topology.js';

const FIX = fileURLToPath(new URL('../../test/fixtures/lab/nft-trace/', import.meta.url));

/** A fixture: real `nft monitor trace` excerpts of three nodes and the probes they belong to. */
function load(name: string) {
  const topology = buildTopology(defaultLabSpec('vxlan'), 'csl', '/tmp/unused');
  const book = addressBook({ topology, extraPods: [] } as unknown as LabState);
  const packets: TracedPacket[] = [];
  for (const n of topology.nodes) packets.push(...parseNftTrace(readFileSync(path.join(FIX, name, `${n.name}.nft-trace.txt`), 'utf8'), n.name));
  const probes = JSON.parse(readFileSync(path.join(FIX, name, 'probes.json'), 'utf8')) as ProbeResult[];
  const probe = (from: string, to: string, protocol: string) => probes.find((p) => p.from === from && p.to === to && p.protocol === protocol)!;
  return { ix: indexTrace(packets), book, probe, packets };
}

describe('parseTracedHeader', () => {
  it('reads addresses, ids, ports and TCP flags (named or hex)', () => {
    const syn = parseTracedHeader('iif "cali695fe2a3341" ether saddr d6:f2:2b:a7:36:c2 ether daddr ee:ee:ee:ee:ee:ee ip saddr 10.244.1.1 ip daddr 10.244.2.1 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 21793 ip length 60 tcp sport 57276 tcp dport 8080 tcp flags == syn tcp window 64860 ');
    expect(syn).toEqual({ iif: 'cali695fe2a3341', saddr: '10.244.1.1', daddr: '10.244.2.1', ipId: 21793, length: 60, proto: 'tcp', sport: 57276, dport: 8080, tcpFlags: ['syn'] });
    expect(parseTracedHeader('ip saddr 10.244.2.1 ip daddr 10.244.1.1 ip id 0 ip length 60 tcp sport 8080 tcp dport 40000 tcp flags == 0x12 tcp window 1').tcpFlags).toEqual(['syn', 'ack']);
    const icmp = parseTracedHeader('iif "vxlan.calico" ip saddr 10.244.3.1 ip daddr 10.244.1.2 ip ttl 63 ip id 10691 ip length 84 icmp type echo-request icmp code net-unreachable icmp id 8766 icmp sequence 1 @th,64,96 0xda3e036b0000000018680400');
    expect(icmp).toMatchObject({ proto: 'icmp', icmpType: 'echo-request', icmpId: 8766, length: 84 });
  });

  it('reads the inner IP header of a VXLAN packet on its way out (length and id)', () => {
    const out = parseTracedHeader('oif "eth0" @ll,0,160 0x66f04f1c6d9666feb3f56e6708004500003c8c60 ip saddr 10.0.0.11 ip daddr 10.0.0.12 ip id 55918 ip length 110 udp sport 36744 udp dport 4789 udp length 90 @th,64,96 0x0800');
    expect(out.inner).toEqual({ length: 60, id: 0x8c60 });
    const post = parseTracedHeader('iif "vxlan.calico" oif "eth0" ether saddr 66:fe:b3:f5:6e:67 ether daddr 66:f0:4f:1c:6d:96 @ll,112,48 0x4500003c8c60 ip saddr 10.0.0.11 ip daddr 10.0.0.12 ip id 55918 ip length 110 udp sport 36744 udp dport 4789');
    expect(post.inner).toEqual({ length: 60, id: 0x8c60 });
  });

  it('never throws on garbage', () => {
    fc.assert(fc.property(fc.string(), (s) => { parseTracedHeader(s); parseNftTrace(s, 'n'); }), { numRuns: 300 });
  });
});

describe('parseNftTrace / nodeFate', () => {
  it('splits packets at our own tracing chain, skips its rules, and tells what each node did', () => {
    const { packets } = load('iptables-drop');
    expect(packets.length).toBeGreaterThan(5);
    // Our own chain contributes the packet line only (its rules are not the lab's).
    for (const p of packets) expect(p.events.filter((e) => e.table === 'csl_trace').map((e) => e.kind)).toEqual(['packet']);
    const drop = packets.map(nodeFate).find((f) => f.kind === 'netfilter-drop');
    expect(drop).toMatchObject({ kind: 'netfilter-drop', table: 'filter', chain: 'FORWARD', hook: 'FORWARD' });
  });
});

describe('kernelAccount on real traces', () => {
  it('cross-node TCP over VXLAN: delivered to the pod, and the SYN-ACK back to the source', () => {
    const { ix, book, probe } = load('vxlan-underlay-blocked');
    const a = kernelAccount(ix, book, probe('frontend/web-1', 'frontend/web-2', 'TCP'));
    expect(a.forward).toMatchObject({ kind: 'delivered', node: 'node-b', to: 'frontend/web-2' });
    expect(a.reply).toMatchObject({ kind: 'delivered', node: 'node-a', to: 'frontend/web-1' });
    expect(new Set(a.packets.map((p) => p.node))).toEqual(new Set(['node-a', 'node-b']));
  });

  it('a policy drop: node, table and chain of the dropping rule', () => {
    const { ix, book, probe } = load('vxlan-underlay-blocked');
    const a = kernelAccount(ix, book, probe('frontend/web-1', 'frontend/web-2', 'ICMP'));
    expect(a.forward).toMatchObject({ kind: 'netfilter', node: 'node-b', table: 'filter', chain: 'cali-tw-cali1f5825c42b0', hook: 'FORWARD' });
  });

  it('VXLAN dropped at the receiving node: the outer packet is followed to filter/INPUT on node-c', () => {
    const { ix, book, probe } = load('vxlan-underlay-blocked');
    expect(kernelAccount(ix, book, probe('frontend/web-1', 'kube-system/coredns-0', 'UDP')).forward).toMatchObject({ kind: 'netfilter', node: 'node-c', table: 'filter', chain: 'INPUT', hook: 'INPUT' });
    // A Service: the backend the kernel chose (DNAT on node-a) is on node-c.
    const svc = kernelAccount(ix, book, probe('frontend/web-1', 'svc:backend/api', 'TCP'));
    expect(svc.dnatTo).toBe('10.244.3.2');
    expect(svc.forward).toMatchObject({ kind: 'netfilter', node: 'node-c', chain: 'INPUT' });
  });

  it('a reply drop: the SYN-ACK dies in FORWARD on the source node', () => {
    const { ix, book, probe } = load('iptables-drop');
    const a = kernelAccount(ix, book, probe('frontend/web-2', 'frontend/web-1', 'TCP'));
    expect(a.forward).toMatchObject({ kind: 'delivered', node: 'node-a', to: 'frontend/web-1' });
    expect(a.reply).toMatchObject({ kind: 'netfilter', node: 'node-b', table: 'filter', chain: 'FORWARD' });
  });

  it('to the external host: the reply to the MASQUERADEd (random-fully) port is found after conntrack undoes the SNAT', () => {
    const { ix, book, probe } = load('iptables-drop');
    const a = kernelAccount(ix, book, probe('frontend/web-2', 'external', 'UDP'));
    expect(a.forward).toMatchObject({ kind: 'delivered', node: 'node-b', to: 'external' });
    expect(a.reply).toMatchObject({ kind: 'netfilter', node: 'node-b', chain: 'FORWARD' });
  });

  it('a flow never seen on its node did not leave its pod', () => {
    const { ix, book } = load('iptables-drop');
    const r: ProbeResult = { from: 'default/batch-0', to: 'backend/db-0', dstIp: '10.244.3.3', port: 5432, protocol: 'TCP', ok: false, detail: 'timeout', ms: 1000 };
    expect(kernelAccount(ix, book, r).forward).toEqual({ kind: 'not-sent', node: 'node-a' });
  });
});

describe('nextHop', () => {
  it('longest prefix of the main table', () => {
    const routes = [{ dst: 'default', gateway: '10.0.0.100', dev: 'eth0' }, { dst: '10.244.3.0/26', gateway: '10.0.0.13', dev: 'eth0' }, { dst: '10.244.1.1', dev: 'cali1' }];
    expect(nextHop(routes, '10.244.3.5')).toBe('10.0.0.13');
    expect(nextHop(routes, '10.244.2.5')).toBe('10.0.0.100');
    expect(nextHop(routes, '10.244.1.1')).toBeUndefined();
  });
});
