/**
 * The Rules view's server side: a node's chains with counters, one chain's rules by page, who
 * jumps to a chain, search by IP / ipset / text, and ipset members by page. Built once per node
 * and family so a 200k-rule ruleset is browsed without rescanning it per request.
 */
import type { NodeData } from '../model/bundle.js';
import type { ChainRole, Counters, IptChain, IptRule, IptablesSave } from '../model/iptables.js';
import { KNOWN_TABLES } from '../model/iptables.js';
import { classifyIpset, maskV4, maskV6, parseAddr, parsePrefix, type IpSet, type IpsetKind, type ParsedAddr } from '../model/ipset.js';

export interface ChainRow {
  table: string;
  chain: string;
  role: ChainRole;
  builtin: boolean;
  policy?: string;
  counters?: Counters;
  rules: number;
  /** Sum of the rules' packet counters (how busy the chain is). */
  packets: number;
  line: number;
  /** Rules (in the same table) that jump or go to this chain. */
  callers: number;
}

export interface RuleRow {
  index: number;
  line: number;
  raw: string;
  counters?: Counters;
  target?: { kind: string; name: string; chain?: string; goto?: boolean };
  comments: string[];
}

export interface CallerRef {
  chain: string;
  index: number;
  line: number;
  goto: boolean;
}

export interface ChainPage {
  node: string;
  family: 4 | 6;
  artifact?: string;
  chain: ChainRow;
  total: number;
  offset: number;
  rules: RuleRow[];
  callers: CallerRef[];
  /** Chains this chain jumps or goes to, in rule order, each once. */
  callees: { chain: string; goto: boolean; rules: number }[];
  /** 0-based position of the rule on the requested line, when asked and found. */
  focus?: number;
}

export interface SearchHit {
  table: string;
  chain: string;
  rule: RuleRow;
  /** Why it matched: `text`, `cidr 10.0.0.0/8`, `ipset cali40s:…`. */
  why: string;
}

export interface IpsetRow {
  name: string;
  type: string;
  family?: string;
  kind: IpsetKind;
  members: number;
  line: number;
  references?: number;
  /** Rules of this node's ruleset that match on the set. */
  usedBy: number;
}

const TABLE_ORDER = new Map(KNOWN_TABLES.map((t, i) => [t, i]));

function ruleRow(r: IptRule): RuleRow {
  const t = r.target;
  return {
    index: r.index,
    line: r.line,
    raw: r.raw,
    ...(r.counters ? { counters: r.counters } : {}),
    ...(t ? { target: { kind: t.kind, name: t.name, ...(t.kind === 'jump' ? { chain: t.chain, goto: t.goto } : {}) } } : {}),
    comments: r.comments,
  };
}

class FamilyIndex {
  readonly chains: ChainRow[] = [];
  private readonly byKey = new Map<string, IptChain>();
  private readonly rowByKey = new Map<string, ChainRow>();
  private readonly callers = new Map<string, CallerRef[]>();
  private readonly setUsers = new Map<string, number>();

  constructor(readonly dump: IptablesSave) {
    const tables = [...dump.tables.values()].sort((a, b) => (TABLE_ORDER.get(a.name) ?? 99) - (TABLE_ORDER.get(b.name) ?? 99) || a.name.localeCompare(b.name));
    for (const t of tables) {
      for (const c of t.chains.values()) {
        const key = `${t.name}\0${c.name}`;
        this.byKey.set(key, c);
        let packets = 0;
        for (const r of c.rules) {
          if (r.counters) packets += r.counters.packets;
          if (r.target?.kind === 'jump') {
            const k = `${t.name}\0${r.target.chain}`;
            let list = this.callers.get(k);
            if (!list) this.callers.set(k, (list = []));
            list.push({ chain: c.name, index: r.index, line: r.line, goto: r.target.goto });
          }
          for (const m of r.matches) if (m.kind === 'set') this.setUsers.set(m.setName, (this.setUsers.get(m.setName) ?? 0) + 1);
        }
        const row: ChainRow = {
          table: t.name,
          chain: c.name,
          role: c.role,
          builtin: c.builtin,
          ...(c.policy ? { policy: c.policy } : {}),
          ...(c.counters ? { counters: c.counters } : {}),
          rules: c.rules.length,
          packets,
          line: c.line,
          callers: 0,
        };
        this.chains.push(row);
        this.rowByKey.set(key, row);
      }
    }
    for (const [k, list] of this.callers) {
      const row = this.rowByKey.get(k);
      if (row) row.callers = list.length;
    }
  }

