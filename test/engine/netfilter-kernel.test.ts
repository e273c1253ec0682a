/**
 * The kernel is the oracle: random rule programs (jumps, gotos, RETURN, marks, address, port and
 * interface matches, chain policies) are loaded into a real router namespace, a real UDP packet
 * is forwarded through it, and the engine's verdict must equal what the kernel did.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { describeRoot } from '../helpers/root.js';
import { parseIptablesSave } from '../../src/parse/iptables-save.js';
import { CompiledRuleset } from '../../src/engine/netfilter/compile.js';
import { runHook } from '../../src/engine/netfilter/evaluate.js';
import { EnumeratingChooser } from '../../src/engine/netfilter/env.js';
import { newPacket } from '../../src/engine/packet.js';

const tag = Math.random().toString(36).slice(2, 6);
const A = `csf-nfk-a-${tag}`;
const R = `csf-nfk-r-${tag}`;
const B = `csf-nfk-b-${tag}`;

function sh(...args: string[]): string {
  return execFileSync(args[0], args.slice(1), { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}
function inNs(ns: string, ...args: string[]): string {
  return sh('ip', 'netns', 'exec', ns, ...args);
}

interface Rule {
  match: string;
  target: string;
}

const CHAINS = ['C0', 'C1', 'C2', 'C3'];

const matchArb = fc.constantFrom(
  '',
  '-s 10.1.0.2/32',
  '-s 10.9.0.0/16',
  '! -s 10.1.0.0/24',
  '-d 10.2.0.2/32',
  '! -d 10.2.0.0/24',
  '-p udp -m udp --dport 5000',
  '-p udp -m udp ! --dport 5000',
  '-p udp -m multiport --dports 4000:5000,6000',
  '-p tcp',
  '-i r0',
  '-i r+',
  '! -i r0',
  '-o r1',
  '-m mark --mark 0x1/0x1',
  '-m mark ! --mark 0x0/0x3',
  '-m mark --mark 0x2/0x2',
  '-m conntrack --ctstate NEW',
  '-m conntrack --ctstate ESTABLISHED',
  '-m addrtype --dst-type LOCAL',
  '-m addrtype ! --dst-type LOCAL',
);

function targetArb(chainIndex: number) {
  const later = CHAINS.slice(chainIndex + 1);
  const opts: fc.Arbitrary<string>[] = [
    fc.constantFrom('-j ACCEPT', '-j DROP', '-j RETURN', '-j MARK --set-xmark 0x1/0x1', '-j MARK --set-xmark 0x2/0x3', '-j MARK --set-xmark 0x0/0x1', '-j MARK --or-mark 0x2', '-j MARK --and-mark 0x1'),
  ];
  // Jumps and gotos are weighted up: their return semantics are where simulators go wrong.
  if (later.length) return fc.oneof({ arbitrary: opts[0], weight: 2 }, { arbitrary: fc.constantFrom(...later.map((c) => `-j ${c}`), ...later.map((c) => `-g ${c}`)), weight: 3 });
  return opts[0];
}

const programArb = fc.record({
  policy: fc.constantFrom('ACCEPT', 'DROP'),
  chains: fc.tuple(
    ...CHAINS.map((_, i) => fc.array(fc.record({ match: matchArb, target: targetArb(i) }), { minLength: 1, maxLength: 5 })),
  ),
  dport: fc.constantFrom(5000, 5001),
});

function render(p: { policy: string; chains: Rule[][] }): string {
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', `:FORWARD ${p.policy} [0:0]`, ':OUTPUT ACCEPT [0:0]', ...CHAINS.map((c) => `:${c} - [0:0]`), '-A FORWARD -j C0'];
  p.chains.forEach((rules, i) => {
    for (const r of rules) lines.push(`-A ${CHAINS[i]} ${r.match} ${r.target}`.replace(/ +/g, ' '));
  });
  lines.push('COMMIT', '');
  return lines.join('\n');
}

const ENV = {
  addrType: (ip: string) => (['10.1.0.1', '10.2.0.1', '127.0.0.1'].includes(ip) ? 'LOCAL' : 'UNICAST'),
  ipsetTest: () => undefined,
};

describeRoot('netfilter engine agrees with the kernel on random rule programs', () => {
  beforeAll(() => {
    for (const ns of [A, R, B]) sh('ip', 'netns', 'add', ns);
    sh('ip', 'link', 'add', 'a0', 'netns', A, 'type', 'veth', 'peer', 'name', 'r0', 'netns', R);
    sh('ip', 'link', 'add', 'b0', 'netns', B, 'type', 'veth', 'peer', 'name', 'r1', 'netns', R);
    inNs(A, 'ip', 'addr', 'add', '10.1.0.2/24', 'dev', 'a0');
    inNs(R, 'ip', 'addr', 'add', '10.1.0.1/24', 'dev', 'r0');
    inNs(R, 'ip', 'addr', 'add', '10.2.0.1/24', 'dev', 'r1');
    inNs(B, 'ip', 'addr', 'add', '10.2.0.2/24', 'dev', 'b0');
    for (const [ns, devs] of [[A, ['a0', 'lo']], [R, ['r0', 'r1', 'lo']], [B, ['b0', 'lo']]] as const) for (const d of devs) inNs(ns, 'ip', 'link', 'set', d, 'up');
    inNs(A, 'ip', 'route', 'add', 'default', 'via', '10.1.0.1');
    inNs(B, 'ip', 'route', 'add', 'default', 'via', '10.2.0.1');
    inNs(R, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    // Resolve neighbours once so the probe packet is not queued behind ARP.
    inNs(A, 'ping', '-c1', '-W1', '10.2.0.2');
  });
  afterAll(() => {
    for (const ns of [A, R, B]) {
      try {
        sh('ip', 'netns', 'del', ns);
      } catch {
        /* already gone */
      }
    }
  });

  it('matches the kernel verdict for 150 random programs', () => {
    let compared = 0;
    fc.assert(
      fc.property(programArb, (p) => {
        const text = render(p);
        execFileSync('ip', ['netns', 'exec', R, 'iptables-restore'], { input: text });
        // A counting rule after FORWARD tells whether the kernel forwarded the packet.
        execFileSync('ip', ['netns', 'exec', R, 'iptables-restore', '--noflush'], { input: `*mangle\n-F POSTROUTING\n-A POSTROUTING -o r1 -p udp -d 10.2.0.2 -j ACCEPT\nCOMMIT\n` });
        inNs(R, 'conntrack', '-F');
        inNs(R, 'iptables', '-t', 'mangle', '-Z', 'POSTROUTING');
        inNs(A, 'bash', '-c', `echo x > /dev/udp/10.2.0.2/${p.dport}`);
        const save = inNs(R, 'iptables-save', '-c', '-t', 'mangle');
        const m = /\[(\d+):\d+\] -A POSTROUTING -d 10\.2\.0\.2\/32 -o r1 -p udp -j ACCEPT/.exec(save);
        const kernelForwarded = !!m && Number(m[1]) > 0;

        const parsed = parseIptablesSave(text, 'program');
        expect(parsed.issues.filter((i) => i.severity === 'error')).toEqual([]);
        const rs = new CompiledRuleset(parsed.value);
        const pkt = newPacket({ src: '10.1.0.2', dst: '10.2.0.2', proto: 17, dport: p.dport });
        pkt.inIface = 'r0';
        pkt.outIface = 'r1';
        const h = runHook(rs, 'FORWARD', pkt, ENV, new EnumeratingChooser());
        compared++;
        if ((h.fate === 'accept') !== kernelForwarded) {
          throw new Error(`engine ${h.fate}, kernel ${kernelForwarded ? 'forwarded' : 'dropped'} for:\n${text}dport ${p.dport}`);
        }
      }),
      { numRuns: 150, seed: 20261122 },
    );
    expect(compared).toBe(150);
  });
});
