/**
 * End-to-end trace scenarios (issue 4): one flow through the real programming of the lab's nodes,
 * asserted exactly — the hop sequence (kind, node, interface), the verdict, and for drops the
 * node, table, chain, rule and the evidence line as it stands in the fixture file; for NAT the
 * rewritten tuple. Fixtures: test/fixtures/trace/ (see its README; regenerated from the lab by
 * scripts/fixtures/make-trace-fixtures.ts). No root needed: the bundles are committed.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBundle } from '../../src/bundle/load.js';
import type { Bundle } from '../../src/model/bundle.js';
import { crossCheck } from '../../src/trace/crosscheck.js';
import { traceContext, traceFlow } from '../../src/trace/flow.js';
import type { DropInfo, Hop, Step, TraceQuery, TraceResult } from '../../src/trace/types.js';

const FIX = fileURLToPath(new URL('../fixtures/trace/', import.meta.url));

// Host-side veths (Calico's name hash of each workload endpoint; stable across regenerations).
const IF = {
  web1: 'cali695fe2a3341', // frontend/web-1 10.244.1.1 node-a
  api1: 'cali422ae1778ba', // backend/api-1 10.244.1.2 node-a
  batch0: 'cali7b1445937d3', // default/batch-0 10.244.1.3 node-a
  web2: 'cali1f5825c42b0', // frontend/web-2 10.244.2.1 node-b
  api2: 'cali563d9b72014', // backend/api-2 10.244.2.2 node-b
  client: 'calia7a3e029a7b', // default/client 10.244.2.3 node-b
  api3: 'cali3f24b4683fa', // backend/api-3 10.244.3.2 node-c
  db0: 'cali372d6779ba6', // backend/db-0 10.244.3.3 node-c
};

const bundles = new Map<string, Promise<Bundle>>();
function bundle(name: string): Promise<Bundle> {
  let b = bundles.get(name);
  if (!b) bundles.set(name, (b = loadBundle(path.join(FIX, name))));
  return b;
}

/** What `caliscope trace` computes: the trace plus the intent cross-check. */
async function trace(name: string, from: string, to: string, port?: number, extra: Partial<TraceQuery> = {}): Promise<TraceResult> {
  const b = await bundle(name);
  const r = traceFlow(b, { from, to, port, protocol: 'TCP', ...extra });
  const ctx = traceContext(b);
  return Object.assign(r, crossCheck(ctx.model, ctx.rt, r));
}

/** The interface(s) of a hop, read from its title: `eth0>vxlan.calico` for a decapsulating node. */
function hopIface(h: Hop): string {
  const m =
    h.kind === 'pod-egress'
      ? /via its veth (\S+)/.exec(h.title)
      : h.kind === 'pod-ingress'
        ? /out on (\S+)/.exec(h.title)
        : h.kind === 'underlay'
          ? /^underlay: \S+ (\S+) → \S+ (\S+)/.exec(h.title)
          : h.kind === 'external'
            ? /on (\S+) toward/.exec(h.title)
            : /in on ([^,\s]+)(?:, decapsulated on (\S+))?/.exec(h.title);
  if (!m) return '-';
  if (h.kind === 'underlay') return `${m[1]}→${m[2]}`;
  return m[2] ? `${m[1]}>${m[2]}` : m[1];
}

const hopPath = (hops: Hop[]) => hops.map((h) => `${h.kind} ${h.node ?? '-'} ${hopIface(h)} ${h.outcome}`);

function stepsOf<K extends Step['kind']>(hops: Hop[], kind: K, node?: string): Extract<Step, { kind: K }>[] {
  return hops.filter((h) => !node || h.node === node).flatMap((h) => h.steps.filter((s): s is Extract<Step, { kind: K }> => s.kind === kind));
}

/** Every NAT rewrite on the hops, as `HOOK KIND table/chain#rule before → after`. */
function natOf(hops: Hop[]): string[] {
  return stepsOf(hops, 'hook').flatMap((s) => s.nat.map((n) => `${s.hook} ${n.kind} ${n.table}/${n.chain}#${n.rule.index} ${n.before.addr}:${n.before.port} → ${n.after.addr}:${n.after.port}`));
}

function fixtureLine(name: string, artifact: string, line: number): string {
  return readFileSync(path.join(FIX, name, artifact), 'utf8').split('\n')[line - 1];
}

/** The drop's text is the rule exactly as it stands on its line of the fixture's iptables-save. */
function expectRuleEvidence(name: string, d: DropInfo | undefined): void {
  expect(d?.artifact && d.line).toBeTruthy();
  expect(fixtureLine(name, d!.artifact!, d!.line!).replace(/^\[\d+:\d+\] /, '')).toBe(d!.text);
}

