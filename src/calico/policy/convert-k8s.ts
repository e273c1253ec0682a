/**
 * Kubernetes NetworkPolicy → Calico policy, as Calico converts it
 * (libcalico-go/lib/backend/k8s/conversion/conversion.go K8sNetworkPolicyToCalico,
 * k8sSelectorToCalico, k8sRuleToCalico, SimplifyPorts, k8sPeerToCalicoFields; summarised in
 * /work/shared/calico/felix-rules.md §7):
 * - name `knp.default.<name>` (≤ v3.31; kind KubernetesNetworkPolicy from v3.32), order 1000,
 *   tier `default`;
 * - selector `projectcalico.org/orchestrator == 'k8s'` && matchLabels (sorted by key) &&
 *   matchExpressions, then scoped to the namespace by the policy processor;
 * - one Allow rule per (protocol × peer): ports grouped by protocol (TCP when not written),
 *   `endPort` → range, numeric ports merged into ranges, named ports passed through, protocols
 *   sorted; no ports → no protocol; no peers → any peer;
 * - ingress peers go in `source` and ports in `destination`; egress puts both in `destination`;
 * - podSelector → `selector` with the orchestrator term; namespaceSelector → `namespaceSelector`
 *   (`{}` → `all()`); ipBlock → `nets: [cidr]`, `notNets: except`;
 * - types: the listed policyTypes; none → Ingress only.
 *
 * Before Calico sees a policy the API server has defaulted `policyTypes` (Ingress, plus Egress
 * when there are egress rules — k8s.io/kubernetes pkg/apis/networking/v1/defaults.go); a
 * manifest read from a file may not have been through that, so the defaulting is applied here.
 */
import type {
  CalicoRule,
  EntityRule,
  K8sNetworkPolicy,
  K8sPeer,
  K8sPolicyPort,
  K8sPolicyRule,
  LabelSelector,
  PortMatch,
  ProtocolValue,
  StagedKubernetesNetworkPolicy,
} from '../../model/resources.js';
import type { Direction, RuleOrigin } from './model.js';
import { parseCidr } from './net.js';

export const K8S_POLICY_ORDER = 1000;
export const K8S_POLICY_PREFIX = 'knp.default.';

/** k8sSelectorToCalico: the Calico selector text for a Kubernetes LabelSelector. */
export function k8sSelectorToCalico(s: LabelSelector | undefined, type: 'pod' | 'namespace'): string {
  const parts: string[] = [];
  if (type === 'pod') parts.push("projectcalico.org/orchestrator == 'k8s'");
  if (!s) return parts.join(' && ');
  if (type === 'namespace' && Object.keys(s.matchLabels).length === 0 && s.matchExpressions.length === 0) return 'all()';
  // Go's sort.Strings: byte order.
  const keys = Object.keys(s.matchLabels).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const k of keys) parts.push(`${k} == '${s.matchLabels[k]}'`);
  for (const e of s.matchExpressions) {
    const list = (e.values ?? []).join("', '");
    switch (e.operator) {
      case 'In':
        parts.push(`${e.key} in { '${list}' }`);
        break;
      case 'NotIn':
        parts.push(`${e.key} not in { '${list}' }`);
        break;
      case 'Exists':
        parts.push(`has(${e.key})`);
        break;
      case 'DoesNotExist':
        parts.push(`! has(${e.key})`);
        break;
    }
  }
  return parts.join(' && ');
}

type CalicoPort = { kind: 'named'; name: string } | { kind: 'range'; from: number; to: number };

function toPortMatch(p: CalicoPort): PortMatch {
  if (p.kind === 'named') return { kind: 'named', name: p.name, raw: p.name };
  if (p.from === p.to) return { kind: 'number', port: p.from, raw: p.from };
  return { kind: 'range', from: p.from, to: p.to, raw: `${p.from}:${p.to}` };
}

/** SimplifyPorts: named ports first (as given), then numeric ports merged into minimal ranges. */
export function simplifyPorts(ports: CalicoPort[]): CalicoPort[] {
  if (ports.length <= 1) return ports;
  const numeric: number[] = [];
  const out: CalicoPort[] = [];
  for (const p of ports) {
    if (p.kind === 'named') out.push(p);
    else for (let i = p.from; i <= p.to; i++) numeric.push(i);
  }
  if (numeric.length <= 1) return ports;
  numeric.sort((a, b) => a - b);
  let i = 0;
  while (i < numeric.length) {
    const first = numeric[i];
    let last = first;
    i++;
    while (i < numeric.length && numeric[i] <= last + 1) {
      last = numeric[i];
      i++;
    }
    out.push({ kind: 'range', from: first, to: last });
  }
  return out;
}

/** k8sPortToCalico: `port` or `port:endPort` through numorstring.PortFromString. */
function k8sPortToCalico(p: K8sPolicyPort): { ports: CalicoPort[] } | { error: string } {
  if (p.port === undefined) return { ports: [] };
  const text = p.endPort !== undefined ? `${p.port}:${p.endPort}` : String(p.port);
  const range = /^(\d+)(?::(\d+))?$/.exec(text);
  if (range) {
    const from = Number(range[1]);
    const to = range[2] !== undefined ? Number(range[2]) : from;
    if (from > 65535 || to > 65535 || from > to) return { error: `invalid port ${JSON.stringify(text)}` };
    return { ports: [{ kind: 'range', from, to }] };
  }
  if (text.includes(':')) return { error: `invalid port ${JSON.stringify(text)}: a named port cannot have endPort` };
  return { ports: [{ kind: 'named', name: text }] };
}

const PROTO_NUMBERS: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };

function protocolValue(name: string): ProtocolValue {
  return { raw: name, name: name as ProtocolValue['name'], number: PROTO_NUMBERS[name] };
}

