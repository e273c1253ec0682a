/**
 * dataplane.ipset-stale (S6, P1, P8): a Calico selector IP set on a node (`cali40s:…`, and the
 * named-port sets `cali40n:…`) whose members differ from what its selector evaluates to now:
 * the expected members are computed from the policy model's rule IP sets (canonical selector and
 * name) over the endpoints' IPv4 addresses and the network sets' CIDRs. Missing members make
 * Allow rules miss (traffic the policy allows is denied); extra members keep matching addresses
 * the selector no longer covers. Also: a set referenced by a policy active on the node that is
 * absent altogether.
 */
import type { Endpoint } from '../../calico/endpoints.js';
import type { NamedPortIpSet, ResolvedEntity, ResolvedRule } from '../../calico/policy/model.js';
import type { PolicyModel } from '../../calico/policy/resolve.js';
import { parseCidr, parseIp } from '../../calico/policy/net.js';
import { type Selector, mustParseSelector } from '../../calico/selector/index.js';
import type { Evidence } from '../../model/evidence.js';
import type { IpSet } from '../../model/ipset.js';
import { type Check, type Finding, result } from '../types.js';
import { comparableNodes, localEndpoints, requiredPolicies } from './dataplane-common.js';
import { ev, listText, notChecked, plural } from './util.js';

const ID = 'dataplane.ipset-stale';

interface SetSpec {
  name: string;
  kind: 'selector' | 'named-port';
  selector: string;
  named?: NamedPortIpSet;
  /** Rules referencing it (for evidence). */
  rules: ResolvedRule[];
}

const PROTO_NAMES: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

/** Every IPv4 set the model's (enforced) policies and profiles reference, by name. */
function setSpecs(model: PolicyModel): Map<string, SetSpec> {
  const out = new Map<string, SetSpec>();
  const addEntity = (e: ResolvedEntity, r: ResolvedRule) => {
    for (const s of [e.ipsets.selector, e.ipsets.notSelector]) {
      if (!s) continue;
      const x = out.get(s.name) ?? { name: s.name, kind: 'selector' as const, selector: s.selector, rules: [] };
      x.rules.push(r);
      out.set(s.name, x);
    }
    for (const np of e.ipsets.namedPorts) {
      const x = out.get(np.name) ?? { name: np.name, kind: 'named-port' as const, selector: np.selector, named: np, rules: [] };
      x.rules.push(r);
      out.set(np.name, x);
    }
  };
  for (const p of model.policies) {
    if (p.staged) continue;
    for (const r of [...p.ingress, ...p.egress]) {
      addEntity(r.source, r);
      addEntity(r.destination, r);
    }
  }
  for (const prof of model.profiles.values()) for (const r of [...prof.ingress, ...prof.egress]) {
    addEntity(r.source, r);
    addEntity(r.destination, r);
  }
  return out;
}

function v4(e: Endpoint): string[] {
  return e.ips.map((ip) => parseIp(ip)).filter((a) => a?.family === 4).map((a) => a!.text);
}