/** A route drop's text is one route object of the fixture's `ip -j route` dump. */
function expectRouteEvidence(name: string, d: DropInfo | undefined): void {
  expect(d?.where).toBe('route');
  const routes = JSON.parse(fixtureLine(name, d!.artifact!, d!.line!)) as unknown[];
  expect(routes).toContainEqual(JSON.parse(d!.text!));
}

const POD_A_TO_B = (iface: string) => [`pod-egress node-a ${IF.web1} pass`, `node node-a ${IF.web1} pass`, 'underlay - eth0→eth0 pass', 'node node-b eth0>vxlan.calico pass', `pod-ingress node-b ${iface} delivered`];

describe('fixtures', () => {
  it('name the veths the tests use, and load without issues', async () => {
    for (const name of ['vxlan', 'bgp', 'ipip', 'route-missing', 'blackhole-shadow', 'policy-wrong-selector', 'ipset-stale']) {
      const b = await bundle(name);
      expect(b.issues.filter((i) => i.severity === 'error'), name).toEqual([]);
      expect(b.nodes.map((n) => n.name)).toEqual(['node-a', 'node-b', 'node-c']);
    }
    const ctx = traceContext(await bundle('vxlan'));
    const ifaceOf = (id: string) => ctx.model.endpointById.get(id)?.interfaceName;
    expect([ifaceOf('frontend/web-1'), ifaceOf('backend/api-1'), ifaceOf('default/batch-0'), ifaceOf('frontend/web-2'), ifaceOf('backend/api-2'), ifaceOf('default/client'), ifaceOf('backend/api-3'), ifaceOf('backend/db-0')]).toEqual([
      IF.web1,
      IF.api1,
      IF.batch0,
      IF.web2,
      IF.api2,
      IF.client,
      IF.api3,
      IF.db0,
    ]);
  });
});

describe('1. same-node pod → pod, allowed', () => {
  it('stays on node-a: veth in, route to the other veth, policy allows, and back', async () => {
    const r = await trace('vxlan', 'frontend/web-1', 'backend/api-1', 8080);
    expect(r.verdict).toBe('delivered');
    expect(r.source).toMatchObject({ kind: 'pod', id: 'frontend/web-1', ip: '10.244.1.1', node: 'node-a', iface: IF.web1 });
    expect(r.destination).toMatchObject({ kind: 'pod', id: 'backend/api-1', ip: '10.244.1.2', node: 'node-a' });
    expect(hopPath(r.hops)).toEqual([`pod-egress node-a ${IF.web1} pass`, `node node-a ${IF.web1} pass`, `pod-ingress node-a ${IF.api1} delivered`]);
    expect(stepsOf(r.hops, 'route').map((s) => s.summary)).toEqual([`10.244.1.2/32 → dev ${IF.api1}`]);
    expect(stepsOf(r.hops, 'encap')).toEqual([]);
    // FORWARD runs the source's egress chain and the destination's ingress chain with its allow policy.
    const fwd = stepsOf(r.hops, 'hook').find((s) => s.hook === 'FORWARD')!;
    const chains = new Set(fwd.hits.map((h) => h.chain));
    for (const c of [`cali-fw-${IF.web1}`, `cali-tw-${IF.api1}`, 'cali-pi-_TQ8rbtsJOoh1I1II_M8']) expect(chains).toContain(c);
    expect(fwd.decision?.rule?.raw).toMatch(/^-A FORWARD .*-j ACCEPT$/);
    expect(natOf(r.hops)).toEqual([]);
    expect(r.paths[0].finalPacket).toMatchObject({ src: '10.244.1.1', dst: '10.244.1.2', dport: 8080 });

    expect(r.reply?.verdict).toBe('delivered');
    expect(hopPath(r.reply!.hops)).toEqual([`pod-egress node-a ${IF.api1} pass`, `node node-a ${IF.api1} pass`, `pod-ingress node-a ${IF.web1} delivered`]);
    expect(r.paths[0].reply?.finalPacket).toMatchObject({ src: '10.244.1.2', sport: 8080, dst: '10.244.1.1', dport: r.paths[0].finalPacket!.sport });
    expect(r.intent?.allowed).toBe(true);
    expect(r.disagreement).toBeUndefined();
  });
});