function emptyEntity(): EntityRule {
  return { nets: [], notNets: [], ports: [], notPorts: [] };
}

/** k8sPeerToCalicoFields. Returns the peer's fields and, for a broken CIDR, what Calico did. */
function peerFields(peer: K8sPeer | undefined, notes: string[]): Pick<EntityRule, 'selector' | 'namespaceSelector' | 'nets' | 'notNets'> {
  const out: Pick<EntityRule, 'selector' | 'namespaceSelector' | 'nets' | 'notNets'> = { nets: [], notNets: [] };
  if (!peer) return out;
  if (peer.ipBlock) {
    const c = parseCidr(peer.ipBlock.cidr);
    if (!c) {
      // Calico logs and returns empty fields: the peer then matches everything.
      notes.push(`ipBlock cidr ${JSON.stringify(peer.ipBlock.cidr)} does not parse; Calico's converter then leaves the peer empty (matches any peer)`);
      return out;
    }
    out.nets = [c.canonical];
    for (const e of peer.ipBlock.except) {
      const x = parseCidr(e);
      if (!x) {
        notes.push(`ipBlock except ${JSON.stringify(e)} does not parse; Calico's converter stops reading the except list there`);
        return out;
      }
      out.notNets.push(x.canonical);
    }
    return out;
  }
  const sel = k8sSelectorToCalico(peer.podSelector, 'pod');
  if (sel) out.selector = sel;
  const ns = k8sSelectorToCalico(peer.namespaceSelector, 'namespace');
  if (ns) out.namespaceSelector = ns;
  return out;
}

export interface ConvertedK8sRules {
  rules: CalicoRule[];
  origins: RuleOrigin[];
}

/** k8sRuleToCalico for every rule of one direction (a rule that cannot be converted is dropped). */
function convertRules(rules: K8sPolicyRule[] | undefined, ingress: boolean, notes: string[]): ConvertedK8sRules {
  const out: ConvertedK8sRules = { rules: [], origins: [] };
  for (const r of rules ?? []) {
    const peers: (K8sPeer | undefined)[] = r.peers && r.peers.length > 0 ? r.peers : [undefined];
    const ports: (K8sPolicyPort | undefined)[] = r.ports && r.ports.length > 0 ? r.ports : [undefined];
    // protocol ("" = any) → ports (undefined = all ports of the protocol)
    let byProto = new Map<string, CalicoPort[] | undefined>();
    let failed: string | undefined;
    for (const p of ports) {
      if (!p) {
        byProto = new Map([['', undefined]]);
        break;
      }
      const conv = k8sPortToCalico(p);
      if ('error' in conv) {
        failed = conv.error;
        break;
      }
      const proto = p.protocol; // TCP when not written (the converter makes the default explicit)
      if (conv.ports.length === 0) byProto.set(proto, undefined);
      else if (!byProto.has(proto) || (byProto.get(proto) ?? []).length > 0) byProto.set(proto, [...(byProto.get(proto) ?? []), ...conv.ports]);
    }
    if (failed) {
      notes.push(`${ingress ? 'ingress' : 'egress'} rule ${r.index} dropped by Calico's converter: ${failed}`);
      continue;
    }
    const protocols = [...byProto.keys()].sort();
    for (const proto of protocols) {
      const list = byProto.get(proto);
      const calicoPorts = list ? simplifyPorts(list).map(toPortMatch) : [];
      peers.forEach((peer, pi) => {
        const f = peerFields(peer, notes);
        const rule: CalicoRule = { action: 'Allow', index: out.rules.length, source: emptyEntity(), destination: emptyEntity() };
        if (r.line !== undefined) rule.line = r.line;
        if (proto !== '') rule.protocol = protocolValue(proto);
        if (ingress) {
          rule.source = { ...emptyEntity(), ...f };
          rule.destination.ports = calicoPorts;
        } else {
          rule.destination = { ...emptyEntity(), ...f, ports: calicoPorts };
        }
        out.rules.push(rule);
        const origin: RuleOrigin = { k8sRule: r.index };
        if (peer) origin.peer = pi;
        if (proto !== '') origin.protocol = proto;
        out.origins.push(origin);
      });
    }
  }
  return out;
}

export interface ConvertedK8sPolicy {
  selector: string;
  types: Direction[];
  typesFrom: 'k8s-policyTypes' | 'k8s-defaulted';
  ingress: ConvertedK8sRules;
  egress: ConvertedK8sRules;
  notes: string[];
}

export function convertK8sNetworkPolicy(np: K8sNetworkPolicy | StagedKubernetesNetworkPolicy): ConvertedK8sPolicy {
  const notes: string[] = [];
  const s = np.spec;
  const ingress = convertRules(s.ingress, true, notes);
  const egress = convertRules(s.egress, false, notes);
  let policyTypes = s.policyTypes ?? [];
  let typesFrom: ConvertedK8sPolicy['typesFrom'] = 'k8s-policyTypes';
  if (!s.policyTypesGiven || policyTypes.length === 0) {
    // API-server defaulting (SetDefaults_NetworkPolicySpec).
    policyTypes = (s.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
    typesFrom = 'k8s-defaulted';
  }
  const types: Direction[] = [];
  if (policyTypes.includes('Ingress')) types.push('ingress');
  if (policyTypes.includes('Egress')) types.push('egress');
  else if (egress.rules.length > 0) notes.push("policyTypes does not include Egress, so its egress rules are ignored (Calico warns \"K8s PolicyTypes don't include 'egress'\")");
  if (types.length === 0) types.push('ingress');
  return { selector: k8sSelectorToCalico(s.podSelector, 'pod'), types, typesFrom, ingress, egress, notes };
}
