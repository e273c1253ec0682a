/**
 * Walks a packet through one netfilter hook (its tables in kernel priority order), with the
 * kernel's chain semantics: jump pushes a return point, goto does not (so RETURN from a goto'd
 * chain goes to the caller's caller), RETURN or the end of a built-in chain applies its policy,
 * terminating targets end the table, MARK/CONNMARK/NAT rewrite the packet.
 */
import { applyXmark, type IptRule, type JumpTarget, type Target } from '../../model/iptables.js';
import type { Packet } from '../packet.js';
import {
  CompiledRuleset,
  TK_ACCEPT,
  TK_DROP,
  TK_GOTO,
  TK_JUMP,
  TK_MARK,
  TK_REJECT,
  TK_RETURN,
  candidatesOf,
  ipv4OrMinus,
  type CompiledChain,
  type EvalCtx,
} from './compile.js';
import type { Chooser, NetfilterEnv } from './env.js';

export type HookName = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** Tables per hook in kernel priority order (raw -300, mangle -150, nat DNAT -100, filter 0, security 50, nat SNAT 100). */
export const HOOK_TABLES: Record<HookName, readonly string[]> = {
  PREROUTING: ['raw', 'mangle', 'nat'],
  INPUT: ['mangle', 'filter', 'security', 'nat'],
  FORWARD: ['mangle', 'filter', 'security'],
  OUTPUT: ['raw', 'mangle', 'nat', 'filter', 'security'],
  POSTROUTING: ['mangle', 'nat'],
};

export type Fate = 'accept' | 'drop' | 'reject' | 'indeterminate';

/** A rule whose matches all held (so its target acted), in the order they acted. */
export interface RuleHit {
  table: string;
  chain: string;
  index: number;
  line: number;
  raw: string;
  counters?: { packets: number; bytes: number };
  /** What the target did: "jump cali-FORWARD", "MARK 0x10000/0x10000 → mark 0x10000", "DNAT → 10.244.2.5:8080", "DROP". */
  action: string;
}

/** Why a table (or the whole hook) ended as it did. */
export interface Decision {
  table: string;
  chain: string;
  /** The deciding rule; absent when a built-in chain's policy decided. */
  rule?: IptRule;
  /** The chain policy that applied (ACCEPT/DROP) when no rule decided. */
  policy?: string;
  /** Line of the rule, or of the `:CHAIN POLICY` header. */
  line: number;
  text: string;
  /** For indeterminate: what could not be evaluated. */
  reason?: string;
}

export interface NatRewrite {
  kind: 'DNAT' | 'SNAT' | 'MASQUERADE' | 'REDIRECT';
  table: string;
  chain: string;
  rule: IptRule;
  before: { addr: string; port?: number };
  after: { addr: string; port?: number };
}

export interface TableResult {
  table: string;
  fate: Fate;
  decision: Decision;
  /** Number of rules whose matches were evaluated in this table. */
  evaluated: number;
}

export interface HookResult {
  hook: HookName;
  fate: Fate;
  /** The table decision that ended the hook (the first non-accept), or the last accept. */
  decision?: Decision;
  tables: TableResult[];
  hits: RuleHit[];
  nat: NatRewrite[];
}

export interface RunOptions {
  /** Record every acting rule (off for bulk evaluation: the matrix, the benchmark). */
  record?: boolean;
  /** Tables to skip (e.g. nat for packets of an established connection). */
  skipTables?: readonly string[];
}

const MAX_STEPS = 2_000_000;
const CONTINUE_TARGETS = new Set(['SET', 'CONNSECMARK', 'SECMARK', 'CHECKSUM', 'TCPMSS', 'TOS', 'DSCP', 'CLASSIFY', 'TTL', 'HL', 'IDLETIMER', 'LED', 'AUDIT', 'ULOG', 'TEE']);

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

function ruleText(rule: IptRule): string {
  return rule.raw;
}

/** Return points of `-j` jumps, in parallel arrays (no object per jump); `pop` leaves the frame in cc/cand/pos. */
class FrameStack {
  private readonly ccs: CompiledChain[] = [];
  private readonly cands: ArrayLike<number>[] = [];
  private readonly poss: number[] = [];
  length = 0;
  cc!: CompiledChain;
  cand!: ArrayLike<number>;
  pos = 0;

  push(cc: CompiledChain, cand: ArrayLike<number>, pos: number): void {
    const i = this.length++;
    this.ccs[i] = cc;
    this.cands[i] = cand;
    this.poss[i] = pos;
  }

