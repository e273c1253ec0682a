/**
 * IP addresses and CIDRs for policy matching: parsed once into numbers (IPv4) or bigints (IPv6)
 * so that `nets`/`notNets` checks in the reachability matrix are integer compares.
 */
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

export interface IpAddr {
  text: string;
  family: Family;
  /** IPv4 as an unsigned 32-bit number. */
  v4: number;
  /** IPv6 as a 128-bit bigint (0n for IPv4). */
  v6: bigint;
}

export interface Cidr {
  /** As written. */
  text: string;
  /** Canonical network form (host bits cleared), as Calico normalises it (`10.244.1.10/4` → `0.0.0.0/4`). */
  canonical: string;
  family: Family;
  bits: number;
  v4: number;
  v6: bigint;
}

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function v4Number(s: string): number | undefined {
  const m = V4_RE.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return undefined;
    n = n * 256 + o;
  }
  return n;
}

function v6BigInt(s: string): bigint | undefined {
  try {
    if (!ipaddr.IPv6.isValid(s)) return undefined;
    const bytes = ipaddr.IPv6.parse(s).toByteArray();
    let n = 0n;
    for (const b of bytes) n = (n << 8n) | BigInt(b);
    return n;
  } catch {
    return undefined;
  }
}

const ipCache = new Map<string, IpAddr | null>();

/** Parses an IPv4 or IPv6 address; a `/32` or `/128` suffix is accepted (WEP ipNetworks). */
export function parseIp(text: string): IpAddr | undefined {
  const hit = ipCache.get(text);
  if (hit !== undefined) return hit ?? undefined;
  let s = text.trim();
  const slash = s.indexOf('/');
  if (slash >= 0) {
    const bits = s.slice(slash + 1);
    s = s.slice(0, slash);
    if (!((bits === '32' && !s.includes(':')) || (bits === '128' && s.includes(':')))) {
      ipCache.set(text, null);
      return undefined;
    }
  }
  let r: IpAddr | undefined;
  const v4 = v4Number(s);
  if (v4 !== undefined) r = { text: s, family: 4, v4, v6: 0n };
  else if (s.includes(':')) {
    const v6 = v6BigInt(s);
    if (v6 !== undefined) r = { text: ipaddr.IPv6.parse(s).toString(), family: 6, v4: 0, v6 };
  }
  if (ipCache.size > 100_000) ipCache.clear();
  ipCache.set(text, r ?? null);
  return r;
}

function v4Mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

function v6Mask(bits: number): bigint {
  return bits === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n);
}

function v4Text(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function v6Text(n: bigint): string {
  const bytes: number[] = [];
  for (let i = 15; i >= 0; i--) bytes.push(Number((n >> BigInt(i * 8)) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

/** Parses `a.b.c.d/n`, `x::/n` or a bare address (→ /32, /128), as Calico's ParseCIDROrIP. */
export function parseCidr(text: string): Cidr | undefined {
  const s = text.trim();
  const slash = s.indexOf('/');
  const addr = slash >= 0 ? s.slice(0, slash) : s;
  const ip = parseIp(addr);
  if (!ip || addr.includes('/')) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b)) return undefined;
    bits = Number(b);
    if (bits > max) return undefined;
  }
  if (ip.family === 4) {
    const net = (ip.v4 & v4Mask(bits)) >>> 0;
    return { text, canonical: `${v4Text(net)}/${bits}`, family: 4, bits, v4: net, v6: 0n };
  }
  const net = ip.v6 & v6Mask(bits);
  return { text, canonical: `${v6Text(net)}/${bits}`, family: 6, bits, v4: 0, v6: net };
}

export function cidrContains(c: Cidr, ip: IpAddr): boolean {
  if (c.family !== ip.family) return false;
  if (c.family === 4) return ((ip.v4 & v4Mask(c.bits)) >>> 0) === c.v4;
  return (ip.v6 & v6Mask(c.bits)) === c.v6;
}

export function isCatchAll(c: Cidr): boolean {
  return c.bits === 0;
}
