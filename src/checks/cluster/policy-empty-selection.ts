/**
 * Shared analysis of `policy.selector-matches-nothing` and `policy.wrong-namespace`: every policy
 * selector and rule peer selector that selects no endpoint (and, for rule peers, no network set),
 * classified as "would match in another namespace" or "matches nothing", with near misses.
 * Computed once per policy model.
 */
import { type Endpoint, effectiveLabels } from '../../calico/endpoints.js';
import type { ResolvedEntity, ResolvedPolicy, ResolvedRule } from '../../calico/policy/model.js';
import type { PolicyModel } from '../../calico/policy/resolve.js';
import { NAMESPACE_LABEL_PREFIX, type NearMissCandidate, type NearMissHint, type Selector, nearMisses, parseSelectorCached } from '../../calico/selector/index.js';
import { policySelection, selectorMembers } from './util.js';

export interface EmptySelection {
  policy: ResolvedPolicy;
  /** Absent for the policy's own selector. */
  rule?: ResolvedRule;
  direction?: 'ingress' | 'egress';
  side?: 'source' | 'destination';
  /** The selector as written (what to correct). */
  written: string;
  /** Field path, e.g. `spec.selector`, `spec.ingress[0].source.selector`. */
  field: string;
  verdict: 'nothing' | 'wrong-namespace';
  /** Endpoints in other namespaces the written selector matches (wrong-namespace). */
  elsewhere: Endpoint[];
  /** Namespace the selection is confined to (namespaced policy or rule without namespaceSelector). */
  namespace?: string;
  hints: NearMissHint[];
}

const cache = new WeakMap<PolicyModel, EmptySelection[]>();

function candidatesOf(eps: readonly Endpoint[]): NearMissCandidate[] {
  return eps.map((e) => {
    const c: NearMissCandidate = { id: e.id, labels: effectiveLabels(e) };
    if (e.namespace !== undefined) c.namespace = e.namespace;
    return c;
  });
}

function isK8s(p: ResolvedPolicy): boolean {
  return p.kind === 'KubernetesNetworkPolicy' || p.kind === 'StagedKubernetesNetworkPolicy';
}

