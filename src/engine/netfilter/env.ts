/**
 * What rule evaluation needs to know about the node beyond the packet: its addresses (for
 * `-m addrtype`), its ip sets, reverse-path lookups (for `-m rpfilter`) and the source address
 * MASQUERADE would pick. The trace layer builds one per node from the bundle.
 */
import type { IptRule } from '../../model/iptables.js';
import type { IpsetMatcher } from '../../model/ipset.js';
import type { Packet } from '../packet.js';

export interface NetfilterEnv {
  /** Address type as the kernel's routing would classify it on this node: LOCAL, UNICAST, BROADCAST, MULTICAST, … */
  addrType(ip: string, limitIface?: string): string | undefined;
  /** ipset membership; undefined = the set (or the ipset dump) is not in the bundle, or the type is not modelled. */
  ipsetTest(setName: string, ip: string, proto?: string, port?: number): boolean | undefined;
  /**
   * Optional: one set's matcher, which the engine resolves once per rule instead of looking the
   * set up by name for every packet; must agree with `ipsetTest` (undefined = set not known).
   */
  ipsetMatcher?(setName: string): IpsetMatcher | undefined;
  /** `-m rpfilter`: would a reverse lookup of the source go out of the input interface? undefined = no routes. */
  rpfilter?(pkt: Packet, opts: { loose: boolean; validmark: boolean; acceptLocal: boolean }): boolean | undefined;
  /** MASQUERADE: the primary address of the outgoing interface (toward `dst`). */
  masqueradeSource?(outIface: string | undefined, dst: string): string | undefined;
  /** REDIRECT: the primary address of the incoming interface. */
  interfaceAddress?(iface: string | undefined, family: 4 | 6): string | undefined;
}

/** Decides choice points: `statistic` branches (every kube-proxy backend) and assumptions about matches the engine cannot evaluate. */
export interface Chooser {
  choose(kind: ChoiceKind, rule: IptRule, reason: string): boolean;
}

export type ChoiceKind = 'statistic' | 'assume';

export interface Choice {
  kind: ChoiceKind;
  rule: IptRule;
  reason: string;
  value: boolean;
}

/**
 * Enumerates every combination of choices, depth first (true first). A trace runs the whole path
 * once per combination, so `-m statistic` forks into one path per backend, and a match the
 * engine cannot evaluate forks into "assume it matched" / "assume it did not".
 */
export class EnumeratingChooser implements Chooser {
  private script: Choice[] = [];
  private pos = 0;
  runs = 0;
  /** True once more combinations existed than `maxRuns` allowed. */
  truncated = false;

  constructor(readonly maxRuns = 256) {}

  choose(kind: ChoiceKind, rule: IptRule, reason: string): boolean {
    if (this.pos < this.script.length) return this.script[this.pos++].value;
    this.script.push({ kind, rule, reason, value: true });
    this.pos++;
    return true;
  }

  /** Choices taken in the current run. */
  taken(): Choice[] {
    // Copies: next() flips the script's entries in place.
    return this.script.slice(0, this.pos).map((c) => ({ ...c }));
  }

  /** Prepare the next combination; false when all were explored. */
  next(): boolean {
    this.runs++;
    this.script.length = this.pos;
    while (this.script.length > 0 && this.script[this.script.length - 1].value === false) this.script.pop();
    if (this.script.length === 0) return false;
    if (this.runs >= this.maxRuns) {
      this.truncated = true;
      return false;
    }
    this.script[this.script.length - 1].value = false;
    this.pos = 0;
    return true;
  }

  /** Start a run (call before each run; `next()` moves to the following combination). */
  begin(): void {
    this.pos = 0;
  }
}

/** Always takes the same answer; used where enumeration is not wanted (e.g. the reachability matrix). */
export class FixedChooser implements Chooser {
  readonly taken: Choice[] = [];
  constructor(private readonly value = true) {}
  choose(kind: ChoiceKind, rule: IptRule, reason: string): boolean {
    this.taken.push({ kind, rule, reason, value: this.value });
    return this.value;
  }
}