  pop(): void {
    const i = --this.length;
    this.cc = this.ccs[i];
    this.cand = this.cands[i];
    this.pos = this.poss[i];
  }
}

const policyDecisions = new WeakMap<CompiledChain, Decision>();

function policyResult(table: string, start: CompiledChain, evaluated: number): TableResult {
  const ch = start.chain;
  const cached = policyDecisions.get(start);
  if (cached) return { table, fate: cached.policy === 'DROP' ? 'drop' : cached.policy === 'ACCEPT' ? 'accept' : 'indeterminate', evaluated, decision: cached };
  const pol = ch.policy ?? 'ACCEPT';
  const fate: Fate = pol === 'DROP' ? 'drop' : pol === 'ACCEPT' ? 'accept' : 'indeterminate';
  const decision: Decision = { table, chain: ch.name, policy: pol, line: ch.line, text: `:${ch.name} ${pol}`, reason: fate === 'indeterminate' ? `unknown policy ${pol}` : undefined };
  policyDecisions.set(start, decision);
  return { table, fate, evaluated, decision };
}

function ruleResult(table: string, fate: Fate, rule: IptRule, evaluated: number, reason?: string): TableResult {
  return { table, fate, evaluated, decision: { table, chain: rule.chain, rule, line: rule.line, text: ruleText(rule), reason } };
}

function pushHit(hits: RuleHit[], table: string, rule: IptRule, action: string): void {
  hits.push({ table, chain: rule.chain, index: rule.index, line: rule.line, raw: rule.raw, counters: rule.counters, action });
}

/** Evaluates one table's built-in chain for the hook. Hot path: no closures are created per call. */
export function runTable(rs: CompiledRuleset, table: string, hook: HookName, ctx: EvalCtx, hits: RuleHit[] | undefined, nat: NatRewrite[]): TableResult {
  const start = rs.chain(table, hook);
  if (!start) {
    return { table, fate: 'accept', evaluated: 0, decision: { table, chain: hook, policy: 'ACCEPT', line: 0, text: `no ${table} ${hook} chain in the dump` } };
  }
  const pkt = ctx.pkt;
  // One stack per ruleset, reused: runTable never re-enters itself (targets do not evaluate rules).
  const stack = (rs.frames ??= new FrameStack()) as FrameStack;
  stack.length = 0;
  let cc: CompiledChain = start;
  let cand: ArrayLike<number> = candidatesOf(start, ctx);
  let pos = 0;
  let evaluated = 0;
  let steps = 0;

  for (;;) {
    if (++steps > MAX_STEPS) {
      return { table, fate: 'indeterminate', evaluated, decision: { table, chain: cc.chain.name, line: cc.chain.line, text: cc.chain.name, reason: 'too many steps (a jump loop?)' } };
    }
    if (pos >= cand.length) {
      if (stack.length === 0) return policyResult(table, start, evaluated);
      stack.pop();
      cc = stack.cc;
      cand = stack.cand;
      pos = stack.pos;
      continue;
    }
    const cr = cc.rules[cand[pos++]];
    evaluated++;
    if (!cr.test(ctx)) continue;
    const rule = cr.rule;
    const t = rule.target as Target;
    switch (cr.tk) {
      case TK_ACCEPT:
        if (hits) pushHit(hits, table, rule, 'ACCEPT');
        return ruleResult(table, 'accept', rule, evaluated);
      case TK_DROP:
        if (hits) pushHit(hits, table, rule, 'DROP');
        return ruleResult(table, 'drop', rule, evaluated);
      case TK_REJECT:
        if (hits) pushHit(hits, table, rule, `REJECT${t.kind === 'REJECT' && t.rejectWith ? ` --reject-with ${t.rejectWith}` : ''}`);
        return ruleResult(table, 'reject', rule, evaluated);
      case TK_RETURN: {
        if (hits) pushHit(hits, table, rule, 'RETURN');
        if (stack.length === 0) return policyResult(table, start, evaluated);
        stack.pop();
        cc = stack.cc;
        cand = stack.cand;
        pos = stack.pos;
        break;
      }
      case TK_JUMP:
      case TK_GOTO: {
        const chainName = (t as JumpTarget).chain;
        const next = cr.target !== undefined ? cr.target : rs.jumpTarget(table, cr, chainName);
        if (!next) {
          if (hits) pushHit(hits, table, rule, `${cr.tk === TK_GOTO ? 'goto' : 'jump'} ${chainName} (missing)`);
          return ruleResult(table, 'indeterminate', rule, evaluated, `chain ${chainName} is not in the ${table} table of the dump`);
        }
        if (hits) pushHit(hits, table, rule, `${cr.tk === TK_GOTO ? 'goto' : 'jump'} ${chainName}`);
        if (cr.tk === TK_JUMP) {
          stack.push(cc, cand, pos);
          if (stack.length > 64) return ruleResult(table, 'indeterminate', rule, evaluated, 'chain nesting deeper than 64 (a loop?)');
        }
        cc = next;
        cand = candidatesOf(next, ctx);
        pos = 0;
        break;
      }
      case TK_MARK: {
        if (t.kind !== 'MARK') break;
        const before = pkt.mark;
        pkt.mark = applyXmark(pkt.mark, t.value, t.mask);
        if (hits) pushHit(hits, table, rule, `MARK ${hex(t.value)}/${hex(t.mask)}: ${hex(before)} → ${hex(pkt.mark)}`);
        break;
      }
      default: {
        const r = slowTarget(rs, table, hook, ctx, hits, nat, rule, t, evaluated);
        if (r) return r;
      }
    }
  }
}

