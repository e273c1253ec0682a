/**
 * Names Calico derives from resources: host-side veth names, WorkloadEndpoint names, iptables
 * chain names, IP set names, Felix's per-rule hash comments and IPVS endpoint marks.
 * Algorithms re-implemented from projectcalico/calico (files named per function); facts and
 * verified values are collected in /work/shared/calico/felix-rules.md §0, §2, §4–§6.
 */
import { createHash } from 'node:crypto';
import { base64UrlNoPad, makeUniqueId, selectorUid } from './selector/canonical.js';

// ---------------------------------------------------------------------------------------------
// Veth and WorkloadEndpoint names (§6)

/**
 * Host-side interface of a Kubernetes pod (libcalico-go/lib/backend/k8s/conversion/
 * workload_endpoint_default.go VethNameForWorkload): prefix + first 11 hex chars of
 * SHA-1("<namespace>.<pod>"). Calico takes the first entry of FELIX_INTERFACEPREFIX, so a
 * comma-separated list is accepted here too.
 */
export function vethNameForWorkload(namespace: string, pod: string, prefix = 'cali'): string {
  const p = prefix === '' ? 'cali' : prefix.split(',')[0];
  return p + createHash('sha1').update(`${namespace}.${pod}`, 'utf8').digest('hex').slice(0, 11);
}

export interface WorkloadEndpointIds {
  node: string;
  orchestrator: string;
  /** k8s pod name (orchestrator `k8s`). */
  pod?: string;
  /** Workload ID for other orchestrators. */
  workload?: string;
  /** Container ID (orchestrator `cni`). */
  containerId?: string;
  endpoint: string;
}

export type NameResult = { ok: true; name: string } | { ok: false; error: string };

/** Segment fields per orchestrator, as in libcalico-go/lib/names/workloadendpoint.go. */
function segmentsFor(ids: WorkloadEndpointIds): Array<[field: string, value: string | undefined]> {
  switch (ids.orchestrator) {
    case 'k8s':
      return [
        ['node', ids.node],
        ['orchestrator', ids.orchestrator],
        ['pod', ids.pod ?? ids.workload],
        ['endpoint', ids.endpoint],
      ];
    case 'cni':
      return [
        ['node', ids.node],
        ['orchestrator', ids.orchestrator],
        ['containerID', ids.containerId],
        ['endpoint', ids.endpoint],
      ];
    case 'libnetwork':
      return [
        ['node', ids.node],
        ['orchestrator', ids.orchestrator],
        ['orchestrator', ids.orchestrator],
        ['endpoint', ids.endpoint],
      ];
    default:
      return [
        ['node', ids.node],
        ['orchestrator', ids.orchestrator],
        ['workload', ids.workload ?? ids.pod],
        ['endpoint', ids.endpoint],
      ];
  }
}

/**
 * WorkloadEndpoint resource name: segments joined by `-`, each segment's `-` doubled
 * (`worker-1`, k8s, `nginx-7c5d`, `eth0` → `worker--1-k8s-nginx--7c5d-eth0`).
 * Segments must be non-empty and must not start or end with `-`.
 */
export function workloadEndpointNameResult(ids: WorkloadEndpointIds): NameResult {
  if (!ids.node) return { ok: false, error: 'node: field should be assigned' };
  const parts: string[] = [];
  for (const [field, value] of segmentsFor(ids)) {
    if (!value) return { ok: false, error: `${field}: field should be assigned` };
    if (value.startsWith('-')) return { ok: false, error: `${field}: field must not begin with a '-'` };
    if (value.endsWith('-')) return { ok: false, error: `${field}: field must not end with a '-'` };
    parts.push(value.replaceAll('-', '--'));
  }
  return { ok: true, name: parts.join('-') };
}

/** Like workloadEndpointNameResult but throws on invalid identifiers. */
export function workloadEndpointName(ids: WorkloadEndpointIds): string {
  const r = workloadEndpointNameResult(ids);
  if (!r.ok) throw new Error(`cannot build WorkloadEndpoint name: ${r.error}`);
  return r.name;
}

/** Splits on single dashes and un-doubles `--` (extractParts in workloadendpoint.go). */
export function splitWorkloadEndpointName(name: string): string[] {
  const parts: string[] = [];
  let lastDash = -1;
  for (let i = 1; i < name.length; i++) {
    if (name[i] !== '-') continue;
    if (i < name.length - 1 && name[i + 1] === '-') {
      i++;
      continue;
    }
    parts.push(name.slice(lastDash + 1, i).replaceAll('--', '-'));
    lastDash = i;
  }
  parts.push(name.slice(lastDash + 1).replaceAll('--', '-'));
  return parts;
}

