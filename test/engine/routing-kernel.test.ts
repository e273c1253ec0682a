/**
 * `ip route get` is the oracle for the routing engine: random routes (unicast via gateways,
 * device routes, blackhole/unreachable/prohibit, several tables, metrics) and policy rules
 * (priority, from, to, fwmark/mask, not, suppress_prefixlength) are installed in a real
 * namespace; the namespace's own `ip -j` dumps are parsed with caliscope's parsers and every
 * lookup must agree with the kernel's answer.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { describeRoot } from '../helpers/root.js';
import { parseIpRoute } from '../../src/parse/ip-route.js';
import { parseIpRule } from '../../src/parse/ip-rule.js';
import { parseIpAddr } from '../../src/parse/ip-addr.js';
import { Routing } from '../../src/engine/routing.js';

const NS = `csf-rtk-${Math.random().toString(36).slice(2, 6)}`;

function ns(...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', NS, ...args], { encoding: 'utf8' });
}

const routeArb = fc.record({
  prefix: fc.constantFrom('10.70.0.0/16', '10.70.1.0/24', '10.70.1.128/25', '10.70.1.5/32', '10.80.0.0/16', '0.0.0.0/0', '10.70.2.0/24'),
  kind: fc.constantFrom('via-a', 'via-b', 'dev-a', 'blackhole', 'unreachable', 'prohibit'),
  table: fc.constantFrom('main', '100', '200'),
  metric: fc.constantFrom(0, 10, 20),
});

const ruleArb = fc.record({
  priority: fc.integer({ min: 100, max: 30000 }),
  from: fc.constantFrom(undefined, '10.50.0.0/24', '10.51.0.0/24'),
  to: fc.constantFrom(undefined, '10.70.1.0/24', '10.80.0.0/16'),
  fwmark: fc.constantFrom(undefined, '0x1/0x1', '0x2/0x3', '0x10'),
  not: fc.boolean(),
  table: fc.constantFrom('100', '200', 'main'),
  suppress: fc.constantFrom(undefined, 0, 16),
});

const queryArb = fc.record({
  dst: fc.constantFrom('10.70.1.5', '10.70.1.200', '10.70.1.7', '10.70.2.9', '10.80.3.3', '10.90.0.1', '10.50.0.9', '10.51.0.1'),
  mark: fc.constantFrom(0, 1, 2, 3, 0x10),
  from: fc.constantFrom(undefined, '10.50.0.1', '10.51.0.1'),
});

function kernelKind(stderr: string): string {
  if (/Invalid argument/.test(stderr)) return 'blackhole';
  if (/No route to host/.test(stderr)) return 'unreachable';
  if (/Permission denied/.test(stderr)) return 'prohibit';
  if (/Network is unreachable/.test(stderr)) return 'no-route';
  return `error: ${stderr.trim()}`;
}

describeRoot('routing engine agrees with `ip route get`', () => {
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NS]);
    ns('ip', 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
    ns('ip', 'link', 'set', 'lo', 'up');
    ns('ip', 'link', 'set', 'va', 'up');
    ns('ip', 'link', 'set', 'vb', 'up');
    ns('ip', 'addr', 'add', '10.50.0.1/24', 'dev', 'va');
    ns('ip', 'addr', 'add', '10.51.0.1/24', 'dev', 'vb');
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('matches the kernel on random tables, rules and queries', () => {
    let queries = 0;
    fc.assert(
      fc.property(fc.array(routeArb, { minLength: 1, maxLength: 8 }), fc.array(ruleArb, { maxLength: 4 }), fc.array(queryArb, { minLength: 4, maxLength: 4 }), (routes, rules, qs) => {
        // Reset: flush the extra tables and rules, keep the connected routes.
        for (const t of ['100', '200']) spawnSync('ip', ['netns', 'exec', NS, 'ip', 'route', 'flush', 'table', t]);
        ns('ip', 'route', 'flush', 'table', 'main', 'proto', 'static');
        const ruleList = ns('ip', '-j', 'rule');
        for (const r of JSON.parse(ruleList) as { priority: number }[]) if (![0, 32766, 32767].includes(r.priority)) spawnSync('ip', ['netns', 'exec', NS, 'ip', 'rule', 'del', 'priority', String(r.priority)]);
        const seen = new Set<string>();
        for (const r of routes) {
          const key = `${r.prefix}|${r.table}|${r.metric}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const how =
            r.kind === 'via-a' ? ['via', '10.50.0.2', 'dev', 'va'] : r.kind === 'via-b' ? ['via', '10.51.0.2', 'dev', 'vb'] : r.kind === 'dev-a' ? ['dev', 'va'] : [];
          const head = r.kind === 'blackhole' || r.kind === 'unreachable' || r.kind === 'prohibit' ? [r.kind, r.prefix] : [r.prefix, ...how];
          ns('ip', 'route', 'add', ...head, 'table', r.table, 'metric', String(r.metric), 'proto', 'static');
        }
        const prios = new Set<number>();
        for (const r of rules) {
          if (prios.has(r.priority)) continue;
          prios.add(r.priority);
          const args = ['ip', 'rule', 'add', 'priority', String(r.priority)];
          if (r.not) args.push('not');
          if (r.from) args.push('from', r.from);
          if (r.to) args.push('to', r.to);
          if (r.fwmark) args.push('fwmark', r.fwmark);
          args.push('lookup', r.table);
          if (r.suppress !== undefined) args.push('suppress_prefixlength', String(r.suppress));
          ns(...args);
        }
        const routing = new Routing(
          parseIpRoute(ns('ip', '-j', 'route', 'show', 'table', 'all'), 'ip-route.json').value,
          parseIpRule(ns('ip', '-j', 'rule'), 'ip-rule.json').value,
          parseIpAddr(ns('ip', '-j', '-d', 'addr'), 'ip-addr.json').value,
        );
        for (const q of qs) {
          queries++;
          const args = ['ip', 'netns', 'exec', NS, 'ip', '-j', 'route', 'get', q.dst, 'mark', String(q.mark)];
          if (q.from) args.push('from', q.from);
          const k = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
          const mine = routing.lookup({ family: 4, dst: q.dst, src: q.from, mark: q.mark, iif: 'lo' });
          if (k.status !== 0) {
            expect({ q, kind: mine.kind }).toEqual({ q, kind: kernelKind(k.stderr) });
            continue;
          }
          const r = (JSON.parse(k.stdout) as { type?: string; dev: string; gateway?: string }[])[0];
          const kind = r.type === 'local' ? 'local' : 'unicast';
          expect({ q, kind: mine.kind, dev: mine.kind === 'local' ? 'lo' : mine.dev, gw: mine.gateway }).toEqual({ q, kind, dev: r.dev, gw: r.gateway });
        }
      }),
      { numRuns: 80, seed: 7 },
    );
    expect(queries).toBe(320);
  });
});