/** Targets that are rare on the hot path (NAT, CONNMARK, logging, userspace). Returns a result when the target ends the table. */
function slowTarget(rs: CompiledRuleset, table: string, hook: HookName, ctx: EvalCtx, hits: RuleHit[] | undefined, nat: NatRewrite[], rule: IptRule, t: Target | undefined, evaluated: number): TableResult | undefined {
  const pkt = ctx.pkt;
  const hit = (action: string) => {
    if (hits) pushHit(hits, table, rule, action);
  };
  const decide = (fate: Fate, reason?: string) => ruleResult(table, fate, rule, evaluated, reason);
  void rs;
  if (t === undefined) {
    hit('(rule not read)');
    return decide('indeterminate', `the rule could not be read (${rule.unknown.join(', ')}), so its target is unknown`);
  }
  switch (t.kind) {
      case 'CONNMARK': {
        if (t.mode === 'set' && t.value !== undefined && t.mask !== undefined) pkt.ct.mark = applyXmark(pkt.ct.mark, t.value, t.mask);
        else if (t.mode === 'save') {
          let v = pkt.mark & (t.nfmask ?? 0xffffffff);
          if (t.shift) v = t.shift.dir === 'left' ? v << t.shift.bits : v >>> t.shift.bits;
          pkt.ct.mark = applyXmark(pkt.ct.mark, v >>> 0, t.ctmask ?? 0xffffffff);
        } else if (t.mode === 'restore') {
          let v = pkt.ct.mark & (t.ctmask ?? 0xffffffff);
          if (t.shift) v = t.shift.dir === 'left' ? v << t.shift.bits : v >>> t.shift.bits;
          pkt.mark = applyXmark(pkt.mark, v >>> 0, t.nfmask ?? 0xffffffff);
        }
        hit(`CONNMARK ${t.mode}`);
        break;
      }
      case 'DNAT':
      case 'SNAT': {
        const r = t.to[0];
        if (!r || r.minIp === undefined) {
          if (r && r.minPort !== undefined && t.kind === 'DNAT') {
            // Port-only DNAT keeps the address.
          } else return decide('indeterminate', `${t.kind} without a target address`);
        }
        if (t.to.length > 1 || (r.maxIp !== undefined && r.maxIp !== r.minIp)) {
          // Several targets: the kernel picks one per connection; the engine takes the first and says so.
          ctx.chooser.choose('assume', rule, `${t.kind} to a range; the first address is used`);
        }
        if (t.kind === 'DNAT') {
          const before = { addr: pkt.dst, port: pkt.dport };
          if (r.minIp !== undefined) pkt.dst = r.minIp;
          if (r.minPort !== undefined) pkt.dport = r.minPort;
          pkt.ct.dnat = true;
          pkt.ct.reply = { ...pkt.ct.reply, src: pkt.dst, sport: pkt.dport };
          ctx.dst4 = ipv4OrMinus(pkt.dst);
          nat.push({ kind: 'DNAT', table, chain: rule.chain, rule, before, after: { addr: pkt.dst, port: pkt.dport } });
          hit(`DNAT → ${pkt.dst}${pkt.dport !== undefined ? `:${pkt.dport}` : ''}`);
        } else {
          const before = { addr: pkt.src, port: pkt.sport };
          if (r.minIp !== undefined) pkt.src = r.minIp;
          if (r.minPort !== undefined) pkt.sport = r.minPort;
          pkt.ct.snat = true;
          pkt.ct.reply = { ...pkt.ct.reply, dst: pkt.src, dport: pkt.sport };
          ctx.src4 = ipv4OrMinus(pkt.src);
          nat.push({ kind: 'SNAT', table, chain: rule.chain, rule, before, after: { addr: pkt.src, port: pkt.sport } });
          hit(`SNAT → ${pkt.src}`);
        }
        return decide('accept');
      }
      case 'MASQUERADE': {
        const addr = ctx.env.masqueradeSource?.(pkt.outIface, pkt.dst);
        if (!addr) return decide('indeterminate', `MASQUERADE: no address known for ${pkt.outIface ?? 'the outgoing interface'}`);
        const before = { addr: pkt.src, port: pkt.sport };
        pkt.src = addr;
        if (t.toPorts && pkt.sport !== undefined && (pkt.sport < t.toPorts.from || pkt.sport > t.toPorts.to)) pkt.sport = t.toPorts.from;
        pkt.ct.snat = true;
        pkt.ct.reply = { ...pkt.ct.reply, dst: pkt.src, dport: pkt.sport };
        ctx.src4 = ipv4OrMinus(pkt.src);
        nat.push({ kind: 'MASQUERADE', table, chain: rule.chain, rule, before, after: { addr: pkt.src, port: pkt.sport } });
        hit(`MASQUERADE → ${addr}`);
        return decide('accept');
      }
      case 'REDIRECT': {
        const addr = hook === 'OUTPUT' ? (pkt.family === 4 ? '127.0.0.1' : '::1') : ctx.env.interfaceAddress?.(pkt.inIface, pkt.family);
        if (!addr) return decide('indeterminate', 'REDIRECT: no address known for the incoming interface');
        const before = { addr: pkt.dst, port: pkt.dport };
        pkt.dst = addr;
        if (t.toPorts) pkt.dport = t.toPorts.from;
        pkt.ct.dnat = true;
        pkt.ct.reply = { ...pkt.ct.reply, src: pkt.dst, sport: pkt.dport };
        ctx.dst4 = ipv4OrMinus(pkt.dst);
        nat.push({ kind: 'REDIRECT', table, chain: rule.chain, rule, before, after: { addr: pkt.dst, port: pkt.dport } });
        hit(`REDIRECT → ${addr}:${pkt.dport ?? ''}`);
        return decide('accept');
      }
      case 'NOTRACK':
        pkt.ct.state = 'UNTRACKED';
        hit('NOTRACK');
        break;
      case 'CT':
        if (t.notrack) pkt.ct.state = 'UNTRACKED';
        hit(t.notrack ? 'CT --notrack' : 'CT');
        break;
      case 'LOG':
      case 'NFLOG':
      case 'TRACE':
        hit(t.kind);
        break;
      case 'QUEUE':
      case 'NFQUEUE':
        hit(t.kind);
        return decide('indeterminate', `${t.kind} hands the packet to a userspace program`);
      case 'TPROXY':
        hit('TPROXY');
        return decide('indeterminate', 'TPROXY redirects to a local socket');
      case 'other':
        if (CONTINUE_TARGETS.has(t.name)) {
          hit(t.name);
          break;
        }
        hit(t.name);
        return decide('indeterminate', `target ${t.name} is not simulated`);
      default:
        return undefined;
    }
  return undefined;
}

