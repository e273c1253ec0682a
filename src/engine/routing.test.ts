import { describe, it, expect } from 'vitest';
import { parseIpAddr } from '../parse/ip-addr.js';
import { Routing } from './routing.js';

/** A Calico node's interfaces as `ip -j addr` prints them: lo, eth0, a workload veth (no IPv4), vxlan.calico. */
const ADDR = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], mtu: 65536, link_type: 'loopback', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }] },
  { ifindex: 2, ifname: 'eth0', flags: ['UP'], mtu: 1500, link_type: 'ether', addr_info: [{ family: 'inet', local: '10.0.0.11', prefixlen: 24, scope: 'global' }] },
  { ifindex: 3, ifname: 'cali695fe2a3341', flags: ['UP'], mtu: 1450, link_type: 'ether', addr_info: [{ family: 'inet6', local: 'fe80::ecee:eeff:feee:eeee', prefixlen: 64, scope: 'link' }] },
  { ifindex: 7, ifname: 'vxlan.calico', flags: ['UP'], mtu: 1450, link_type: 'ether', addr_info: [{ family: 'inet', local: '10.244.1.0', prefixlen: 32, scope: 'global' }] },
]);

describe('Routing.selectSourceAddress (MASQUERADE)', () => {
  const r = new Routing([], [], parseIpAddr(ADDR, 'ip-addr.json').value);
  it("uses the outgoing device's own global address", () => {
    expect(r.selectSourceAddress('eth0', 4, '10.0.0.100')).toBe('10.0.0.11');
    expect(r.selectSourceAddress('vxlan.calico', 4, '10.244.2.1')).toBe('10.244.1.0');
  });
  it('a device without one (a Calico veth: hairpin, local NodePort backend) borrows the first global address in ifindex order, as inet_select_addr does', () => {
    expect(r.selectSourceAddress('cali695fe2a3341', 4, '10.244.1.1')).toBe('10.0.0.11');
  });
});
