/**
 * Kernel parameters as read from `sysctl -a`, with typed accessors that apply the kernel's own
 * rules for combining `conf.all.*` with `conf.<iface>.*`.
 *
 * Key notation. `sysctl -a` prints keys with `.` between path components; a `.` *inside* a
 * component (an interface named `vxlan.calico`, a VLAN `eth0.100`) is printed as `/`:
 * `net.ipv4.conf.vxlan/calico.rp_filter`. sysctl(8) also accepts the path form with `/` between
 * components, where dots are literal: `net/ipv4/conf/vxlan.calico/rp_filter`. Keys are stored in
 * the printed (dot) form; `sysctlKey()` builds one from components, `canonicalSysctlKey()`
 * converts either notation, and all accessors take plain interface names (`vxlan.calico`).
 */

export interface SysctlEntry {
  value: string;
  line: number;
}

export interface Sysctls {
  /** Keyed by the dot form as `sysctl -a` prints it. */
  values: Map<string, SysctlEntry>;
  /** Keys `sysctl -a` could not read (`permission denied on key …`, `reading key …`). */
  unreadable?: { key: string; line: number; reason: string }[];
}

/** A value with the evidence for it. */
export interface SysctlValue {
  key: string;
  value: string;
  line: number;
}

export interface SysctlNumber extends SysctlValue {
  num: number;
}

/** Joins path components into the printed key, writing dots inside a component as `/`. */
export function sysctlKey(...components: string[]): string {
  return components.map((c) => c.replace(/\./g, '/')).join('.');
}

/**
 * Converts a key in either notation to the printed dot form. As sysctl(8) does, the notation is
 * decided by the first separator: if a `/` comes before any `.`, `/` separates components and
 * dots are literal (and become `/` when printed).
 */