export interface ParsedWorkloadEndpointName {
  node: string;
  orchestrator?: string;
  pod?: string;
  workload?: string;
  containerId?: string;
  endpoint?: string;
}

/**
 * Reverse of workloadEndpointName (ParseWorkloadEndpointName). Trailing segments may be missing
 * (a prefix); more segments than the orchestrator defines is an error.
 */
export function parseWorkloadEndpointName(
  name: string,
): { ok: true; ids: ParsedWorkloadEndpointName } | { ok: false; error: string } {
  if (name === '') return { ok: false, error: 'cannot parse empty string' };
  const parts = splitWorkloadEndpointName(name);
  const ids: ParsedWorkloadEndpointName = { node: parts[0] };
  if (parts.length < 2) return { ok: true, ids };
  const orch = parts[1];
  ids.orchestrator = orch;
  const fields: Array<keyof ParsedWorkloadEndpointName> =
    orch === 'k8s'
      ? ['pod', 'endpoint']
      : orch === 'cni'
        ? ['containerId', 'endpoint']
        : orch === 'libnetwork'
          ? ['orchestrator', 'endpoint']
          : ['workload', 'endpoint'];
  const rest = parts.slice(2);
  if (rest.length > fields.length) {
    return { ok: false, error: `error parsing ${name}, verify that WorkloadEndpoint name is correct` };
  }
  rest.forEach((v, i) => {
    ids[fields[i]] = v;
  });
  return { ok: true, ids };
}

// ---------------------------------------------------------------------------------------------
// Length-limited IDs and chain names (§4)

/** iptables chain names are limited to 28 characters. */
export const IPTABLES_MAX_CHAIN_NAME = 28;

/**
 * hash.GetLengthLimitedID (libcalico-go/lib/hash/unique_id.go): prefix+suffix if it fits, else
 * prefix + "_" + base64url_nopad(SHA-256(suffix)) truncated to maxLen. A suffix that exactly
 * fits but starts with "_" is hashed too (it could collide with a hashed name). Empty suffix → "_".
 */
export function lengthLimitedId(prefix: string, suffix: string, maxLen = IPTABLES_MAX_CHAIN_NAME): string {
  const s = suffix === '' ? '_' : suffix;
  // Go measures bytes; names are normally ASCII, but be exact for anything else.
  const total = Buffer.byteLength(prefix, 'utf8') + Buffer.byteLength(s, 'utf8');
  if (total > maxLen || (total === maxLen && s.startsWith('_'))) {
    const left = maxLen - 1 - Buffer.byteLength(prefix, 'utf8');
    if (left <= 0) throw new Error(`lengthLimitedId: maxLen ${maxLen} too small for prefix ${JSON.stringify(prefix)}`);
    const hash = base64UrlNoPad(createHash('sha256').update(s, 'utf8').digest());
    return `${prefix}_${hash.slice(0, left)}`;
  }
  return prefix + s;
}

export type PolicyDirection = 'ingress' | 'egress';

/** `cali-pi-` (ingress, used from `cali-tw-*`) / `cali-po-` (egress, from `cali-fw-*`). */
export function policyChainName(direction: PolicyDirection, policyId: string, maxLen = IPTABLES_MAX_CHAIN_NAME): string {
  return lengthLimitedId(direction === 'ingress' ? 'cali-pi-' : 'cali-po-', policyId, maxLen);
}

/** `cali-pri-<profile>` / `cali-pro-<profile>`, e.g. `cali-pri-kns.default`. */
export function profileChainName(direction: PolicyDirection, profile: string, maxLen = IPTABLES_MAX_CHAIN_NAME): string {
  return lengthLimitedId(direction === 'ingress' ? 'cali-pri-' : 'cali-pro-', profile, maxLen);
}

/**
 * Per-endpoint chains: `tw`/`fw` to/from workload, `th`/`fh` to/from host endpoint,
 * `thfw`/`fhfw` host-endpoint forward, `sm` IPVS set-endpoint-mark.
 */
export type EndpointChainKind = 'tw' | 'fw' | 'th' | 'fh' | 'thfw' | 'fhfw' | 'sm';

export function endpointChainName(kind: EndpointChainKind, iface: string, maxLen = IPTABLES_MAX_CHAIN_NAME): string {
  return lengthLimitedId(`cali-${kind}-`, iface, maxLen);
}

// ---------------------------------------------------------------------------------------------
// Policy chain IDs across Calico versions (§4)

