/**
 * policy.selector-invalid (P4, C4): a policy or rule selector that Calico's parser rejects. The
 * finding quotes the selector, marks the position where parsing failed, and proposes the
 * corrected selector from the lint (`=` → `==`, `AND` → `&&`, `[…]` → `{…}`, quotes, …) as the
 * corrected policy.
 */
import type { Bundle } from '../../model/bundle.js';
import type { Evidence } from '../../model/evidence.js';
import type { ResourceSource } from '../../model/resources.js';
import type { ResolvedPolicy, ResolvedRule } from '../../calico/policy/model.js';
import { lintSelector, parseSelectorCached } from '../../calico/selector/index.js';
import { type Check, type Finding, result } from '../types.js';
import { dedupeEvidence, ev, findInObject, objectText, policyGetCommand, policyLabel, policySource, resEv, yamlScalar } from './util.js';

const ID = 'policy.selector-invalid';

interface BadSelector {
  /** Field path as written: `spec.selector`, `spec.ingress[0].source.namespaceSelector`. */
  field: string;
  text: string;
  rule?: ResolvedRule;
  /** What Calico does with it. */
  effect: string;
}

function caret(text: string, pos: number): string {
  const oneLine = text.replace(/[\r\n\t]/g, ' ');
  return `  ${oneLine}\n  ${' '.repeat(Math.max(0, Math.min(pos, oneLine.length)))}^`;
}

function badSelectors(p: ResolvedPolicy): BadSelector[] {
  const out: BadSelector[] = [];
  const bad = (t: string | undefined) => t !== undefined && t !== '' && !parseSelectorCached(t).ok;
  const k8s = p.kind === 'KubernetesNetworkPolicy' || p.kind === 'StagedKubernetesNetworkPolicy';
  if (!k8s) {
    if (bad(p.selectorWritten)) out.push({ field: 'spec.selector', text: p.selectorWritten, effect: 'the policy selects no endpoint, so it has no effect (calicoctl and the API server refuse to store it; this copy got in some other way)' });
    if (bad(p.namespaceSelectorWritten)) out.push({ field: 'spec.namespaceSelector', text: p.namespaceSelectorWritten!, effect: 'the policy selects no endpoint, so it has no effect' });
    if (bad(p.serviceAccountSelectorWritten)) out.push({ field: 'spec.serviceAccountSelector', text: p.serviceAccountSelectorWritten!, effect: 'the policy selects no endpoint, so it has no effect' });
  }
  for (const dir of ['ingress', 'egress'] as const) {
    for (const r of p[dir]) {
      for (const side of ['source', 'destination'] as const) {
        const w = r[side].written;
        const at = `spec.${dir}[${r.index}].${side}`;
        if (bad(w.selector)) out.push({ field: `${at}.selector`, text: w.selector!, rule: r, effect: 'Felix never programs this rule: it matches no packet' });
        if (bad(w.notSelector)) out.push({ field: `${at}.notSelector`, text: w.notSelector!, rule: r, effect: 'Felix never programs this rule: it matches no packet' });
        if (bad(w.namespaceSelector)) {
          out.push({ field: `${at}.namespaceSelector`, text: w.namespaceSelector!, rule: r, effect: 'Calico drops the namespaceSelector, so the rule is NOT limited to any namespace: it matches peers in every namespace' });
        }
        if (bad(w.serviceAccounts?.selector)) out.push({ field: `${at}.serviceAccounts.selector`, text: w.serviceAccounts!.selector!, rule: r, effect: 'Felix never programs this rule: it matches no packet' });
      }
    }
  }
  return out;
}

/** The policy as written with the bad selector replaced, when the text can be found verbatim. */
function correctedPolicy(b: Bundle, src: ResourceSource, bad: string, fixed: string): string | undefined {
  const text = objectText(b, src);
  if (!text) return undefined;
  for (const lead of [': ', ':  ']) {
    const plain = `${lead}${bad}`;
    if (text.includes(plain)) return text.replace(plain, `${lead}${yamlScalar(fixed)}`);
    for (const q of [`'${bad.replace(/'/g, "''")}'`, JSON.stringify(bad)]) {
      if (text.includes(`${lead}${q}`)) return text.replace(`${lead}${q}`, `${lead}${yamlScalar(fixed)}`);
    }
  }
  if (text.includes(JSON.stringify(bad))) return text.replace(JSON.stringify(bad), JSON.stringify(fixed));
  return undefined;
}