/** Members as `ipset save` would show them (normalised like the ipset parser). */
function expectedMembers(model: PolicyModel, spec: SetSpec, cache: Map<string, Map<string, Endpoint | string>>): Map<string, Endpoint | string> {
  const key = `${spec.kind}|${spec.name}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const out = new Map<string, Endpoint | string>();
  let sel: Selector;
  try {
    sel = mustParseSelector(spec.selector);
  } catch {
    cache.set(key, out);
    return out;
  }
  if (spec.kind === 'selector') {
    for (const e of model.endpoints) if (sel.matchesGetter(e.getLabel)) for (const ip of v4(e)) out.set(ip, e);
    for (const ns of model.networkSets) {
      if (!sel.matchesGetter(ns.getLabel)) continue;
      for (const c of ns.nets) {
        if (c.family !== 4) continue;
        if (c.bits === 0) {
          out.set('0.0.0.0/1', `${ns.kind} ${ns.id}`);
          out.set('128.0.0.0/1', `${ns.kind} ${ns.id}`);
        } else out.set(c.bits === 32 ? c.canonical.slice(0, -3) : c.canonical, `${ns.kind} ${ns.id}`);
      }
    }
  } else {
    const np = spec.named!;
    for (const e of model.endpoints) {
      if (!sel.matchesGetter(e.getLabel)) continue;
      for (const port of e.ports) {
        if (port.name !== np.port || port.protocol === undefined) continue;
        const proto = PROTO_NAMES[port.protocol];
        if (!proto || (np.proto !== 'any' && np.proto !== proto)) continue;
        for (const ip of v4(e)) out.set(`${ip},${proto}:${port.port}`, e);
      }
    }
  }
  cache.set(key, out);
  return out;
}

function memberKey(set: IpSet, m: IpSet['members'][number]): string | undefined {
  if (m.nomatch || m.ip === undefined) return undefined;
  const c = parseCidr(m.ip);
  const ip = c ? (c.bits === 32 ? c.canonical.slice(0, -3) : c.canonical) : m.ip;
  if (set.type.startsWith('hash:ip,port') || set.type.startsWith('hash:net,port')) return m.proto !== undefined && m.port !== undefined ? `${ip},${m.proto}:${m.port}` : undefined;
  return ip;
}

export const dataplaneIpsetStale: Check = {
  id: ID,
  category: 'dataplane',
  severity: 'error',
  title: 'Calico IP sets whose members differ from what their selector matches',
  seeds: ['S6', 'P1', 'P8'],
  run(ctx) {
    const b = ctx.bundle;
    const { nodes, nc } = comparableNodes(b, ID);
    if (nodes.length === 0) return result([], nc);
    const model = ctx.policy();
    const specs = setSpecs(model);
    const cache = new Map<string, Map<string, Endpoint | string>>();
    const findings: Finding[] = [];
    for (const n of nodes) {
      if (!n.ipsets) {
        nc.push(notChecked(ID, `no ipset dump for node ${n.name}`, n.name));
        continue;
      }
      const artifact = n.artifacts.ipset ?? '';
      // Sets policies active on this node must have.
      const needed = new Set<string>();
      for (const e of localEndpoints(model, n.name)) {
        for (const dir of ['ingress', 'egress'] as const) {
          for (const p of requiredPolicies(model, e, dir)) {
            for (const r of p[dir]) {
              if (r.invalid) continue;
              for (const side of [r.source, r.destination]) {
                if (side.ipsets.selector) needed.add(side.ipsets.selector.name);
                if (side.ipsets.notSelector) needed.add(side.ipsets.notSelector.name);
                for (const np of side.ipsets.namedPorts) needed.add(np.name);
              }
            }
          }
        }
      }
      for (const [name, spec] of specs) {
        const set = n.ipsets.sets.get(name);
        const expected = expectedMembers(model, spec, cache);
        if (!set) {
          if (!needed.has(name)) continue;
          const r = spec.rules[0];
          findings.push({
            check: ID,
            severity: 'error',
            category: 'dataplane',
            node: n.name,
            title: `${n.name}: IP set ${name} (${spec.selector}) is missing`,
            explanation: `A policy active on ${n.name} matches on \`${spec.selector}\`, so Felix must program ${name} (${plural(expected.size, 'member')} expected); the node's ipset dump has no such set, so the rules using it cannot match (or iptables-restore fails on them).`,
            subject: name,
            evidence: [ev(b, r.evidence.artifact, r.evidence.line, `${r.evidence.note ?? 'rule'} uses ${spec.selector}`), { artifact, node: n.name, note: `no set ${name} in the dump` }],
            remediation: {
              summary: `Felix on ${n.name} is behind or failing; check its logs and restart calico-node.`,
              confirm: [`ipset list ${name}   # on ${n.name}`, `kubectl logs -n calico-system <calico-node pod on ${n.name}> -c calico-node | grep -i ipset`],
              fix: [`kubectl delete pod -n calico-system <calico-node pod on ${n.name}>`],
            },
          });
          continue;
        }
        const actual = new Map<string, IpSet['members'][number]>();
        for (const m of set.members) {
          const k = memberKey(set, m);
          if (k) actual.set(k, m);
        }
        const missing = [...expected.keys()].filter((k) => !actual.has(k));
        const extra = [...actual.keys()].filter((k) => !expected.has(k));
        if (missing.length === 0 && extra.length === 0) continue;
        const evidence: Evidence[] = [ev(b, artifact, set.line, `${name}: selector ${spec.selector}`, n.name)];
        for (const k of extra.slice(0, 5)) evidence.push(ev(b, artifact, actual.get(k)!.line, `extra: ${k} matches no endpoint of the selector`, n.name));
        for (const k of missing.slice(0, 5)) {
          const owner = expected.get(k)!;
          evidence.push(typeof owner === 'string' ? { artifact, node: n.name, note: `missing: ${k} (${owner})` } : ev(b, owner.source.artifact, owner.source.line, `missing: ${k} (${owner.id} matches ${spec.selector})`));
        }
        const r = spec.rules[0];
        evidence.push(ev(b, r.evidence.artifact, r.evidence.line, `${r.evidence.note ?? 'rule'} matches on this set`));
        const who = (k: string) => {
          const o = expected.get(k);
          return o === undefined ? k : `${k} (${typeof o === 'string' ? o : o.id})`;
        };
        findings.push({
          check: ID,
          severity: 'error',
          category: 'dataplane',
          node: n.name,
          title: `${n.name}: IP set ${name} is stale (${[missing.length ? `${missing.length} missing` : '', extra.length ? `${extra.length} extra` : ''].filter(Boolean).join(', ')})`,
          explanation:
            `${name} is the set of \`${spec.selector}\`${spec.named ? ` named port ${spec.named.proto}:${spec.named.port}` : ''}. ` +
            (missing.length ? `Missing (the selector matches them now): ${listText(missing.map(who), 5)} — rules on this set do not match their traffic, so what an Allow rule should let through is denied. ` : '') +
            (extra.length ? `Extra (no longer matched by the selector): ${listText(extra, 5)} — rules still match these addresses. ` : '') +
            `Felix on ${n.name} is out of sync with the datastore (or the bundle caught a pod mid-change).`,
          subject: name,
          evidence,
          remediation: {
            summary: `Check Felix on ${n.name} (in sync? ipset errors?); restarting calico-node rewrites every set.`,
            confirm: [
              `ipset list ${name}   # on ${n.name}`,
              ...(missing.length ? [`ipset test ${name} ${missing[0].split(',')[0]}   # on ${n.name}`, `kubectl get pods -A -o wide | grep -w ${missing[0].split(',')[0]}`] : []),
              `kubectl logs -n calico-system <calico-node pod on ${n.name}> -c calico-node | grep -iE 'ipset|in sync'`,
            ],
            fix: [`kubectl delete pod -n calico-system <calico-node pod on ${n.name}>`],
          },
        });
      }
    }
    return result(findings, nc);
  },
};