describe('2. cross-node over VXLAN', () => {
  it('encapsulates in UDP 4789 between the node IPs (+50 B), decapsulates on vxlan.calico, and the reply mirrors it', async () => {
    const r = await trace('vxlan', 'frontend/web-1', 'backend/api-2', 8080);
    expect(r.verdict).toBe('delivered');
    expect(hopPath(r.hops)).toEqual(POD_A_TO_B(IF.api2));
    expect(stepsOf(r.hops, 'route', 'node-a')[0].summary).toBe('10.244.2.0/26 → via 10.244.2.0 dev vxlan.calico onlink');

    const [encap] = stepsOf(r.hops, 'encap');
    expect(encap.type).toBe('vxlan');
    expect(encap.overhead).toBe(50);
    expect(encap.outer).toMatchObject({ src: '10.0.0.11', dst: '10.0.0.12', proto: 'udp', dport: 4789, length: 60 + 50, inner: { src: '10.244.1.1', dst: '10.244.2.2' } });
    // The remote VTEP comes from Felix's permanent neighbour entry and FDB entry.
    expect(encap.evidence.map((e) => e.artifact)).toEqual(['nodes/node-a/ip-neigh.json', 'nodes/node-a/bridge-fdb.json']);
    expect(encap.evidence[0].text).toMatch(/^10\.244\.2\.0 dev vxlan\.calico lladdr \S+ PERMANENT$/);
    expect(encap.evidence[1].text).toMatch(/dev vxlan\.calico dst 10\.0\.0\.12$/);

    // On the wire: the outer packet, node to node, with no skb mark.
    const wire = r.hops[2].packet;
    expect(wire).toEqual({ src: '10.0.0.11', dst: '10.0.0.12', proto: 'udp', sport: wire.sport, dport: 4789, length: 110, mark: undefined, inner: { src: '10.244.1.1', dst: '10.244.2.2' } });
    expect(stepsOf(r.hops, 'decap', 'node-b')).toEqual([{ kind: 'decap', type: 'vxlan', iface: 'vxlan.calico', detail: 'VXLAN decapsulated on vxlan.calico: inner 10.244.1.1 → 10.244.2.2' }]);
    expect(r.hops[4].packet).toMatchObject({ src: '10.244.1.1', dst: '10.244.2.2', proto: 'tcp', dport: 8080, length: 60 });

    expect(r.reply?.verdict).toBe('delivered');
    expect(hopPath(r.reply!.hops)).toEqual([`pod-egress node-b ${IF.api2} pass`, `node node-b ${IF.api2} pass`, 'underlay - eth0→eth0 pass', 'node node-a eth0>vxlan.calico pass', `pod-ingress node-a ${IF.web1} delivered`]);
    expect(stepsOf(r.reply!.hops, 'encap')[0].outer).toMatchObject({ src: '10.0.0.12', dst: '10.0.0.11', proto: 'udp', dport: 4789 });
    expect(r.reply!.hops[4].packet).toMatchObject({ src: '10.244.2.2', sport: 8080, dst: '10.244.1.1' });
  });

  it('MTU budget: vxlan.calico is the 1500-byte underlay minus 50; 1450 B passes, 1451 B with DF is dropped on node-a', async () => {
    const nr = traceContext(await bundle('vxlan')).rt.nodes.get('node-a')!;
    expect(nr.interfaces.get('eth0')?.mtu).toBe(1500);
    expect(nr.interfaces.get('vxlan.calico')?.mtu).toBe(1450);

    const fits = await trace('vxlan', 'frontend/web-1', 'backend/api-2', 8080, { size: 1450 });
    expect(fits.verdict).toBe('delivered');
    expect(stepsOf(fits.hops, 'encap')[0].outer.length).toBe(1500);

    const big = await trace('vxlan', 'frontend/web-1', 'backend/api-2', 8080, { size: 1451 });
    expect(big.verdict).toBe('dropped');
    expect(hopPath(big.hops)).toEqual([`pod-egress node-a ${IF.web1} pass`, `node node-a ${IF.web1} dropped`]);
    expect(big.dropped).toMatchObject({ node: 'node-a', where: 'mtu', artifact: 'nodes/node-a/ip-addr.json', text: 'vxlan.calico mtu 1450' });
  });
});