/** Runs every table of a hook. Stops at the first table that does not accept. */
export function runHook(rs: CompiledRuleset, hook: HookName, pkt: Packet, env: NetfilterEnv, chooser: Chooser, opts: RunOptions = {}): HookResult {
  const ctx: EvalCtx = { pkt, src4: ipv4OrMinus(pkt.src), dst4: ipv4OrMinus(pkt.dst), env, chooser };
  const hits: RuleHit[] | undefined = opts.record === false ? undefined : [];
  const nat: NatRewrite[] = [];
  const tables: TableResult[] = [];
  // The nat table sees only the first packet of a connection; later packets follow its mapping.
  const natApplies = pkt.ct.state === 'NEW' && pkt.ct.dir === 'ORIGINAL';
  for (const table of HOOK_TABLES[hook]) {
    if (table === 'nat' && !natApplies) continue;
    if (opts.skipTables?.includes(table)) continue;
    if (!rs.hasTable(table)) continue;
    const r = runTable(rs, table, hook, ctx, hits, nat);
    tables.push(r);
    if (r.fate !== 'accept') return { hook, fate: r.fate, decision: r.decision, tables, hits: hits ?? [], nat };
  }
  return { hook, fate: 'accept', decision: tables[tables.length - 1]?.decision, tables, hits: hits ?? [], nat };
}
