import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ParseIssue } from '../model/evidence.js';
import { parseBirdProtocols } from './bird-protocols.js';
import { parseCalicoctlNodeStatus } from './calicoctl-node-status.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Fixtures pasted from GitHub issues start with a `# source:` line; blank it so line numbers stay the file's. */
const fixture = (name: string) => readFileSync(path.join(root, 'test/fixtures/calicoctl', name), 'utf8').replace(/^# source:[^\n]*/, '');
const birdFixture = (name: string) => readFileSync(path.join(root, 'test/fixtures/bird', name), 'utf8');

function lineCount(text: string): number {
  if (text === '') return 0;
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

function checkIssues(text: string, issues: ParseIssue[], artifact: string): void {
  const max = lineCount(text);
  for (const i of issues) {
    expect(i.artifact).toBe(artifact);
    expect(i.line).toBeGreaterThanOrEqual(0);
    expect(i.line).toBeLessThanOrEqual(max);
  }
}

describe('parseCalicoctlNodeStatus: reconstructed from the real BIRD captures', () => {
  it('reads tablewriter tables (≤ v3.30) with a wrapped INFO cell', () => {
    const { value: s, issues } = parseCalicoctlNodeStatus(fixture('node-status-tablewriter.txt'), 'nodes/a/calicoctl-node-status.txt');
    expect(issues).toEqual([]);
    expect(s.running).toBe(true);
    expect(s.messages).toEqual(['Calico process is running.']);
    expect(s.ipv4Peers).toEqual([
      { address: '10.0.0.12', type: 'node-to-node mesh', state: 'up', since: '11:29:55', info: 'Established', bgpState: 'Established', line: 7 },
      {
        address: '10.0.0.13',
        type: 'node-to-node mesh',
        state: 'start',
        since: '11:30:11',
        info: 'Active Socket: Connection refused',
        bgpState: 'Active',
        lastError: 'Socket: Connection refused',
        line: 8,
      },
    ]);
    expect(s.ipv6Peers.map((p) => [p.address, p.bgpState, p.line])).toEqual([
      ['fd00:10::12', 'Established', 16],
      ['fd00:10::13', 'Established', 17],
    ]);
    expect(s.noIpv4Peers).toBeUndefined();
    expect(s.noIpv6Peers).toBeUndefined();
  });

  it('agrees with BIRD: same peers, states and infos as the `show protocols` it was rendered from', () => {
    const bird = parseBirdProtocols(birdFixture('refused-show-protocols.raw'), 'b').value.filter((p) => p.peer);
    const status = parseCalicoctlNodeStatus(fixture('node-status-tablewriter.txt'), 's').value;
    expect(status.ipv4Peers.map((p) => [p.address, p.type, p.state, p.since, p.info])).toEqual(
      bird.map((p) => [p.peer!.ip, p.peer!.type, p.state, p.since, p.info]),
    );
  });

  it('reads go-pretty tables (HEAD) and "No IPv6 peers found."', () => {
    const { value: s, issues } = parseCalicoctlNodeStatus(fixture('node-status-go-pretty.txt'), 'x');
    expect(issues).toEqual([]);
    expect(s.ipv4Peers[1]).toEqual({
      address: '10.0.0.13',
      type: 'node-to-node mesh',
      state: 'start',
      since: '11:30:12',
      info: 'Idle BGP Error: Bad peer AS',
      bgpState: 'Idle',
      lastError: 'BGP Error: Bad peer AS',
      line: 8,
    });
    expect(s.ipv6Peers).toEqual([]);
    expect(s.noIpv6Peers).toBe(true);
  });

  it('puts back the time calicoctl shifts into INFO when BIRD prints a date and a time', () => {
    const { value: s } = parseCalicoctlNodeStatus(fixture('node-status-iso-long.txt'), 'x');
    expect(s.ipv4Peers.map((p) => [p.since, p.info, p.bgpState])).toEqual([
      ['2026-11-22 11:29:55', 'Established', 'Established'],
      ['2026-11-22 11:29:58', 'Established', 'Established'],
    ]);
  });
});

describe('parseCalicoctlNodeStatus: outputs pasted in GitHub issues', () => {
  it('calicoctl#1883: wrapped "Active Socket: Connection refused"', () => {
    const { value: s, issues } = parseCalicoctlNodeStatus(fixture('issue-1883-node-status.txt'), 'x');
    expect(issues).toEqual([]);
    expect(s.ipv4Peers).toEqual([
      {
        address: '192.168.63.204',
        type: 'node-to-node mesh',
        state: 'start',
        since: '17:19:38',
        info: 'Active Socket: Connection refused',
        bgpState: 'Active',
        lastError: 'Socket: Connection refused',
        line: 8,
      },
    ]);
    expect(s.noIpv6Peers).toBe(true);
  });

  it('calicoctl#1335: centred cells, global and node-specific peers, IPv6 table', () => {
    const { value: s } = parseCalicoctlNodeStatus(fixture('issue-1335-node-status.txt'), 'x');
    expect(s.ipv4Peers.map((p) => [p.address, p.type, p.state, p.bgpState])).toEqual([
      ['172.17.8.102', 'node-to-node mesh', 'up', 'Established'],
      ['10.20.30.40', 'global', 'start', 'Connect'],
      ['192.10.0.0', 'node specific', 'start', 'Connect'],
    ]);
    expect(s.ipv6Peers.map((p) => p.address)).toEqual(['aa:bb::ff']);
  });

  it('libcalico-go#130: old status line is a message, running stays unknown', () => {
    const { value: s, issues } = parseCalicoctlNodeStatus(fixture('libcalico-go-pr130-node-status.txt'), 'x');
    expect(issues).toEqual([]);
    expect(s.running).toBeUndefined();
    expect(s.messages).toEqual(['calico-node container is running. Status: Up 58 seconds']);
    expect(s.ipv6Peers[0]).toMatchObject({ address: 'fd80:24e2:f998:72d7::2', line: 15 });
  });
});

describe('parseCalicoctlNodeStatus: other outputs of status.go', () => {
  it('reads "not running" and the BIRD-not-running messages', () => {
    expect(parseCalicoctlNodeStatus('Calico process is not running.\n', 'x').value).toEqual({ running: false, messages: ['Calico process is not running.'], ipv4Peers: [], ipv6Peers: [] });
    const { value: s, issues } = parseCalicoctlNodeStatus('Calico process is running.\n\nThe BGP backend process (BIRD) is not running.\n\n', 'x');
    expect(issues).toEqual([]);
    expect(s).toMatchObject({ running: true, messages: ['Calico process is running.', 'The BGP backend process (BIRD) is not running.'] });
    const v6 = parseCalicoctlNodeStatus("Calico process is running.\n\nIPv4 BGP status\nNo IPv4 peers found.\n\nINFO: BIRDv6 process: 'bird6' is not running.\n", 'x').value;
    expect(v6).toMatchObject({ noIpv4Peers: true, messages: ['Calico process is running.', "INFO: BIRDv6 process: 'bird6' is not running."] });
  });

  it('warns on unrelated text, binary input, a table without a title, and a 10 MB line', () => {
    const r = parseCalicoctlNodeStatus(birdFixture('show-route.txt'), 'x');
    expect(r.issues).toEqual([expect.objectContaining({ line: 0, severity: 'warning' })]);
    expect(parseCalicoctlNodeStatus('\u0000\u0001', 'x').issues[0]).toMatchObject({ line: 0, severity: 'error' });
    const bare = parseCalicoctlNodeStatus('| 10.0.0.1 | global | up | 10:00:00 | Established |\n', 'x');
    expect(bare.value.ipv4Peers).toHaveLength(1);
    expect(bare.issues).toEqual([expect.objectContaining({ line: 1, severity: 'warning' })]);
    const big = parseCalicoctlNodeStatus(`${'z'.repeat(10_000_000)}\n${fixture('node-status-go-pretty.txt')}`, 'x');
    expect(big.value.ipv4Peers).toHaveLength(2);
    expect(big.issues).toEqual([expect.objectContaining({ line: 1 })]);
  });
});

describe('parseCalicoctlNodeStatus: property-based', () => {
  const check = (text: string) => {
    const r = parseCalicoctlNodeStatus(text, 'fz');
    checkIssues(text, r.issues, 'fz');
    for (const p of [...r.value.ipv4Peers, ...r.value.ipv6Peers]) {
      expect(p.line).toBeGreaterThanOrEqual(1);
      expect(p.line).toBeLessThanOrEqual(lineCount(text));
    }
    return r;
  };

  it('never throws on random strings, bytes and table-ish tokens', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => void check(s)), { numRuns: 300 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => void check(Buffer.from(b).toString('latin1'))), { numRuns: 200 });
    const tokens = ['|', ' | ', '+---+', 'PEER ADDRESS', '10.0.0.1', 'IPv4 BGP status', 'IPv6 BGP status', 'No IPv4 peers found.', 'Calico process is running.', ' 2026-01-01 ', '11:00:00', 'Established', '\n', '\r\n', ' '];
    fc.assert(fc.property(fc.array(fc.constantFrom(...tokens), { maxLength: 80 }), (parts) => void check(parts.join(''))), { numRuns: 300 });
  });

  const mutation = fc.record({
    op: fc.constantFrom('truncate', 'shuffle', 'inject', 'crlf'),
    at: fc.nat(),
    seed: fc.nat(),
    garbage: fc.string({ unit: 'binary', maxLength: 60 }),
  });

  for (const f of ['node-status-tablewriter.txt', 'node-status-go-pretty.txt', 'issue-1335-node-status.txt']) {
    it(`survives mutations of ${f}`, () => {
      const text = fixture(f);
      const orig = parseCalicoctlNodeStatus(text, 'o').value;
      const lines = text.split('\n');
      fc.assert(
        fc.property(mutation, ({ op, at, seed, garbage }) => {
          let t: string;
          if (op === 'truncate') t = text.slice(0, at % (text.length + 1));
          else if (op === 'crlf') t = text.replace(/\n/g, '\r\n');
          else if (op === 'shuffle') {
            const l = [...lines];
            for (let i = l.length - 1; i > 0; i--) {
              const j = (seed + i * 7919) % (i + 1);
              [l[i], l[j]] = [l[j], l[i]];
            }
            t = l.join('\n');
          } else {
            const l = [...lines];
            // A message line before the first table: never a peer.
            l.splice(0, 0, `~${garbage.replace(/[\u0000-\u001f\n|]/g, ' ')}`);
            t = l.join('\n');
          }
          const r = check(t);
          if (op === 'crlf') expect(r.value).toEqual(orig);
          if (op === 'inject') {
            expect(r.value.ipv4Peers.map((p) => p.address)).toEqual(orig.ipv4Peers.map((p) => p.address));
            expect(r.value.ipv6Peers.map((p) => p.info)).toEqual(orig.ipv6Peers.map((p) => p.info));
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});
