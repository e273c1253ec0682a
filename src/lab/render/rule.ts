/**
 * A Felix rule as Felix builds it (match criteria + action + comments) with its two renderings:
 *
 * - Felix's own long form, the text Felix hashes into the `cali:<hash>` comment
 *   (felix/iptables/match_builder.go, felix/iptables/actions.go, felix/iptables/renderer.go:
 *   `-A <chain> HASH [-m comment --comment "<c>"]... <match> <action>`);
 * - the line `iptables-save` prints after iptables-restore loaded it (base fields `-s -d -i -o -p`
 *   first, then the match modules in the order given, `--jump`→`-j`, `--set-mark`→`--set-xmark`,
 *   `--destination-ports`→`--dports`, …; shared/calico/felix-rules.md §0, checked against the
 *   kernel by src/lab/render/render.root.test.ts).
 *
 * The restore text we hand to iptables-restore is the save form, so a load followed by
 * iptables-save gives back the same lines.
 */
import { felixRuleHashes } from '../../calico/naming.js';
import { PROTO_NAME } from '../../model/iptables.js';

export type TableName = 'raw' | 'mangle' | 'nat' | 'filter';

/** One piece of Felix's match criteria. */
export type FelixMatch =
  /** `-p tcp` / `-p 17` (Felix keeps names and numbers as given). */
  | { kind: 'proto'; proto: string | number; negate?: boolean }
  /** `--source 10.0.0.0/8` / `--destination …`. */
  | { kind: 'net'; dir: 'src' | 'dst'; cidr: string; negate?: boolean }
  /** `--in-interface cali+` / `--out-interface …`. */
  | { kind: 'iface'; dir: 'in' | 'out'; name: string }
  /** Bare `--dport N` (MatchCriteria.DestPort): iptables loads the protocol's match implicitly. */
  | { kind: 'dport'; port: number }
  /** Any `-m <module> …` match: Felix's text and iptables-save's. */
  | { kind: 'module'; felix: string; save: string };

export interface FelixAction {
  felix: string;
  save: string;
  /** ReturnAction (trailing ones are stripped from policy chains). */
  isReturn?: boolean;
}

export interface FelixRule {
  match?: FelixMatch[];
  action?: FelixAction;
  comments?: string[];
}

// ---------------------------------------------------------------------------------------------
// Match builder (felix/iptables/match_builder.go)

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

export class Match {
  readonly parts: FelixMatch[] = [];

  private mod(felix: string, save: string = felix): this {
    this.parts.push({ kind: 'module', felix, save });
    return this;
  }

