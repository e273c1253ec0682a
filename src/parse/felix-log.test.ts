import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ParseIssue } from '../model/evidence.js';
import type { FelixLogEntry } from '../model/felix.js';
import { classifyFelixMessage, felixSyncFromLog, parseFelixLog, splitMessageFields, unquoteGo } from './felix-log.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Fixtures quoting GitHub issues start with a `# source:` line; blank it so line numbers stay the file's. */
const fixture = (name: string) => readFileSync(path.join(root, 'test/fixtures/felix', name), 'utf8').replace(/^# source:[^\n]*/, '');
const LOG = fixture('calico-node.log');

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

const at = (es: FelixLogEntry[], line: number) => es.find((e) => e.line === line)!;

describe('parseFelixLog: calico-node log in Calico formatter layout (reconstructed)', () => {
  const { value: log, issues } = parseFelixLog(LOG, 'nodes/a/felix.log');

  it('reads every line, including a Go panic trace as raw messages', () => {
    expect(issues).toEqual([]);
    expect(log.entries).toHaveLength(37); // 38 lines, one blank
    expect(at(log.entries, 3)).toEqual({
      line: 3,
      time: '2026-11-22 11:29:41.602',
      level: 'INFO',
      pid: 84,
      component: 'felix',
      file: 'daemon.go',
      fileLine: 133,
      message: 'Felix starting up',
      fields: { GOMAXPROCS: '4', builddate: '2026-08-20T18:02:11+0000', gitcommit: '87c15906f20c4ca1fda55af92295e7678b0cc0b2', version: 'v3.34.0-0.dev-67' },
      event: { kind: 'starting' },
    });
    expect(at(log.entries, 33)).toEqual({ line: 33, message: 'goroutine 91 [running]:', fields: {} });
    expect(at(log.entries, 1)).toMatchObject({ component: 'startup', file: 'startup.go', fileLine: 431 });
  });

  it('splits unquoted error values and %#v structs from the message', () => {
    expect(at(log.entries, 7)).toMatchObject({
      level: 'ERROR',
      message: 'Failed to (re)connect to datastore',
      fields: { error: 'Get "https://10.96.0.1:443/api/v1/nodes/node-a": dial tcp 10.96.0.1:443: connect: connection refused' },
      event: { kind: 'datastore-error' },
    });
    expect(at(log.entries, 17).fields).toEqual({
      adminUp: 'true',
      failed: 'false',
      known: 'true',
      operUp: 'true',
      status: 'up',
      workloadEndpointID: 'proto.WorkloadEndpointID{OrchestratorId:"k8s", WorkloadId:"default/web-5f7d8c9b4-x2x8q", EndpointId:"eth0"}',
    });
  });

  it('reads the iptables-restore failure with its Go-quoted output and input', () => {
    const e = at(log.entries, 22);
    expect(e).toMatchObject({ level: 'WARNING', file: 'table.go', fileLine: 1543, message: 'Failed to execute ip(6)tables-restore command', event: { kind: 'dataplane-failure' } });
    expect(e.fields.error).toBe('exit status 2');
    expect(e.fields.errorOutput).toBe(
      "iptables-restore v1.8.9 (nf_tables): Chain 'cali-pi-_NbPzF8ZZJhR4vLx2-y7' does not exist\nError occurred at line: 12\nTry `iptables-restore -h' or 'iptables-restore --help' for more information.\n",
    );
    expect(e.fields.input).toBe('*filter\n:cali-tw-calia58e37f9a7f - -\n-A cali-tw-calia58e37f9a7f -m comment --comment "cali:3Zkb0x5ZkQ0vCxkz" --jump cali-pi-_NbPzF8ZZJhR4vLx2-y7\nCOMMIT\n');
    expect(e.fields).toMatchObject({ ipVersion: '0x4', output: '', table: 'filter' });
  });

  it('classifies the key messages of calico-formats.md §7', () => {
    const kinds = log.entries.filter((e) => e.event).map((e) => [e.line, e.event!.kind]);
    expect(kinds).toEqual([
      [3, 'starting'],
      [4, 'datastore-connecting'],
      [6, 'datastore-waiting'],
      [7, 'datastore-error'],
      [8, 'datastore-connecting'],
      [10, 'dataplane-started'],
      [11, 'dataplane-in-sync'],
      [12, 'in-sync'],
      [13, 'in-sync'],
      [14, 'in-sync'],
      [15, 'policy-update'],
      [16, 'endpoint-update'],
      [18, 'dataplane-in-sync'],
      [20, 'bgp-peers'],
      [21, 'reconciliation-summary'],
      [22, 'dataplane-failure'],
      [23, 'dataplane-failure'],
      [24, 'ipset-failure'],
      [26, 'reconciliation-summary'],
      [27, 'resync'],
      [29, 'unready'],
      [30, 'restart'],
      [36, 'starting'],
      [37, 'datastore-connecting'],
      [38, 'in-sync'],
    ]);
    expect(at(log.entries, 21).event!.data).toEqual({ loops: '14', name: 'dataplane reconciliation loops', over: '1m3.5s', avg: '11ms', longest: '46ms', ops: 'resync-filter-v4,resync-nat-v4,update-filter-v4' });
    expect(at(log.entries, 21).fields).toEqual({});
    expect(at(log.entries, 20).event!.data).toEqual({ established: '1' });
    expect(at(log.entries, 15).event!.data).toEqual({ msgType: 'ActivePolicyUpdate' });
    expect(at(log.entries, 30).level).toBe('PANIC');
  });

  it('summarises sync, resyncs and failures', () => {
    expect(felixSyncFromLog(log)).toEqual({
      firstInSyncLine: 12,
      lastInSyncLine: 38,
      lastUnreadyLine: 29,
      resyncCount: 2, // the watch-expiry resync and the restart after the panic
      dataplaneFailureLines: [22, 23],
      ipsetFailureLines: [24],
      datastoreErrorLines: [7],
      errorCount: 2,
      warningCount: 5,
    });
  });
});

describe('parseFelixLog: the same log through kubectl and syslog', () => {
  const plain = parseFelixLog(LOG, 'p').value.entries;
  const core = (es: FelixLogEntry[]) => es.map((e) => [e.level, e.message, e.event?.kind, JSON.stringify(e.fields)]);

  it('strips CRI prefixes and joins partial (P) chunks into one entry at its first line', () => {
    const { value, issues } = parseFelixLog(fixture('calico-node-cri.log'), 'x');
    expect(issues).toEqual([]);
    expect(core(value.entries)).toEqual(core(plain));
    const failure = value.entries.find((e) => e.event?.kind === 'dataplane-failure')!;
    expect(failure.line).toBe(22);
    expect(failure.time).toBe('2026-11-22 11:31:02.404');
    expect(value.entries.find((e) => e.line === 25)!.message).toBe('Failed to program iptables, will retry');
    // Lines without a Calico time take the runtime's.
    expect(value.entries.find((e) => e.message === 'goroutine 91 [running]:')!.time).toMatch(/^2026-11-22T11:36:26\.\d{9}Z$/);
  });

  it('strips `kubectl logs --timestamps` prefixes', () => {
    const { value, issues } = parseFelixLog(fixture('calico-node-timestamps.log'), 'x');
    expect(issues).toEqual([]);
    expect(core(value.entries)).toEqual(core(plain.slice(0, 20)));
    expect(value.entries[0].time).toBe('2026-11-22 11:29:40.118');
  });

  it('reads the syslog form (no pid or component; the syslog header gives the time)', () => {
    const { value, issues } = parseFelixLog(fixture('felix-syslog.log'), 'x');
    expect(issues).toEqual([]);
    expect(value.entries[0]).toMatchObject({ time: 'Nov 22 11:29:41', level: 'INFO', file: 'daemon.go', fileLine: 133, message: 'Felix starting up', event: { kind: 'starting' } });
    expect(value.entries[0].pid).toBeUndefined();
    expect(core(value.entries)).toEqual(core(plain.filter((e) => e.component === 'felix' || e.component === 'confd' || e.component === 'node').slice(0, 24)));
    expect(parseFelixLog('WARNING table.go 1543: Failed to execute ip(6)tables-restore command error=exit status 1\n', 'x').value.entries[0]).toMatchObject({
      level: 'WARNING',
      event: { kind: 'dataplane-failure' },
      fields: { error: 'exit status 1' },
    });
  });

  it('reads JSON lines', () => {
    const { value, issues } = parseFelixLog(fixture('felix-json.log'), 'x');
    expect(issues).toEqual([]);
    expect(value.entries[1]).toMatchObject({ level: 'WARNING', file: 'daemon.go', fileLine: 229, message: 'Waiting for datastore to be initialized (or migrated)', event: { kind: 'datastore-waiting' } });
    expect(value.entries[3]).toMatchObject({ fields: { error: 'exit status 2', ipVersion: '4', table: 'filter' }, event: { kind: 'dataplane-failure' } });
    expect(felixSyncFromLog(value)).toMatchObject({ firstInSyncLine: 3, dataplaneFailureLines: [4], datastoreErrorLines: [5], errorCount: 1 });
    expect(value.entries[5]).toMatchObject({ message: '', fields: { not: 'a log entry' } });
  });

  it('reads logrus text and `kubectl logs --prefix` lines', () => {
    const e = parseFelixLog('[pod/calico-node-x2x8q/calico-node] time="2026-11-22T11:29:41Z" level=warning msg="Datastore became unready, need to restart." pid=84\n', 'x').value.entries[0];
    expect(e).toMatchObject({ time: '2026-11-22T11:29:41Z', level: 'WARNING', message: 'Datastore became unready, need to restart.', fields: { pid: '84' }, event: { kind: 'unready' } });
  });
});

describe('parseFelixLog: lines pasted in GitHub issues', () => {
  const { value, issues } = parseFelixLog(fixture('felix-issues-real.log'), 'x');

  it('reads them all', () => {
    expect(issues).toEqual([]);
    expect(value.entries).toHaveLength(12);
    expect(at(value.entries, 2)).toMatchObject({
      message: 'Reporting combined status.',
      fields: { id: 'proto.WorkloadEndpointID{OrchestratorId:"k8s", WorkloadId:"kube-system/calico-kube-controllers-658d97c59c-495dd", EndpointId:"eth0"}', status: 'up' },
    });
    expect(at(value.entries, 4)).toMatchObject({ event: { kind: 'dataplane-in-sync' }, fields: { secsSinceStart: '0.605633007' } });
    expect(at(value.entries, 5).fields).toEqual({ ifaceName: 'calie3ba9b96e53', ifaceRegex: '^cali.*', ipVersion: '0x4', tableIndex: '254' });
    expect(at(value.entries, 9).event).toEqual({ kind: 'reconciliation-summary', data: { loops: '10', name: 'dataplane reconciliation loops', over: '1m2.8s', avg: '12ms', longest: '30ms', ops: '' } });
    expect(at(value.entries, 11).fields).toEqual({ update: '&intdataplane.ifaceAddrsUpdate{Name:"cali96bfba0cfb9", Addrs:set.Typed[string]{}}' });
  });

  it('reads the pre-3.x layout without a component', () => {
    expect(at(value.entries, 13)).toMatchObject({ time: '2018-07-16 17:22:16.231', level: 'INFO', pid: 99, file: 'ipsets.go', fileLine: 222, fields: { family: 'inet' } });
    expect(at(value.entries, 13).component).toBeUndefined();
  });
});

describe('parseFelixLog: helpers and edge cases', () => {
  it('unquotes Go strings and splits fields', () => {
    expect(unquoteGo('"a\\"b\\\\c\\n\\t\\x41\\u00e9"')).toBe('a"b\\c\n\tAé');
    expect(splitMessageFields('Summarising nothing')).toEqual({ message: 'Summarising nothing', fields: {} });
    expect(splitMessageFields('msg a=1 b="x y" c=exec: "iptables-restore": not found d=')).toEqual({
      message: 'msg',
      fields: { a: '1', b: 'x y', c: 'exec: "iptables-restore": not found', d: '' },
    });
    expect(classifyFelixMessage('Received *proto.IPSetDeltaUpdate update from calculation graph.')).toBeUndefined();
    expect(classifyFelixMessage('calico/node is not ready: BIRD is not ready: BGP not established with 10.0.0.13')).toEqual({ kind: 'bgp-not-established', data: { peers: '10.0.0.13' } });
  });

  it('warns on control characters only, refuses binary, handles a 10 MB line and a dangling partial chunk', () => {
    const g = parseFelixLog('hello\nbad \u0007 bell\n', 'x');
    expect(g.value.entries).toHaveLength(2);
    expect(g.issues).toEqual([expect.objectContaining({ line: 2, severity: 'warning' })]);
    expect(parseFelixLog('\u0000\u0001\u0002', 'x').issues[0]).toMatchObject({ line: 0, severity: 'error' });
    const big = parseFelixLog(`${'q'.repeat(10_000_000)}\n${LOG}`, 'x');
    expect(big.value.entries).toHaveLength(37);
    expect(big.issues).toEqual([expect.objectContaining({ line: 1 })]);
    const p = parseFelixLog('2026-11-22T11:31:02.404Z stdout P 2026-11-22 11:31:02.404 [INFO][1] felix/x.go 1: hel', 'x');
    expect(p.value.entries[0]).toMatchObject({ message: 'hel', line: 1 });
    expect(p.issues).toEqual([expect.objectContaining({ line: 1, severity: 'warning' })]);
  });
});

describe('parseFelixLog: property-based', () => {
  const check = (text: string) => {
    const r = parseFelixLog(text, 'fz');
    checkIssues(text, r.issues, 'fz');
    for (const e of r.value.entries) {
      expect(e.line).toBeGreaterThanOrEqual(1);
      expect(e.line).toBeLessThanOrEqual(lineCount(text));
    }
    felixSyncFromLog(r.value);
    return r;
  };

  it('never throws on random strings, bytes and log-ish tokens', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => void check(s)), { numRuns: 300 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => void check(Buffer.from(b).toString('latin1'))), { numRuns: 200 });
    const tokens = ['2026-11-22 11:29:41.602', ' [INFO]', '[84]', ' felix/daemon.go', ' 133: ', 'a=', '"x', '\\"', '{', '}', ' ', 'Datastore now in sync.', '2026-11-22T11:29:41Z', ' stdout ', 'P ', 'F ', '{"level":"info"', '\n', '\r\n'];
    fc.assert(fc.property(fc.array(fc.constantFrom(...tokens), { maxLength: 80 }), (parts) => void check(parts.join(''))), { numRuns: 300 });
  });

  const mutation = fc.record({
    op: fc.constantFrom('truncate', 'shuffle', 'inject', 'crlf'),
    at: fc.nat(),
    seed: fc.nat(),
    garbage: fc.string({ unit: 'binary', maxLength: 60 }),
  });

  for (const f of ['calico-node.log', 'calico-node-cri.log']) {
    it(`survives mutations of ${f}`, () => {
      const text = fixture(f);
      const orig = parseFelixLog(text, 'o').value;
      const lines = text.split('\n');
      const kinds = (es: FelixLogEntry[]) => es.map((e) => e.event?.kind ?? '').filter(Boolean);
      fc.assert(
        fc.property(mutation, ({ op, at: pos, seed, garbage }) => {
          let t: string;
          if (op === 'truncate') t = text.slice(0, pos % (text.length + 1));
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
            // Insert between complete CRI lines only (not inside a P…F run).
            let k = pos % l.length;
            while (k > 0 && / P /.test(l[k - 1].slice(30, 40))) k--;
            l.splice(k, 0, `~${garbage.replace(/[\u0000-\u001f\n]/g, ' ')}`);
            t = l.join('\n');
          }
          const r = check(t);
          if (op === 'crlf') expect(r.value).toEqual(orig);
          if (op === 'inject') expect(kinds(r.value.entries)).toEqual(kinds(orig.entries));
          if (op === 'shuffle') expect(r.value.entries.length).toBeGreaterThan(0);
        }),
        { numRuns: 150 },
      );
    });
  }
});
