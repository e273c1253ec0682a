/**
 * WireGuard encapsulation. This kernel has no wireguard module, so the lab cannot build one: the
 * bundle is the lab's real VXLAN sample with each node's vxlan.calico turned into the
 * wireguard.cali device Felix creates (`ip -d -j addr`: info_kind "wireguard", mtu 1440) and the
 * remote block routes pointed at it (Felix programs `<block> dev wireguard.cali scope link`).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryBundle } from '../../src/bundle/source.js';
import { loadBundleFromSource } from '../../src/bundle/load.js';
import { traceFlow } from '../../src/trace/flow.js';

const SAMPLE = fileURLToPath(new URL('../../samples/lab-bundle/', import.meta.url));
type Json = Record<string, unknown>;

function readTree(dir: string, base = dir, out: Record<string, string> = {}): Record<string, string> {
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) readTree(p, base, out);
    else if (e !== 'manifest.json') out[path.relative(base, p)] = readFileSync(p, 'utf8');
  }
  return out;
}

function toWireguard(files: Record<string, string>): Record<string, string> {
  const out = { ...files };
  for (const f of Object.keys(files)) {
    if (f.endsWith('/ip-addr.json')) {
      const links = JSON.parse(files[f]) as Json[];
      for (const l of links) {
        if (l.ifname !== 'vxlan.calico') continue;
        l.ifname = 'wireguard.cali';
        l.mtu = 1440;
        l.link_type = 'none';
        l.linkinfo = { info_kind: 'wireguard' };
        for (const a of (l.addr_info as Json[]) ?? []) a.label = 'wireguard.cali';
      }
      out[f] = JSON.stringify(links);
    }
    if (f.endsWith('/ip-route.json')) {
      const routes = (JSON.parse(files[f]) as Json[]).map((r) => {
        if (r.dev !== 'vxlan.calico') return r;
        if (r.gateway) return { dst: r.dst, dev: 'wireguard.cali', protocol: '80', scope: 'link', flags: [] };
        return { ...r, dev: 'wireguard.cali' };
      });
      out[f] = JSON.stringify(routes);
    }
  }
  return out;
}

describe('trace over WireGuard (wireguard.cali)', () => {
  it('encrypts to the peer node on UDP 51820 with a 60-byte budget, decrypts there, and the reply comes back', async () => {
    const bundle = await loadBundleFromSource(memoryBundle(toWireguard(readTree(SAMPLE))));
    // frontend/web-1 on node-a → backend/api-2 on node-b, allowed by policy (http).
    const r = traceFlow(bundle, { from: 'frontend/web-1', to: 'backend/api-2', port: 8080, protocol: 'TCP' });
    const fwd = r;
    const steps = fwd.hops.flatMap((h) => h.steps);
    const encap = steps.find((s) => s.kind === 'encap');
    expect(encap).toMatchObject({ type: 'wireguard', overhead: 60, outer: { src: '10.0.0.11', dst: '10.0.0.12', proto: 'udp', sport: 51820, dport: 51820 } });
    expect(steps.find((s) => s.kind === 'decap')).toMatchObject({ type: 'wireguard', iface: 'wireguard.cali' });
    expect(fwd.hops.map((h) => h.node).filter(Boolean)).toEqual(expect.arrayContaining(['node-a', 'node-b']));
    expect(fwd.verdict).toBe('delivered');
    expect(r.reply?.verdict).toBe('delivered');
  });

  it('a node without the WireGuard device discards the encrypted packet, and says so', async () => {
    const files = toWireguard(readTree(SAMPLE));
    const f = 'nodes/node-b/ip-addr.json';
    files[f] = JSON.stringify((JSON.parse(files[f]) as Json[]).filter((l) => l.ifname !== 'wireguard.cali'));
    const bundle = await loadBundleFromSource(memoryBundle(files));
    const fwd = traceFlow(bundle, { from: 'frontend/web-1', to: 'backend/api-2', port: 8080, protocol: 'TCP' });
    expect(fwd.verdict).toBe('dropped');
    expect(fwd.dropped).toMatchObject({ node: 'node-b', where: 'interface' });
    expect(fwd.dropped!.reason).toMatch(/no WireGuard device/);
  });
});
