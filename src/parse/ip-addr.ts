/**
 * Parser for `ip addr` / `ip -d addr` text (also `-o`) and `ip -j addr` JSON. `ip addr` output is
 * `ip link` output plus `inet`/`inet6` lines, so this is the ip-link reader under another name;
 * interfaces without addresses (or `ip link` output) simply have `addrs: []`.
 */
import type { Parsed } from '../model/evidence.js';
import type { IpInterface } from '../model/iproute.js';
import { parseInterfaces } from './ip-link.js';

/** Parses `ip addr` text or `ip -j addr` JSON (auto-detected). Never throws. */
export function parseIpAddr(text: string, artifact: string): Parsed<IpInterface[]> {
  return parseInterfaces(text, artifact, '`ip addr`');
}