describe('3. cross-node over IPIP', () => {
  // The ipip bundle's tunl0 device and routes are hand-made (this kernel has no ipip module, so
  // tunl0 cannot be created); its iptables and ipsets are real Felix IPIP-mode programming.
  it('routes via tunl0 onlink, wraps in IP proto 4 between the node IPs (+20 B), Felix accepts it from a Calico host, decapsulates on tunl0', async () => {
    const r = await trace('ipip', 'frontend/web-1', 'backend/api-2', 8080);
    expect(r.verdict).toBe('delivered');
    expect(hopPath(r.hops)).toEqual([`pod-egress node-a ${IF.web1} pass`, `node node-a ${IF.web1} pass`, 'underlay - eth0→eth0 pass', 'node node-b eth0>tunl0 pass', `pod-ingress node-b ${IF.api2} delivered`]);
    const [route] = stepsOf(r.hops, 'route', 'node-a');
    expect(route.summary).toBe('10.244.2.0/26 → via 10.0.0.12 dev tunl0 onlink');
    expect(JSON.parse(route.evidence!.text!)).toEqual({ dst: '10.244.2.0/26', gateway: '10.0.0.12', dev: 'tunl0', protocol: 'bird', flags: ['onlink'] });

    const [encap] = stepsOf(r.hops, 'encap');
    expect(encap).toMatchObject({ type: 'ipip', overhead: 20, outer: { src: '10.0.0.11', dst: '10.0.0.12', proto: 'ipip', length: 80, inner: { src: '10.244.1.1', dst: '10.244.2.2' } } });
    expect(r.hops[2].packet).toMatchObject({ src: '10.0.0.11', dst: '10.0.0.12', proto: 'ipip', length: 80 });
    expect(r.hops[2].packet.sport).toBeUndefined();

    // node-b's INPUT accepts the outer packet by Felix's "Allow IPIP packets from Calico hosts".
    const input = stepsOf(r.hops, 'hook', 'node-b').find((s) => s.hook === 'INPUT')!;
    expect(input.fate).toBe('accept');
    const accepted = input.hits[input.hits.length - 1];
    expect(accepted).toMatchObject({ table: 'filter', chain: 'cali-INPUT', index: 1, line: 114 });
    expect(accepted.raw).toContain('"Allow IPIP packets from Calico hosts" -m set --match-set cali40all-hosts-net src');
    expect(fixtureLine('ipip', 'nodes/node-b/iptables-save.txt', 114)).toBe(`[0:0] ${accepted.raw}`);
    expect(stepsOf(r.hops, 'decap', 'node-b')).toEqual([{ kind: 'decap', type: 'ipip', iface: 'tunl0', detail: 'IPIP decapsulated on tunl0: inner 10.244.1.1 → 10.244.2.2' }]);

    expect(r.reply?.verdict).toBe('delivered');
    expect(hopPath(r.reply!.hops)).toEqual([`pod-egress node-b ${IF.api2} pass`, `node node-b ${IF.api2} pass`, 'underlay - eth0→eth0 pass', 'node node-a eth0>tunl0 pass', `pod-ingress node-a ${IF.web1} delivered`]);
    expect(stepsOf(r.reply!.hops, 'encap')[0].outer).toMatchObject({ src: '10.0.0.12', dst: '10.0.0.11', proto: 'ipip' });
  });
});

describe('4. cross-node over BGP', () => {
  it('follows the BIRD route via the peer node IP on eth0 with no encapsulation', async () => {
    const r = await trace('bgp', 'frontend/web-1', 'backend/api-2', 8080);
    expect(r.verdict).toBe('delivered');
    expect(hopPath(r.hops)).toEqual([`pod-egress node-a ${IF.web1} pass`, `node node-a ${IF.web1} pass`, 'underlay - eth0→eth0 pass', 'node node-b eth0 pass', `pod-ingress node-b ${IF.api2} delivered`]);
    const [route] = stepsOf(r.hops, 'route', 'node-a');
    expect(route.summary).toBe('10.244.2.0/26 → via 10.0.0.12 dev eth0');
    expect(JSON.parse(route.evidence!.text!)).toEqual({ dst: '10.244.2.0/26', gateway: '10.0.0.12', dev: 'eth0', protocol: 'bird', flags: [] });
    expect(stepsOf(r.hops, 'encap')).toEqual([]);
    expect(stepsOf(r.hops, 'decap')).toEqual([]);
    // The pod packet itself crosses the underlay.
    expect(r.hops[2].packet).toEqual({ src: '10.244.1.1', dst: '10.244.2.2', proto: 'tcp', sport: r.hops[0].packet.sport, dport: 8080, length: 60, mark: undefined, inner: undefined });

    expect(r.reply?.verdict).toBe('delivered');
    expect(hopPath(r.reply!.hops)).toEqual([`pod-egress node-b ${IF.api2} pass`, `node node-b ${IF.api2} pass`, 'underlay - eth0→eth0 pass', 'node node-a eth0 pass', `pod-ingress node-a ${IF.web1} delivered`]);
    expect(stepsOf(r.reply!.hops, 'route', 'node-b')[0].summary).toBe('10.244.1.0/26 → via 10.0.0.11 dev eth0');
  });
});

