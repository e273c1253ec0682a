/**
 * policy.wrong-namespace (C4, P7): a namespaced policy (Calico NetworkPolicy or Kubernetes
 * NetworkPolicy) whose selector matches nothing in its own namespace but would match endpoints in
 * another — the policy was created in the wrong namespace — and the cross-namespace variant: a
 * rule peer selector without a namespaceSelector, which Calico confines to the policy's
 * namespace, while the pods it names live elsewhere.
 */
import { displaySelector } from '../../calico/policy/reasons.js';
import { type Check, type Finding, result } from '../types.js';
import { type EmptySelection, emptySelections, namespacesOf } from './policy-empty-selection.js';
import { selectionEvidence } from './policy-selector-matches-nothing.js';
import { listText, notChecked, objectText, policyGetCommand, policyLabel, policySource } from './util.js';
import type { Bundle } from '../../model/bundle.js';

const ID = 'policy.wrong-namespace';

/** The policy moved to `ns` (metadata.namespace rewritten), when the text has one. */
function movedPolicy(b: Bundle, s: EmptySelection, ns: string): string | undefined {
  const src = policySource(b, s.policy);
  const text = src ? objectText(b, src) : undefined;
  if (!text || s.namespace === undefined) return undefined;
  const re = new RegExp(`^(\\s*)namespace: ["']?${s.namespace.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*$`, 'm');
  if (re.test(text)) return text.replace(re, `$1namespace: ${ns}`).replace(/^(\s*)(resourceVersion|uid|creationTimestamp): .*\n/gm, '');
  const json = `"namespace": "${s.namespace}"`;
  if (text.includes(json)) return text.replace(json, `"namespace": "${ns}"`);
  return undefined;
}

export const policyWrongNamespace: Check = {
  id: ID,
  category: 'policy',
  severity: 'warning',
  title: 'A namespaced policy or rule whose selector matches pods only in another namespace',
  seeds: ['C4', 'P7'],
  run(ctx) {
    const b = ctx.bundle;
    const model = ctx.policy();
    if (model.policies.length === 0) return result();
    if (model.endpoints.length === 0) return result([], [notChecked(ID, 'no pods, WorkloadEndpoints or HostEndpoints in the bundle: cannot tell which namespace selectors match in')]);
    const findings: Finding[] = [];
    for (const s of emptySelections(model)) {
      if (s.verdict !== 'wrong-namespace' || s.namespace === undefined) continue;
      const p = s.policy;
      const where = namespacesOf(s.elsewhere);
      const whereText = listText(where.map((w) => `${w.namespace} (${w.count})`), 4);
      const target = where[0].namespace;
      const shown = displaySelector(s.written, p.kind);
      const k8s = p.kind.includes('Kubernetes');
      if (!s.rule) {
        const moved = movedPolicy(b, s, target);
        findings.push({
          check: ID,
          severity: 'warning',
          category: 'policy',
          title: `${policyLabel(p)} selects nothing in namespace ${s.namespace}; its selector matches pods in ${listText(where.map((w) => w.namespace), 3)}`,
          explanation:
            `A namespaced policy only applies to endpoints of its own namespace (Calico adds \`projectcalico.org/namespace == '${s.namespace}'\` to its selector). ` +
            `\`${shown}\` matches no endpoint in ${s.namespace}, but matches ${s.elsewhere.length} in ${whereText} (${listText(s.elsewhere.map((e) => e.id), 4)}). ` +
            'The policy has no effect where it is; it was probably created in the wrong namespace.',
          subject: p.id,
          evidence: selectionEvidence(b, s, `${s.field}: nothing in ${s.namespace}`),
          remediation: {
            summary: `Create the policy in namespace ${target} (and delete it from ${s.namespace}), or use a GlobalNetworkPolicy with a namespaceSelector if it should span namespaces.`,
            confirm: [policyGetCommand(p), `kubectl get pods -n ${s.namespace} --show-labels`, `kubectl get pods -n ${target} --show-labels`],
            fix: [
              `${k8s ? 'kubectl' : 'calicoctl'} apply -f <policy in ${target}>.yaml`,
              k8s ? `kubectl delete networkpolicy -n ${s.namespace} ${p.k8sName ?? p.name}` : `calicoctl delete networkpolicy -n ${s.namespace} ${p.name}`,
            ],
            ...(moved ? { yaml: moved } : {}),
          },
        });
        continue;
      }
      const r = s.rule;
      const nsSel = k8s ? `namespaceSelector:\n    matchLabels:\n      kubernetes.io/metadata.name: ${target}` : `namespaceSelector: projectcalico.org/name == '${target}'`;
      findings.push({
        check: ID,
        severity: 'warning',
        category: 'policy',
        title: `${policyLabel(p)}: ${s.direction} rule ${r.index} ${s.side} selector only matches pods outside namespace ${s.namespace}`,
        explanation:
          `Without a namespaceSelector, a rule's ${k8s ? 'podSelector' : 'selector'} in a namespaced policy only matches endpoints of the policy's namespace (${s.namespace}). ` +
          `\`${shown}\` matches nothing there, but ${s.elsewhere.length} endpoint(s) in ${whereText} (${listText(s.elsewhere.map((e) => e.id), 4)}): ` +
          `the rule (${r.action}) never matches their traffic${r.action === 'Allow' ? ', so cross-namespace traffic it was meant to allow is denied' : ''}.`,
        subject: p.id,
        evidence: selectionEvidence(b, s, `${s.field}: nothing in ${s.namespace}`),
        remediation: {
          summary: `Add a namespaceSelector for ${target} to the rule's ${s.side === 'source' ? (k8s ? 'from' : 'source') : k8s ? 'to' : 'destination'} peer.`,
          confirm: [policyGetCommand(p), `kubectl get namespace ${target} --show-labels`, `kubectl get pods -n ${target} --show-labels`],
          fix: [k8s ? `kubectl edit networkpolicy -n ${s.namespace} ${p.k8sName ?? p.name}` : `calicoctl apply -f <corrected policy>.yaml`],
          yaml: k8s
            ? `# in spec.${s.direction}[${r.origin?.k8sRule ?? r.index}].${s.direction === 'ingress' ? 'from' : 'to'}, the peer gets a namespaceSelector next to its podSelector:\n- ${nsSel}\n  podSelector: <as before>\n`
            : `# spec.${s.direction}[${r.index}].${s.side}:\n${s.side}:\n  ${nsSel}\n  selector: ${shown}\n`,
        },
      });
    }
    return result(findings);
  },
};