  markClear(mark: number): this {
    return this.mod(`-m mark --mark 0/${hex(mark)}`, `-m mark --mark 0x0/${hex(mark)}`);
  }
  markNotClear(mark: number): this {
    return this.mod(`-m mark ! --mark 0/${hex(mark)}`, `-m mark ! --mark 0x0/${hex(mark)}`);
  }
  markSingleBitSet(mark: number): this {
    return this.markMatchesWithMask(mark, mark);
  }
  markMatchesWithMask(mark: number, mask: number): this {
    return this.mod(`-m mark --mark ${hex(mark)}/${hex(mask)}`);
  }
  notMarkMatchesWithMask(mark: number, mask: number): this {
    return this.mod(`-m mark ! --mark ${hex(mark)}/${hex(mask)}`);
  }
  inInterface(name: string): this {
    this.parts.push({ kind: 'iface', dir: 'in', name });
    return this;
  }
  outInterface(name: string): this {
    this.parts.push({ kind: 'iface', dir: 'out', name });
    return this;
  }
  rpfCheckFailed(): this {
    return this.mod('-m rpfilter --invert --validmark', '-m rpfilter --validmark --invert');
  }
  srcAddrType(type: string, limitIfaceOut: boolean): this {
    return this.mod(`-m addrtype --src-type ${type}${limitIfaceOut ? ' --limit-iface-out' : ''}`);
  }
  notSrcAddrType(type: string, limitIfaceOut: boolean): this {
    return this.mod(`-m addrtype ! --src-type ${type}${limitIfaceOut ? ' --limit-iface-out' : ''}`);
  }
  destAddrType(type: string): this {
    return this.mod(`-m addrtype --dst-type ${type}`);
  }
  conntrackState(states: string): this {
    return this.mod(`-m conntrack --ctstate ${states}`);
  }
  notConntrackState(states: string): this {
    return this.mod(`-m conntrack ! --ctstate ${states}`);
  }
  protocol(name: string | number): this {
    this.parts.push({ kind: 'proto', proto: name });
    return this;
  }
  notProtocol(name: string | number): this {
    this.parts.push({ kind: 'proto', proto: name, negate: true });
    return this;
  }
  sourceNet(cidr: string): this {
    this.parts.push({ kind: 'net', dir: 'src', cidr });
    return this;
  }
  notSourceNet(cidr: string): this {
    this.parts.push({ kind: 'net', dir: 'src', cidr, negate: true });
    return this;
  }
  destNet(cidr: string): this {
    this.parts.push({ kind: 'net', dir: 'dst', cidr });
    return this;
  }
  notDestNet(cidr: string): this {
    this.parts.push({ kind: 'net', dir: 'dst', cidr, negate: true });
    return this;
  }
  sourceIPSet(name: string): this {
    return this.mod(`-m set --match-set ${name} src`);
  }
  notSourceIPSet(name: string): this {
    return this.mod(`-m set ! --match-set ${name} src`);
  }
  sourceIPPortSet(name: string): this {
    return this.mod(`-m set --match-set ${name} src,src`);
  }
  notSourceIPPortSet(name: string): this {
    return this.mod(`-m set ! --match-set ${name} src,src`);
  }
  destIPSet(name: string): this {
    return this.mod(`-m set --match-set ${name} dst`);
  }
  notDestIPSet(name: string): this {
    return this.mod(`-m set ! --match-set ${name} dst`);
  }
  destIPPortSet(name: string): this {
    return this.mod(`-m set --match-set ${name} dst,dst`);
  }
  notDestIPPortSet(name: string): this {
    return this.mod(`-m set ! --match-set ${name} dst,dst`);
  }
  destPort(port: number): this {
    this.parts.push({ kind: 'dport', port });
    return this;
  }
  sourcePortRanges(ports: PortRange[]): this {
    const p = portsToMultiport(ports);
    return this.mod(`-m multiport --source-ports ${p}`, `-m multiport --sports ${p}`);
  }
  notSourcePortRanges(ports: PortRange[]): this {
    const p = portsToMultiport(ports);
    return this.mod(`-m multiport ! --source-ports ${p}`, `-m multiport ! --sports ${p}`);
  }
  destPortRanges(ports: PortRange[]): this {
    const p = portsToMultiport(ports);
    return this.mod(`-m multiport --destination-ports ${p}`, `-m multiport --dports ${p}`);
  }
  notDestPortRanges(ports: PortRange[]): this {
    const p = portsToMultiport(ports);
    return this.mod(`-m multiport ! --destination-ports ${p}`, `-m multiport ! --dports ${p}`);
  }
  destPorts(...ports: number[]): this {
    return this.destPortRanges(ports.map((p) => ({ first: p, last: p })));
  }
  icmpType(t: number, code?: number): this {
    return this.mod(`-m icmp --icmp-type ${t}${code !== undefined ? `/${code}` : ''}`);
  }
  notIcmpType(t: number, code?: number): this {
    return this.mod(`-m icmp ! --icmp-type ${t}${code !== undefined ? `/${code}` : ''}`);
  }
  /** Combine(m1, m2): a copy with m2's parts appended. */
  concat(other: Match): Match {
    const m = new Match();
    m.parts.push(...this.parts, ...other.parts);
    return m;
  }
}

export const match = (): Match => new Match();

export interface PortRange {
  first: number;
  last: number;
}

/** PortRangesToMultiport: `80,443:445`. */
export function portsToMultiport(ports: PortRange[]): string {
  return ports.map((p) => (p.first === p.last ? `${p.first}` : `${p.first}:${p.last}`)).join(',');
}

/** SplitPortList (felix/rules/policy.go): at most 15 multiport slots per match, a range takes 2. */
export function splitPortList(ports: PortRange[]): PortRange[][] {
  const splits: PortRange[][] = [];
  let avail = 15;
  let split: PortRange[] = [];
  for (const p of ports) {
    const need = p.first === p.last ? 1 : 2;
    if (avail < need) {
      splits.push(split);
      avail = 15;
      split = [];
    }
    split.push(p);
    avail -= need;
  }
  if (split.length > 0) splits.push(split);
  return splits;
}

// ---------------------------------------------------------------------------------------------
// Actions (felix/iptables/actions.go)