/**
 * How Felix derived the policy chain suffix:
 * - `v1`: ≤ v3.28 — the v1 policy name: `<tier>.<name>` (GNP), `<ns>/<tier>.<name>` (NP),
 *   `<ns>/knp.default.<name>` (k8s NP).
 * - `tiered`: v3.29 – v3.31 — `<tier>/<v1 name>` (felix/rules/policy.go at v3.29.0..v3.31.7).
 * - `kind`: v3.32+ — `<kindShort>/<ns>/<name>` or `<kindShort>/<name>` (types.PolicyID.ID()).
 */
export type PolicyIdStyle = 'v1' | 'tiered' | 'kind';
export const POLICY_ID_STYLES: readonly PolicyIdStyle[] = ['kind', 'tiered', 'v1'];

export interface PolicyRef {
  /**
   * `NetworkPolicy`, `GlobalNetworkPolicy`, `KubernetesNetworkPolicy`, `StagedNetworkPolicy`,
   * `StagedGlobalNetworkPolicy`, `StagedKubernetesNetworkPolicy`,
   * `KubernetesClusterNetworkPolicy` (short names `np`, `gnp`, `knp`, … accepted).
   */
  kind: string;
  namespace?: string;
  /** metadata.name as stored (may or may not carry the `<tier>.` prefix). */
  name: string;
  /** Tier; `default` when absent. */
  tier?: string;
}

const KIND_SHORT: Record<string, string> = {
  NetworkPolicy: 'np',
  GlobalNetworkPolicy: 'gnp',
  StagedNetworkPolicy: 'snp',
  StagedGlobalNetworkPolicy: 'sgnp',
  StagedKubernetesNetworkPolicy: 'sknp',
  KubernetesNetworkPolicy: 'knp',
  KubernetesClusterNetworkPolicy: 'kcnp',
};
const SHORT_KINDS = new Set(Object.values(KIND_SHORT));

/** Short kind name (`np`, `gnp`, …) as in felix/types/policy_id.go; unknown kinds pass through. */
export function policyKindShortName(kind: string): string {
  if (SHORT_KINDS.has(kind)) return kind;
  return KIND_SHORT[kind] ?? kind;
}

/** Strips the `<tier>.` / `knp.default.` style prefixes a stored name may carry. */
function nameVariants(ref: PolicyRef): { tiered: string[]; bare: string[] } {
  const tier = ref.tier || 'default';
  const short = policyKindShortName(ref.kind);
  const bare = new Set<string>([ref.name]);
  const tiered = new Set<string>();
  if (short === 'knp' || short === 'sknp') {
    const base = ref.name.startsWith('knp.default.') ? ref.name.slice('knp.default.'.length) : ref.name;
    bare.add(base);
    tiered.add(`knp.default.${base}`);
  } else {
    // names.TieredPolicyName: a dot-free name gets "default."; a dotted name is kept as is.
    if (ref.name.includes('.')) tiered.add(ref.name);
    else tiered.add(`default.${ref.name}`);
    if (!ref.name.startsWith(`${tier}.`)) tiered.add(`${tier}.${ref.name}`);
    else bare.add(ref.name.slice(tier.length + 1));
  }
  return { tiered: [...tiered], bare: [...bare] };
}

/**
 * The chain-ID suffixes a policy may have had (one style or all), so a `cali-pi-_xxx` chain can
 * be mapped back by hashing each candidate. Order: most likely first.
 */
export function policyIdCandidates(ref: PolicyRef, versionStyle?: PolicyIdStyle): string[] {
  const styles = versionStyle ? [versionStyle] : POLICY_ID_STYLES;
  const tier = ref.tier || 'default';
  const short = policyKindShortName(ref.kind);
  const ns = ref.namespace ? `${ref.namespace}/` : '';
  const { tiered, bare } = nameVariants(ref);
  const out = new Set<string>();
  for (const style of styles) {
    if (style === 'kind') {
      for (const n of [ref.name, ...bare, ...tiered]) out.add(`${short}/${ns}${n}`);
    } else if (style === 'tiered') {
      for (const n of tiered) out.add(`${tier}/${ns}${n}`);
    } else {
      // Before OSS tiers (≤ v3.27) a default-tier name may have been stored without "default.".
      const isK8s = short === 'knp' || short === 'sknp';
      for (const n of isK8s ? tiered : [...tiered, ...bare]) out.add(`${ns}${n}`);
    }
  }
  return [...out];
}

export interface ChainPolicyEntry<P extends PolicyRef = PolicyRef> {
  policy: P;
  direction: PolicyDirection;
  style: PolicyIdStyle;
  /** The chain-ID suffix that produced this chain name. */
  policyId: string;
}