  chain(table: string, name: string): { chain: IptChain; row: ChainRow } | undefined {
    const k = `${table}\0${name}`;
    const chain = this.byKey.get(k);
    const row = this.rowByKey.get(k);
    return chain && row ? { chain, row } : undefined;
  }

  callersOf(table: string, name: string): CallerRef[] {
    return this.callers.get(`${table}\0${name}`) ?? [];
  }

  setUsage(name: string): number {
    return this.setUsers.get(name) ?? 0;
  }
}

export class RulesIndex {
  private readonly families = new Map<4 | 6, FamilyIndex | null>();

  constructor(readonly node: NodeData) {}

  family(f: 4 | 6): FamilyIndex | undefined {
    let idx = this.families.get(f);
    if (idx === undefined) {
      const dump = f === 6 ? this.node.ip6tables : this.node.iptables;
      idx = dump ? new FamilyIndex(dump) : null;
      this.families.set(f, idx);
    }
    return idx ?? undefined;
  }

  artifact(f: 4 | 6): string | undefined {
    return f === 6 ? this.node.artifacts.ip6tables : this.node.artifacts.iptables;
  }

  /** Chains, filtered by table / role / name substring, one page at a time. */
  listChains(f: 4 | 6, opts: { table?: string; role?: string; q?: string; offset?: number; limit?: number }): { total: number; offset: number; chains: ChainRow[]; tables: string[]; roles: Record<string, number> } {
    const idx = this.family(f);
    if (!idx) return { total: 0, offset: 0, chains: [], tables: [], roles: {} };
    const q = opts.q?.trim().toLowerCase();
    const roles: Record<string, number> = {};
    const tables = new Set<string>();
    const rows: ChainRow[] = [];
    for (const c of idx.chains) {
      tables.add(c.table);
      if (opts.table && c.table !== opts.table) continue;
      if (q && !c.chain.toLowerCase().includes(q)) continue;
      roles[c.role] = (roles[c.role] ?? 0) + 1;
      if (opts.role && c.role !== opts.role) continue;
      rows.push(c);
    }
    const { offset, limit } = page(opts.offset, opts.limit, 500, 5000);
    return { total: rows.length, offset, chains: rows.slice(offset, offset + limit), tables: [...tables], roles };
  }

  /** `line`: an artifact line to locate in the chain (its rule's position is returned as `focus`). */
  chainPage(f: 4 | 6, table: string, name: string, offsetIn?: number, limitIn?: number, line?: number): ChainPage | undefined {
    const idx = this.family(f);
    const hit = idx?.chain(table, name);
    if (!idx || !hit) return undefined;
    const { offset, limit } = page(offsetIn, limitIn, 500, 5000);
    const focus = line !== undefined ? hit.chain.rules.findIndex((r) => r.line === line) : -1;
    const callees = new Map<string, { chain: string; goto: boolean; rules: number }>();
    for (const r of hit.chain.rules) {
      if (r.target?.kind !== 'jump') continue;
      const prev = callees.get(r.target.chain);
      if (prev) prev.rules++;
      else callees.set(r.target.chain, { chain: r.target.chain, goto: r.target.goto, rules: 1 });
    }
    return {
      node: this.node.name,
      family: f,
      artifact: this.artifact(f),
      chain: hit.row,
      total: hit.chain.rules.length,
      offset,
      rules: hit.chain.rules.slice(offset, offset + limit).map(ruleRow),
      callers: idx.callersOf(table, name).slice(0, 2000),
      callees: [...callees.values()].slice(0, 2000),
      ...(focus >= 0 ? { focus } : {}),
    };
  }