describe('5. pod → Service ClusterIP with three backends', () => {
  it('follows every kube-proxy statistic branch: DNAT to each backend, and the reply is un-NATed to the ClusterIP', async () => {
    const r = await trace('vxlan', 'frontend/web-1', 'svc/backend/api', 80);
    expect(r.destination).toMatchObject({ kind: 'service', id: 'backend/api', ip: '10.96.10.20', port: 80 });
    expect(r.verdict).toBe('delivered');
    const backends = [
      { branch: 'statistic branch KUBE-SVC-O7FBVWNFAU75WOAI rule 2 → 10.244.1.2:8080', to: 'backend/api-1', ip: '10.244.1.2', sep: 'KUBE-SEP-OIMCBHATHVLPYMGP', line: 360, hops: [`pod-egress node-a ${IF.web1} pass`, `node node-a ${IF.web1} pass`, `pod-ingress node-a ${IF.api1} delivered`] },
      { branch: 'statistic branch KUBE-SVC-O7FBVWNFAU75WOAI rule 3 → 10.244.2.2:8080', to: 'backend/api-2', ip: '10.244.2.2', sep: 'KUBE-SEP-URTZ2EFGAP32RKOY', line: 366, hops: POD_A_TO_B(IF.api2) },
      {
        branch: 'fall-through branch → 10.244.3.2:8080',
        to: 'backend/api-3',
        ip: '10.244.3.2',
        sep: 'KUBE-SEP-DM63QHXVJJM4OSUT',
        line: 352,
        hops: [`pod-egress node-a ${IF.web1} pass`, `node node-a ${IF.web1} pass`, 'underlay - eth0→eth0 pass', 'node node-c eth0>vxlan.calico pass', `pod-ingress node-c ${IF.api3} delivered`],
      },
    ];
    expect(r.paths.map((p) => p.branch)).toEqual(backends.map((b) => b.branch));
    for (const [i, b] of backends.entries()) {
      const p = r.paths[i];
      expect(p.verdict, b.to).toBe('delivered');
      expect(p.deliveredTo).toBe(b.to);
      expect(hopPath(p.hops), b.to).toEqual(b.hops);
      expect(natOf(p.hops), b.to).toEqual([`PREROUTING DNAT nat/${b.sep}#2 10.96.10.20:80 → ${b.ip}:8080`]);
      const dnat = stepsOf(p.hops, 'hook')[0].nat[0];
      expect(dnat.rule.line).toBe(b.line);
      expect(fixtureLine('vxlan', 'nodes/node-a/iptables-save.txt', b.line)).toBe(`[0:0] ${dnat.rule.raw}`);
      expect(dnat.rule.raw).toBe(`-A ${b.sep} -p tcp -m comment --comment "backend/api:http" -m tcp -j DNAT --to-destination ${b.ip}:8080`);
      expect(p.finalPacket).toMatchObject({ src: '10.244.1.1', dst: b.ip, dport: 8080 });
      // The reply leaves the backend from its own address and reaches web-1 from the ClusterIP.
      expect(p.reply?.verdict, b.to).toBe('delivered');
      expect(p.reply!.hops[0].packet).toMatchObject({ src: b.ip, sport: 8080, dst: '10.244.1.1' });
      expect(p.reply!.finalPacket).toMatchObject({ src: '10.96.10.20', sport: 80, dst: '10.244.1.1', dport: p.finalPacket!.sport });
      expect(stepsOf(p.reply!.hops, 'conntrack', 'node-a').map((s) => s.detail)).toEqual([`reply to a DNATed connection: source ${b.ip} → 10.96.10.20`]);
    }
    expect(r.intent?.allowed).toBe(true);
  });
});

