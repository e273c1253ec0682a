/**
 * `--anonymize`: consistent pseudonyms for names (nodes, namespaces, pods) and IP addresses
 * across every file of a bundle, keyed by a per-bundle secret (HMAC-SHA256). Same input → same
 * output in every file; without the key the mapping cannot be recomputed.
 *
 * IP addresses: a keyed prefix-preserving permutation (the Crypto-PAn construction: bit i of
 * the output is bit i of the input XOR a pseudo-random function of the first i input bits), so
 * two addresses sharing exactly k leading bits map to two addresses sharing exactly k leading
 * bits. Hence `a ∈ N/len` ⇔ `anon(a) ∈ anon(N)/len`: routes, IP pools, IPAM blocks, ipsets and
 * policy CIDRs keep matching the same addresses. Constraints on the permutation:
 *   - special blocks are kept verbatim: IPv4 0/8, 127/8, 169.254/16 (Calico's 169.254.1.1
 *     gateway), 224/3 (multicast, reserved, broadcast, netmasks); IPv6 ::/8 (::, ::1, v4-mapped),
 *     fe80::/10, ff00::/8;
 *   - private/shared blocks map onto themselves: 10/8, 172.16/12, 192.168/16, 100.64/10
 *     (CGNAT), 198.18/15; IPv6 fc00::/7 and 2001:db8::/32. Public addresses stay public (but
 *     may become someone else's real public address);
 *   - the last octet (IPv4) / last 16 bits (IPv6) are kept, so that network addresses and IPAM
 *     block ordinals of /24-or-longer (/112-or-longer) prefixes stay aligned with their members.
 *   A CIDR `N/len` is written as `anon(N)/len` with the host bits cleared.
 * Limits: the /8 of a private address and the last octet survive; bits of the same prefix are
 * kept, so an observer learns which addresses share prefixes (that is the point); IPv4 inside
 * IPv6 (::ffff:a.b.c.d) is kept verbatim; names equal to common words (`default`, `master`, …),
 * well-known namespaces (kube-system, calico-system, …) and names under 3 characters are kept.
 */
import { createHmac, randomBytes } from 'node:crypto';
import ipaddr from 'ipaddr.js';

export type NameKind = 'node' | 'namespace' | 'pod';

const PREFIX: Record<NameKind, string> = { node: 'node', namespace: 'ns', pod: 'pod' };

/** Names kept verbatim: not identifying, and replacing them would corrupt command output. */
const KEEP_NAMES = new Set([
  'default', 'kube-system', 'kube-public', 'kube-node-lease', 'calico-system', 'calico-apiserver',
  'tigera-operator', 'master', 'main', 'local', 'localhost', 'all', 'none', 'host', 'node', 'nodes',
  'pod', 'pods', 'control-plane', 'worker', 'global', 'kernel', 'device', 'direct', 'static',
  'calico', 'felix', 'bird', 'eth0', 'lo', 'true', 'false',
]);

interface Block {
  bits: number[];
  len: number;
  verbatim: boolean;
}

function blockOf(cidr: string, verbatim: boolean): Block {
  const [addr, len] = ipaddr.parseCIDR(cidr);
  return { bits: bitsOf(addr.toByteArray()), len, verbatim };
}

function bitsOf(bytes: number[]): number[] {
  const out: number[] = [];
  for (const b of bytes) for (let i = 7; i >= 0; i--) out.push((b >> i) & 1);
  return out;
}

function bytesOf(bits: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < bits.length; i += 8) {
    let b = 0;
    for (let j = 0; j < 8; j++) b = (b << 1) | bits[i + j];
    out.push(b);
  }
  return out;
}

