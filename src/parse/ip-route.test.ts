import { describe, expect, it } from 'vitest';
import type { IpRoute } from '../model/iproute.js';
import { fixture, parserProperties, robustnessCases, strip } from '../../test/fixtures/iproute/property-kit.js';
import { parseIpRoute } from './ip-route.js';

const A = 'nodes/node-a/ip-route.txt';
const TEXT = fixture('ip-route-table-all.txt');
const JSON4 = fixture('ip-j-route-table-all.json');

function find(routes: IpRoute[], table: string, dst: string, type?: string): IpRoute {
  const r = routes.filter((x) => x.table === table && x.dst === dst && (type === undefined || x.type === type));
  expect(r, `${table} ${dst}`).toHaveLength(1);
  return r[0];
}

/** Comparable form: no provenance, and `expires` ticks between two captures. */
function comparable(routes: IpRoute[]): unknown {
  // iproute2's JSON does not print the `lock` of a locked metric, so mtuLock is text-only.
  return strip(routes.map((r) => ({ ...r, mtuLock: undefined, expires: r.expires === undefined ? undefined : 'set' })));
}

describe('parseIpRoute: real `ip route show table all` (iproute2 6.1, Calico-shaped node)', () => {
  const { value: routes, issues } = parseIpRoute(TEXT, A);

  it('reads every route of every table and family without issues', () => {
    expect(issues).toEqual([]);
    expect(routes).toHaveLength(76);
    expect(routes.filter((r) => r.family === 4)).toHaveLength(29);
    expect(routes.filter((r) => r.family === 6)).toHaveLength(47);
    expect(new Set(routes.map((r) => r.table))).toEqual(new Set(['1', '100', 'main', 'local']));
  });

  it('reads the Felix/BIRD blackhole routes for the local IPAM blocks', () => {
    expect(find(routes, 'main', '10.65.0.0/26')).toMatchObject({ type: 'blackhole', protocol: '80', family: 4, line: 6 });
    expect(find(routes, 'main', '10.65.0.64/26')).toMatchObject({ type: 'blackhole', protocol: 'bird' });
    expect(find(routes, 'main', 'fd00:10:65::/122')).toMatchObject({ type: 'blackhole', protocol: '80', dev: 'lo', metric: 1024, pref: 'medium', family: 6 });
  });

  it('reads VXLAN block routes with the onlink flag and the workload /32 routes', () => {
    const vx = find(routes, 'main', '10.65.1.0/26');
    expect(vx).toMatchObject({ type: 'unicast', via: '10.65.1.0', dev: 'vxlan.calico', protocol: '80', onlink: true, flags: ['onlink'], line: 10 });
    expect(vx.raw).toBe('10.65.1.0/26 via 10.65.1.0 dev vxlan.calico proto 80 onlink ');
    expect(find(routes, 'main', 'fd00:10:65:1::/122')).toMatchObject({ via: 'fd00:10:65:1::', dev: 'vxlan-v6.calico', onlink: true });
    const wl = find(routes, 'main', '10.65.0.5/32');
    expect(wl).toMatchObject({ dev: 'cali1a2b3c4d5e6', scope: 'link', prefixLen: 32, onlink: false });
    expect(wl.protocol).toBeUndefined(); // proto boot is not printed
    expect(find(routes, 'main', 'fd00:10:65::5/128')).toMatchObject({ dev: 'cali1a2b3c4d5e6', metric: 1024 });
  });

  it('reads unreachable, prohibit and throw routes', () => {
    expect(find(routes, 'main', '10.99.0.0/24').type).toBe('unreachable');
    expect(find(routes, 'main', '10.98.0.0/24').type).toBe('prohibit');
    expect(find(routes, 'main', 'fd00:99::/64')).toMatchObject({ type: 'unreachable', dev: 'lo' });
    expect(find(routes, '100', '10.65.0.0/16')).toMatchObject({ type: 'throw', table: '100' });
  });

  it('normalises default to a CIDR per family, and reads table 100', () => {
    expect(find(routes, 'main', '0.0.0.0/0')).toMatchObject({ via: '172.18.0.1', dev: 'eth0', protocol: 'dhcp', src: '172.18.0.2', metric: 100 });
    expect(find(routes, '100', '0.0.0.0/0')).toMatchObject({ via: '172.18.0.3', dev: 'eth0' });
    expect(find(routes, '100', '::/0')).toMatchObject({ family: 6, via: 'fd00:172:18::3', metric: 1024 });
    expect(find(routes, '100', '10.65.9.0/24')).toMatchObject({ dev: 'vxlan.calico', scope: 'link' });
    expect(find(routes, '1', '10.65.1.0/26')).toMatchObject({ via: '172.18.0.3' });
  });

  it('folds multipath nexthop lines into the route, with their own line numbers', () => {
    const mp = find(routes, 'main', '10.70.0.0/24');
    expect(mp).toMatchObject({ protocol: 'static', line: 12 });
    expect(mp.via).toBeUndefined();
    expect(mp.nexthops).toEqual([
      { via: '172.18.0.3', dev: 'eth0', weight: 1, onlink: false, flags: [], line: 13 },
      { via: '172.18.0.4', dev: 'eth0', weight: 2, onlink: false, flags: [], line: 14 },
    ]);
    expect(mp.raw.split('\n')).toHaveLength(3);
    const mp6 = find(routes, 'main', 'fd00:70::/64');
    expect(mp6.nexthops?.map((n) => [n.via, n.weight])).toEqual([
      ['fd00:172:18::3', 1],
      ['fd00:172:18::4', 1],
    ]);
  });

  it('reads metrics, mtu lock, linkdown, IPv6 pref/expires/proto ra', () => {
    expect(find(routes, 'main', '10.80.0.0/24')).toMatchObject({ metric: 100, mtu: 1400 });
    const locked = find(routes, 'main', '10.81.0.0/24');
    expect(locked).toMatchObject({ mtu: 1300, mtuLock: true, metrics: { advmss: 1260 } });
    expect(find(routes, 'main', '192.0.2.0/24')).toMatchObject({ linkdown: true, flags: ['linkdown'], protocol: 'kernel', scope: 'link', src: '192.0.2.1' });
    const exp = find(routes, 'main', '2001:db8:9::/64');
    expect(exp.expires).toBeGreaterThan(500);
    expect(exp.expires).toBeLessThanOrEqual(600);
    expect(find(routes, 'main', '2001:db8:a::/64')).toMatchObject({ protocol: 'ra', pref: 'high', via: 'fe80::42:acff:fe12:3' });
  });

  it('reads the local table: local, broadcast, anycast and multicast routes', () => {
    expect(find(routes, 'local', '10.65.0.0/32')).toMatchObject({ type: 'local', dev: 'vxlan.calico', scope: 'host', src: '10.65.0.0', protocol: 'kernel' });
    expect(find(routes, 'local', '172.18.255.255/32')).toMatchObject({ type: 'broadcast', scope: 'link' });
    expect(routes.filter((r) => r.type === 'anycast' && r.dst === 'fe80::/128')).toHaveLength(8);
    expect(routes.filter((r) => r.type === 'multicast' && r.dst === 'ff00::/8')).toHaveLength(8);
    expect(find(routes, 'local', '::1/128')).toMatchObject({ type: 'local', metric: 0 });
  });
});

