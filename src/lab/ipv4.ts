/** Small IPv4 arithmetic for the lab (addresses as unsigned 32-bit numbers). */

export interface Cidr {
  /** Network address (host bits cleared). */
  base: number;
  prefix: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIp(s: string): number | undefined {
  const m = IPV4.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255 || (m[i].length > 1 && m[i].startsWith('0'))) return undefined;
    n = n * 256 + o;
  }
  return n;
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff - (2 ** (32 - prefix) - 1)) >>> 0;
}

/** `a.b.c.d/n`; `strict` refuses host bits set. */
export function parseCidr(s: string, strict = true): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const pstr = s.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(pstr)) return undefined;
  const prefix = Number(pstr);
  if (prefix > 32) return undefined;
  const base = (ip & maskOf(prefix)) >>> 0;
  if (strict && base !== ip) return undefined;
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + cidrSize(c);
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrContains(outer, inner.base);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrWithin(a, b) || cidrWithin(b, a);
}

/** The n-th address of a CIDR (0 = network address). */
export function nthIp(c: Cidr, n: number): string {
  return formatIp(c.base + n);
}