const V4_BLOCKS: Block[] = [
  ...['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/3'].map((c) => blockOf(c, true)),
  ...['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '198.18.0.0/15'].map((c) => blockOf(c, false)),
];
const V6_BLOCKS: Block[] = [
  ...['::/8', 'fe80::/10', 'ff00::/8'].map((c) => blockOf(c, true)),
  ...['fc00::/7', '2001:db8::/32'].map((c) => blockOf(c, false)),
];
const V4_KEEP_FROM = 24;
const V6_KEEP_FROM = 112;

const IPV4_RE = /(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?(?![\d])(?!\.\d)/g;
const IPV4_DASHED_CIDR_RE = /(?<![\d-])(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,2})(?![\d])/g;
const IPV6_CANDIDATE_RE = /(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{2,39}(?:\/(\d{1,3}))?(?![0-9A-Za-z:])/g;

export class Anonymizer {
  private readonly names = new Map<string, string>();
  private firstSegments = new Set<string>();
  private maxSegments = 1;
  private readonly ipCache = new Map<string, string>();
  private readonly prfCache = new Map<string, Buffer>();

  constructor(readonly key: Buffer) {
    if (key.length < 16) throw new Error('anonymization key must be at least 16 bytes');
  }

  static random(): Anonymizer {
    return new Anonymizer(randomBytes(32));
  }

  static fromHex(hex: string): Anonymizer {
    if (!/^[0-9a-fA-F]{32,}$/.test(hex)) throw new Error('anonymization key must be at least 32 hex digits');
    return new Anonymizer(Buffer.from(hex, 'hex'));
  }

  get keyHex(): string {
    return this.key.toString('hex');
  }

  private hmac(s: string): Buffer {
    return createHmac('sha256', this.key).update(s).digest();
  }

  /** The pseudonym of a name (registers it, so it is also replaced inside free text). */
  name(kind: NameKind, n: string): string {
    if (!this.isReplaceable(n)) return n;
    const existing = this.names.get(n);
    if (existing) return existing;
    const p = `${PREFIX[kind]}-${this.hmac(`${kind}:${n}`).toString('hex').slice(0, 10)}`;
    this.register(n, p);
    return p;
  }

  addNames(kind: NameKind, names: Iterable<string>): void {
    for (const n of names) this.name(kind, n);
  }

  private isReplaceable(n: string): boolean {
    return n.length >= 3 && !KEEP_NAMES.has(n.toLowerCase()) && !ipaddr.isValid(n) && !/^[\d.:/-]+$/.test(n);
  }

  private register(n: string, p: string): void {
    this.names.set(n, p);
    // WorkloadEndpoint names double the dashes of node and pod names.
    if (n.includes('-')) this.names.set(n.replace(/-/g, '--'), p.replace(/-/g, '--'));
    for (const variant of [n, n.replace(/-/g, '--')]) {
      const segs = splitSegments(variant);
      this.firstSegments.add(segs[0].toLowerCase());
      this.maxSegments = Math.max(this.maxSegments, segs.length);
    }
  }

  /** Anonymizes one IP address (or CIDR); returns other strings unchanged. */
  ip(s: string): string {
    const cached = this.ipCache.get(s);
    if (cached !== undefined) return cached;
    let out = s;
    try {
      const [addrText, lenText] = s.split('/');
      const addr = ipaddr.parse(addrText);
      const v6 = addr.kind() === 'ipv6';
      const len = lenText === undefined ? undefined : Number(lenText);
      const bits = this.permute(bitsOf(addr.toByteArray()), v6);
      if (len !== undefined) for (let i = len; i < bits.length; i++) bits[i] = 0;
      const mapped = ipaddr.fromByteArray(bytesOf(bits)).toString();
      out = len === undefined ? mapped : `${mapped}/${len}`;
    } catch {
      out = s;
    }
    if (this.ipCache.size > 1_000_000) this.ipCache.clear();
    this.ipCache.set(s, out);
    return out;
  }

  private permute(bits: number[], v6: boolean): number[] {
    const blocks = v6 ? V6_BLOCKS : V4_BLOCKS;
    const keepFrom = v6 ? V6_KEEP_FROM : V4_KEEP_FROM;
    const out = bits.slice();
    for (let d = 0; d < keepFrom; d++) {
      if (this.forcedZero(bits, d, blocks)) continue;
      out[d] = bits[d] ^ this.flip(bits, d, v6);
    }
    return out;
  }

  /** True when the trie node at depth d (prefix bits[0..d)) must not flip: it lies on the path to, or inside, a constrained block. */
  private forcedZero(bits: number[], d: number, blocks: Block[]): boolean {
    for (const b of blocks) {
      const upto = Math.min(d, b.len);
      let match = true;
      for (let i = 0; i < upto; i++) {
        if (bits[i] !== b.bits[i]) {
          match = false;
          break;
        }
      }
      if (!match) continue;
      if (d < b.len) return true; // on the path to the block: keep inside in, outside out
      if (b.verbatim) return true; // inside a verbatim block
    }
    return false;
  }

  /** The PRF bit of trie node (depth d, prefix bits[0..d)): one HMAC per octet-aligned subtree, 255 of its bits indexed by the sub-path. */
  private flip(bits: number[], d: number, v6: boolean): number {
    const base = d - (d % 8);
    const j = d - base;
    let prefix = '';
    for (let i = 0; i < base; i += 8) prefix += bytesOf(bits.slice(i, i + 8))[0].toString(16).padStart(2, '0');
    const cacheKey = `${v6 ? 6 : 4}/${base}/${prefix}`;
    let h = this.prfCache.get(cacheKey);
    if (!h) {
      h = this.hmac(`ip:${cacheKey}`);
      if (this.prfCache.size > 200_000) this.prfCache.clear();
      this.prfCache.set(cacheKey, h);
    }
    let sub = 0;
    for (let i = base; i < d; i++) sub = (sub << 1) | bits[i];
    const idx = (1 << j) - 1 + sub;
    return (h[idx >> 3] >> (7 - (idx & 7))) & 1;
  }

  /** Replaces IP addresses, CIDRs, dashed CIDR names (IPAM block names) and registered names in free text. */
  text(s: string): string {
    let out = this.replaceNames(s);
    out = out.replace(IPV4_RE, (m, a, b, c, d, len) => {
      if ([a, b, c, d].some((o) => Number(o) > 255) || (len !== undefined && Number(len) > 32)) return m;
      return this.ip(m);
    });
    out = out.replace(IPV4_DASHED_CIDR_RE, (m, a, b, c, d, len) => {
      if ([a, b, c, d].some((o) => Number(o) > 255) || Number(len) > 32) return m;
      return this.ip(`${a}.${b}.${c}.${d}/${len}`).replace(/[./]/g, '-');
    });
    if (out.includes(':')) {
      out = out.replace(IPV6_CANDIDATE_RE, (m) => {
        const addr = m.split('/')[0];
        if (!(addr.includes('::') || (addr.match(/:/g) ?? []).length === 7)) return m;
        if (!ipaddr.IPv6.isValid(addr)) return m;
        return this.ip(m);
      });
    }
    return out;
  }

  private replaceNames(s: string): string {
    if (this.names.size === 0) return s;
    return s.replace(/[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?/g, (token) => {
      const parts = splitSegments(token);
      if (parts.length === 1) return this.names.get(token) ?? token;
      // parts alternate segment, separator, segment, …; try the longest registered name starting at each segment.
      let out = '';
      let i = 0;
      while (i < parts.length) {
        let matched = false;
        if (i % 2 === 0 && this.firstSegments.has(parts[i].toLowerCase())) {
          for (let j = Math.min(parts.length - 1, i + this.maxSegments - 1); j >= i; j -= 1) {
            if (j % 2 !== 0) continue;
            const cand = parts.slice(i, j + 1).join('');
            const p = this.names.get(cand);
            if (p) {
              out += p;
              i = j + 1;
              matched = true;
              break;
            }
          }
        }
        if (!matched) {
          out += parts[i];
          i++;
        }
      }
      return out;
    });
  }

  /** Anonymizes every string (and object key) of a JSON-like value. */
  object<T>(v: T): T {
    return this.walk(v) as T;
  }

  private walk(v: unknown): unknown {
    if (typeof v === 'string') return this.text(v);
    if (Array.isArray(v)) return v.map((x) => this.walk(x));
    if (!v || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[this.text(k)] = this.walk(x);
    return out;
  }

  /** Registers the names an object carries (Node/Namespace/Pod names, namespaces, nodeName, WorkloadEndpoint node/pod). */
  learnFromObject(o: unknown): void {
    if (!o || typeof o !== 'object') return;
    const obj = o as { kind?: string; metadata?: { name?: string; namespace?: string }; spec?: Record<string, unknown>; items?: unknown[] };
    if (Array.isArray(obj.items)) {
      for (const it of obj.items) this.learnFromObject(it);
      return;
    }
    const name = obj.metadata?.name;
    if (obj.metadata?.namespace) this.name('namespace', obj.metadata.namespace);
    if (typeof name === 'string') {
      if (obj.kind === 'Node') this.name('node', name);
      else if (obj.kind === 'Namespace') this.name('namespace', name);
      else if (obj.kind === 'Pod') this.name('pod', name);
    }
    const spec = obj.spec ?? {};
    if (typeof spec.nodeName === 'string') this.name('node', spec.nodeName);
    if (obj.kind === 'WorkloadEndpoint') {
      if (typeof spec.node === 'string') this.name('node', spec.node);
      if (typeof spec.pod === 'string') this.name('pod', spec.pod);
    }
  }

  /** Anonymizes a bundle-relative path: `nodes/<node>/…`, `logs/<ns>/<pod>/…`. */
  path(rel: string): string {
    const parts = rel.split('/');
    if (parts[0] === 'nodes' && parts.length >= 3) parts[1] = this.name('node', parts[1]);
    if (parts[0] === 'logs' && parts.length >= 4) {
      parts[1] = this.name('namespace', parts[1]);
      parts[2] = this.name('pod', parts[2]);
    }
    return parts.join('/');
  }
}

/** `a-b.c` → ['a', '-', 'b', '.', 'c'] (separator runs kept as their own parts). */
function splitSegments(token: string): string[] {
  return token.split(/([-.]+)/);
}
