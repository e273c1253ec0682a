import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSysctl } from '../parse/sysctl.js';
import {
  canonicalSysctlKey,
  conntrackCount,
  conntrackMax,
  effectiveIfaceSetting,
  effectiveRpFilter,
  getSysctl,
  ifaceSetting,
  ipForwarding,
  sysctlInterfaces,
  sysctlKey,
} from './sysctl.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const s = parseSysctl(readFileSync(path.join(root, 'test/fixtures/sysctl/sysctl-a.txt'), 'utf8'), 'sysctl.txt').value;

describe('sysctl keys', () => {
  it('builds and canonicalises keys with dotted interface names', () => {
    expect(sysctlKey('net', 'ipv4', 'conf', 'vxlan.calico', 'rp_filter')).toBe('net.ipv4.conf.vxlan/calico.rp_filter');
    expect(canonicalSysctlKey('net/ipv4/conf/vxlan.calico/rp_filter')).toBe('net.ipv4.conf.vxlan/calico.rp_filter');
    expect(canonicalSysctlKey('/proc/sys/net/ipv4/ip_forward')).toBe('net.ipv4.ip_forward');
    expect(canonicalSysctlKey('net.ipv4.conf.vxlan/calico.rp_filter')).toBe('net.ipv4.conf.vxlan/calico.rp_filter');
    expect(getSysctl(s, 'net/ipv4/conf/vxlan.calico/accept_local')).toEqual({ key: 'net.ipv4.conf.vxlan/calico.accept_local', value: '1', line: 411 });
  });

  it('lists interfaces with their real names', () => {
    expect(sysctlInterfaces(s)).toEqual(['cali12345abcdef', 'eth0', 'eth0-peer', 'lo', 'vxlan.calico']);
  });
});

describe('typed accessors on the real capture', () => {
  it('ipForwarding', () => {
    expect(ipForwarding(s, 4)).toEqual({ key: 'net.ipv4.ip_forward', value: '1', num: 1, line: 467 });
    expect(ipForwarding(s, 6)).toEqual({ key: 'net.ipv6.conf.all.forwarding', value: '1', num: 1, line: 681 });
  });

  it('ifaceSetting, by plain interface name', () => {
    expect(ifaceSetting(s, 'cali12345abcdef', 'proxy_arp')).toMatchObject({ num: 1, line: 270 });
    expect(ifaceSetting(s, 'cali12345abcdef', 'forwarding')).toMatchObject({ num: 1, line: 262 });
    expect(ifaceSetting(s, 'cali12345abcdef', 'route_localnet')).toMatchObject({ num: 1, line: 272 });
    expect(ifaceSetting(s, 'cali12345abcdef', 'proxy_ndp', 6)).toMatchObject({ num: 1, line: 760 });
    expect(ifaceSetting(s, 'vxlan.calico', 'accept_local')).toMatchObject({ key: 'net.ipv4.conf.vxlan/calico.accept_local', num: 1 });
    expect(ifaceSetting(s, 'nonexistent0', 'rp_filter')).toBeUndefined();
  });

  it('effectiveRpFilter = max(all, iface), with both lines as evidence', () => {
    // all=2 (loose) overrides the interfaces' 0 and 1, as in the kernel (IN_DEV_MAXCONF).
    expect(effectiveRpFilter(s, 'vxlan.calico')).toMatchObject({ num: 2, line: 240, how: 'max', key: 'net.ipv4.conf.all.rp_filter' });
    expect(effectiveRpFilter(s, 'vxlan.calico')!.iface).toMatchObject({ num: 0, line: 438 });
    expect(effectiveRpFilter(s, 'eth0')).toMatchObject({ num: 2, line: 240 });
    expect(effectiveRpFilter(s, 'cali12345abcdef')).toMatchObject({ num: 2 });
    expect(effectiveRpFilter(s, 'nonexistent0')).toMatchObject({ num: 2, how: 'all-only' });
  });

  it('effectiveIfaceSetting applies OR / AND / per-device rules', () => {
    expect(effectiveIfaceSetting(s, 'cali12345abcdef', 'proxy_arp')).toMatchObject({ num: 1, how: 'or', line: 270 });
    expect(effectiveIfaceSetting(s, 'eth0', 'proxy_arp')).toMatchObject({ num: 0, how: 'or' });
    expect(effectiveIfaceSetting(s, 'vxlan.calico', 'accept_local')).toMatchObject({ num: 1, how: 'or', line: 411 });
    expect(effectiveIfaceSetting(s, 'vxlan.calico', 'forwarding')).toMatchObject({ num: 1, how: 'iface' });
    expect(effectiveIfaceSetting(s, 'eth0', 'no_such_setting')).toBeUndefined();
    const and = parseSysctl('net.ipv4.conf.all.accept_source_route = 0\nnet.ipv4.conf.eth0.accept_source_route = 1\n', 'x').value;
    expect(effectiveIfaceSetting(and, 'eth0', 'accept_source_route')).toMatchObject({ num: 0, how: 'and', line: 1 });
  });

  it('conntrackMax / conntrackCount', () => {
    expect(conntrackMax(s)).toMatchObject({ num: 262144, line: 1230 });
    expect(conntrackCount(s)).toMatchObject({ num: 0, line: 1218 });
    const old = parseSysctl('net.nf_conntrack_max = 65536\n', 'x').value;
    expect(conntrackMax(old)).toMatchObject({ key: 'net.nf_conntrack_max', num: 65536 });
    expect(conntrackCount(old)).toBeUndefined();
  });
});