describe('parseIpRoute: JSON (`ip -j route show table all`) agrees with the text capture', () => {
  const text = parseIpRoute(TEXT, A).value;

  it('compact JSON: same routes; line 1 and objectIndex per element', () => {
    const { value, issues } = parseIpRoute(JSON4, 'ip-j-route.json');
    expect(issues).toEqual([]);
    expect(comparable(value)).toEqual(comparable(text));
    expect(value.every((r) => r.line === 1)).toBe(true);
    expect(value.map((r) => r.objectIndex)).toEqual(value.map((_, i) => i));
    const bh = value.find((r) => r.dst === '10.65.0.0/26')!;
    expect(bh.raw).toBe('{"type":"blackhole","dst":"10.65.0.0/26","protocol":"80","flags":[]}');
  });

  it('pretty JSON (`-j -p`): each route carries the line its object starts on', () => {
    const pretty = fixture('ip-j-p-route-table-all.json');
    const { value, issues } = parseIpRoute(pretty, 'p.json');
    expect(issues).toEqual([]);
    expect(comparable(value)).toEqual(comparable(text));
    const lines = pretty.split('\n');
    for (const r of value) expect(lines[r.line - 1]).toMatch(/\{\s*$/);
    expect(value[0].line).toBe(1);
    expect(value[1].line).toBe(7);
  });

  it('IPv6-only text and JSON agree, and `ip -d route` reads to the same routes', () => {
    const t6 = parseIpRoute(fixture('ip-6-route-table-all.txt'), 'a').value;
    const j6 = parseIpRoute(fixture('ip-6-j-route-table-all.json'), 'b').value;
    expect(comparable(j6)).toEqual(comparable(t6));
    expect(t6.every((r) => r.family === 6)).toBe(true);
    const d = parseIpRoute(fixture('ip-d-route-table-all.txt'), 'c');
    expect(d.issues).toEqual([]);
    const key = (r: IpRoute) => `${r.table} ${r.type} ${r.dst} ${r.dev} ${r.via} ${r.protocol ?? 'boot'}`;
    expect(d.value.map(key)).toEqual(text.map(key));
    expect(d.value.find((r) => r.dst === '10.65.0.5/32')!.protocol).toBe('boot');
  });

  it('the pod view: `default via 169.254.1.1 dev eth0 onlink`, and the CNI link-route variant', () => {
    const pod1 = parseIpRoute(fixture('pod1-ip-route.txt'), 'p1').value;
    expect(pod1).toEqual([expect.objectContaining({ dst: '0.0.0.0/0', via: '169.254.1.1', dev: 'eth0', onlink: true, table: 'main' })]);
    expect(strip(parseIpRoute(fixture('pod1-ip-j-route.json'), 'p1j').value)).toEqual(strip(pod1));
    const pod2 = parseIpRoute(fixture('pod2-ip-route.txt'), 'p2').value;
    expect(pod2.map((r) => [r.dst, r.via, r.scope, r.onlink])).toEqual([
      ['0.0.0.0/0', '169.254.1.1', undefined, false],
      ['169.254.1.1/32', undefined, 'link', false],
    ]);
    const v6 = parseIpRoute(fixture('pod1-ip-6-route.txt'), 'p6').value;
    expect(v6[2]).toMatchObject({ dst: '::/0', via: 'fe80::ecee:eeff:feee:eeee', family: 6 });
  });

  it('IPIP-mode route via tunl0 (constructed fixture)', () => {
    const r = parseIpRoute(fixture('constructed/ip-route-ipip.txt'), 'x').value;
    expect(r.find((x) => x.dev === 'tunl0')).toMatchObject({ dst: '10.65.3.0/26', via: '172.18.0.3', protocol: 'bird', onlink: true });
  });
});

describe('parseIpRoute: text details', () => {
  it('reads unknown keywords into extra with one warning per keyword', () => {
    const t = '10.1.0.0/16 via 10.0.0.1 dev eth0 frobnicate 7\n10.2.0.0/16 via 10.0.0.1 dev eth0 frobnicate 8 onlink\n';
    const { value, issues } = parseIpRoute(t, A);
    expect(value.map((r) => r.extra)).toEqual([
      ['frobnicate', '7'],
      ['frobnicate', '8'],
    ]);
    expect(value[1].onlink).toBe(true);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 1, severity: 'warning' });
    expect(issues[0].reason).toMatch(/frobnicate.*2 lines/);
  });

  it('reads `ip -o route` multipath on one line, `via inet6`, encap, nhid, error, and `0/N`', () => {
    const t = [
      '10.70.0.0/24 proto static \\\tnexthop via 172.18.0.3 dev eth0 weight 1 \\\tnexthop via 172.18.0.4 dev eth0 weight 2 onlink',
      '10.9.0.0/24 via inet6 fe80::1 dev eth0',
      '10.8.0.0/24 encap mpls 100/200 via 10.0.0.1 dev eth0',
      '10.7.0.0/24 nhid 12 proto static',
      'unreachable 2001:db8::/64 dev lo proto kernel metric 1024 error -113 pref medium',
    ].join('\n');
    const { value, issues } = parseIpRoute(t, A);
    expect(issues).toEqual([]);
    expect(value[0].nexthops?.map((n) => [n.via, n.weight, n.onlink])).toEqual([
      ['172.18.0.3', 1, false],
      ['172.18.0.4', 2, true],
    ]);
    expect(value[1]).toMatchObject({ family: 4, via: 'fe80::1' });
    expect(value[2]).toMatchObject({ encap: 'mpls 100/200', via: '10.0.0.1' });
    expect(value[3]).toMatchObject({ nhid: 12 });
    expect(value[4]).toMatchObject({ type: 'unreachable', error: -113, family: 6 });
  });

  it('decides the family of `default` from what follows, and per line in mixed dumps', () => {
    const { value } = parseIpRoute('default dev wg0 scope link\ndefault dev eth0 metric 1024 pref medium\ndefault via fe80::1 dev eth0\n', A);
    expect(value.map((r) => r.dst)).toEqual(['0.0.0.0/0', '::/0', '::/0']);
  });

  it('names standard table numbers', () => {
    const { value } = parseIpRoute('10.0.0.0/8 dev eth0 table 254\n10.0.0.0/8 dev eth0 table 255\n10.0.0.0/8 dev eth0 table 253\n10.0.0.0/8 dev eth0 table 0100\n', A);
    expect(value.map((r) => r.table)).toEqual(['main', 'local', 'default', '100']);
  });

  it('orphan nexthop lines and bad lines are errors on their lines; the rest is read', () => {
    const t = '\tnexthop via 1.1.1.1 dev eth0\n10.0.0.0/8 dev eth0\nnonsense here\n10.1.0.0/16 via 1.2.3.4\n';
    const { value, issues } = parseIpRoute(t, A);
    expect(value.map((r) => r.dst)).toEqual(['10.0.0.0/8', '10.1.0.0/16']);
    expect(issues.map((i) => [i.line, i.severity])).toEqual([
      [1, 'error'],
      [3, 'error'],
    ]);
  });

  it('the wrong artifact gives one clear issue', () => {
    for (const [name, what] of [
      ['ip-neigh.txt', /ip neigh/],
      ['ip-addr.txt', /ip addr/],
      ['ip-rule.txt', /ip rule/],
      ['bridge-fdb.txt', /bridge fdb/],
      ['ip-j-neigh.json', /ip neigh/],
      ['ip-j-addr.json', /ip addr/],
      ['ip-j-rule.json', /ip rule/],
    ] as const) {
      const r = parseIpRoute(fixture(name), name);
      expect(r.value, name).toEqual([]);
      expect(r.issues, name).toHaveLength(1);
      expect(r.issues[0].reason, name).toMatch(what);
      expect(r.issues[0].line).toBe(0);
    }
  });

  it('a 10 MB JSON array of routes is read whole, and its truncation salvages the prefix', () => {
    const one = '{"dst":"10.1.2.0/24","gateway":"10.0.0.1","dev":"eth0","protocol":"bird","flags":["onlink"]}';
    const n = Math.ceil((10 * 1024 * 1024) / (one.length + 1));
    const big = `[${Array.from({ length: n }, () => one).join(',')}]`;
    const r = parseIpRoute(big, 'big.json');
    expect(r.issues).toEqual([]);
    expect(r.value).toHaveLength(n);
    const cut = parseIpRoute(big.slice(0, Math.floor(big.length / 2)), 'cut.json');
    expect(cut.value.length).toBeGreaterThan(n / 2 - 2);
    expect(cut.value.length).toBeLessThan(n / 2 + 2);
    expect(cut.issues).toHaveLength(1);
    expect(cut.issues[0].reason).toMatch(/truncated inside element \d+.*complete element/);
  });
});

describe('parseIpRoute: properties', () => {
  parserProperties(parseIpRoute, ['ip-route-table-all.txt', 'ip-6-route-table-all.txt'], ['ip-j-route-table-all.json', 'ip-j-p-route-table-all.json']);
  robustnessCases(parseIpRoute, /ip route/);
});
