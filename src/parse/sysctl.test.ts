import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeRoot } from '../../test/helpers/root.js';
import { parseSysctl } from './sysctl.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = (name: string) => readFileSync(path.join(root, 'test/fixtures/sysctl', name), 'utf8');
const ALL = fixture('sysctl-a.txt');

describe('parseSysctl: real `sysctl -a` from a namespace (procps sysctl, kernel 6.18)', () => {
  const { value: s, issues } = parseSysctl(ALL, 'nodes/a/sysctl.txt');

  it('reads every key with its line, no issues', () => {
    expect(issues).toEqual([]);
    expect(s.values.size).toBe(1327); // 1329 lines, one 3-line value
    expect(s.values.get('net.ipv4.ip_forward')).toEqual({ value: '1', line: 467 });
    expect(s.values.get('net.ipv4.conf.cali12345abcdef.proxy_arp')).toEqual({ value: '1', line: 270 });
    expect(s.values.get('kernel.panic_sys_info')).toEqual({ value: '', line: 132 });
  });

  it('keeps the `/` that sysctl prints for a dot inside an interface name', () => {
    expect(s.values.get('net.ipv4.conf.vxlan/calico.rp_filter')).toEqual({ value: '0', line: 438 });
    expect(s.values.get('net.ipv4.conf.vxlan/calico.accept_local')).toEqual({ value: '1', line: 411 });
    expect([...s.values.keys()].some((k) => k.startsWith('net.ipv4.conf.vxlan.calico'))).toBe(false);
  });

  it('joins multi-line values (one `key = line` per line) instead of reporting duplicates', () => {
    expect(s.values.get('kernel.core_modes')).toEqual({ value: 'file\npipe\nsocket', line: 73 });
  });

  it('keeps tab-separated values intact', () => {
    expect(s.values.get('fs.file-nr')!.value).toMatch(/^\d+\t\d+\t\d+$/);
  });

  it('reads the stdout+stderr capture the same way (empty stderr as root)', () => {
    const r = parseSysctl(fixture('sysctl-a-with-stderr.txt'), 'x');
    expect(r.issues).toEqual([]);
    expect(r.value.values.size).toBe(1327);
  });

  it('turns permission-denied lines of an unprivileged `sysctl -a 2>&1` into warnings', () => {
    const r = parseSysctl(fixture('sysctl-a-unprivileged.txt'), 'u');
    expect(r.issues).toHaveLength(14);
    expect(r.issues.every((i) => i.severity === 'warning')).toBe(true);
    expect(r.issues[0]).toMatchObject({ line: 70, reason: 'permission denied: kernel.cad_pid' });
    expect(r.value.unreadable).toHaveLength(14);
    expect(r.value.unreadable).toContainEqual({ key: 'net.ipv6.conf.vxlan/calico.stable_secret', line: 1090, reason: 'permission denied' });
    expect(r.value.values.has('kernel.cad_pid')).toBe(false);
    expect(r.value.values.get('net.ipv4.conf.all.rp_filter')!.value).toBe('2');
  });

  it('reads output of slash-notation queries', () => {
    const r = parseSysctl(fixture('sysctl-slash-keys.txt'), 'x');
    expect(r.issues).toEqual([]);
    expect([...r.value.values.keys()]).toEqual(['net.ipv4.conf.vxlan/calico.rp_filter', 'net.ipv4.ip_forward']);
  });
});

describe('parseSysctl: other notations and problems', () => {
  it('reads key=value, slash keys, comments and other sysctl messages', () => {
    const text = [
      '# sysctl.conf style',
      'net.ipv4.ip_forward=1',
      'net/ipv4/conf/vxlan.calico/rp_filter = 2',
      '; also a comment',
      'kernel.core_pattern = |/usr/lib/systemd/systemd-coredump %P %u',
      'sysctl: reading key "net.ipv6.conf.all.stable_secret"',
      'sysctl: cannot stat /proc/sys/net/netfilter/nf_conntrack_max: No such file or directory',
      'sysctl: something else',
      'this is not sysctl output',
      'net.ipv4.ip_forward = 0',
    ].join('\n');
    const r = parseSysctl(text, 'x');
    expect(r.value.values.get('net.ipv4.conf.vxlan/calico.rp_filter')).toEqual({ value: '2', line: 3 });
    expect(r.value.values.get('kernel.core_pattern')!.value).toBe('|/usr/lib/systemd/systemd-coredump %P %u');
    expect(r.value.values.get('net.ipv4.ip_forward')).toEqual({ value: '0', line: 10 });
    expect(r.value.unreadable).toEqual([
      { key: 'net.ipv6.conf.all.stable_secret', line: 6, reason: 'could not read' },
      { key: 'net/netfilter/nf_conntrack_max'.replace(/\//g, '.'), line: 7, reason: 'no such key' },
    ]);
    expect(r.issues.map((i) => [i.line, i.severity])).toEqual([
      [6, 'warning'],
      [7, 'warning'],
      [8, 'warning'],
      [9, 'error'],
      [10, 'warning'],
    ]);
  });

  it('handles CRLF, binary and the wrong artifact', () => {
    const crlf = parseSysctl(ALL.replace(/\n/g, '\r\n'), 'x');
    expect(crlf.issues).toEqual([]);
    expect(crlf.value.values.get('net.ipv4.ip_forward')).toEqual({ value: '1', line: 467 });
    expect(parseSysctl('\u0000\u0001', 'x').issues).toHaveLength(1);
    const wrong = parseSysctl('Name: cali40all-hosts-net\nType: hash:net\n', 'x');
    expect(wrong.issues.some((i) => i.line === 0 && i.severity === 'error')).toBe(true);
  });

  it('never throws; issue lines are valid; injected garbage does not hide good lines (property)', () => {
    const lines = ALL.split('\n');
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (t) => {
        const r = parseSysctl(t, 'fz');
        const max = t === '' ? 0 : t.split('\n').length;
        for (const i of r.issues) expect(i.line >= 0 && i.line <= max).toBe(true);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.nat(), fc.string({ unit: 'binary', maxLength: 60 }), (at, garbage) => {
        const l = [...lines];
        const pos = at % l.length;
        l.splice(pos, 0, `!${garbage.replace(/[\u0000-\u001f]/g, ' ')}`);
        const r = parseSysctl(l.join('\n'), 'fz');
        expect(r.value.values.size).toBe(1327);
        expect(r.issues).toEqual([expect.objectContaining({ line: pos + 1, severity: 'error' })]);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.nat(), (n) => {
        const t = ALL.slice(0, n % (ALL.length + 1));
        const r = parseSysctl(t, 'fz');
        for (const i of r.issues) expect(i.line).toBeLessThanOrEqual(t.split('\n').length);
      }),
      { numRuns: 200 },
    );
  });
});

describeRoot('parseSysctl: live capture', () => {
  it('parses what scripts/fixtures/capture-sysctl.sh captures now', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'csf-sys-'));
    try {
      execFileSync('bash', [path.join(root, 'scripts/fixtures/capture-sysctl.sh'), out], { stdio: 'pipe', timeout: 120_000 });
      const r = parseSysctl(readFileSync(path.join(out, 'sysctl-a.txt'), 'utf8'), 'live');
      expect(r.issues).toEqual([]);
      expect(r.value.values.get('net.ipv4.conf.vxlan/calico.accept_local')?.value).toBe('1');
      const u = parseSysctl(readFileSync(path.join(out, 'sysctl-a-unprivileged.txt'), 'utf8'), 'live');
      expect(u.issues.every((i) => i.severity === 'warning')).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