describe('6. pod → external with nat-outgoing', () => {
  it('MASQUERADEs in cali-nat-outgoing to node-a, and conntrack sends the reply back to the pod', async () => {
    const r = await trace('vxlan', 'frontend/web-1', '10.0.0.100', 80);
    expect(r.destination).toMatchObject({ kind: 'external', ip: '10.0.0.100' });
    expect(r.verdict).toBe('delivered');
    expect(hopPath(r.hops)).toEqual([`pod-egress node-a ${IF.web1} pass`, `node node-a ${IF.web1} pass`, 'external - eth0 delivered']);
    expect(natOf(r.hops)).toEqual(['POSTROUTING MASQUERADE nat/cali-nat-outgoing#1 10.244.1.1:40000 → 10.0.0.11:40000']);
    const masq = stepsOf(r.hops, 'hook').find((s) => s.hook === 'POSTROUTING')!.nat[0];
    expect(masq.rule.line).toBe(406);
    expect(masq.rule.raw).toBe('-A cali-nat-outgoing -m comment --comment "cali:flqWnvo8yq4ULQLa" -m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully');
    expect(fixtureLine('vxlan', 'nodes/node-a/iptables-save.txt', 406)).toBe(`[0:0] ${masq.rule.raw}`);
    expect(r.paths[0].finalPacket).toEqual({ src: '10.0.0.11', dst: '10.0.0.100', proto: 'tcp', sport: 40000, dport: 80, length: 60, mark: undefined, inner: undefined });

    expect(r.reply?.verdict).toBe('delivered');
    expect(hopPath(r.reply!.hops)).toEqual(['external - - pass', 'node node-a eth0 pass', `pod-ingress node-a ${IF.web1} delivered`]);
    expect(r.reply!.hops[0].packet).toMatchObject({ src: '10.0.0.100', dst: '10.0.0.11', sport: 80, dport: 40000 });
    expect(stepsOf(r.reply!.hops, 'conntrack').map((s) => s.detail)).toEqual(['reply to a SNATed connection: destination 10.0.0.11 → 10.244.1.1']);
    expect(r.paths[0].reply?.finalPacket).toMatchObject({ src: '10.0.0.100', dst: '10.244.1.1', dport: 40000 });
  });
});

describe('7. policy drops', () => {
  it('ingress Deny: dropped on node-a in the cali-pi- chain of default/deny-client-to-batch', async () => {
    const r = await trace('vxlan', 'default/client', 'default/batch-0', 9100);
    expect(r.verdict).toBe('dropped');
    expect(hopPath(r.hops)).toEqual([`pod-egress node-b ${IF.client} pass`, `node node-b ${IF.client} pass`, 'underlay - eth0→eth0 pass', 'node node-a eth0>vxlan.calico dropped']);
    expect(r.dropped).toEqual({
      node: 'node-a',
      where: 'rule',
      table: 'filter',
      chain: 'cali-pi-_CnExFvqXmRfwXqOyPMH',
      rule: 2,
      artifact: 'nodes/node-a/iptables-save.txt',
      line: 205,
      text: '-A cali-pi-_CnExFvqXmRfwXqOyPMH -m comment --comment "cali:kt0PJJXWlIuC9cUe" -m mark --mark 0x40000/0x40000 -j DROP',
      reason: 'dropped by filter/cali-pi-_CnExFvqXmRfwXqOyPMH rule 2: NetworkPolicy default/deny-client-to-batch (ingress)',
      policy: { kind: 'NetworkPolicy', namespace: 'default', name: 'deny-client-to-batch', tier: 'default', direction: 'ingress' },
    });
    expectRuleEvidence('vxlan', r.dropped);
    // Reached through batch-0's ingress chain.
    const fwd = stepsOf(r.hops, 'hook', 'node-a').find((s) => s.hook === 'FORWARD')!;
    expect(fwd.hits.map((h) => h.chain)).toContain(`cali-tw-${IF.batch0}`);
    expect(r.reply).toBeUndefined();
    expect(r.intent?.allowed).toBe(false);
    expect(r.disagreement).toBeUndefined();
  });

  it('egress Deny: dropped on the source node in the cali-po- chain of GlobalNetworkPolicy security.block-metadata', async () => {
    const r = await trace('vxlan', 'frontend/web-1', '169.254.169.254', 80);
    expect(r.verdict).toBe('dropped');
    expect(hopPath(r.hops)).toEqual([`pod-egress node-a ${IF.web1} pass`, `node node-a ${IF.web1} dropped`]);
    expect(r.dropped).toEqual({
      node: 'node-a',
      where: 'rule',
      table: 'filter',
      chain: 'cali-po-_atXRx9G2ZUQxgVYxWt9',
      rule: 2,
      artifact: 'nodes/node-a/iptables-save.txt',
      line: 210,
      text: '-A cali-po-_atXRx9G2ZUQxgVYxWt9 -m comment --comment "cali:VZpI-YEvflwvpdCN" -m mark --mark 0x40000/0x40000 -j DROP',
      reason: 'dropped by filter/cali-po-_atXRx9G2ZUQxgVYxWt9 rule 2: GlobalNetworkPolicy security.block-metadata (egress)',
      policy: { kind: 'GlobalNetworkPolicy', name: 'security.block-metadata', tier: 'security', direction: 'egress' },
    });
    expectRuleEvidence('vxlan', r.dropped);
  });

  it('wrong selector: allow-db-from-api selects nothing, so db-0 ingress ends at the end of tier default on node-c', async () => {
    const b = await bundle('policy-wrong-selector');
    const pol = b.cluster.k8sNetworkPolicies.find((p) => p.metadata.name === 'allow-db-from-api');
    expect(pol?.spec.podSelector).toMatchObject({ matchLabels: { app: 'Db' } });
    const r = await trace('policy-wrong-selector', 'backend/api-1', 'backend/db-0', 5432);
    expect(r.verdict).toBe('dropped');
    expect(hopPath(r.hops)).toEqual([`pod-egress node-a ${IF.api1} pass`, `node node-a ${IF.api1} pass`, 'underlay - eth0→eth0 pass', 'node node-c eth0>vxlan.calico dropped']);
    expect(r.dropped).toEqual({
      node: 'node-c',
      where: 'rule',
      table: 'filter',
      chain: `cali-tw-${IF.db0}`,
      rule: 7,
      artifact: 'nodes/node-c/iptables-save.txt',
      line: 219,
      text: `-A cali-tw-${IF.db0} -m comment --comment "cali:DYu2AVUWwv5TAlh2" -m comment --comment "End of tier default. DROP if no policies passed packet" -m mark --mark 0x0/0x20000 -j DROP`,
      reason: 'dropped by filter/cali-tw-cali372d6779ba6 rule 7: policy for ingress to backend/db-0 — no policy in tier default allowed it',
      endpoint: 'backend/db-0',
    });
    expectRuleEvidence('policy-wrong-selector', r.dropped);
    // The resources say the same (the selector is wrong in the datastore too): no disagreement.
    expect(r.intent?.allowed).toBe(false);
    expect(r.disagreement).toBeUndefined();
    // In the healthy lab the same flow is allowed.
    expect((await trace('vxlan', 'backend/api-1', 'backend/db-0', 5432)).verdict).toBe('delivered');
  });
});

