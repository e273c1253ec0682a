/**
 * policy.selector-matches-nothing (P1, P8, C4): a policy's selector, or a rule's peer selector,
 * that selects no endpoint (and, for a peer, no network set) — the policy never applies, or the
 * rule never matches. The near miss says what was probably meant ("3 endpoints have app=web; the
 * selector asks for app=Web").
 */
import { displaySelector } from '../../calico/policy/reasons.js';
import type { Evidence } from '../../model/evidence.js';
import { type Check, type Finding, result } from '../types.js';
import { type EmptySelection, emptySelections } from './policy-empty-selection.js';
import { dedupeEvidence, ev, findInObject, listText, notChecked, objectText, policyGetCommand, policyLabel, policySource, resEv, yamlScalar } from './util.js';
import type { Bundle } from '../../model/bundle.js';

const ID = 'policy.selector-matches-nothing';

export function selectionEvidence(b: Bundle, s: EmptySelection, note: string): Evidence[] {
  const p = s.policy;
  const src = policySource(b, p);
  const out: Evidence[] = [src ? resEv(b, src, policyLabel(p)) : ev(b, p.evidence.artifact, p.evidence.line, policyLabel(p))];
  const start = s.rule?.evidence.line;
  const needle = s.written.split('\n')[0];
  const at = src ? findInObject(b, src, needle, note, start) : undefined;
  if (at) out.push(at);
  else if (s.rule?.evidence.line) out.push(ev(b, s.rule.evidence.artifact, s.rule.evidence.line, `${s.field} (${s.direction} rule ${s.rule.index})`));
  return dedupeEvidence(out);
}

/** The policy text with `from` replaced by `to` in its selector field, when found verbatim. */
export function replaceSelector(b: Bundle, s: EmptySelection, to: string): string | undefined {
  const src = policySource(b, s.policy);
  const text = src ? objectText(b, src) : undefined;
  if (!text) return undefined;
  for (const form of [s.written, `'${s.written.replace(/'/g, "''")}'`, JSON.stringify(s.written)]) {
    const i = text.indexOf(`: ${form}`);
    if (i >= 0) return `${text.slice(0, i)}: ${yamlScalar(to)}${text.slice(i + 2 + form.length)}`;
  }
  return undefined;
}

export const policySelectorMatchesNothing: Check = {
  id: ID,
  category: 'policy',
  severity: 'warning',
  title: 'A policy or rule selector that selects no endpoint',
  seeds: ['P1', 'P8', 'C4'],
  run(ctx) {
    const b = ctx.bundle;
    const model = ctx.policy();
    if (model.policies.length === 0) return result([], []);
    if (model.endpoints.length === 0) return result([], [notChecked(ID, 'no pods, WorkloadEndpoints or HostEndpoints in the bundle: cannot tell what selectors select')]);
    const findings: Finding[] = [];
    for (const s of emptySelections(model)) {
      if (s.verdict !== 'nothing') continue;
      const p = s.policy;
      const shown = displaySelector(s.written, p.kind);
      const best = s.hints.find((h) => h.kind !== 'namespace' && h.fixed);
      const what = s.rule ? `${s.direction} rule ${s.rule.index} ${s.side} ${s.field.split('.').pop()}` : 'selector';
      const title = s.rule
        ? `${policyLabel(p)}: ${s.direction} rule ${s.rule.index} ${s.side === 'source' ? 'source' : 'destination'} selector matches no endpoint`
        : `${policyLabel(p)} selects no endpoint`;
      const effect = s.rule
        ? s.rule.action === 'Deny'
          ? 'the Deny rule never matches, so the traffic it should block falls through to the next rule or policy'
          : `the ${s.rule.action} rule never matches (its IP set is empty), so the traffic it should ${s.rule.action === 'Allow' ? 'allow is denied by a later rule or the end-of-tier drop' : 'match goes on to the next rule'}`
        : 'the policy applies to no endpoint, so none of its rules is enforced anywhere';
      const hintText = s.hints.length > 0 ? `\nNear miss: ${s.hints.slice(0, 3).map((h) => h.message).join('; ')}.` : '';
      const scope = s.namespace !== undefined ? ` in namespace ${s.namespace}` : '';
      const confirm = [policyGetCommand(p), s.namespace !== undefined ? `kubectl get pods -n ${s.namespace} --show-labels` : 'kubectl get pods -A --show-labels'];
      if (best?.fixed) confirm.push(`caliscope selector check ${JSON.stringify(best.fixed)}`);
      const corrected = best?.fixed && !p.kind.includes('Kubernetes') ? replaceSelector(b, s, best.fixed) : undefined;
      findings.push({
        check: ID,
        severity: 'warning',
        category: 'policy',
        title,
        explanation: `The ${what} \`${shown}\` matches no endpoint${s.rule ? ' or network set' : ''}${scope}: ${effect}.${hintText}`,
        subject: p.id,
        evidence: selectionEvidence(b, s, `${s.field}: matches nothing`),
        remediation: {
          summary: best?.fixed
            ? `Change the selector to \`${displaySelector(best.fixed, p.kind)}\` (${listText(best.wouldMatch, 3)} would match), or label the intended pods.`
            : 'Correct the selector to the labels the intended pods carry, or label the pods.',
          confirm,
          fix: best?.fixed ? [p.kind.includes('Kubernetes') ? `kubectl edit networkpolicy -n ${p.namespace} ${p.k8sName ?? p.name}` : `calicoctl apply -f <corrected policy>.yaml`] : [`kubectl label pod -n <namespace> <pod> <key>=<value>`],
          ...(corrected ? { yaml: corrected } : {}),
        },
      });
    }
    return result(findings);
  },
};