export function canonicalSysctlKey(key: string): string {
  const k = key.trim().replace(/^\/?proc\/sys\//, '');
  const slash = k.indexOf('/');
  const dot = k.indexOf('.');
  if (slash >= 0 && (dot < 0 || slash < dot)) return sysctlKey(...k.split('/').filter((c) => c !== ''));
  return k;
}

export function getSysctl(s: Sysctls, key: string): SysctlValue | undefined {
  const k = canonicalSysctlKey(key);
  const e = s.values.get(k);
  return e ? { key: k, value: e.value, line: e.line } : undefined;
}

export function getSysctlNumber(s: Sysctls, key: string): SysctlNumber | undefined {
  const v = getSysctl(s, key);
  if (!v || !/^-?\d+$/.test(v.value.trim())) return undefined;
  return { ...v, num: Number(v.value.trim()) };
}

/** `net.ipv4.ip_forward` (4) / `net.ipv6.conf.all.forwarding` (6). */
export function ipForwarding(s: Sysctls, family: 4 | 6): SysctlNumber | undefined {
  return family === 4 ? getSysctlNumber(s, 'net.ipv4.ip_forward') : getSysctlNumber(s, 'net.ipv6.conf.all.forwarding');
}

export type IfaceSettingName =
  | 'proxy_arp'
  | 'proxy_ndp'
  | 'rp_filter'
  | 'forwarding'
  | 'accept_local'
  | 'route_localnet'
  | 'arp_ignore'
  | 'arp_announce'
  | 'arp_filter'
  | 'src_valid_mark'
  | 'send_redirects'
  | 'accept_redirects'
  | 'log_martians'
  | 'disable_ipv6'
  | 'accept_ra'
  | 'mtu'
  | (string & {});

/** The per-interface value as written (`net.ipv<family>.conf.<iface>.<setting>`). */
export function ifaceSetting(s: Sysctls, iface: string, setting: IfaceSettingName, family: 4 | 6 = 4): SysctlNumber | undefined {
  return getSysctlNumber(s, sysctlKey('net', family === 4 ? 'ipv4' : 'ipv6', 'conf', iface, setting));
}

/**
 * How the kernel combines `conf.all.X` with `conf.<iface>.X` for IPv4 (include/linux/inetdevice.h):
 * `max` (IN_DEV_MAXCONF), `or` (IN_DEV_ORCONF), `and` (IN_DEV_ANDCONF), or `iface` (the device's
 * own value; writing `all` copies to every device).
 */
export const IPV4_CONF_COMBINE: Readonly<Record<string, 'max' | 'or' | 'and' | 'iface'>> = {
  rp_filter: 'max',
  arp_ignore: 'max',
  arp_announce: 'max',
  arp_notify: 'max',
  arp_accept: 'max',
  proxy_arp: 'or',
  accept_local: 'or',
  route_localnet: 'or',
  log_martians: 'or',
  arp_filter: 'or',
  src_valid_mark: 'or',
  send_redirects: 'or',
  secure_redirects: 'or',
  shared_media: 'or',
  promote_secondaries: 'or',
  accept_source_route: 'and',
  bootp_relay: 'and',
  mc_forwarding: 'and',
  forwarding: 'iface',
  medium_id: 'iface',
  tag: 'iface',
};

export interface EffectiveSetting {
  key: string;
  /** The value the kernel acts on. */
  num: number;
  /** Evidence: the line that decided it (the larger / the set one). */
  line: number;
  how: 'max' | 'or' | 'and' | 'iface' | 'all-only' | 'iface-only';
  all?: SysctlNumber;
  iface?: SysctlNumber;
}

/**
 * The effective IPv4 per-interface setting, combining `all` and the interface as the kernel does
 * (see IPV4_CONF_COMBINE). When only one of the two keys is in the dump, that one is used and
 * `how` says so. Undefined when neither is present, or the combine rule is not known.
 */
export function effectiveIfaceSetting(s: Sysctls, iface: string, setting: string): EffectiveSetting | undefined {
  const rule = IPV4_CONF_COMBINE[setting];
  const all = ifaceSetting(s, 'all', setting);
  const dev = ifaceSetting(s, iface, setting);
  if (!rule) return undefined;
  if (rule === 'iface') return dev ? { key: dev.key, num: dev.num, line: dev.line, how: 'iface', all, iface: dev } : undefined;
  if (!all && !dev) return undefined;
  if (!all) return { key: dev!.key, num: dev!.num, line: dev!.line, how: 'iface-only', iface: dev };
  if (!dev) return { key: all.key, num: all.num, line: all.line, how: 'all-only', all };
  let winner: SysctlNumber;
  let num: number;
  if (rule === 'max') {
    winner = dev.num >= all.num ? dev : all;
    num = Math.max(all.num, dev.num);
  } else if (rule === 'or') {
    num = all.num !== 0 || dev.num !== 0 ? 1 : 0;
    winner = dev.num !== 0 || all.num === 0 ? dev : all;
  } else {
    num = all.num !== 0 && dev.num !== 0 ? 1 : 0;
    winner = dev.num === 0 || all.num !== 0 ? dev : all;
  }
  return { key: winner.key, num, line: winner.line, how: rule, all, iface: dev };
}

/** rp_filter in force on `iface`: max(conf.all.rp_filter, conf.<iface>.rp_filter), as the kernel does. */
export function effectiveRpFilter(s: Sysctls, iface: string): EffectiveSetting | undefined {
  return effectiveIfaceSetting(s, iface, 'rp_filter');
}

/** `net.netfilter.nf_conntrack_max` (or the older alias `net.nf_conntrack_max`). */
export function conntrackMax(s: Sysctls): SysctlNumber | undefined {
  return getSysctlNumber(s, 'net.netfilter.nf_conntrack_max') ?? getSysctlNumber(s, 'net.nf_conntrack_max');
}

/** `net.netfilter.nf_conntrack_count`. */
export function conntrackCount(s: Sysctls): SysctlNumber | undefined {
  return getSysctlNumber(s, 'net.netfilter.nf_conntrack_count');
}

/** Interface names that have an `net.ipv4.conf.<iface>.*` entry (dots restored), excluding `all` and `default`. */
export function sysctlInterfaces(s: Sysctls): string[] {
  const out = new Set<string>();
  for (const k of s.values.keys()) {
    if (!k.startsWith('net.ipv4.conf.')) continue;
    const rest = k.slice('net.ipv4.conf.'.length);
    const dot = rest.indexOf('.');
    if (dot <= 0) continue;
    const name = rest.slice(0, dot).replace(/\//g, '.');
    if (name !== 'all' && name !== 'default') out.add(name);
  }
  return [...out].sort();
}
