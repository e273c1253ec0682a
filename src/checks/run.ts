/** Runs the registered checks over a bundle, ranks the findings, isolates check failures. */
import type { Bundle } from '../model/bundle.js';
import { buildPolicyModel, type PolicyModel } from '../calico/policy/resolve.js';
import { runtimeFor, type Runtime } from '../trace/runtime.js';
import { ALL_CHECKS } from './registry.js';
import type { Check, CheckContext, Finding, NotChecked, Severity } from './types.js';

export interface DiagnoseOptions {
  only?: string[];
  skip?: string[];
}

export interface Diagnosis {
  bundle: string;
  findings: Finding[];
  notChecked: NotChecked[];
  /** Checks that threw (a bug): reported, never fatal. */
  failedChecks: { check: string; error: string }[];
  checksRun: string[];
  counts: Record<Severity, number>;
}

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export function makeContext(bundle: Bundle): CheckContext {
  let model: PolicyModel | undefined;
  let rt: Runtime | undefined;
  return {
    bundle,
    policy: () => (model ??= buildPolicyModel(bundle.cluster)),
    runtime: () => (rt ??= runtimeFor(bundle)),
  };
}

function matchesId(id: string, patterns: string[]): boolean {
  return patterns.some((p) => p === id || (p.endsWith('*') && id.startsWith(p.slice(0, -1))) || (!p.includes('.') && id.startsWith(`${p}.`)));
}

export function selectChecks(opts: DiagnoseOptions = {}, checks: Check[] = ALL_CHECKS): Check[] {
  return checks.filter((c) => (!opts.only?.length || matchesId(c.id, opts.only)) && !(opts.skip?.length && matchesId(c.id, opts.skip)));
}

/** Checks whose findings explain other checks' findings (see the sort below). */
const ROOT_CAUSES = ['bgp.port-blocked', 'bgp.as-mismatch', 'tunnel.vxlan-port-blocked'];

export function diagnose(bundle: Bundle, opts: DiagnoseOptions = {}, checks: Check[] = ALL_CHECKS): Diagnosis {
  const ctx = makeContext(bundle);
  const findings: Finding[] = [];
  const notChecked: NotChecked[] = [];
  const failedChecks: Diagnosis['failedChecks'] = [];
  const selected = selectChecks(opts, checks);
  for (const c of selected) {
    try {
      const r = c.run(ctx);
      findings.push(...r.findings);
      notChecked.push(...r.notChecked);
    } catch (e) {
      failedChecks.push({ check: c.id, error: (e as Error).message });
    }
  }
  // Root causes before their consequences at equal severity: a blocked TCP 179 or a wrong peer AS
  // is why the sessions are down and the remote blocks unrouted, so it is listed first.
  const order = new Map(selected.map((c, i) => [c.id, ROOT_CAUSES.includes(c.id) ? ROOT_CAUSES.indexOf(c.id) - ROOT_CAUSES.length : i]));
  findings.sort((a, b) => RANK[a.severity] - RANK[b.severity] || (order.get(a.check) ?? 0) - (order.get(b.check) ?? 0) || (a.node ?? '').localeCompare(b.node ?? '') || (a.subject ?? '').localeCompare(b.subject ?? ''));
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return { bundle: bundle.origin, findings, notChecked, failedChecks, checksRun: selected.map((c) => c.id), counts };
}