function patchYaml(p: ResolvedPolicy, field: string, fixed: string): string {
  const kind = p.kind === 'GlobalNetworkPolicy' || p.kind === 'StagedGlobalNetworkPolicy' ? p.kind : p.kind.startsWith('Staged') ? 'StagedNetworkPolicy' : 'NetworkPolicy';
  const meta = p.namespace ? `  name: ${p.name}\n  namespace: ${p.namespace}` : `  name: ${p.name}`;
  const head = `apiVersion: projectcalico.org/v3\nkind: ${kind}\nmetadata:\n${meta}\nspec:\n`;
  const top = /^spec\.(\w+)$/.exec(field);
  // A top-level field is a merge patch; a rule field is shown in place (rules are a list).
  if (top) return `${head}  ${top[1]}: ${yamlScalar(fixed)}\n`;
  const m = /^spec\.(ingress|egress)\[(\d+)\]\.(source|destination)\.(\w+)(?:\.(\w+))?$/.exec(field);
  if (!m) return `# ${field}: ${yamlScalar(fixed)}\n`;
  const leaf = m[5] ? `      ${m[4]}:\n        ${m[5]}: ${yamlScalar(fixed)}` : `      ${m[4]}: ${yamlScalar(fixed)}`;
  return `${head}  ${m[1]}:\n  # rule ${m[2]} (keep its other fields)\n  - ${m[3]}:\n${leaf.replace(/^ {6}/, '      ')}\n`;
}

export const policySelectorInvalid: Check = {
  id: ID,
  category: 'policy',
  severity: 'error',
  title: 'A policy or rule selector that does not parse',
  seeds: ['P4', 'C4', 'P1'],
  run(ctx) {
    const b = ctx.bundle;
    const model = ctx.policy();
    const findings: Finding[] = [];
    for (const p of model.policies) {
      const bads = badSelectors(p);
      if (bads.length === 0 && p.selectorError && p.kind.includes('Kubernetes')) {
        bads.push({ field: 'spec.podSelector', text: p.selectorWritten, effect: 'the policy selects no endpoint' });
      }
      for (const bsel of bads) {
        const lint = lintSelector(bsel.text);
        const pos = lint.error?.position ?? 0;
        const msg = lint.error?.message ?? 'does not parse';
        const src: ResourceSource = { artifact: p.evidence.artifact, line: p.evidence.line ?? 0, docIndex: 0 };
        const obj = policySource(b, p);
        const evidence: Evidence[] = [resEv(b, obj ?? src, policyLabel(p))];
        const startLine = bsel.rule?.evidence.line;
        const at = obj ? findInObject(b, obj, bsel.text.split('\n')[0], `${bsel.field}: parse error at position ${pos}`, startLine) : undefined;
        if (at) evidence.push(at);
        else if (bsel.rule?.evidence.line) evidence.push(ev(b, bsel.rule.evidence.artifact, bsel.rule.evidence.line, `${bsel.field} (rule ${bsel.rule.index})`));
        const corrected = lint.fixed && obj ? correctedPolicy(b, obj, bsel.text, lint.fixed) : undefined;
        const fix: string[] = [];
        if (lint.fixed) fix.push(`change ${bsel.field} to: ${lint.fixed}`);
        fix.push(`${p.kind.includes('Kubernetes') ? 'kubectl' : 'calicoctl'} apply -f <corrected policy>.yaml`);
        findings.push({
          check: ID,
          severity: 'error',
          category: 'policy',
          title: `${policyLabel(p)}: ${bsel.field} does not parse`,
          explanation:
            `The selector ${JSON.stringify(bsel.text)} is rejected by Calico's selector parser: ${msg} (position ${pos}):\n${caret(bsel.text, pos)}\n` +
            `Effect: ${bsel.effect}.` +
            (lint.suggestion ? `\nLint: ${lint.suggestion}` : ''),
          subject: p.id,
          evidence: dedupeEvidence(evidence),
          remediation: {
            summary: lint.fixed ? `Correct the selector to \`${lint.fixed}\` and re-apply the policy.` : `Rewrite the selector in Calico syntax (\`key == 'value'\`, \`&&\`, \`||\`, \`in {'a','b'}\`, \`has(key)\`) and re-apply the policy.`,
            confirm: [policyGetCommand(p), ...(lint.fixed ? [`caliscope selector check ${JSON.stringify(lint.fixed)}`] : [`caliscope selector check ${JSON.stringify(bsel.text)}`])],
            fix,
            ...(lint.fixed ? { yaml: corrected ?? patchYaml(p, bsel.field, lint.fixed) } : {}),
          },
        });
      }
    }
    return result(findings);
  },
};