export function emptySelections(model: PolicyModel): EmptySelection[] {
  const hit = cache.get(model);
  if (hit) return hit;
  const out: EmptySelection[] = [];
  const sel = policySelection(model);
  let allCandidates: NearMissCandidate[] | undefined;
  const candidates = () => (allCandidates ??= candidatesOf(model.endpoints));
  // Namespaces (with endpoints) as candidates for a namespaceSelector: their labels as the selector sees them.
  let nsCandidates: NearMissCandidate[] | undefined;
  const namespaceCandidates = () => {
    if (nsCandidates) return nsCandidates;
    const byNs = new Map<string, Record<string, string>>();
    for (const e of model.endpoints) {
      if (e.namespace === undefined || byNs.has(e.namespace)) continue;
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(e.profileLabels)) if (k.startsWith(NAMESPACE_LABEL_PREFIX)) labels[k.slice(NAMESPACE_LABEL_PREFIX.length)] = v;
      byNs.set(e.namespace, labels);
    }
    return (nsCandidates = [...byNs].map(([id, labels]) => ({ id: `namespace ${id}`, labels })));
  };
  const matchesElsewhere = (s: Selector, ns: string) => model.endpoints.filter((e) => e.namespace !== ns && s.matchesGetter(e.getLabel));

  for (const p of model.policies) {
    if (p.selectorError) continue; // policy.selector-invalid
    // The policy's own selector.
    // A select-everything selector in an empty namespace is not a selector mistake.
    if ((sel.selected.get(p) ?? []).length === 0 && !selectsEverything(p)) {
      const written = parseSelectorCached(p.selectorWritten);
      const field = isK8s(p) ? 'spec.podSelector' : 'spec.selector';
      if (p.namespace !== undefined && written.ok) {
        const elsewhere = p.serviceAccountSelectorWritten ? [] : matchesElsewhere(written.selector, p.namespace);
        const hints = nearMisses(written.selector, candidates(), { namespace: p.namespace });
        out.push({ policy: p, written: p.selectorWritten, field, verdict: elsewhere.length > 0 ? 'wrong-namespace' : 'nothing', elsewhere, namespace: p.namespace, hints });
      } else {
        out.push({ policy: p, written: p.selectorWritten, field, verdict: 'nothing', elsewhere: [], hints: nearMisses(p.selector, candidates()) });
      }
    }
    // Rule peers (the side that is not the policy's own endpoint).
    for (const dir of ['ingress', 'egress'] as const) {
      if (!p.types.includes(dir)) continue;
      for (const r of p[dir]) {
        if (r.invalid) continue;
        const side = dir === 'ingress' ? 'source' : 'destination';
        const e: ResolvedEntity = r[side];
        if (!e.selector || e.error) continue;
        const members = selectorMembers(model, e.selector);
        if (members.endpoints.length > 0 || members.networkSets > 0) continue;
        const c = e.components;
        const fieldBase = isK8s(p) ? `spec.${dir}[${r.origin?.k8sRule ?? r.index}].${dir === 'ingress' ? 'from' : 'to'}` : `spec.${dir}[${r.index}].${side}`;
        // The part that selects nothing: the namespaceSelector when it matches no namespace with endpoints.
        const nsEmpty = c.namespaceSelector !== undefined && !model.endpoints.some((x) => c.namespaceSelector!.matchesGetter(x.getLabel));
        const trivialPod = !e.written.selector || e.written.selector.trim() === K8S_ALL || e.written.selector.trim() === 'all()';
        const useNs = e.written.namespaceSelector !== undefined && (nsEmpty || trivialPod);
        const written = useNs ? e.written.namespaceSelector! : (e.written.selector ?? e.written.serviceAccounts?.selector ?? e.written.namespaceSelector ?? e.selector.canonical);
        const fieldName = useNs ? 'namespaceSelector' : e.written.selector ? (isK8s(p) ? 'podSelector' : 'selector') : e.written.serviceAccounts ? 'serviceAccounts' : 'namespaceSelector';
        if (c.policyNamespace !== undefined && c.selector) {
          const elsewhere = matchesElsewhere(c.selector, c.policyNamespace);
          const hints = nearMisses(c.selector, candidates(), { namespace: c.policyNamespace });
          out.push({ policy: p, rule: r, direction: dir, side, written, field: `${fieldBase}.${fieldName}`, verdict: elsewhere.length > 0 ? 'wrong-namespace' : 'nothing', elsewhere, namespace: c.policyNamespace, hints });
          continue;
        }
        let hints: NearMissHint[] = [];
        if (useNs && nsEmpty) {
          const w = parseSelectorCached(e.written.namespaceSelector!);
          if (w.ok) hints = nearMisses(w.selector, namespaceCandidates());
        } else if (c.selector) {
          const scope = c.namespaceSelector ? model.endpoints.filter((x) => c.namespaceSelector!.matchesGetter(x.getLabel)) : model.endpoints;
          hints = nearMisses(c.selector, candidatesOf(scope));
        }
        out.push({ policy: p, rule: r, direction: dir, side, written, field: `${fieldBase}.${fieldName}`, verdict: 'nothing', elsewhere: [], hints });
      }
    }
  }
  cache.set(model, out);
  return out;
}

const K8S_ALL = "projectcalico.org/orchestrator == 'k8s'";

function selectsEverything(p: ResolvedPolicy): boolean {
  const w = p.selectorWritten.trim();
  if (p.namespaceSelectorWritten || p.serviceAccountSelectorWritten) return false;
  return w === '' || w === 'all()' || w === K8S_ALL;
}

/** `ns1 (3), ns2 (1)`. */
export function namespacesOf(eps: readonly Endpoint[]): { namespace: string; count: number }[] {
  const m = new Map<string, number>();
  for (const e of eps) m.set(e.namespace ?? '(host)', (m.get(e.namespace ?? '(host)') ?? 0) + 1);
  return [...m].map(([namespace, count]) => ({ namespace, count })).sort((a, b) => b.count - a.count || a.namespace.localeCompare(b.namespace));
}
