import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { Anonymizer } from './anonymize.js';

const KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const anon = () => Anonymizer.fromHex(KEY);

const v4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map((o) => o.join('.'));
const v6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((g) => ipaddr.parse(g.map((x) => x.toString(16)).join(':')).toString());

function bits(a: string): string {
  return ipaddr
    .parse(a)
    .toByteArray()
    .map((b) => b.toString(2).padStart(8, '0'))
    .join('');
}
function commonPrefix(a: string, b: string): number {
  const x = bits(a);
  const y = bits(b);
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  return i;
}

describe('Anonymizer: IP addresses', () => {
  it('preserves the exact common-prefix length of any two addresses (prefix-preserving), IPv4 and IPv6', () => {
    const a = anon();
    fc.assert(
      fc.property(v4, v4, (x, y) => {
        expect(commonPrefix(a.ip(x), a.ip(y))).toBe(commonPrefix(x, y));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(v6, v6, (x, y) => {
        expect(commonPrefix(a.ip(x), a.ip(y))).toBe(commonPrefix(x, y));
      }),
      { numRuns: 200 },
    );
  });

  it('preserves CIDR membership: a ∈ N/len ⇔ anon(a) ∈ anon(N/len)', () => {
    const a = anon();
    fc.assert(
      fc.property(v4, v4, fc.integer({ min: 0, max: 32 }), (addr, net, len) => {
        const before = ipaddr.parse(addr).match(ipaddr.parseCIDR(`${net}/${len}`));
        const mapped = a.ip(`${net}/${len}`);
        const after = ipaddr.parse(a.ip(addr)).match(ipaddr.parseCIDR(mapped));
        expect(after).toBe(before);
        // A CIDR is written with its host bits cleared.
        const [m, l] = ipaddr.parseCIDR(mapped);
        expect(ipaddr.IPv4.networkAddressFromCIDR(`${m}/${l}`).toString()).toBe(m.toString());
      }),
      { numRuns: 500 },
    );
    // Addresses inside a sub-range stay inside it (a pool, its blocks, a pod IP).
    const pool = a.ip('10.244.0.0/16');
    const block = a.ip('10.244.1.0/26');
    const pod = a.ip('10.244.1.5');
    expect(ipaddr.parse(pod).match(ipaddr.parseCIDR(block))).toBe(true);
    expect(ipaddr.parseCIDR(block)[0].match(ipaddr.parseCIDR(pool))).toBe(true);
  });

  it('is consistent (same key, same output, also across instances) and collision-free', () => {
    const seen = new Map<string, string>();
    const a = anon();
    const b = anon();
    fc.assert(
      fc.property(v4, (x) => {
        const y = a.ip(x);
        expect(b.ip(x)).toBe(y);
        const prev = seen.get(y);
        if (prev !== undefined) expect(prev).toBe(x);
        seen.set(y, x);
      }),
      { numRuns: 1000 },
    );
    expect(Anonymizer.random().ip('10.1.2.3')).not.toBe(a.ip('10.1.2.3')); // different key, different mapping (overwhelmingly)
  });

  it('keeps special addresses, keeps private blocks private and public addresses public, keeps the last octet', () => {
    const a = anon();
    for (const s of ['127.0.0.1', '169.254.1.1', '169.254.169.254', '0.0.0.0', '0.0.0.0/0', '224.0.0.5', '255.255.255.255', '255.255.255.0', '::1', '::', 'fe80::1', 'ff02::1'])
      expect(a.ip(s), s).toBe(s);
    const blocks = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'].map((c) => ipaddr.parseCIDR(c));
    const special = ['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/3'].map((c) => ipaddr.parseCIDR(c));
    fc.assert(
      fc.property(v4, (x) => {
        const y = a.ip(x);
        const px = ipaddr.parse(x) as ipaddr.IPv4;
        const py = ipaddr.parse(y) as ipaddr.IPv4;
        for (const blk of [...blocks, ...special]) expect(py.match(blk), `${x} → ${y}`).toBe(px.match(blk));
        expect(py.octets[3]).toBe(px.octets[3]);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(v6, (x) => {
        const y = a.ip(x);
        for (const c of ['fc00::/7', 'fe80::/10', 'ff00::/8', '2001:db8::/32']) expect(ipaddr.parse(y).match(ipaddr.parseCIDR(c))).toBe(ipaddr.parse(x).match(ipaddr.parseCIDR(c)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('Anonymizer: text and names', () => {
  it('replaces registered names wherever they appear as words, including composed names', () => {
    const a = anon();
    a.addNames('node', ['worker-1', 'ip-10-0-1-23.ec2.internal']);
    a.addNames('namespace', ['shop']);
    a.addNames('pod', ['web-0', 'db-7f9c']);
    const w1 = a.name('node', 'worker-1');
    expect(w1).toMatch(/^node-[0-9a-f]{10}$/);
    const text = [
      'node=worker-1 pod="shop/web-0"',
      'handle ipip-tunnel-addr-worker-1',
      'wep worker--1-k8s-web--0-eth0',
      'host ip-10-0-1-23.ec2.internal ready',
      'worker-10 stays, so does xworker-1',
      'route 10.244.1.0/26 via 172.18.0.3 block 10-244-1-0-26',
    ].join('\n');
    const out = a.text(text);
    const mustGo = out.split('\n').filter((l) => !l.includes('stays'));
    for (const l of mustGo) expect(l).not.toMatch(/worker-1\b|web-0|\bshop\b|ip-10-0-1-23|172\.18\.0\.3/);
    expect(out).toContain(`node=${w1}`);
    expect(out).toContain(`ipip-tunnel-addr-${w1}`);
    expect(out).toContain(`wep ${w1.replace(/-/g, '--')}-k8s-${a.name('pod', 'web-0').replace(/-/g, '--')}-eth0`);
    expect(out).toContain('worker-10 stays, so does xworker-1');
    const block = a.ip('10.244.1.0/26');
    expect(out).toContain(`route ${block} via ${a.ip('172.18.0.3')} block ${block.replace(/[./]/g, '-')}`);
  });

  it('keeps well-known and word-like names verbatim (they would corrupt command output)', () => {
    const a = anon();
    a.addNames('namespace', ['default', 'kube-system', 'calico-system']);
    a.addNames('node', ['master', 'n1']);
    expect(a.text('default via 10.0.0.1 dev eth0 table main; kube-system; master; n1')).toBe(`default via ${a.ip('10.0.0.1')} dev eth0 table main; kube-system; master; n1`);
  });

  it('anonymizes objects (values and keys) and bundle paths', () => {
    const a = anon();
    a.learnFromObject({ kind: 'List', items: [{ kind: 'Node', metadata: { name: 'worker-1' } }, { kind: 'Pod', metadata: { name: 'web-0', namespace: 'shop' }, spec: { nodeName: 'worker-1' } }] });
    const o = a.object({ spec: { block: { '10.244.1.0/26': 1 }, node: 'worker-1' } });
    expect(Object.keys(o.spec.block)[0]).toBe(a.ip('10.244.1.0/26'));
    expect(o.spec.node).toBe(a.name('node', 'worker-1'));
    expect(a.path('nodes/worker-1/iptables-save.txt')).toBe(`nodes/${a.name('node', 'worker-1')}/iptables-save.txt`);
    expect(a.path('logs/shop/web-0/nginx.log')).toBe(`logs/${a.name('namespace', 'shop')}/${a.name('pod', 'web-0')}/nginx.log`);
    expect(a.path('cluster/pods.yaml')).toBe('cluster/pods.yaml');
  });

  it('never throws on random text', () => {
    const a = anon();
    a.addNames('node', ['node-a', 'b.c']);
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        expect(typeof a.text(s)).toBe('string');
      }),
      { numRuns: 300 },
    );
  });
});