/**
 * Maps every chain name the given policies could have (both directions, every version style
 * and name variant) back to the policy. The first policy to claim a name keeps it.
 */
export function chainToPolicyIndex<P extends PolicyRef>(
  policies: readonly P[],
  opts: { styles?: readonly PolicyIdStyle[]; maxLen?: number } = {},
): Map<string, ChainPolicyEntry<P>> {
  const index = new Map<string, ChainPolicyEntry<P>>();
  const styles = opts.styles ?? POLICY_ID_STYLES;
  for (const policy of policies) {
    for (const style of styles) {
      for (const policyId of policyIdCandidates(policy, style)) {
        for (const direction of ['ingress', 'egress'] as const) {
          const chain = policyChainName(direction, policyId, opts.maxLen);
          if (!index.has(chain)) index.set(chain, { policy, direction, style, policyId });
        }
      }
    }
  }
  return index;
}

// ---------------------------------------------------------------------------------------------
// IP sets (§5)

/** Linux ipset names are limited to 31 characters. */
export const MAX_IPSET_NAME = 31;

export type IpFamily = 4 | 6;

/** combineAndTrunc("cali" + family + "0", setId, 31) from felix/ipsets/ipset_defs.go. */
export function ipsetNameForId(setId: string, family: IpFamily = 4): string {
  return `cali${family}0${setId}`.slice(0, MAX_IPSET_NAME);
}

/** IP set of a selector; pass the canonical string (it is hashed as given). */
export function ipsetNameForSelector(canonicalSelector: string, family: IpFamily = 4): string {
  return ipsetNameForId(selectorUid(canonicalSelector), family);
}

export type NamedPortProtocol = 'tcp' | 'udp' | 'sctp' | 'any';

/** Named-port set ID: MakeUniqueID("n", selectorId + "," + proto + "," + portName) (rule_scanner.go). */
export function namedPortSetId(selectorId: string, proto: NamedPortProtocol, portName: string): string {
  return makeUniqueId('n', `${selectorId},${proto},${portName}`);
}

/** `selectorId` is the selector's uid (`s:…`; use `all()`'s uid when the rule has no selector). */
export function namedPortSetName(
  selectorId: string,
  proto: NamedPortProtocol,
  portName: string,
  family: IpFamily = 4,
): string {
  return ipsetNameForId(namedPortSetId(selectorId, proto, portName), family);
}

/** Service IP sets: `svc:` (IP+port, destination services) / `svcnoport:` (IPs only, source). */
export function serviceSetId(namespace: string, name: string, includePorts: boolean): string {
  return makeUniqueId(includePorts ? 'svc' : 'svcnoport', `${namespace}/${name}`);
}

// ---------------------------------------------------------------------------------------------
// Rule hash comments (§0)

export const RULE_HASH_LENGTH = 16;

/**
 * The string Felix hashes for a rule: its own iptables rendering for an append, with the
 * literal placeholder `HASH` where the `-m comment --comment "cali:…"` fragment goes:
 * `-A <chain> HASH [-m comment --comment "<c>"]... <match> <action>`, in Felix's long-form
 * syntax *before* iptables-save normalises it (`--jump X` not `-j X`, `--goto`, `--in-interface`,
 * `-m mark --mark 0/0x20000`, `--set-mark`, `--destination-ports`, protocol as Felix wrote it, …).
 * `body` is everything after `HASH` (may be empty); a full `-A <chain> HASH …` line is taken as is.
 */
export function felixRuleRenderForHash(chainName: string, body: string): string {
  const full = `-A ${chainName} HASH`;
  if (body === full || body.startsWith(`${full} `)) return body;
  return body === '' ? full : `${full} ${body}`;
}

/**
 * Felix's rule hashes (felix/generictables/rules.go RuleHashes): h0 = SHA-224(chain name);
 * h_i = SHA-224(h_{i-1} ‖ render_i); comment = base64url_nopad(h_i)[:16]. Each hash chains the
 * previous one, so a rule's hash depends on its position and on every rule before it.
 * Inserted rules in kernel chains (e.g. `INPUT`) hash with the chain name; appended ones with
 * `<chain>*appends*` (felix/iptables/table.go).
 */