describe("8. missing /32 route", () => {
  it("traffic to web-2 reaches node-b and hits its block's blackhole", async () => {
    const b = await bundle('route-missing');
    const routes = b.nodes.find((n) => n.name === 'node-b')!.routes!.map((x) => x.dst);
    expect(routes).not.toContain('10.244.2.1/32');
    expect(routes).toContain('10.244.2.2/32');

    const r = await trace('route-missing', 'frontend/web-1', 'frontend/web-2', 8080);
    expect(r.verdict).toBe('dropped');
    expect(hopPath(r.hops)).toEqual([`pod-egress node-a ${IF.web1} pass`, `node node-a ${IF.web1} pass`, 'underlay - eth0→eth0 pass', 'node node-b eth0>vxlan.calico dropped']);
    expect(r.dropped).toEqual({
      node: 'node-b',
      where: 'route',
      table: 'main',
      artifact: 'nodes/node-b/ip-route.json',
      line: 1,
      text: '{"type":"blackhole","dst":"10.244.2.0/26","protocol":"80","flags":[]}',
      reason: 'blackhole route 10.244.2.0/26 on node-b covers 10.244.2.1 (via ip rule 32766)',
    });
    expectRouteEvidence('route-missing', r.dropped);
    const lastRoute = stepsOf(r.hops, 'route', 'node-b').at(-1)!;
    expect(lastRoute.decision.kind).toBe('blackhole');
    expect(lastRoute.evidence?.text).toBe(r.dropped!.text);
  });

  it("web-2's own packets fail Felix's raw-table RPF check (no route back through its veth)", async () => {
    const r = await trace('route-missing', 'frontend/web-2', 'frontend/web-1', 8080);
    expect(r.verdict).toBe('dropped');
    expect(hopPath(r.hops)).toEqual([`pod-egress node-b ${IF.web2} pass`, `node node-b ${IF.web2} dropped`]);
    expect(r.dropped).toMatchObject({ node: 'node-b', where: 'rule', table: 'raw', chain: 'cali-PREROUTING', rule: 5, line: 43 });
    expect(r.dropped!.text).toMatch(/-m rpfilter --validmark --invert -j DROP$/);
    expectRuleEvidence('route-missing', r.dropped);
  });
});