export const Actions = {
  jump: (chain: string): FelixAction => ({ felix: `--jump ${chain}`, save: `-j ${chain}` }),
  goto: (chain: string): FelixAction => ({ felix: `--goto ${chain}`, save: `-g ${chain}` }),
  return: (): FelixAction => ({ felix: '--jump RETURN', save: '-j RETURN', isReturn: true }),
  accept: (): FelixAction => ({ felix: '--jump ACCEPT', save: '-j ACCEPT' }),
  drop: (): FelixAction => ({ felix: '--jump DROP', save: '-j DROP' }),
  reject: (): FelixAction => ({ felix: '--jump REJECT', save: '-j REJECT --reject-with icmp-port-unreachable' }),
  /** SetMarkAction: `--set-mark m/m`. */
  setMark: (mark: number): FelixAction => ({ felix: `--jump MARK --set-mark ${hex(mark)}/${hex(mark)}`, save: `-j MARK --set-xmark ${hex(mark)}/${hex(mark)}` }),
  setMaskedMark: (mark: number, mask: number): FelixAction => ({
    felix: `--jump MARK --set-mark ${hex(mark)}/${hex(mask)}`,
    save: `-j MARK --set-xmark ${hex(mark)}/${hex(mask)}`,
  }),
  clearMark: (mark: number): FelixAction => ({ felix: `--jump MARK --set-mark 0/${hex(mark)}`, save: `-j MARK --set-xmark 0x0/${hex(mark)}` }),
  noTrack: (): FelixAction => ({ felix: '--jump NOTRACK', save: '-j NOTRACK' }),
  /** MasqAction with MASQFullyRandom (every kernel/iptables the lab and Calico 3.30 target has it). */
  masq: (toPorts?: string, fullyRandom = true): FelixAction => {
    const r = fullyRandom ? ' --random-fully' : '';
    const p = toPorts ? ` --to-ports ${toPorts}` : '';
    return { felix: `--jump MASQUERADE${p}${r}`, save: `-j MASQUERADE${p}${r}` };
  },
  snat: (to: string, fullyRandom = true): FelixAction => {
    const r = fullyRandom ? ' --random-fully' : '';
    return { felix: `--jump SNAT --to-source ${to}${r}`, save: `-j SNAT --to-source ${to}${r}` };
  },
  dnat: (ip: string, port?: number): FelixAction => {
    const to = port ? `${ip}:${port}` : ip;
    return { felix: `--jump DNAT --to-destination ${to}`, save: `-j DNAT --to-destination ${to}` };
  },
  log: (prefix: string): FelixAction => ({
    felix: `--jump LOG --log-prefix "${prefix}: " --log-level 5`,
    save: `-j LOG --log-prefix "${prefix}: " --log-level 5`,
  }),
};

// ---------------------------------------------------------------------------------------------
// Rendering

const SHELL_UNSAFE = /[^\w @%+=:,./-]/g;

/** escapeComment + truncateComment (felix/iptables/renderer.go). */
export function felixComment(c: string): string {
  return c.replace(SHELL_UNSAFE, '_').slice(0, 256);
}

/** Felix's match fragment (MatchCriteria.Render). */
function felixMatchText(m: FelixMatch): string {
  switch (m.kind) {
    case 'proto':
      return `${m.negate ? '! ' : ''}-p ${m.proto}`;
    case 'net':
      return `${m.negate ? '! ' : ''}--${m.dir === 'src' ? 'source' : 'destination'} ${m.cidr}`;
    case 'iface':
      return `--${m.dir === 'in' ? 'in' : 'out'}-interface ${m.name}`;
    case 'dport':
      return `--dport ${m.port}`;
    case 'module':
      return m.felix;
  }
}

/** Felix's rendering of the rule body for hashing: `[-m comment …]… <match> <action>`. */
export function felixBody(r: FelixRule): string {
  const frags: string[] = [];
  for (const c of r.comments ?? []) frags.push(`-m comment --comment "${felixComment(c)}"`);
  const m = (r.match ?? []).map(felixMatchText).join(' ');
  if (m !== '') frags.push(m);
  if (r.action) frags.push(r.action.felix);
  return frags.join(' ');
}

/** How iptables prints a protocol (`-p 17` → `udp`, 4 → `ipencap`). */
export function saveProto(p: string | number): string {
  if (typeof p === 'number' || /^\d+$/.test(p)) {
    const n = Number(p);
    return PROTO_NAME[n] ?? String(n);
  }
  const l = p.toLowerCase();
  return l === 'icmpv6' ? 'ipv6-icmp' : l;
}

/** iptables-save prints addresses as network/prefix. */
export function saveCidr(cidr: string): string {
  if (cidr.includes('/')) return cidr;
  return cidr.includes(':') ? `${cidr}/128` : `${cidr}/32`;
}

