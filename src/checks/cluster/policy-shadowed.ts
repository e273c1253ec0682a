/**
 * policy.shadowed (C5): a rule or policy that can never decide because an earlier one always
 * does. Only provable shadowing is reported:
 * - within a policy and direction, rule j is shadowed by an earlier rule i that decides (Allow,
 *   Deny, Pass) and whose match is a superset of j's (every match field of i is absent or equal
 *   to — or, for nets and numeric ports, contains — j's);
 * - within a tier, policy Q is shadowed in a direction by an earlier policy P of the same tier
 *   that has a rule matching every packet (no match fields at all) with a deciding action, when
 *   every endpoint Q selects is also selected by P (as the bundle's endpoints stand).
 * Shadowing that changes the outcome (a different action) is a warning; a redundant rule or
 * policy (same action) is info.
 */
import type { Direction, ResolvedEntity, ResolvedPolicy, ResolvedRule } from '../../calico/policy/model.js';
import { describeRule } from '../../calico/policy/reasons.js';
import type { PortMatch } from '../../model/resources.js';
import type { Cidr } from '../../calico/policy/net.js';
import { type Check, type Finding, result } from '../types.js';
import { cidrCovers, ev, listText, plural, policyGetCommand, policyLabel, policySelection } from './util.js';

const ID = 'policy.shadowed';

const DECIDES = new Set(['Allow', 'Deny', 'Pass']);

function sameProto(a: ResolvedRule['protocol'], b: ResolvedRule['protocol']): boolean {
  return a !== undefined && b !== undefined && a.number !== undefined && a.number === b.number;
}

function sameIcmp(a: ResolvedRule['icmp'], b: ResolvedRule['icmp']): boolean {
  return a !== undefined && b !== undefined && a.type === b.type && a.code === b.code;
}

function netsCover(outer: Cidr[], inner: Cidr[]): boolean {
  if (outer.length === 0) return true;
  if (inner.length === 0) return false;
  return inner.every((n) => outer.some((o) => cidrCovers(o, n)));
}

function sameNets(a: Cidr[], b: Cidr[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a.map((c) => c.canonical));
  return b.every((c) => s.has(c.canonical));
}

function portCovers(o: PortMatch, p: PortMatch): boolean {
  if (o.kind === 'named' || p.kind === 'named') return o.kind === 'named' && p.kind === 'named' && o.name === p.name;
  const [of, ot] = o.kind === 'number' ? [o.port, o.port] : [o.from, o.to];
  const [pf, pt] = p.kind === 'number' ? [p.port, p.port] : [p.from, p.to];
  return of <= pf && pt <= ot;
}

function portsCover(outer: PortMatch[], inner: PortMatch[]): boolean {
  if (outer.length === 0) return true;
  if (inner.length === 0) return false;
  return inner.every((p) => outer.some((o) => portCovers(o, p)));
}

function samePorts(a: PortMatch[], b: PortMatch[]): boolean {
  return a.length === b.length && a.every((x, i) => String(x.raw) === String(b[i].raw));
}

/** Side i matches every packet side j matches. */
function sideCovers(i: ResolvedEntity, j: ResolvedEntity): boolean {
  if (i.empty) return true;
  if (i.error || j.error) return false;
  if (i.selector && i.selector.canonical !== j.selector?.canonical) return false;
  if (i.notSelector && i.notSelector.canonical !== j.notSelector?.canonical) return false;
  if (!netsCover(i.nets, j.nets)) return false;
  if (i.notNets.length > 0 && !sameNets(i.notNets, j.notNets)) return false;
  if (!portsCover(i.ports, j.ports)) return false;
  if (i.notPorts.length > 0 && !samePorts(i.notPorts, j.notPorts)) return false;
  if (i.services && (i.services.name !== j.services?.name || i.services.namespace !== j.services?.namespace)) return false;
  return true;
}

/** Rule i matches every packet rule j matches. */
export function ruleCovers(i: ResolvedRule, j: ResolvedRule): boolean {
  if (i.invalid || i.http) return false;
  if (i.ipVersion !== undefined && i.ipVersion !== j.ipVersion) return false;
  if (i.protocol && !sameProto(i.protocol, j.protocol)) return false;
  if (i.notProtocol) {
    const ok = (j.notProtocol && j.notProtocol.number === i.notProtocol.number) || (j.protocol?.number !== undefined && j.protocol.number !== i.notProtocol.number);
    if (!ok) return false;
  }
  if (i.icmp && !sameIcmp(i.icmp, j.icmp)) return false;
  if (i.notICMP && !sameIcmp(i.notICMP, j.notICMP)) return false;
  return sideCovers(i.source, j.source) && sideCovers(i.destination, j.destination);
}

/** Matches every packet (no match field at all). */
export function catchAll(r: ResolvedRule): boolean {
  return !r.invalid && !r.http && !r.protocol && !r.notProtocol && !r.icmp && !r.notICMP && r.ipVersion === undefined && r.source.empty && r.destination.empty;
}

function enforcedIn(p: ResolvedPolicy, dir: Direction): boolean {
  return !p.staged && !p.doNotTrack && !p.preDNAT && p.types.includes(dir);
}