export function felixRuleHashes(chainName: string, renderedRules: readonly string[]): string[] {
  let prev = createHash('sha224').update(chainName, 'utf8').digest();
  const out: string[] = [];
  for (const body of renderedRules) {
    prev = createHash('sha224').update(prev).update(felixRuleRenderForHash(chainName, body), 'utf8').digest();
    out.push(base64UrlNoPad(prev).slice(0, RULE_HASH_LENGTH));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Endpoint marks (§2; felix/rules/epmark.go, felix/markbits/mark_bits.go)

/** 32-bit FNV-1 (multiply, then xor; not FNV-1a) of the UTF-8 bytes, as Go's fnv.New32(). */
export function fnv1_32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h >>> 0;
}

function maskBits(mask: number): number[] {
  const bits: number[] = [];
  for (let shift = 0; shift < 32; shift++) {
    const bit = 2 ** shift;
    if (Math.floor(mask / bit) % 2 === 1) bits.push(bit);
  }
  return bits;
}

/** MarkBitsManager.MapNumberToMark: bit k of n → k-th set bit of mask (lowest first). */
export function mapNumberToMark(mask: number, n: number): number | undefined {
  const bits = maskBits(mask);
  let mark = 0;
  let rest = n;
  for (let k = 0; k < bits.length && rest > 0; k++) {
    const v = 2 ** k;
    if (Math.floor(rest / v) % 2 === 1) {
      mark += bits[k];
      rest -= v;
    }
  }
  return rest > 0 ? undefined : mark;
}

/** MapMarkToNumber, the inverse of mapNumberToMark; undefined if mark has bits outside mask. */
export function mapMarkToNumber(mask: number, mark: number): number | undefined {
  const bits = maskBits(mask);
  let n = 0;
  let seen = 0;
  bits.forEach((bit, k) => {
    if (Math.floor(mark / bit) % 2 === 1) {
      n += 2 ** k;
      seen += bit;
    }
  });
  return seen === mark ? n : undefined;
}

/** Felix's pseudo endpoint holding the non-Calico mark (lowest bit of the endpoint mask). */
export const NON_CALI_ENDPOINT = '/cali/Pseudo/NonCali/Endpoint/';

/**
 * Endpoint-mark allocator with Felix's algorithm: position = hash(iface) mod 2^bits, skipping 0,
 * linear probing past taken positions; the position is spread over the mask bits. Allocation
 * depends on the order endpoints were seen, so with collisions a real node may differ.
 */
export class EndpointMarkAllocator {
  private readonly maxPosition: number;
  private readonly byEndpoint = new Map<string, { pos: number; mark: number }>();
  private readonly byPosition = new Map<number, string>();

  constructor(
    readonly mask = 0xffe00000,
    nonCaliMark?: number,
    private readonly hash32: (s: string) => number = fnv1_32,
  ) {
    this.maxPosition = 2 ** maskBits(mask).length;
    const nonCali = nonCaliMark ?? maskBits(mask)[0];
    if (nonCali !== undefined) this.set(NON_CALI_ENDPOINT, nonCali);
  }

  /** SetEndpointMark; false when the mark is outside the mask or already taken by another endpoint. */
  set(ep: string, mark: number): boolean {
    const cur = this.byEndpoint.get(ep);
    if (cur) return cur.mark === mark;
    const pos = mapMarkToNumber(this.mask, mark);
    if (pos === undefined) return false;
    const owner = this.byPosition.get(pos);
    if (owner !== undefined) return owner === ep;
    this.byEndpoint.set(ep, { pos, mark });
    this.byPosition.set(pos, ep);
    return true;
  }

  /** GetEndpointMark; undefined when no position is free. */
  get(ep: string): number | undefined {
    if (ep === '') return undefined;
    const cur = this.byEndpoint.get(ep);
    if (cur) return cur.mark;
    const total = this.hash32(ep);
    for (let i = 0; i < this.maxPosition; i++) {
      const pos = (total + i) % this.maxPosition;
      if (pos === 0 || this.byPosition.has(pos)) continue;
      const mark = mapNumberToMark(this.mask, pos);
      if (mark === undefined) return undefined;
      this.byEndpoint.set(ep, { pos, mark });
      this.byPosition.set(pos, ep);
      return mark;
    }
    return undefined;
  }

  release(ep: string): void {
    const cur = this.byEndpoint.get(ep);
    if (!cur) return;
    this.byEndpoint.delete(ep);
    this.byPosition.delete(cur.pos);
  }
}

/**
 * The IPVS endpoint mark Felix gives `iface` on a node where no other endpoint collided with it
 * (fresh allocator holding only the non-Calico mark). Unverified against a live node: the
 * algorithm is checked with Felix's own allocator test vectors and FNV-1 with Go's test vectors.
 */
export function endpointMark(iface: string, mask = 0xffe00000): number | undefined {
  return new EndpointMarkAllocator(mask).get(iface);
}
