import type { Command } from 'commander';
import { loadBundle } from '../../bundle/load.js';
import { findNode } from '../../model/bundle.js';
import { eachChainRuleCount, type IptChain, type IptRule, type IptablesSave } from '../../model/iptables.js';
import { calicoChainSummary } from '../../parse/iptables-classify.js';
import { renderRule } from '../../parse/iptables-save.js';
import { styleFor, table } from '../../report/style.js';
import { action, printJson, UsageError } from '../run.js';

interface Opts {
  node: string;
  chain?: string;
  table?: string;
  grep?: string;
  classify?: boolean;
  v6?: boolean;
  json?: boolean;
}

/** S4: a rule "mentions" the needle when its text has it (an IP, a set, a target like DROP). */
function ruleMatchesGrep(r: IptRule, needle: string): boolean {
  if (/^(DROP|REJECT|ACCEPT|RETURN|MASQUERADE|DNAT|SNAT)$/i.test(needle)) return r.target?.kind === needle.toUpperCase() || r.target?.name === needle.toUpperCase();
  return r.raw.includes(needle);
}

export function registerIptablesCommand(program: Command): void {
  program
    .command('iptables')
    .description("list a node's chains and rules with counters and line numbers (S1, S4)")
    .argument('<bundle>', 'bundle directory or .tar.gz')
    .requiredOption('--node <name>', 'node to show')
    .option('--table <table>', 'only this table (filter, nat, mangle, raw)')
    .option('--chain <chain>', 'only this chain')
    .option('--grep <text>', 'only rules mentioning an IP/set/text, or with a target such as DROP or REJECT')
    .option('--classify', 'group chains by Calico role instead of listing rules')
    .option('--v6', 'use ip6tables-save')
    .option('--json', 'print JSON')
    .action(
      action(async (path: string, opts: Opts) => {
        const b = await loadBundle(path);
        const node = findNode(b, opts.node);
        if (!node) throw new UsageError(`no node ${opts.node} in the bundle (nodes: ${b.nodes.map((n) => n.name).join(', ') || 'none'})`);
        const dump: IptablesSave | undefined = opts.v6 ? node.ip6tables : node.iptables;
        if (!dump) throw new UsageError(`node ${opts.node} has no ${opts.v6 ? 'ip6tables' : 'iptables'}-save in the bundle`);
        const artifact = (opts.v6 ? node.artifacts.ip6tables : node.artifacts.iptables) ?? '';
        const st = styleFor();

        if (opts.classify) {
          const s = calicoChainSummary(dump);
          const chains: Record<string, { table: string; chain: string; rules: number }[]> = {};
          eachChainRuleCount(dump, (table, chain, rules, role) => (chains[role] ??= []).push({ table, chain, rules }));
          if (opts.json) return printJson({ node: node.name, artifact, summary: s, chains });
          const rows = Object.entries(s.byRole)
            .filter(([, v]) => v.chains > 0)
            .map(([role, v]) => [role, String(v.chains), String(v.rules), (chains[role] ?? []).slice(0, 4).map((c) => c.chain).join(' ') + ((chains[role]?.length ?? 0) > 4 ? ' …' : '')]);
          process.stdout.write(`${table([['role', 'chains', 'rules', 'examples'], ...rows], { header: true })}\n`);
          return;
        }

        const selected: { chain: IptChain; rules: IptRule[] }[] = [];
        for (const t of dump.tables.values()) {
          if (opts.table && t.name !== opts.table) continue;
          // By name first: handing a chain out makes its rules (see the parser's ChainMap).
          for (const name of t.chains.keys()) {
            if (opts.chain && name !== opts.chain) continue;
            const c = t.chains.get(name)!;
            const rules = opts.grep ? c.rules.filter((r) => ruleMatchesGrep(r, opts.grep!)) : c.rules;
            const policyHit = opts.grep && /^DROP$/i.test(opts.grep) && c.builtin && c.policy === 'DROP';
            if (opts.grep && rules.length === 0 && !policyHit) continue;
            selected.push({ chain: c, rules });
          }
        }
        if (opts.chain && selected.length === 0 && !opts.grep) throw new UsageError(`no chain ${opts.chain}${opts.table ? ` in table ${opts.table}` : ''} on node ${opts.node}`);
        if (opts.json) {
          return printJson({
            node: node.name,
            artifact,
            chains: selected.map(({ chain, rules }) => ({
              table: chain.table,
              chain: chain.name,
              role: chain.role,
              policy: chain.policy,
              counters: chain.counters,
              line: chain.line,
              rules: rules.map((r) => ({ index: r.index, line: r.line, counters: r.counters, target: r.target?.name, text: r.raw })),
            })),
          });
        }
        const out: string[] = [];
        for (const { chain, rules } of selected) {
          out.push(
            st.bold(`${chain.table} ${chain.name}`) +
              st.dim(` (${chain.role}${chain.policy ? `, policy ${chain.policy}` : ''}${chain.counters ? ` [${chain.counters.packets}:${chain.counters.bytes}]` : ''}) ${artifact}:${chain.line}`),
          );
          for (const r of rules) {
            const t = r.target?.kind;
            const text = renderRule(r);
            const coloured = t === 'DROP' || t === 'REJECT' ? st.red(text) : t === 'ACCEPT' ? st.green(text) : text;
            out.push(`  ${st.dim(`${String(r.index).padStart(3)} L${r.line}`)} ${coloured}`);
          }
        }
        process.stdout.write(`${out.join('\n')}\n`);
      }),
    );
}