export const policyShadowed: Check = {
  id: ID,
  category: 'policy',
  severity: 'warning',
  title: 'A rule or policy that can never decide because an earlier one always does',
  seeds: ['C5', 'P3'],
  run(ctx) {
    const b = ctx.bundle;
    const model = ctx.policy();
    const findings: Finding[] = [];

    // Rules shadowed within their policy.
    for (const p of model.policies) {
      if (p.staged) continue;
      for (const dir of ['ingress', 'egress'] as const) {
        if (!enforcedIn(p, dir)) continue;
        const rules = p[dir];
        for (let j = 1; j < rules.length; j++) {
          const rj = rules[j];
          if (rj.invalid) continue;
          let by: ResolvedRule | undefined;
          for (let i = 0; i < j && !by; i++) if (DECIDES.has(rules[i].action) && ruleCovers(rules[i], rj)) by = rules[i];
          if (!by) continue;
          const same = by.action === rj.action;
          findings.push({
            check: ID,
            severity: same ? 'info' : 'warning',
            category: 'policy',
            title: `${policyLabel(p)}: ${dir} rule ${rj.index} (${rj.action}) can never apply: rule ${by.index} (${by.action}) before it matches all its traffic`,
            explanation:
              `Rules are evaluated in order and the first ${by.action === 'Pass' ? 'Pass ends the tier' : `${by.action} decides`}. ` +
              `Rule ${by.index} \`${describeRule(by, p.kind)}\` matches every packet that rule ${rj.index} \`${describeRule(rj, p.kind)}\` matches, so rule ${rj.index} is never reached` +
              (same ? ' (it is redundant: same action).' : `: its ${rj.action} never takes effect.`),
            subject: p.id,
            evidence: [ev(b, by.evidence.artifact, by.evidence.line, `${dir} rule ${by.index}: ${by.action}, matches a superset`), ev(b, rj.evidence.artifact, rj.evidence.line, `${dir} rule ${rj.index}: shadowed`)],
            remediation: {
              summary: same ? `Remove the redundant rule ${rj.index}.` : `Move rule ${rj.index} before rule ${by.index}, or narrow rule ${by.index} so it no longer matches rule ${rj.index}'s traffic.`,
              confirm: [policyGetCommand(p)],
              fix: [`${p.kind.includes('Kubernetes') ? 'kubectl' : 'calicoctl'} apply -f <policy with reordered rules>.yaml`],
            },
          });
        }
      }
    }

    // Policies shadowed by an earlier catch-all policy of the same tier.
    const sel = policySelection(model);
    for (const dir of ['ingress', 'egress'] as const) {
      const deciders: { p: ResolvedPolicy; rule: ResolvedRule; eps: Set<number> }[] = [];
      let tier = '';
      for (const q of model.policies) {
        if (q.tier !== tier) {
          tier = q.tier;
          deciders.length = 0;
        }
        if (!enforcedIn(q, dir)) continue;
        const qEps = sel.selected.get(q) ?? [];
        if (q[dir].length > 0 && qEps.length > 0) {
          const by = deciders.find((d) => qEps.every((i) => d.eps.has(i)));
          if (by) {
            const effective = q[dir].filter((r) => !r.invalid && r.action !== by.rule.action);
            const same = effective.length === 0;
            const all = by.eps.size === model.endpoints.length;
            findings.push({
              check: ID,
              severity: same ? 'info' : 'warning',
              category: 'policy',
              title: `${policyLabel(q)}: its ${dir} rules never apply — ${policyLabel(by.p)} (tier ${tier}) decides every ${dir} packet of its endpoints first`,
              explanation:
                `In tier ${tier}, ${policyLabel(by.p)} (order ${by.p.order ?? 'unset'}) comes before ${policyLabel(q)} (order ${q.order ?? 'unset'}) and its ${dir} rule ${by.rule.index} \`${describeRule(by.rule, by.p.kind)}\` matches every packet` +
                (by.rule.action === 'Pass' ? ', passing it to the next tier' : '') +
                `. It applies to ${all ? 'every endpoint' : `all ${plural(qEps.length, 'endpoint')} ${q.id} selects`}, so ${q.id}'s ${plural(q[dir].length, `${dir} rule`)} are never evaluated` +
                (same ? ' (they have the same action: redundant).' : `; its ${listText([...new Set(effective.map((r) => r.action))])} rules have no effect.`),
              subject: q.id,
              evidence: [ev(b, by.rule.evidence.artifact, by.rule.evidence.line, `${policyLabel(by.p)} ${dir} rule ${by.rule.index}: matches every packet`), ev(b, q.evidence.artifact, q.evidence.line, `${policyLabel(q)}: shadowed in ${dir}`)],
              remediation: {
                summary:
                  by.rule.action === 'Pass'
                    ? `Give ${q.id} a lower order than ${by.p.id} (so it runs before the Pass), or move it to a tier evaluated after ${tier}.`
                    : `Give ${q.id} a lower order than ${by.p.id} (order ${by.p.order ?? 'unset'}), or narrow ${by.p.id}'s catch-all rule.`,
                confirm: [policyGetCommand(by.p), policyGetCommand(q), 'calicoctl get networkpolicy,globalnetworkpolicy -A -o wide'],
                fix: [`${q.kind.includes('Kubernetes') ? 'kubectl' : 'calicoctl'} apply -f <${q.id} with a lower order>.yaml`],
                ...(!q.kind.includes('Kubernetes') && by.p.order !== undefined
                  ? { yaml: `# ${q.kind} ${q.id}: evaluate before ${by.p.id}\nspec:\n  order: ${Math.max(0, by.p.order - 1)}\n` }
                  : {}),
              },
            });
          }
        }
        const rule = q[dir].find((r) => DECIDES.has(r.action) && catchAll(r));
        if (rule) deciders.push({ p: q, rule, eps: new Set(qEps) });
      }
    }
    return result(findings);
  },
};
