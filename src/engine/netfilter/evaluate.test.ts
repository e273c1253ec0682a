/**
 * Rule evaluation cases the kernel-oracle property test (test/engine/netfilter-kernel.test.ts)
 * does not draw: ip sets through both lookups, kube-proxy's statistic branches, matches and
 * rules the engine cannot read (indeterminate, never a silent guess), missing jump targets, DNAT.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileIpsets, parseIPv4 } from '../../model/ipset.js';
import { parseIpset } from '../../parse/ipset.js';
import { parseIptablesSave } from '../../parse/iptables-save.js';
import { newPacket } from '../packet.js';
import { CompiledRuleset, TK_ACCEPT, TK_RETURN } from './compile.js';
import { EnumeratingChooser, FixedChooser, type NetfilterEnv } from './env.js';
import { runHook } from './evaluate.js';

const SETS = compileIpsets(
  parseIpset(['create cali40s:web hash:net family inet', 'add cali40s:web 10.65.1.0/24', 'add cali40s:web 10.65.1.9 nomatch', 'create cali40n:ports hash:ip,port family inet', 'add cali40n:ports 10.65.2.2,tcp:8080'].join('\n'), 'ipset.txt').value,
);

const withMatcher: NetfilterEnv = { addrType: () => 'UNICAST', ipsetTest: (n, ip, p, port) => SETS(n, ip, p, port), ipsetMatcher: (n) => SETS.matcher(n) };
const byNameOnly: NetfilterEnv = { addrType: () => 'UNICAST', ipsetTest: (n, ip, p, port) => SETS(n, ip, p, port) };

function ruleset(filter: string[], nat: string[] = []): CompiledRuleset {
  const text = ['*nat', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':SVC - [0:0]', ':SEP1 - [0:0]', ':SEP2 - [0:0]', ...nat, 'COMMIT', '*filter', ':FORWARD DROP [0:0]', ':POL - [0:0]', ...filter, 'COMMIT', ''].join('\n');
  const r = parseIptablesSave(text, 'iptables-save.txt');
  return new CompiledRuleset(r.value);
}

const pkt = (src: string, dst: string, dport = 8080) => newPacket({ src, dst, proto: 6, dport });

describe('runHook: rule evaluation beyond what the kernel oracle draws', () => {
  const sets = ruleset(['-A FORWARD -m set --match-set cali40s:web src -j ACCEPT', '-A FORWARD -m set --match-set cali40n:ports dst,dst -j ACCEPT', '-A FORWARD -m set --match-set cali40s:missing src -j ACCEPT']);

  it.each([
    ['10.65.1.5', '10.0.0.1', 8080, 'accept'],
    ['10.65.1.9', '10.0.0.1', 8080, 'drop'], // nomatch entry: not a member
    ['10.65.7.1', '10.65.2.2', 8080, 'accept'], // hash:ip,port with the packet's protocol and port
    ['10.65.7.1', '10.65.2.2', 9090, 'drop'],
  ])('ip sets: %s → %s:%d is %s, with the per-rule matcher and by name alike', (src, dst, port, fate) => {
    for (const env of [withMatcher, byNameOnly]) {
      const c = new FixedChooser(false);
      expect(runHook(sets, 'FORWARD', pkt(src, dst, port), env, c).fate).toBe(fate);
      // The missing set is an assumption the chooser was asked about, never a silent no.
      expect(c.taken.map((t) => t.reason)).toEqual(fate === 'drop' ? ['ip set cali40s:missing is not in the bundle (or its type is not modelled)'] : []);
    }
  });

  it('kube-proxy statistic branches: every backend is one enumerated path', () => {
    const rs = ruleset(
      [],
      [
        '-A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j SVC',
        '-A SVC -m statistic --mode random --probability 0.50000000000 -j SEP1',
        '-A SVC -j SEP2',
        '-A SEP1 -p tcp -m tcp -j DNAT --to-destination 10.65.1.5:8080',
        '-A SEP2 -p tcp -m tcp -j DNAT --to-destination 10.65.2.2:8080',
      ],
    );
    const chooser = new EnumeratingChooser();
    const seen: string[] = [];
    do {
      chooser.begin();
      const p = pkt('10.65.7.1', '10.96.0.10', 80);
      const r = runHook(rs, 'PREROUTING', p, withMatcher, chooser);
      expect(r.fate).toBe('accept');
      seen.push(`${p.dst}:${p.dport} via ${r.nat.map((n) => `${n.kind} ${n.before.addr}→${n.after.addr}`).join()}`);
    } while (chooser.next());
    expect(seen).toEqual(['10.65.1.5:8080 via DNAT 10.96.0.10→10.65.1.5', '10.65.2.2:8080 via DNAT 10.96.0.10→10.65.2.2']);
  });

  it('a match module the engine cannot evaluate forks into both assumptions, naming the rule', () => {
    const rs = ruleset(['-A FORWARD -m hashlimit --hashlimit-upto 5/sec --hashlimit-name h1 -j DROP', '-A FORWARD -j ACCEPT']);
    const chooser = new EnumeratingChooser();
    const fates: string[] = [];
    do {
      chooser.begin();
      const r = runHook(rs, 'FORWARD', pkt('10.65.7.1', '10.0.0.1'), withMatcher, chooser);
      fates.push(`${r.fate} (${chooser.taken().map((t) => `${t.value}: ${t.reason} @${t.rule.line}`).join()})`);
    } while (chooser.next());
    expect(fates).toEqual(['drop (true: hashlimit rate @12)', 'accept (false: hashlimit rate @12)']);
  });

  it('a rule the parser could not read is indeterminate when it may act, not skipped', () => {
    const rs = ruleset([`-A FORWARD -m comment --comment "${'x'.repeat(70_000)}" -j DROP`, '-A FORWARD -j ACCEPT']);
    const r = runHook(rs, 'FORWARD', pkt('10.65.7.1', '10.0.0.1'), withMatcher, new FixedChooser(true));
    expect(r.fate).toBe('indeterminate');
    expect(r.decision).toMatchObject({ chain: 'FORWARD', line: 12, reason: expect.stringMatching(/could not be read \(\(line too long\)\)/) });
    // Assumed not to match, the packet goes on to the next rule.
    expect(runHook(rs, 'FORWARD', pkt('10.65.7.1', '10.0.0.1'), withMatcher, new FixedChooser(false)).fate).toBe('accept');
  });

  it('a jump to a chain missing from the dump is indeterminate with the rule as evidence', () => {
    const rs = ruleset(['-A FORWARD -j POL', '-A POL -j cali-nowhere', '-A FORWARD -j ACCEPT']);
    const r = runHook(rs, 'FORWARD', pkt('10.65.7.1', '10.0.0.1'), withMatcher, new FixedChooser(false));
    expect(r.fate).toBe('indeterminate');
    expect(r.decision).toMatchObject({ chain: 'POL', line: 13, reason: 'chain cali-nowhere is not in the filter table of the dump' });
    expect(r.hits.map((h) => h.action)).toEqual(['jump POL', 'jump cali-nowhere (missing)']);
  });

  it('a counter-only rule (no target, nothing unread) falls through', () => {
    const rs = ruleset(['-A FORWARD -s 10.65.7.1/32', '-A FORWARD -j ACCEPT']);
    expect(runHook(rs, 'FORWARD', pkt('10.65.7.1', '10.0.0.1'), withMatcher, new FixedChooser(false)).fate).toBe('accept');
  });
});

describe('runHook: indexed chains decide as a linear scan would', () => {
  // Chains of 24+ rules are indexed by destination or interface (compileChain); inert rules are
  // left out of the candidates. The reference below walks the rules in order with their own tests.
  const DSTS = ['10.96.0.1', '10.96.0.2', '10.96.7.9', '10.65.1.5', '10.65.2.2'];
  const IFACES = ['cali1a', 'cali2b', 'cali3c', 'eth0'];
  const ruleArb = fc.record({
    // Mostly the chain's own key (so it gets an index), some rules with another or none.
    key: fc.constantFrom('main', 'main', 'main', 'main', 'dst', 'in', 'out', 'none'),
    dst: fc.constantFrom(...DSTS),
    iface: fc.constantFrom(...IFACES),
    proto: fc.constantFrom('', ' -p tcp', ' -p udp'),
    target: fc.constantFrom('ACCEPT', 'DROP', 'LOG --log-prefix x', 'RETURN'),
  });
  const text = (r: { key: string; dst: string; iface: string; proto: string; target: string }) =>
    `-A FORWARD${r.key === 'dst' ? ` -d ${r.dst}/32` : r.key === 'in' ? ` -i ${r.iface}` : r.key === 'out' ? ` -o ${r.iface}` : ''}${r.proto} -j ${r.target}`;

  it('same fate and deciding line, for any long chain and packet (property)', () => {
    let indexed = 0;
    fc.assert(
      fc.property(
        fc.constantFrom('dst', 'in', 'out'),
        fc.array(ruleArb, { minLength: 24, maxLength: 70 }),
        fc.constantFrom(...DSTS, '10.0.0.1'),
        fc.constantFrom(...IFACES),
        fc.constantFrom(...IFACES),
        fc.constantFrom(6, 17),
        (main, rules, dst, inIface, outIface, proto) => {
          const rs = ruleset(rules.map((r) => text(r.key === 'main' ? { ...r, key: main } : r)));
          const cc = rs.chain('filter', 'FORWARD')!;
          if (cc.index !== undefined) indexed++;
          const p = newPacket({ src: '10.65.7.1', dst, proto, dport: 80 });
          p.inIface = inIface;
          p.outIface = outIface;
          const ctx = { pkt: p, src4: parseIPv4(p.src), dst4: parseIPv4(p.dst), env: withMatcher, chooser: new FixedChooser(false) };
          const first = cc.rules.find((cr) => !cr.inert && cr.test(ctx));
          const want = !first || first.tk === TK_RETURN ? { fate: 'drop', line: cc.chain.line } : { fate: first.tk === TK_ACCEPT ? 'accept' : 'drop', line: first.rule.line };
          const r = runHook(rs, 'FORWARD', p, withMatcher, new FixedChooser(false));
          expect({ fate: r.fate, line: r.decision?.line }).toEqual(want);
        },
      ),
      { numRuns: 400 },
    );
    expect(indexed).toBeGreaterThan(200); // the draw makes indexed chains, not only linear ones
  });
});