  /**
   * Rules mentioning `q`: for an address, rules whose -s/-d contains it and rules matching an
   * ipset that holds it; for a set name, the rules using it; otherwise a text search (comments too).
   */
  search(f: 4 | 6, qIn: string, offsetIn?: number, limitIn?: number): { q: string; total: number; offset: number; hits: SearchHit[]; sets: string[] } {
    const idx = this.family(f);
    const q = qIn.trim();
    if (!idx || !q) return { q, total: 0, offset: 0, hits: [], sets: [] };
    const addr = parseAddr(q);
    const sets = addr ? this.setsHolding(addr) : new Set<string>();
    const lower = q.toLowerCase();
    const all: SearchHit[] = [];
    for (const t of idx.dump.tables.values()) {
      for (const c of t.chains.values()) {
        for (const r of c.rules) {
          let why: string | undefined;
          if (r.raw.toLowerCase().includes(lower)) why = 'text';
          else if (addr) {
            for (const m of r.matches) {
              if ((m.kind === 'source' || m.kind === 'destination') && !m.negate && cidrHas(m.cidr.text, addr)) {
                why = `${m.kind === 'source' ? '-s' : '-d'} ${m.cidr.text}`;
                break;
              }
              if (m.kind === 'set' && !m.negate && sets.has(m.setName)) {
                why = `ipset ${m.setName} holds ${addr.text}`;
                break;
              }
            }
          }
          if (why) all.push({ table: t.name, chain: c.name, rule: ruleRow(r), why });
        }
      }
    }
    const { offset, limit } = page(offsetIn, limitIn, 200, 2000);
    return { q, total: all.length, offset, hits: all.slice(offset, offset + limit), sets: [...sets] };
  }

  private setsHolding(addr: ParsedAddr): Set<string> {
    const out = new Set<string>();
    for (const s of this.node.ipsets?.sets.values() ?? []) {
      for (const m of s.members) {
        if (m.ip && !m.nomatch && cidrHas(m.prefixLen !== undefined && !m.ip.includes('/') ? `${m.ip}/${m.prefixLen}` : m.ip, addr)) {
          out.add(s.name);
          break;
        }
      }
    }
    return out;
  }

  ipsets(q?: string): IpsetRow[] {
    const idx = this.family(4);
    const idx6 = this.family(6);
    const needle = q?.trim().toLowerCase();
    const addr = q ? parseAddr(q.trim()) : undefined;
    const holding = addr ? this.setsHolding(addr) : undefined;
    const rows: IpsetRow[] = [];
    for (const s of this.node.ipsets?.sets.values() ?? []) {
      if (holding ? !holding.has(s.name) : needle && !s.name.toLowerCase().includes(needle)) continue;
      rows.push({
        name: s.name,
        type: s.type,
        ...(s.family ? { family: s.family } : {}),
        kind: classifyIpset(s.name).kind,
        members: s.members.length,
        line: s.line,
        ...(s.references !== undefined ? { references: s.references } : {}),
        usedBy: (idx?.setUsage(s.name) ?? 0) + (idx6?.setUsage(s.name) ?? 0),
      });
    }
    return rows;
  }

  ipset(name: string, offsetIn?: number, limitIn?: number): { set: IpsetRow; artifact?: string; total: number; offset: number; members: { raw: string; line: number; nomatch: boolean; comment?: string }[] } | undefined {
    const s: IpSet | undefined = this.node.ipsets?.sets.get(name);
    if (!s) return undefined;
    const row = this.ipsets().find((r) => r.name === name)!;
    const { offset, limit } = page(offsetIn, limitIn, 500, 5000);
    return {
      set: row,
      artifact: this.node.artifacts.ipset,
      total: s.members.length,
      offset,
      members: s.members.slice(offset, offset + limit).map((m) => ({ raw: m.raw, line: m.line, nomatch: m.nomatch, ...(m.comment ? { comment: m.comment } : {}) })),
    };
  }
}

function page(offset: number | undefined, limit: number | undefined, def: number, max: number): { offset: number; limit: number } {
  const o = Number.isFinite(offset) && offset! > 0 ? Math.floor(offset!) : 0;
  const l = Number.isFinite(limit) && limit! > 0 ? Math.min(max, Math.floor(limit!)) : def;
  return { offset: o, limit: l };
}

/** Whether the prefix `cidr` (`a.b.c.d/n`, or a plain address) contains `addr`. */
function cidrHas(cidr: string, addr: ParsedAddr): boolean {
  const p = parsePrefix(cidr);
  if (!p || p.family !== addr.family) return false;
  return p.family === 'inet' ? maskV4(addr.v4, p.prefixLen) === p.v4 : maskV6(addr.v6, p.prefixLen) === p.v6;
}