/** The line iptables-save prints for this rule (without the `-A chain` prefix when `chain` is empty). */
export function saveLine(chain: string, r: FelixRule, hash?: string): string {
  const parts = r.match ?? [];
  const base: string[] = [];
  const src = parts.find((p): p is Extract<FelixMatch, { kind: 'net' }> => p.kind === 'net' && p.dir === 'src');
  const dst = parts.find((p): p is Extract<FelixMatch, { kind: 'net' }> => p.kind === 'net' && p.dir === 'dst');
  const iin = parts.find((p): p is Extract<FelixMatch, { kind: 'iface' }> => p.kind === 'iface' && p.dir === 'in');
  const iout = parts.find((p): p is Extract<FelixMatch, { kind: 'iface' }> => p.kind === 'iface' && p.dir === 'out');
  const proto = parts.find((p): p is Extract<FelixMatch, { kind: 'proto' }> => p.kind === 'proto');
  if (src) base.push(`${src.negate ? '! ' : ''}-s ${saveCidr(src.cidr)}`);
  if (dst) base.push(`${dst.negate ? '! ' : ''}-d ${saveCidr(dst.cidr)}`);
  if (iin) base.push(`-i ${iin.name}`);
  if (iout) base.push(`-o ${iout.name}`);
  if (proto) base.push(`${proto.negate ? '! ' : ''}-p ${saveProto(proto.proto)}`);
  const mods: string[] = [];
  if (hash !== undefined) mods.push(`-m comment --comment "cali:${hash}"`);
  for (const c of r.comments ?? []) mods.push(`-m comment --comment "${felixComment(c)}"`);
  for (const p of parts) {
    if (p.kind === 'module') mods.push(p.save);
    else if (p.kind === 'dport') mods.push(`-m ${proto && !proto.negate ? saveProto(proto.proto) : 'tcp'} --dport ${p.port}`);
  }
  const out = [`-A ${chain}`, ...base, ...mods];
  if (r.action) out.push(r.action.save);
  return out.join(' ');
}

/** A rendered rule: where it is, both renderings and its hash. */
export interface RenderedRule {
  table: TableName;
  chain: string;
  /** 0-based position among the rules of `chain` that this renderer writes. */
  index: number;
  owner: 'felix' | 'kube-proxy';
  /** Felix rules: the 16-character hash of `cali:<hash>`. */
  hash?: string;
  /** Felix rules: Felix's own rendering as hashed (`-A <chain> HASH …`). */
  felix?: string;
  /** The rule as iptables-save prints it. */
  line: string;
  /** Comments other than the hash comment. */
  comments: string[];
  /** Kernel chains: whether the rule is inserted at the top or appended. */
  placement?: 'insert' | 'append';
  /** The chain jumped/gone to, if any. */
  target?: string;
}

export function targetOf(r: FelixRule): string | undefined {
  const a = r.action?.felix;
  const m = a ? /^--(?:jump|goto) (\S+)$/.exec(a) : null;
  return m && !['ACCEPT', 'DROP', 'RETURN', 'REJECT', 'NOTRACK'].includes(m[1]) ? m[1] : undefined;
}

/**
 * Renders a Felix chain with real hashes. `hashChain` is the name the hash is seeded with
 * (`FORWARD*appends*` for appended kernel-chain rules, felix/iptables/table.go).
 */
export function renderFelixChain(table: TableName, chain: string, rules: FelixRule[], opts: { hashChain?: string; placement?: 'insert' | 'append'; startIndex?: number } = {}): RenderedRule[] {
  const hashChain = opts.hashChain ?? chain;
  const bodies = rules.map(felixBody);
  const hashes = felixRuleHashes(hashChain, bodies);
  return rules.map((r, i) => {
    const out: RenderedRule = {
      table,
      chain,
      index: (opts.startIndex ?? 0) + i,
      owner: 'felix',
      hash: hashes[i],
      felix: bodies[i] === '' ? `-A ${hashChain} HASH` : `-A ${hashChain} HASH ${bodies[i]}`,
      line: saveLine(chain, r, hashes[i]),
      comments: (r.comments ?? []).map(felixComment),
    };
    if (opts.placement) out.placement = opts.placement;
    const t = targetOf(r);
    if (t) out.target = t;
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// Mark bits (felix/markbits/mark_bits.go, felix/dataplane/driver.go)

export interface MarkBits {
  accept: number;
  pass: number;
  drop: number;
  scratch0: number;
  scratch1: number;
  /** Remaining bits: the IPVS endpoint mark (unused without IPVS). */
  endpoint: number;
}

/** Hands out the set bits of the mask lowest first: accept, pass, drop, scratch0, scratch1, rest. */
export function allocateMarks(mask: number): MarkBits {
  const bits: number[] = [];
  for (let s = 0; s < 32; s++) {
    const b = 2 ** s;
    if (Math.floor((mask >>> 0) / b) % 2 === 1) bits.push(b);
  }
  if (bits.length < 5) throw new Error(`IptablesMarkMask ${hex(mask)} has fewer than the 5 bits Felix needs`);
  const [accept, pass, drop, scratch0, scratch1, ...rest] = bits;
  return { accept, pass, drop, scratch0, scratch1, endpoint: rest.reduce((a, b) => a + b, 0) };
}