describe('9. a blackhole route shadowing a pod', () => {
  it('node-a drops traffic to web-2 before it is encapsulated: the /28 blackhole beats the /26 VXLAN route', async () => {
    const r = await trace('blackhole-shadow', 'frontend/web-1', 'frontend/web-2', 8080);
    expect(r.verdict).toBe('dropped');
    expect(hopPath(r.hops)).toEqual([`pod-egress node-a ${IF.web1} pass`, `node node-a ${IF.web1} dropped`]);
    expect(r.dropped).toEqual({
      node: 'node-a',
      where: 'route',
      table: 'main',
      artifact: 'nodes/node-a/ip-route.json',
      line: 1,
      text: '{"type":"blackhole","dst":"10.244.2.0/28","flags":[]}',
      reason: 'blackhole route 10.244.2.0/28 on node-a covers 10.244.2.1 (via ip rule 32766)',
    });
    expectRouteEvidence('blackhole-shadow', r.dropped);
    expect(stepsOf(r.hops, 'encap')).toEqual([]);
  });

  it('the other way the forward packet arrives, and the reply dies on the same blackhole', async () => {
    const r = await trace('blackhole-shadow', 'frontend/web-2', 'frontend/web-1', 8080);
    expect(r.verdict).toBe('delivered');
    expect(r.reply?.verdict).toBe('dropped');
    expect(hopPath(r.reply!.hops)).toEqual([`pod-egress node-a ${IF.web1} pass`, `node node-a ${IF.web1} dropped`]);
    expect(r.reply!.dropped).toMatchObject({ node: 'node-a', where: 'route', text: '{"type":"blackhole","dst":"10.244.2.0/28","flags":[]}' });
  });
});

describe('10. stale ipset', () => {
  const SET = 'cali40s:vQ9-cHH9YQ7APih-hZGhlvE';

  it("drops at the end of api-2's tier, and the cross-check names the set that lacks web-1", async () => {
    const b = await bundle('ipset-stale');
    const members = b.nodes.find((n) => n.name === 'node-b')!.ipsets!.sets.get(SET)!.members.map((m) => m.raw);
    expect(members).not.toContain('10.244.1.1');
    expect(members).toContain('10.244.2.1');

    const r = await trace('ipset-stale', 'frontend/web-1', 'backend/api-2', 8080);
    expect(r.verdict).toBe('dropped');
    expect(hopPath(r.hops)).toEqual(POD_A_TO_B(IF.api2).map((h, i, a) => (i === a.length - 2 ? h.replace(/pass$/, 'dropped') : h)).slice(0, 4));
    expect(r.dropped).toEqual({
      node: 'node-b',
      where: 'rule',
      table: 'filter',
      chain: `cali-tw-${IF.api2}`,
      rule: 9,
      artifact: 'nodes/node-b/iptables-save.txt',
      line: 229,
      text: `-A cali-tw-${IF.api2} -m comment --comment "cali:wsYgsiYzGfkV5HhH" -m comment --comment "End of tier default. DROP if no policies passed packet" -m mark --mark 0x0/0x20000 -j DROP`,
      reason: 'dropped by filter/cali-tw-cali563d9b72014 rule 9: policy for ingress to backend/api-2 — no policy in tier default allowed it',
      endpoint: 'backend/api-2',
    });
    expectRuleEvidence('ipset-stale', r.dropped);
    // The allow policy's chain was evaluated; its rule needs web-1 in the source set.
    const fwd = stepsOf(r.hops, 'hook', 'node-b').find((s) => s.hook === 'FORWARD')!;
    expect(fwd.hits.map((h) => h.action)).toContain('jump cali-pi-_TQ8rbtsJOoh1I1II_M8');
    expect(r.intent).toEqual({ allowed: true, summary: 'egress allow (kns.frontend rule 0 Allow), ingress allow (backend/knp.default.allow-api-from-frontend rule 0 Allow)' });
    expect(r.disagreement).toBe(
      `policy allows, but node-b's cali-tw-${IF.api2} drops (line 229): ipset ${SET} lacks 10.244.1.1 although selector \`(pcns.kubernetes.io/metadata.name == "frontend" && (projectcalico.org/orchestrator == "k8s" && app == "web"))\` matches it → Felix out of sync?`,
    );
  });

  it('the healthy lab delivers the same flow (web-1 is in the set there)', async () => {
    const r = await trace('vxlan', 'frontend/web-1', 'backend/api-2', 8080);
    expect(r.verdict).toBe('delivered');
    expect(r.disagreement).toBeUndefined();
  });
});
